import numpy as np
import pytest
import torch

from semcom import lpips, metrics


def test_psnr_of_known_error():
    x = np.zeros((2, 3, 8, 8))
    y = x + 0.1
    assert np.allclose(metrics.psnr(x, y), 20.0)


def test_ms_ssim_at_64px_orders_distortions():
    rng = np.random.default_rng(0)
    x = rng.random((1, 3, 64, 64)).cumsum(-1) / 64  # smooth-ish ramps
    mild = np.clip(x + 0.02 * rng.standard_normal(x.shape), 0, 1)
    strong = np.clip(x + 0.2 * rng.standard_normal(x.shape), 0, 1)
    assert metrics.ms_ssim(x, x)[0] == pytest.approx(1.0)
    assert 1.0 > metrics.ms_ssim(x, mild)[0] > metrics.ms_ssim(x, strong)[0] > 0
    assert metrics.MS_SSIM_WEIGHTS.sum() == pytest.approx(1.0)


def _ms_ssim_direct(x, y):
    """MS-SSIM of one image pair the slow way, in float64: the 7x7 Gaussian window slid over every
    'valid' position, 2x2 average pooling between the 4 scales."""
    r = np.arange(7) - 3
    g = np.exp(-r ** 2 / (2 * 1.5 ** 2))
    window = np.outer(g, g) / g.sum() ** 2
    factors = []
    for level in range(4):
        h, w = x.shape[-2] - 6, x.shape[-1] - 6
        def local(z):
            return sum(window[i, j] * z[:, i:i + h, j:j + w] for i in range(7) for j in range(7))
        mx, my = local(x), local(y)
        sxx, syy, sxy = local(x * x) - mx ** 2, local(y * y) - my ** 2, local(x * y) - mx * my
        cs = (2 * sxy + 0.03 ** 2) / (sxx + syy + 0.03 ** 2)
        if level == 3:
            factors.append(max(((2 * mx * my + 0.01 ** 2) / (mx ** 2 + my ** 2 + 0.01 ** 2) * cs).mean(), 0))
        else:
            factors.append(max(cs.mean(), 0))
            x, y = (z[:, :z.shape[1] // 2 * 2, :z.shape[2] // 2 * 2] for z in (x, y))  # an odd edge is left out
            x = x.reshape(3, x.shape[1] // 2, 2, x.shape[2] // 2, 2).mean((2, 4))
            y = y.reshape(3, y.shape[1] // 2, 2, y.shape[2] // 2, 2).mean((2, 4))
    return np.prod(np.array(factors) ** metrics.MS_SSIM_WEIGHTS)


def test_ms_ssim_matches_a_direct_computation():
    rng = np.random.default_rng(1)
    x = rng.random((6, 3, 64, 64)).cumsum(-1) / 64  # more than one chunk of four
    noise = np.array([0.02, 0.3, 0.0, 0.1, 0.05, 0.01])[:, None, None, None] * rng.standard_normal(x.shape)
    y = np.clip(x + noise, 0, 1)
    y[2] = rng.random((3, 64, 64))  # unrelated
    np.testing.assert_allclose(metrics.ms_ssim(x, y), [_ms_ssim_direct(a, b) for a, b in zip(x, y)], atol=1e-5)


def test_ms_ssim_of_odd_sizes_leaves_out_the_odd_edge():
    rng = np.random.default_rng(2)
    x = rng.random((2, 3, 69, 61)).cumsum(-2) / 69
    y = np.clip(x + 0.05 * rng.standard_normal(x.shape), 0, 1)
    np.testing.assert_allclose(metrics.ms_ssim(x, y), [_ms_ssim_direct(a, b) for a, b in zip(x, y)], atol=1e-5)


def test_ms_ssim_refuses_images_too_small_for_its_scales():
    with pytest.raises(ValueError, match="at least 56x56"):
        metrics.ms_ssim(np.zeros((1, 3, 32, 32)), np.zeros((1, 3, 32, 32)))


def test_lpips_is_null_without_weights(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SEMCOM_LPIPS_DIR", str(tmp_path))
    monkeypatch.setattr(lpips, "search_dirs", lambda: [tmp_path])
    assert lpips.load() is None
    assert "LPIPS unavailable" in capsys.readouterr().err


def test_lpips_runs_from_local_weight_files(tmp_path, monkeypatch):
    """Weights in the reference files' layout (random values here: the arithmetic, not the scores)."""
    torch.manual_seed(0)
    alex = {f"features.{k}": v for k, v in torch.nn.Sequential(
        torch.nn.Conv2d(3, 64, 11, 4, 2), torch.nn.ReLU(), torch.nn.MaxPool2d(3, 2),
        torch.nn.Conv2d(64, 192, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(3, 2),
        torch.nn.Conv2d(192, 384, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(384, 256, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(256, 256, 3, padding=1), torch.nn.ReLU()).state_dict().items()}
    heads = {f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1) for i, c in enumerate(lpips._WIDTHS)}
    torch.save(alex, tmp_path / lpips.ALEXNET_FILE)
    torch.save(heads, tmp_path / lpips.HEADS_FILE)
    monkeypatch.setattr(lpips, "search_dirs", lambda: [tmp_path])
    metric = lpips.load()
    x = np.random.default_rng(0).random((2, 3, 64, 64)).astype(np.float32)
    same, other = metric(x, x), metric(x, x[::-1])
    assert same.shape == (2,) and np.allclose(same, 0) and (other > 0).all()
