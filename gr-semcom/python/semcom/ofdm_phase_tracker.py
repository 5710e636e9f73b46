"""Common-phase tracking and per-frame SNR estimation for the analog OFDM payload."""
from __future__ import annotations

import functools

import numpy as np

from . import ofdm_params as P

_PILOT_BINS = np.array(P.PILOTS[0]) + P.FFT_LEN // 2  # FFT-shifted order
_PILOT_SYMBOLS = np.array(P.PILOT_SYMBOLS, dtype=np.complex64)


def track(frames: np.ndarray, taps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Payloads' carriers (frames x OFDM symbols x FFT_LEN, FFT-shifted, each frame's CFO already
    taken out; or one frame without the first axis) with their phase drift removed, and each
    frame's SNR in dB; ``taps``: each frame's channel estimate (frames x FFT_LEN).

    The equaliser applies one channel estimate, taken from the sync word and the header, to the
    whole frame: any residual CFO turns into a phase that grows from symbol to symbol (a
    0.006-subcarrier error rotates the last of 22 symbols by about 1 rad). So the common phase of
    every OFDM symbol is measured from its pilots against that estimate (``taps``), a straight
    line is fitted through the phases (a frequency error makes them linear in time), and each
    symbol is de-rotated by the fitted phase. The noise on the de-rotated pilots after zero
    forcing gives the SNR in the convention of ``semcom.channel`` (unit-power symbols over
    complex noise variance).
    """
    pilots, times, fit = _payload_constants(frames.shape[-2])
    pilot_taps = taps[..., None, _PILOT_BINS]
    known = pilots * pilot_taps
    rx = frames[..., _PILOT_BINS]
    common = (rx * known.conj()).sum(-1)
    # unwrapped phases: each symbol's step from the one before (within +-pi), summed up
    steps = np.cumsum(np.angle(common[..., 1:] * common[..., :-1].conj()), -1)
    phase = np.angle(common[..., :1]) + np.concatenate([np.zeros_like(steps[..., :1]), steps], -1)
    line = phase @ fit.T  # least-squares intercept and slope
    rotation = np.exp(-1j * (line[..., :1] + line[..., 1:] * times)).astype(np.complex64)[..., None]
    noise = np.abs(rx * rotation - known) ** 2 / np.maximum(np.abs(pilot_taps) ** 2, 1e-20)
    return frames * rotation, -10.0 * np.log10(np.maximum(noise.mean((-2, -1)), 1e-12))


@functools.lru_cache(maxsize=None)
def _payload_constants(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For a payload of n symbols: the known pilots (symbol m carries pilot set m + HEADER_SYMBOLS,
    the sets before it went with the header), the symbol times, and the least-squares solver of a
    line through n phases (slope 0 for a single symbol)."""
    times = np.arange(n)
    pilots = _PILOT_SYMBOLS[(times + P.HEADER_SYMBOLS) % len(_PILOT_SYMBOLS)]
    return pilots, times.astype(np.float64), np.linalg.pinv(np.stack([np.ones(n), times], 1))
