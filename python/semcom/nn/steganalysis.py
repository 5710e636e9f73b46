"""Steganalysers: small CNNs that tell plain DeepJSCC signals (or their decoded images) from stego containers.

``Steganalyser`` sees what an eavesdropper sees, the received and equalised symbols (N, K, 2), in the codec's
latent layout, and outputs one logit (positive: container).
"""
from __future__ import annotations

import torch
from torch import nn


class Steganalyser(nn.Module):
    def __init__(self, latent: tuple[int, int, int], hidden: int = 64):
        super().__init__()
        self.latent = tuple(latent)
        c = latent[0]
        self.net = nn.Sequential(
            nn.Conv2d(c, hidden, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(hidden, hidden, 3, padding=1, stride=2), nn.LeakyReLU(0.2),
            nn.Conv2d(hidden, hidden, 3, padding=1, stride=2), nn.LeakyReLU(0.2),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(hidden, 1))

    def forward(self, symbols: torch.Tensor) -> torch.Tensor:
        return self.net(symbols.reshape(symbols.shape[0], *self.latent))[:, 0]


class ImageCritic(nn.Module):
    """The GAN paradigm's second discriminator: tells images decoded from plain signals from images
    decoded from containers (what an eavesdropper who decodes would look at). One logit per image
    (positive: decoded from a container)."""

    def __init__(self, hidden: int = 32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, hidden, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(hidden, 2 * hidden, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * hidden, 4 * hidden, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * hidden, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images * 2.0 - 1.0)[:, 0]
