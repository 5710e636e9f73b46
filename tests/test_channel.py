import numpy as np
import pytest
import torch

from semcom import channel

K = 1024


def unit_symbols(n=64, seed=0):
    rng = np.random.default_rng(seed)
    z = (rng.standard_normal((n, K)) + 1j * rng.standard_normal((n, K))) * rng.uniform(0.1, 5, (n, 1))
    return channel.power_normalize(z.astype(np.complex64))


def test_power_normalize_numpy_torch_and_iq_pairs():
    z = unit_symbols()
    assert np.allclose((np.abs(z) ** 2).mean(-1), 1.0, atol=1e-5)
    t = channel.power_normalize(torch.from_numpy(z * 7))
    assert torch.allclose((t.abs() ** 2).mean(-1), torch.ones(len(z)), atol=1e-5)
    pairs = channel.power_normalize(np.stack([z.real, z.imag], -1) * 3)
    assert np.allclose((pairs ** 2).sum(-1).mean(-1), 1.0, atol=1e-5)


@pytest.mark.parametrize("snr_db", [0.0, 7.0, 20.0])
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_awgn_measured_snr_matches_setting(snr_db, backend):
    x = unit_symbols(256)
    if backend == "torch":
        xt = torch.from_numpy(x)
        y = channel.awgn(xt, snr_db, torch.Generator().manual_seed(1)).numpy()
    else:
        y = channel.awgn(x, snr_db, np.random.default_rng(1))
    # 256k complex samples: the estimate's spread is far below the 0.1 dB asked for
    assert abs(channel.measured_snr_db(x, y) - snr_db) < 0.1
    # the noise is circular: each real part carries half of sigma^2
    n = y - x
    assert abs(n.real.var() / n.imag.var() - 1) < 0.02


@pytest.mark.parametrize("fading", ["block", "fast"])
def test_rayleigh_unit_gain_and_snr(fading):
    x = unit_symbols(512)
    rng = np.random.default_rng(2)
    h = channel.rayleigh_coefficients(x, fading, rng)
    assert h.shape == ((512, K) if fading == "fast" else (512, 1))
    assert abs((np.abs(h) ** 2).mean() - 1) < (0.01 if fading == "fast" else 0.15)
    y = channel.awgn(h * x, 10.0, rng)
    # transmit SNR: unit symbol power over the noise power, E|h|^2 = 1 being the channel's mean gain
    noise = y - h * x
    assert abs(-10 * np.log10((np.abs(noise) ** 2).mean()) - 10.0) < 0.1


def test_block_fading_zf_is_awgn_at_effective_snr():
    x = unit_symbols(4)
    y, rx_snr = channel.Channel("rayleigh", "block")(x, 10.0, np.random.default_rng(3))
    assert rx_snr.shape == (4,)
    for i in range(4):  # per image: the equalised noise power is 10^(-rx_snr/10)
        assert abs(channel.measured_snr_db(x[i], y[i]) - rx_snr[i]) < 0.5


def test_mmse_bounds_deep_fades_where_zf_does_not():
    x = unit_symbols(1)
    h = np.full_like(x, 1e-3)
    y = channel.awgn(h * x, 10.0, np.random.default_rng(4))
    zf, mmse = channel.equalize(y, h, 10.0, "zf"), channel.equalize(y, h, 10.0, "mmse")
    assert np.abs(zf).mean() > 50 and np.abs(mmse).mean() < 0.1


def test_torch_channel_is_differentiable_and_matches_numpy_convention():
    x = torch.from_numpy(unit_symbols(8)).requires_grad_()
    y, snr = channel.Channel("rayleigh", "fast")(x, torch.full((8,), 5.0))
    y.abs().sum().backward()
    assert x.grad is not None and torch.equal(snr, torch.full((8,), 5.0))
    assert float(channel.noise_variance(torch.tensor(10.0))) == pytest.approx(float(channel.noise_variance(10.0)))


def test_bad_channel_names_are_refused():
    with pytest.raises(ValueError, match="rician"):
        channel.Channel("rician")
    with pytest.raises(ValueError, match="slow"):
        channel.Channel("rayleigh", "slow")


def test_to_iq_is_the_models_layout_and_views_back():
    z = (np.arange(6) + 1j * -np.arange(6)).reshape(2, 3)
    iq = channel.to_iq(z)
    assert iq.dtype == np.float32 and iq.shape == (2, 3, 2)
    np.testing.assert_array_equal(iq[..., 0], z.real)
    np.testing.assert_array_equal(iq[..., 1], z.imag)
    np.testing.assert_array_equal(iq.view(np.complex64)[..., 0], z.astype(np.complex64))
