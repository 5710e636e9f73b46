"""The channel and SNR convention of the whole project, defined once.

Symbols are complex with unit average power per image (``power_normalize``). The SNR is the ratio
of that unit signal power to the complex noise variance: SNR = 1 / sigma^2, so a complex noise sample
n ~ CN(0, sigma^2) has variance sigma^2 / 2 in each of its real and imaginary parts.

Every function accepts NumPy arrays (GNU Radio blocks, evaluation) and torch tensors (training)
alike, complex with the symbol axis last and images along the leading axes. SNRs may be a scalar or
one value per image. This module does not import torch: tensors bring their own.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

CHANNELS = ("awgn", "rayleigh")
FADINGS = ("block", "fast")
EQUALIZERS = ("zf", "mmse")


def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch")


def _per_image(v, like):
    """Broadcast a scalar or per-image value against symbols of shape (..., K)."""
    if _is_torch(like):
        torch = sys.modules["torch"]
        v = torch.as_tensor(v, dtype=like.real.dtype, device=like.device)
    else:
        v = np.asarray(v, dtype=like.real.dtype)
    return v.reshape(v.shape + (1,)) if v.ndim else v


def noise_variance(snr_db):
    """Complex noise variance sigma^2 for unit average signal power."""
    if not _is_torch(snr_db):
        snr_db = np.asarray(snr_db, dtype=np.float64)
    return 10.0 ** (-snr_db / 10.0)


def complex_normal(shape, like, rng=None):
    """Samples of CN(0, 1): each real part has variance 1/2."""
    if _is_torch(like):
        torch = sys.modules["torch"]
        re = torch.randn(shape, device=like.device, dtype=like.real.dtype, generator=rng)
        im = torch.randn(shape, device=like.device, dtype=like.real.dtype, generator=rng)
        return torch.complex(re, im) * np.sqrt(0.5)
    rng = np.random.default_rng() if rng is None else rng
    z = rng.standard_normal(shape + (2,), dtype=np.float32 if like.dtype == np.complex64 else np.float64)
    return (z[..., 0] + 1j * z[..., 1]).astype(like.dtype) * np.sqrt(0.5).astype(like.real.dtype)


def to_iq(z: np.ndarray) -> np.ndarray:
    """Complex symbols (..., K) as float32 (..., K, 2) (I, Q) pairs, the layout of the ONNX models."""
    return np.ascontiguousarray(z, dtype=np.complex64).view(np.float32).reshape(*np.shape(z), 2)


def power_normalize(z, eps: float = 1e-12):
    """Scale each image's symbols to average power 1 (the transmit power constraint, eq. 2).

    z is complex (..., K), or real (..., K, 2) holding (I, Q) pairs, the layout of the ONNX models.
    """
    if z.dtype.is_complex if _is_torch(z) else np.iscomplexobj(z):
        power = (z.real ** 2 + z.imag ** 2).mean(-1, keepdims=True)
    else:
        power = (z ** 2).sum(-1, keepdims=True).mean(-2, keepdims=True)
    if _is_torch(z):
        return z * (power + eps).rsqrt()
    return (z / np.sqrt(power + eps)).astype(z.dtype)


def measured_snr_db(x, y) -> float:
    """SNR of received y against sent x, from the samples themselves (for tests and monitors)."""
    noise = y - x
    s = float((x.real ** 2 + x.imag ** 2).mean())
    n = float((noise.real ** 2 + noise.imag ** 2).mean())
    return 10.0 * np.log10(s / n)


def awgn(x, snr_db, rng=None):
    """y = x + n, n ~ CN(0, 10^(-SNR/10))."""
    sigma = _per_image(noise_variance(snr_db), x) ** 0.5
    return x + sigma * complex_normal(tuple(x.shape), x, rng)


def rayleigh_coefficients(x, fading: str, rng=None):
    """h ~ CN(0, 1): one per symbol (fast) or one per image (block), broadcastable against x."""
    if fading not in FADINGS:
        raise ValueError(f"fading must be one of {FADINGS}, got {fading!r}")
    shape = tuple(x.shape) if fading == "fast" else tuple(x.shape[:-1]) + (1,)
    return complex_normal(shape, x, rng)


def equalize(y, h, snr_db, method: str):
    """Undo known fading h. ZF divides by h; MMSE weighs by conj(h) / (|h|^2 + sigma^2), which keeps
    deep fades from amplifying noise without bound."""
    if method == "zf":
        return y / h
    if method == "mmse":
        var = _per_image(noise_variance(snr_db), y)
        return y * h.conj() / (h.real ** 2 + h.imag ** 2 + var)
    raise ValueError(f"equalizer must be one of {EQUALIZERS}, got {method!r}")


@dataclass(frozen=True)
class Channel:
    """A channel model with a receiver that knows the fading (CSI).

    ``kind``: awgn or rayleigh. ``fading``: block (one h per image) or fast (one h per symbol).
    ``equalizer``: zf or mmse; by default ZF for block fading, where y/h is exactly AWGN at the
    effective SNR |h|^2 * SNR (what an SNR-adaptive decoder is told), and MMSE for fast fading,
    where ZF would blow up the noise on every deep per-symbol fade.
    """

    kind: str = "awgn"
    fading: str = "block"
    equalizer: str | None = None

    def __post_init__(self):
        if self.kind not in CHANNELS:
            raise ValueError(f"channel must be one of {CHANNELS}, got {self.kind!r}")
        if self.fading not in FADINGS:
            raise ValueError(f"fading must be one of {FADINGS}, got {self.fading!r}")
        if self.equalizer is not None and self.equalizer not in EQUALIZERS:
            raise ValueError(f"equalizer must be one of {EQUALIZERS}, got {self.equalizer!r}")

    @property
    def eq(self) -> str:
        return self.equalizer or ("zf" if self.fading == "block" else "mmse")

    def __call__(self, x, snr_db, rng=None):
        """Send unit-power symbols x at snr_db; return (equalised symbols, receiver SNR in dB).

        The receiver SNR is what the decoder is given: the nominal SNR for AWGN and fast fading,
        and the effective per-image SNR (nominal + 10 log10 |h|^2) for block fading.
        """
        if self.kind == "awgn":
            return awgn(x, snr_db, rng), snr_db
        h = rayleigh_coefficients(x, self.fading, rng)
        y = awgn(h * x, snr_db, rng)
        x_hat = equalize(y, h, snr_db, self.eq)
        if self.fading == "fast":
            return x_hat, snr_db
        gain = (h.real ** 2 + h.imag ** 2)[..., 0]
        log = sys.modules["torch"].log10 if _is_torch(gain) else np.log10
        return x_hat, snr_db + 10.0 * log(gain)
