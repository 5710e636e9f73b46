"""Signal steganography: hide the private image's symbols in the host's (three paradigms).

``inn`` (Sec. 4 of the first paper, after HiNet / ISN) is described below. ``cnn`` and ``gan``
(Sec. III of the second paper) share ``StegoCNN``: an embedding network at Alice and an extraction
network at Bob; ``gan`` is the same pair trained against two discriminators (``train.stego``), so
that the two differ only in how they were trained. Every paradigm has one interface:
``model(host, private) -> (container, lost)`` (``lost`` is None where nothing is left behind) and
``model.extract(received container, lost estimate) -> (host, private)``.

INN:

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

from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

from .. import channel


@dataclass(frozen=True)
class _LatentConfig:
    latent: tuple[int, int, int] = (8, 16, 16)  # the codec's latent layout; 2K = C * H * W

    @property
    def symbols(self) -> int:
        c, h, w = self.latent
        return c * h * w // 2

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict):
        return cls(**{**d, "latent": tuple(d["latent"])})


@dataclass(frozen=True)
class StegoConfig(_LatentConfig):
    blocks: int = 8
    hidden: int = 64
    clamp: float = 2.0


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

    paradigm = "inn"
    keeps_lost = True

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

    def extract(self, container: torch.Tensor, lost: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.inverse(container, lost)


@dataclass(frozen=True)
class CNNConfig(_LatentConfig):
    hidden: int = 64
    layers: int = 4  # 3x3 convolutions per network


def _conv_net(c_in: int, c_out: int, hidden: int, layers: int) -> nn.Sequential:
    widths = [c_in] + [hidden] * (layers - 1) + [c_out]
    mods: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        mods += [nn.Conv2d(a, b, 3, padding=1), nn.LeakyReLU(0.2)]
    net = nn.Sequential(*mods[:-1])
    nn.init.zeros_(net[-1].weight)  # start as a residual of zero (see StegoCNN)
    nn.init.zeros_(net[-1].bias)
    return net


class StegoCNN(nn.Module):
    """An embedding network E and an extraction network X over the codec's latent layout:

        container = normalise(s_h + E(s_h, s_p)),   (h, p) = (y + X_h(y), X_p(y))

    Both start at a zero residual, so an untrained pair sends the host and reads it back. Nothing
    is left behind at Alice (``lost`` is None): the container alone has to carry both images."""

    keeps_lost = False

    def __init__(self, cfg: CNNConfig = CNNConfig(), paradigm: str = "cnn"):
        super().__init__()
        if paradigm not in ("cnn", "gan"):
            raise ValueError(f"StegoCNN serves the cnn and gan paradigms, not {paradigm!r}")
        self.cfg, self.paradigm = cfg, paradigm
        c = cfg.latent[0]
        self.embedder = _conv_net(2 * c, c, cfg.hidden, cfg.layers)
        self.extractor = _conv_net(c, 2 * c, cfg.hidden, cfg.layers)

    def _latent(self, s: torch.Tensor) -> torch.Tensor:
        return s.reshape(s.shape[0], *self.cfg.latent)

    def forward(self, host: torch.Tensor, private: torch.Tensor) -> tuple[torch.Tensor, None]:
        h = self._latent(host)
        container = h + self.embedder(torch.cat([h, self._latent(private)], 1))
        return channel.power_normalize(container.reshape(host.shape)), None

    def extract(self, container: torch.Tensor, lost=None) -> tuple[torch.Tensor, torch.Tensor]:
        y = self._latent(container)
        h, p = self.extractor(y).chunk(2, dim=1)
        return (y + h).reshape(container.shape), p.reshape(container.shape)


PARADIGMS = ("inn", "cnn", "gan")


def build(paradigm: str, config: dict) -> nn.Module:
    """An untrained model of a paradigm from its configuration (a key's ``config``)."""
    if paradigm == "inn":
        return StegoINN(StegoConfig.from_dict(config))
    if paradigm in ("cnn", "gan"):
        return StegoCNN(CNNConfig.from_dict(config), paradigm)
    raise ValueError(f"unknown stego paradigm {paradigm!r}; choose from {', '.join(PARADIGMS)}")


def config_for(paradigm: str, latent: tuple[int, int, int], **options) -> dict:
    """A paradigm's configuration from the training options that apply to it (others are ignored)."""
    cls = StegoConfig if paradigm == "inn" else CNNConfig
    names = {f.name for f in fields(cls)}
    return cls(latent=tuple(latent), **{k: v for k, v in options.items() if k in names}).to_dict()


class Embed(nn.Module):
    """Alice's half, as exported to ONNX: (host, private) -> container (and lost, for the INN)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, host, private):
        container, lost = self.model(host, private)
        return container if lost is None else (container, lost)


class Extract(nn.Module):
    """Bob's half, as exported to ONNX: container (and lost estimate, for the INN) -> (host, private)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, container, *lost):
        return self.model.extract(container, *lost)
