import pytest
import torch

from semcom import channel
from semcom.nn.jscc import DeepJSCC, JSCCConfig


@pytest.mark.parametrize("ratio,size,k", [("1/12", 64, 1024), ("1/6", 64, 2048), ("1/24", 32, 128)])
def test_symbol_count_follows_ratio(ratio, size, k):
    cfg = JSCCConfig(height=size, width=size, ratio=ratio, channels=8, blocks=1)
    assert cfg.symbols == k
    m = DeepJSCC(cfg).eval().requires_grad_(False)
    s = m.encoder(torch.rand(3, 3, size, size))
    assert s.shape == (3, k, 2)
    assert torch.allclose((s ** 2).sum(-1).mean(-1), torch.ones(3), atol=1e-5)
    img = m.decoder(s, torch.full((3, 1), 10.0))
    assert img.shape == (3, 3, size, size) and 0 <= float(img.min()) and float(img.max()) <= 1


def test_ratio_that_does_not_fill_the_latent_is_refused():
    with pytest.raises(ValueError, match="1/7"):
        JSCCConfig(ratio="1/7").latent_shape
    with pytest.raises(ValueError, match="multiple of 4"):
        JSCCConfig(height=62).latent_shape


def test_forward_through_channel_backpropagates():
    m = DeepJSCC(JSCCConfig(channels=8, blocks=1))
    x = torch.rand(2, 3, 64, 64)
    out = m(x, channel.Channel("awgn"), torch.tensor([0.0, 20.0]))
    ((out - x) ** 2).mean().backward()
    assert all(p.grad is not None for p in m.parameters())
