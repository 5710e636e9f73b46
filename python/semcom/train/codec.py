"""Train DeepJSCC end to end through the channel, SNR drawn uniformly per image (the paper's recipe).

Loss: MSE between image and reconstruction (the perceptual term of eq. 6 needs VGG16 weights that
this project cannot assume). Adam with a cosine learning-rate decay over the planned epochs.
Checkpoints after every epoch hold model, optimiser, schedule and RNG state; ``resume`` continues
from one exactly.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from .. import channel, data
from ..metrics import psnr
from ..nn.jscc import DeepJSCC, JSCCConfig
from . import common

VALIDATION_SNRS = (0.0, 10.0, 20.0)


@dataclass
class CodecTrainConfig:
    data: str
    out: str
    model: JSCCConfig = field(default_factory=JSCCConfig)
    epochs: int = 40
    batch: int = 32
    lr: float = 1e-3
    lr_min: float = 1e-5
    snr_min: float = 0.0
    snr_max: float = 20.0
    channel: str = "awgn"  # awgn, rayleigh or mixed (half of each batch each)
    fading: str = "block"
    seed: int = 0
    limit: int | None = None  # train on the first N images of the split only (smoke runs)
    val_images: int = 256
    max_minutes: float | None = None  # stop this run after the epoch that passes this many minutes


def training_channel(kind: str, fading: str = "block"):
    """The channel of a training loop; ``mixed`` sends the first half of each batch over AWGN and
    the second half over Rayleigh fading."""
    if kind != "mixed":
        return channel.Channel(kind, fading)
    awgn, rayleigh = channel.Channel("awgn"), channel.Channel("rayleigh", fading)

    def mixed(x, snr):
        half = x.shape[0] // 2
        (ya, sa), (yr, sr) = awgn(x[:half], snr[:half]), rayleigh(x[half:], snr[half:])
        return torch.cat([ya, yr]), torch.cat([sa, sr])
    return mixed


@torch.no_grad()
def validate(model: DeepJSCC, images: torch.Tensor, device, seed: int = 1234) -> dict[str, float]:
    """Mean PSNR on held-out images over AWGN at a few SNRs, with fixed noise draws."""
    model.eval()
    gen = torch.Generator(device=device).manual_seed(seed)
    out = {}
    for snr in VALIDATION_SNRS:
        scores = []
        for i in range(0, len(images), 128):
            x = images[i:i + 128].to(device).float() / 255.0
            s = torch.view_as_complex(model.encoder(x))
            y = channel.awgn(s, snr, gen)
            x_hat = model.decoder(torch.view_as_real(y), torch.full((len(x),), snr, device=device))
            scores.append(psnr(x_hat.cpu().numpy(), x.cpu().numpy()))
        out[f"psnr_{snr:g}dB"] = float(np.concatenate(scores).mean())
    model.train()
    return out


def train(cfg: CodecTrainConfig, resume: bool = False) -> Path:
    """Train and return the path of the final model file (``codec.pt`` in ``cfg.out``)."""
    if cfg.channel not in ("awgn", "rayleigh", "mixed"):
        raise ValueError(f"channel must be awgn, rayleigh or mixed, got {cfg.channel!r}")
    rt = common.setup()
    common.seed_everything(cfg.seed + rt.rank)
    out = Path(cfg.out)
    size = (cfg.model.height, cfg.model.width)
    train_set = data.load_folder(cfg.data, size, split="train", limit=cfg.limit, progress=rt.main)
    val_set = data.load_folder(cfg.data, size, split="test", limit=cfg.val_images)
    images = torch.from_numpy(train_set.images).permute(0, 3, 1, 2).contiguous()
    val_images = torch.from_numpy(val_set.images).permute(0, 3, 1, 2).contiguous()

    model = DeepJSCC(cfg.model).to(rt.device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    steps_per_epoch = max(1, len(images) // (cfg.batch * rt.world))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.epochs * steps_per_epoch, cfg.lr_min)
    start_epoch, history = 0, []
    ckpt_path = out / "checkpoint.pt"
    if resume and ckpt_path.exists():
        ckpt = torch.load(ckpt_path, map_location=rt.device, weights_only=False)
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        common.set_rng_state(ckpt["rng"])
        start_epoch, history = ckpt["epoch"], ckpt["history"]
        # a new epoch budget on resume re-plans the cosine decay to end with it
        sched.T_max = cfg.epochs * steps_per_epoch
    net = DistributedDataParallel(model) if rt.world > 1 else model
    chan = training_channel(cfg.channel, cfg.fading)
    if rt.main:
        out.mkdir(parents=True, exist_ok=True)
        print(f"training DeepJSCC {cfg.model} on {len(images)} images ({len(train_set.skipped)} skipped), "
              f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters, device {rt.device}, "
              f"{rt.world} process(es)")

    started = time.monotonic()
    spent_before = history[-1]["minutes"] if history else 0.0  # training minutes add up across resumes
    for epoch in range(start_epoch, cfg.epochs):
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(cfg.seed * 1000 + epoch))
        order = order[rt.rank::rt.world][: steps_per_epoch * cfg.batch]
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not rt.main, unit="step")
        running = 0.0
        for step in bar:
            idx = order[step * cfg.batch:(step + 1) * cfg.batch]
            x = images[idx].to(rt.device).float() / 255.0
            flip = torch.rand(len(x), device=rt.device) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
            snr = torch.empty(len(x), device=rt.device).uniform_(cfg.snr_min, cfg.snr_max)
            loss = torch.mean((net(x, chan, snr) - x) ** 2)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            running = 0.98 * running + 0.02 * loss.item() if step else loss.item()
            bar.set_postfix(psnr=f"{-10 * math.log10(max(running, 1e-10)):.2f}", lr=f"{sched.get_last_lr()[0]:.1e}")
        if rt.main:
            record = {"epoch": epoch + 1, "train_loss": running, "minutes": spent_before + (time.monotonic() - started) / 60,
                      **validate(model, val_images, rt.device)}
            history.append(record)
            print(json.dumps(record))
            common.save_atomic({"model": model.state_dict(), "optimizer": opt.state_dict(),
                                "scheduler": sched.state_dict(), "rng": common.rng_state(),
                                "epoch": epoch + 1, "history": history, "config": asdict(cfg)}, ckpt_path)
        out_of_time = cfg.max_minutes is not None and (time.monotonic() - started) / 60 > cfg.max_minutes
        if common.on_any_rank(out_of_time, rt):
            if rt.main:
                print(f"stopping after epoch {epoch + 1}: time limit of {cfg.max_minutes} minutes reached")
            break
    final = out / "codec.pt"
    if rt.main:
        save_jscc(model, final, {"train": asdict(cfg), "epochs_done": len(history), "history": history,
                                 "train_images": len(images), "device": str(rt.device)})
    common.teardown(rt)
    return final


def save_jscc(model: DeepJSCC, path: Path, info: dict) -> None:
    common.save_atomic({"config": model.cfg.to_dict(), "state_dict": model.state_dict(), "info": info}, path)


def load_jscc(path: str | Path, device: str = "cpu") -> tuple[DeepJSCC, dict]:
    """A trained codec file (``codec.pt``) as an eval-mode model and its training record."""
    blob = torch.load(path, map_location=device, weights_only=False)
    model = DeepJSCC(JSCCConfig(**blob["config"]))
    model.load_state_dict(blob["state_dict"])
    return model.eval(), blob.get("info", {})
