"""Train Eve's inverse network on her queries (eq. 15, and eqs. 22-23 through a frozen generator).

Each step draws a batch of queries, sends their clean symbols through Eve's own simulated channel at
an SNR uniform in [snr_min, snr_max] (so one network serves every SNR, told the SNR like Bob's
decoder), and minimises the mean square error to the image she knows. The GenAI variant predicts
the generator's (z, noise) and adds a small Gaussian prior on z so that it stays where G was trained.
A trained network is one file: its kind, configuration, weights and how it was trained.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..attacks.closedbox import Queries
from ..nn.inverse import LatentInverse, ThroughGenerator, image_inverse
from ..nn.jscc import JSCCConfig
from . import common
from .codec import training_channel

KINDS = ("image", "latent")


@dataclass
class EveTrainConfig:
    kind: str = "image"  # image: closed-box; latent: GenAI closed-box
    steps: int = 1500
    batch: int = 32
    lr: float = 1e-3
    lr_min: float = 1e-5
    channel: str = "awgn"  # awgn, rayleigh or mixed
    fading: str = "block"
    snr_min: float = 0.0
    snr_max: float = 20.0
    weight_z: float = 1e-3  # Gaussian prior on the predicted z (latent kind)
    seed: int = 0
    max_minutes: float | None = None
    net: JSCCConfig = field(default_factory=lambda: JSCCConfig(channels=64))


def build(cfg: EveTrainConfig, generator=None) -> torch.nn.Module:
    if cfg.kind == "image":
        return image_inverse(cfg.net)
    if generator is None:
        raise ValueError("the GenAI closed-box inverse needs the face generator")
    sizes = [s[-1] for s in generator.noise_shapes(1)]
    return ThroughGenerator(LatentInverse(cfg.net, generator.cfg.latent, sizes), generator)


def train_inverse(queries: Queries, cfg: EveTrainConfig, generator=None, device: str | None = None,
                  progress: str = "closed-box inverse") -> tuple[torch.nn.Module, dict]:
    """Train on the queries; returns the network (eval mode) and the training record."""
    if cfg.kind not in KINDS:
        raise ValueError(f"inverse kind must be one of {KINDS}, got {cfg.kind!r}")
    common.seed_everything(cfg.seed)
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    net = build(cfg, generator).to(dev).train()
    images = torch.from_numpy(queries.images).to(dev)
    symbols = torch.from_numpy(np.ascontiguousarray(queries.symbols, np.complex64)).to(dev)
    trainable = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.Adam(trainable, lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.steps, cfg.lr_min)
    chan = training_channel(cfg.channel, cfg.fading)
    gen = torch.Generator(device=dev).manual_seed(cfg.seed)
    started, running, done = time.monotonic(), None, 0
    bar = tqdm(range(cfg.steps), desc=f"{progress} ({len(queries)} queries)", unit="step")
    for step in bar:
        idx = torch.randint(len(images), (min(cfg.batch, len(images)),), generator=gen, device=dev)
        snr = torch.empty(len(idx), device=dev).uniform_(cfg.snr_min, cfg.snr_max, generator=gen)
        y, rx_snr = chan(symbols[idx], snr)
        y = torch.view_as_real(y)
        if cfg.kind == "image":
            loss = torch.mean((net(y, rx_snr.reshape(-1, 1)) - images[idx]) ** 2)
        else:
            z, noise = net.inverse(y, rx_snr.reshape(-1, 1))
            loss = torch.mean((net.generator(z, *noise) - images[idx]) ** 2) + cfg.weight_z * z.pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        done = step + 1
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        bar.set_postfix(psnr=f"{-10 * math.log10(max(running, 1e-10)):.2f}", refresh=False)
        if cfg.max_minutes is not None and (time.monotonic() - started) / 60 > cfg.max_minutes:
            break
    bar.close()
    info = {"queries": len(queries), "query_mode": queries.mode, "steps": done, "train_loss": running,
            "minutes": round((time.monotonic() - started) / 60, 2), "device": str(dev), "config": asdict(cfg)}
    return net.eval(), info


def save(net: torch.nn.Module, cfg: EveTrainConfig, info: dict, path: Path, generator: str | None = None) -> None:
    """The inverse network's own weights (never the generator's, which has its own file)."""
    state = net.inverse.state_dict() if cfg.kind == "latent" else net.state_dict()
    common.save_atomic({"kind": cfg.kind, "config": asdict(cfg), "state_dict": state, "info": info,
                        "generator": generator}, Path(path))


def load(path: Path, generator=None) -> tuple[torch.nn.Module, dict]:
    """An inverse network file written by ``save``, in eval mode, and its record."""
    blob = torch.load(path, map_location="cpu", weights_only=False)
    raw = dict(blob["config"])
    raw["net"] = JSCCConfig(**raw["net"])
    cfg = EveTrainConfig(**raw)
    net = build(cfg, generator)
    (net.inverse if cfg.kind == "latent" else net).load_state_dict(blob["state_dict"])
    return net.eval(), {**blob["info"], "generator": blob.get("generator")}
