"""DeepJSCC (Bourtsoulatze et al., 2019) with GDN and an SNR-adaptive decoder (after ADJSCC).

The encoder maps an RGB image in [0, 1] to K complex channel symbols with unit average power per
image (eq. 2 of the paper), carried as real tensors of shape (N, K, 2) = (real, imag) so that ONNX
files need no complex types. K = ratio * 3 * H * W. The decoder takes the equalised symbols and the
receiver's SNR in dB and returns the image.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction

import torch
from torch import nn

from .. import channel
from .layers import GDN, ResBlock, SNRAttention, subpixel_up

DOWNSAMPLING = 4  # two stride-2 stages


@dataclass(frozen=True)
class JSCCConfig:
    height: int = 64
    width: int = 64
    ratio: str = "1/12"  # bandwidth ratio K / (3 H W)
    channels: int = 96  # feature width of the inner stages
    blocks: int = 2  # residual blocks per side

    @property
    def symbols(self) -> int:
        k = Fraction(self.ratio) * 3 * self.height * self.width
        if k.denominator != 1:
            raise ValueError(f"ratio {self.ratio} of 3x{self.height}x{self.width} is not a whole number of symbols")
        return int(k)

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        h, w = self.height // DOWNSAMPLING, self.width // DOWNSAMPLING
        if h * DOWNSAMPLING != self.height or w * DOWNSAMPLING != self.width:
            raise ValueError(f"resolution {self.height}x{self.width} must be a multiple of {DOWNSAMPLING}")
        c, rest = divmod(2 * self.symbols, h * w)
        if rest or c == 0:
            raise ValueError(
                f"ratio {self.ratio} gives {self.symbols} symbols, which do not fill whole {h}x{w} "
                f"latent channels (2K must be a multiple of {h * w}); try 1/6, 1/12, 1/24 or 1/48")
        return c, h, w

    def to_dict(self) -> dict:
        return asdict(self)


class Encoder(nn.Module):
    def __init__(self, cfg: JSCCConfig):
        super().__init__()
        c, half = cfg.channels, cfg.channels // 2
        self.cfg = cfg
        self.net = nn.Sequential(
            nn.Conv2d(3, half, 5, stride=2, padding=2), GDN(half), nn.PReLU(half),
            nn.Conv2d(half, c, 5, stride=2, padding=2), GDN(c), nn.PReLU(c),
            *[ResBlock(c) for _ in range(cfg.blocks)],
            nn.Conv2d(c, cfg.latent_shape[0], 3, padding=1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return channel.power_normalize(self.net(image * 2.0 - 1.0).flatten(1).reshape(image.shape[0], -1, 2))


class Decoder(nn.Module):
    def __init__(self, cfg: JSCCConfig):
        super().__init__()
        c, half = cfg.channels, cfg.channels // 2
        self.cfg = cfg
        self.head = nn.Sequential(nn.Conv2d(cfg.latent_shape[0], c, 3, padding=1), GDN(c, inverse=True), nn.PReLU(c))
        self.body = nn.Sequential(*[ResBlock(c) for _ in range(cfg.blocks)])
        self.attention = SNRAttention(c)
        self.tail = nn.Sequential(
            subpixel_up(c, half), GDN(half, inverse=True), nn.PReLU(half),
            subpixel_up(half, 3), nn.Sigmoid())

    def forward(self, symbols: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
        z = symbols.reshape(symbols.shape[0], *self.cfg.latent_shape)
        return self.tail(self.attention(self.body(self.head(z)), snr_db))


class DeepJSCC(nn.Module):
    def __init__(self, cfg: JSCCConfig = JSCCConfig()):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)

    def forward(self, image: torch.Tensor, chan: channel.Channel, snr_db: torch.Tensor) -> torch.Tensor:
        x = torch.view_as_complex(self.encoder(image))
        y, rx_snr = chan(x, snr_db)
        return self.decoder(torch.view_as_real(y), rx_snr)
