"""A steganalyser: a small CNN that tells plain DeepJSCC signals from stego containers.

It sees what an eavesdropper sees, the received and equalised symbols (N, K, 2), in the codec's
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
