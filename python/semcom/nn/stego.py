"""INN signal steganography (Sec. 4 of the first paper, after HiNet / ISN).

The host's and the private image's channel-input symbols, both (N, K, 2) I/Q pairs of unit power,
are viewed in the codec's latent layout (C, H, W) so that the coupling networks see the same
spatial structure the JSCC decoder does. Each invertible block is an additive affine coupling
(eq. 27):

    y1 = x1 + phi(x2)
    y2 = x2 * exp(alpha(rho(y1))) + eta(y1),    alpha(v) = clamp * tanh(v / clamp)

and the inverse runs the blocks backwards (eq. 29). After the last block y1 is the container
(sent, power-normalised like any channel input) and y2 the lost information r (never sent; Bob
puts an estimate in its place).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from .. import channel


@dataclass(frozen=True)
class StegoConfig:
    latent: tuple[int, int, int] = (8, 16, 16)  # the codec's latent layout; 2K = C * H * W
    blocks: int = 8
    hidden: int = 64
    clamp: float = 2.0

    @property
    def symbols(self) -> int:
        c, h, w = self.latent
        return c * h * w // 2

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "StegoConfig":
        return cls(**{**d, "latent": tuple(d["latent"])})


def _subnet(channels: int, hidden: int) -> nn.Sequential:
    net = nn.Sequential(
        nn.Conv2d(channels, hidden, 3, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(hidden, channels, 3, padding=1))
    # the last layer starts at zero, so an untrained INN is the identity: container = host
    nn.init.zeros_(net[-1].weight)
    nn.init.zeros_(net[-1].bias)
    return net


class CouplingBlock(nn.Module):
    def __init__(self, channels: int, hidden: int, clamp: float):
        super().__init__()
        self.clamp = clamp
        self.phi = _subnet(channels, hidden)
        self.rho = _subnet(channels, hidden)
        self.eta = _subnet(channels, hidden)

    def _log_scale(self, y1: torch.Tensor) -> torch.Tensor:
        return self.clamp * torch.tanh(self.rho(y1) / self.clamp)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y1 = x1 + self.phi(x2)
        y2 = x2 * torch.exp(self._log_scale(y1)) + self.eta(y1)
        return y1, y2

    def inverse(self, y1: torch.Tensor, y2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x2 = (y2 - self.eta(y1)) * torch.exp(-self._log_scale(y1))
        x1 = y1 - self.phi(x2)
        return x1, x2


class StegoINN(nn.Module):
    """embed: (host, private) symbols -> (container, lost); extract: (container, lost estimate) ->
    (host, private). All tensors are (N, K, 2); the container has unit average power."""

    def __init__(self, cfg: StegoConfig = StegoConfig()):
        super().__init__()
        self.cfg = cfg
        self.blocks = nn.ModuleList(CouplingBlock(cfg.latent[0], cfg.hidden, cfg.clamp) for _ in range(cfg.blocks))

    def _latent(self, s: torch.Tensor) -> torch.Tensor:
        return s.reshape(s.shape[0], *self.cfg.latent)

    def _symbols(self, z: torch.Tensor) -> torch.Tensor:
        return z.reshape(z.shape[0], -1, 2)

    def transform(self, host: torch.Tensor, private: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The bare invertible map (eq. 28), before power normalisation."""
        a, b = self._latent(host), self._latent(private)
        for block in self.blocks:
            a, b = block(a, b)
        return self._symbols(a), self._symbols(b)

    def inverse(self, container: torch.Tensor, lost: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Eq. 29: the blocks backwards, from the (received) container and the lost information."""
        a, b = self._latent(container), self._latent(lost)
        for block in reversed(self.blocks):
            a, b = block.inverse(a, b)
        return self._symbols(a), self._symbols(b)

    def forward(self, host: torch.Tensor, private: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        container, lost = self.transform(host, private)
        return channel.power_normalize(container), lost


class Embed(nn.Module):
    """Alice's half, as exported to ONNX: (host, private) -> (container, lost)."""

    def __init__(self, inn: StegoINN):
        super().__init__()
        self.inn = inn

    def forward(self, host, private):
        return self.inn(host, private)


class Extract(nn.Module):
    """Bob's half, as exported to ONNX: (container, lost estimate) -> (host, private)."""

    def __init__(self, inn: StegoINN):
        super().__init__()
        self.inn = inn

    def forward(self, container, lost):
        return self.inn.inverse(container, lost)
