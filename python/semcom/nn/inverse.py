"""Eve's inverse networks for the closed-box attacks (eqs. 15 and 22).

The image inverse maps received symbols and the receiver's SNR straight to an image. Eve does not
have Alice's decoder, but the mirror of a convolutional encoder is the obvious guess, so her network
has the DeepJSCC decoder's shape (``jscc.Decoder``), trained from scratch on her queries.
The latent inverse predicts the input of a frozen face generator instead: its code z and one noise
map per generator stage, so every image Eve makes lies on the generator's face manifold.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .jscc import Decoder, JSCCConfig
from .layers import GDN, ResBlock, SNRAttention


def image_inverse(cfg: JSCCConfig) -> Decoder:
    return Decoder(cfg)


class LatentInverse(nn.Module):
    """(symbols (N, K, 2), SNR dB (N, 1)) -> (z (N, latent), noise maps [(N, 1, r, r), ...])."""

    def __init__(self, cfg: JSCCConfig, latent: int, noise_sizes: list[int]):
        super().__init__()
        c = cfg.channels
        self.cfg = cfg
        self.noise_sizes = list(noise_sizes)
        self.head = nn.Sequential(nn.Conv2d(cfg.latent_shape[0], c, 3, padding=1), GDN(c, inverse=True), nn.PReLU(c))
        self.body = nn.Sequential(*[ResBlock(c) for _ in range(cfg.blocks)])
        self.attention = SNRAttention(c)
        h, w = cfg.latent_shape[1:]
        self.to_z = nn.Sequential(nn.Conv2d(c, c // 2, 3, stride=2, padding=1), nn.PReLU(c // 2), nn.Flatten(),
                                  nn.Linear(c // 2 * ((h + 1) // 2) * ((w + 1) // 2), latent))
        self.to_noise = nn.ModuleList(nn.Conv2d(c, 1, 3, padding=1) for _ in self.noise_sizes)

    def forward(self, symbols: torch.Tensor, snr_db: torch.Tensor):
        feat = self.attention(self.body(self.head(symbols.reshape(symbols.shape[0], *self.cfg.latent_shape))), snr_db)
        noise = [conv(F.interpolate(feat, size=(r, r), mode="bilinear", align_corners=False))
                 for conv, r in zip(self.to_noise, self.noise_sizes)]
        return self.to_z(feat), noise


class ThroughGenerator(nn.Module):
    """A latent inverse followed by the frozen generator: symbols -> face image."""

    def __init__(self, inverse: LatentInverse, generator: nn.Module):
        super().__init__()
        self.inverse, self.generator = inverse, generator.requires_grad_(False)

    def forward(self, symbols: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
        z, noise = self.inverse(symbols, snr_db)
        return self.generator(z, *noise)
