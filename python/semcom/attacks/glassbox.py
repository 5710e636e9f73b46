"""Glass-box model inversion (Algorithm 1) and its GenAI variant (eqs. 17-21).

Eve holds the encoder f (from Alice's ONNX file) and the equalised received symbols y. Through
equalisation y = f(x) + n' for AWGN and ZF block fading alike, so the channel's part of the forward
model is the additive noise, and the maximum-likelihood image minimises |y - f(x)|^2 (eq. 12).
Images are optimised as logits (sigmoid keeps them in [0, 1]) with Adam, many at once, from the
mean public face. A total variation prior keeps the encoder's null space (K is 1/12 of the pixel
values) and the noise from filling the image with texture. Its weight is one constant: scaled with
the noise variance (a textbook MAP weight) it fades at high SNR, where the null space still needs it
(measured on 24 held-out faces at 20 dB: 14.9 dB PSNR with the scaled weight, 19.7 dB with 1.0).
The GenAI variant searches the generator's input instead: min |y - f(G(z, noise))|^2 + lambda |z|^2,
from several random starts, keeping per image the start that explains y best.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm


def iq_tensor(symbols: np.ndarray) -> torch.Tensor:
    """Complex symbols (N, K) as the models' real layout (N, K, 2)."""
    return torch.from_numpy(np.ascontiguousarray(symbols, dtype=np.complex64)).view(torch.float32).reshape(len(symbols), -1, 2)


def data_misfit(encoder, images: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per image mean |y - f(x)|^2 over the symbols (complex: the sum of both parts)."""
    return (encoder(images) - y).pow(2).sum(-1).mean(-1)


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Per image mean absolute difference between neighbouring pixels."""
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean((1, 2, 3)) + (x[..., :, 1:] - x[..., :, :-1]).abs().mean((1, 2, 3))


@dataclass
class GlassBoxConfig:
    iterations: int = 200
    lr: float = 0.05
    tv: float = 1.0  # total variation prior weight
    batch: int = 64


class GlassBox:
    """``attack(symbols, snr_db)``: complex (N, K) -> images (N, 3, H, W); the SNR is not used."""

    name = "glassbox"

    def __init__(self, encoder: torch.nn.Module, start: np.ndarray, cfg: GlassBoxConfig = GlassBoxConfig()):
        self.encoder = encoder.eval().requires_grad_(False)
        self.start = torch.from_numpy(np.clip(start, 0.02, 0.98).astype(np.float32))  # e.g. the mean public face
        self.cfg = cfg

    def __call__(self, symbols: np.ndarray, snr_db, progress: bool = True) -> np.ndarray:
        cfg, out = self.cfg, []
        for i in range(0, len(symbols), cfg.batch):
            y = iq_tensor(symbols[i:i + cfg.batch])
            logits = torch.logit(self.start).expand(len(y), *self.start.shape).clone().requires_grad_(True)
            opt = torch.optim.Adam([logits], lr=cfg.lr)
            for _ in tqdm(range(cfg.iterations), desc=f"glass-box images {i}-{i + len(y)}", unit="it",
                          disable=not progress, leave=False):
                x = torch.sigmoid(logits)
                loss = (data_misfit(self.encoder, x, y) + cfg.tv * total_variation(x)).sum()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            out.append(torch.sigmoid(logits).detach().numpy())
        return np.concatenate(out)


@dataclass
class GenAIGlassBoxConfig:
    iterations: int = 200
    lr: float = 0.05
    weight_z: float = 0.1  # lambda of the Gaussian prior on z
    restarts: int = 2
    noise: bool = True  # also optimise the generator's noise maps
    batch: int = 64


class GenAIGlassBox:
    name = "genai-glassbox"

    def __init__(self, encoder: torch.nn.Module, generator: torch.nn.Module, cfg: GenAIGlassBoxConfig = GenAIGlassBoxConfig(),
                 seed: int = 0):
        self.encoder = encoder.eval().requires_grad_(False)
        self.generator = generator.eval().requires_grad_(False)
        self.cfg, self.seed = cfg, seed

    def _solve(self, y: torch.Tensor, gen: torch.Generator, progress: str | None):
        cfg, n = self.cfg, len(y)
        z = torch.randn(n, self.generator.cfg.latent, generator=gen).requires_grad_(True)
        noise = [t.requires_grad_(cfg.noise) for t in self.generator.sample_noise(n, gen)]
        opt = torch.optim.Adam([z] + (noise if cfg.noise else []), lr=cfg.lr)
        for _ in tqdm(range(cfg.iterations), desc=progress, unit="it", disable=progress is None, leave=False):
            x = self.generator(z, *noise)
            loss = (data_misfit(self.encoder, x, y) + cfg.weight_z * z.pow(2).mean(1)).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        with torch.no_grad():
            x = self.generator(z, *noise)
            return x, data_misfit(self.encoder, x, y)

    def __call__(self, symbols: np.ndarray, snr_db, progress: bool = True) -> np.ndarray:
        cfg, out = self.cfg, []
        gen = torch.Generator().manual_seed(self.seed)
        for i in range(0, len(symbols), cfg.batch):
            y = iq_tensor(symbols[i:i + cfg.batch])
            best, best_misfit = None, None
            for r in range(cfg.restarts):
                label = f"GenAI glass-box images {i}-{i + len(y)}, start {r + 1}/{cfg.restarts}" if progress else None
                x, misfit = self._solve(y, gen, label)
                if best is None:
                    best, best_misfit = x, misfit
                else:
                    better = misfit < best_misfit
                    best = torch.where(better[:, None, None, None], x, best)
                    best_misfit = torch.minimum(misfit, best_misfit)
            out.append(best.numpy())
        return np.concatenate(out)
