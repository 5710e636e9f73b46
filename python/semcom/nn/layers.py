"""Building blocks shared by the codec and later models."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class GDN(nn.Module):
    """Generalised divisive normalisation (Balle et al.): y = x / sqrt(beta + gamma * x^2).

    With ``inverse=True`` it multiplies instead (IGDN, for decoders). beta and gamma are kept
    non-negative by squaring their stored square roots.
    """

    def __init__(self, channels: int, inverse: bool = False, gamma_init: float = 0.1):
        super().__init__()
        self.inverse = inverse
        self.beta_sqrt = nn.Parameter(torch.ones(channels))
        self.gamma_sqrt = nn.Parameter(torch.eye(channels) * gamma_init ** 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        beta = self.beta_sqrt ** 2 + 1e-6
        gamma = (self.gamma_sqrt ** 2)[:, :, None, None]
        norm = F.conv2d(x * x, gamma, beta)
        return x * norm.sqrt() if self.inverse else x * norm.rsqrt()


class ResBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.PReLU(channels),
            nn.Conv2d(channels, channels, 3, padding=1))
        self.act = nn.PReLU(channels)

    def forward(self, x):
        return self.act(x + self.body(x))


class SNRAttention(nn.Module):
    """Channel-wise attention conditioned on the SNR (the AF module of ADJSCC, Xu et al.)."""

    def __init__(self, channels: int, hidden: int = 32):
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(channels + 1, hidden), nn.PReLU(hidden), nn.Linear(hidden, channels))

    def forward(self, x: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
        ctx = torch.cat([x.mean((2, 3)), snr_db.reshape(-1, 1) / 20.0], dim=1)
        return x * torch.sigmoid(self.mlp(ctx))[:, :, None, None]


def subpixel_up(cin: int, cout: int) -> nn.Sequential:
    """2x upsampling as a 3x3 conv to 4*cout channels and a pixel shuffle: a quarter of the FLOPs of
    the same conv applied after upsampling, and no checkerboard from strided transposed convs."""
    return nn.Sequential(nn.Conv2d(cin, cout * 4, 3, padding=1), nn.PixelShuffle(2))
