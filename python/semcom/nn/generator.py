"""A face generator G(z, noise) -> image and its discriminator: Eve's GenAI prior (a small StyleGAN-like GAN).

G maps z ~ N(0, I) of size ``latent`` through a linear layer to 4x4 features, then doubles the
resolution per stage (nearest upsampling and 3x3 convs) up to ``resolution``, and ends in a sigmoid:
images (N, 3, H, W) in [0, 1], the codec's input convention. As in StyleGAN, each stage adds its own
single-channel N(0, 1) noise map with a learned per-channel scale (zero at the start), for detail such
as hair that z need not encode; the GenAI attacks search over z and these maps. Features are pixel
normalised (ProGAN), not batch normalised, so a face never depends on the others in its batch and
train and eval mode are the same function (which the attacks' per-image inversions rely on).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

FLOOR = 32  # fewest channels of a stage


@dataclass(frozen=True)
class GeneratorConfig:
    latent: int = 128
    resolution: int = 64
    width: int = 256  # channels at 4x4, halved per stage down to FLOOR

    @property
    def sizes(self) -> list[int]:
        """Side of each stage: 4, 8, ..., resolution."""
        stages = math.log2(self.resolution) - 1
        if stages < 2 or stages != int(stages):
            raise ValueError(f"resolution must be a power of two of at least 8, got {self.resolution}")
        return [4 << i for i in range(int(stages))]

    def channels(self, stage: int) -> int:
        return max(self.width >> stage, min(self.width, FLOOR))

    def to_dict(self) -> dict:
        return asdict(self)


def he_init(module: nn.Module) -> None:
    """He initialisation for LeakyReLU(0.2) and zero biases: PyTorch's default initialisation shrinks
    the signal layer by layer, which leaves a fresh discriminator's logits near 1e-5 and its gradients
    (and so G's) near zero."""
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.kaiming_normal_(module.weight, a=0.2, nonlinearity="leaky_relu")
        nn.init.zeros_(module.bias)


def pixel_norm(x: torch.Tensor) -> torch.Tensor:
    return x * torch.rsqrt(x.pow(2).mean(1, keepdim=True) + 1e-8)


class Stage(nn.Module):
    """(upsample and conv, or the 4x4 input) + scaled noise -> activation -> conv -> activation."""

    def __init__(self, cin: int, cout: int, first: bool):
        super().__init__()
        self.first = first
        self.conv_in = None if first else nn.Conv2d(cin, cout, 3, padding=1)
        self.noise_scale = nn.Parameter(torch.zeros(1, cout, 1, 1))
        self.conv = nn.Conv2d(cout, cout, 3, padding=1)

    def forward(self, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        if not self.first:
            x = self.conv_in(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        x = pixel_norm(F.leaky_relu(x + self.noise_scale * noise, 0.2))
        return pixel_norm(F.leaky_relu(self.conv(x), 0.2))


class Generator(nn.Module):
    def __init__(self, cfg: GeneratorConfig = GeneratorConfig()):
        super().__init__()
        self.cfg = cfg
        c0 = cfg.channels(0)
        self.input = nn.Linear(cfg.latent, c0 * 16)
        self.stages = nn.ModuleList(Stage(cfg.channels(max(i - 1, 0)), cfg.channels(i), i == 0)
                                    for i in range(len(cfg.sizes)))
        self.to_rgb = nn.Conv2d(cfg.channels(len(cfg.sizes) - 1), 3, 1)
        self.apply(he_init)

    def noise_shapes(self, batch: int) -> list[tuple[int, int, int, int]]:
        return [(batch, 1, s, s) for s in self.cfg.sizes]

    def sample_noise(self, batch: int, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """N(0, 1) noise maps, drawn on the random generator's device and moved to the model's."""
        device = self.input.weight.device
        draw_on = generator.device if generator is not None else device
        return [torch.randn(s, generator=generator, device=draw_on).to(device) for s in self.noise_shapes(batch)]

    def forward(self, z: torch.Tensor, *noise: torch.Tensor) -> torch.Tensor:
        if len(noise) != len(self.stages):
            raise ValueError(f"the generator takes {len(self.stages)} noise maps, got {len(noise)}")
        x = self.input(pixel_norm(z)).reshape(z.shape[0], -1, 4, 4)
        for stage, n in zip(self.stages, noise):
            x = stage(x, n)
        return torch.sigmoid(self.to_rgb(x))


class Discriminator(nn.Module):
    """Images in [0, 1] -> one logit per image (positive: real). Mirrors G's stages with strided
    convs; the minibatch standard deviation (ProGAN) at 4x4 lets it see a collapsed batch."""

    def __init__(self, cfg: GeneratorConfig = GeneratorConfig()):
        super().__init__()
        n = len(cfg.sizes)
        act = nn.LeakyReLU(0.2)
        layers = [nn.Conv2d(3, cfg.channels(n - 1), 1), act]
        for i in reversed(range(1, n)):
            layers += [nn.Conv2d(cfg.channels(i), cfg.channels(i), 3, padding=1), act,
                       nn.Conv2d(cfg.channels(i), cfg.channels(i - 1), 3, stride=2, padding=1), act]
        self.body = nn.Sequential(*layers)
        c0 = cfg.channels(0)
        self.head = nn.Sequential(nn.Conv2d(c0 + 1, c0, 3, padding=1), act, nn.Flatten(),
                                  nn.Linear(c0 * 16, c0), act, nn.Linear(c0, 1))
        self.apply(he_init)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.body(image * 2.0 - 1.0)
        spread = x.std(0, correction=0).mean().expand(x.shape[0], 1, *x.shape[2:])
        return self.head(torch.cat([x, spread], 1))[:, 0]
