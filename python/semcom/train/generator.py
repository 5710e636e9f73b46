"""Train Eve's face generator on public faces: the train split, people disjoint from the victims (test split).

Non-saturating GAN loss (softplus form) on horizontally flipped reals, Adam with beta1 = 0.5. Every
``r1_every`` steps the discriminator also pays gamma/2 |grad_x D(x)|^2 on reals (the R1 penalty of
Mescheder et al., 2018, applied lazily as in StyleGAN2, so scaled by ``r1_every``): it keeps D smooth
around the data, which stabilises training without spectral norm. The file written holds an
exponential moving average of G's weights (as StyleGAN ships), smoother than the last step's G.
Every random draw comes from one seeded CPU generator kept in the checkpoint, so ``resume`` continues
exactly.
"""
from __future__ import annotations

import copy
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch.nn import functional as F
from tqdm import tqdm

from .. import data
from ..export import write_samples
from ..nn.generator import Discriminator, Generator, GeneratorConfig
from . import common


@dataclass
class GeneratorTrainConfig:
    data: str
    out: str
    model: GeneratorConfig = field(default_factory=GeneratorConfig)
    steps: int = 20000
    batch: int = 64
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    r1_gamma: float = 1.0  # 0: no R1 penalty
    r1_every: int = 16
    ema: float = 0.999  # decay of the averaged G that is written out
    seed: int = 0
    limit: int | None = None  # train on the first N images of the split only (smoke runs)
    max_minutes: float | None = None  # stop this run after the step that passes this many minutes
    checkpoint_every: int = 200


def _update_ema(ema: Generator, model: Generator, step: int, decay: float) -> None:
    # the ramp keeps the average from being dominated by the random initial weights early on
    decay = min(decay, (1 + step) / (10 + step))
    with torch.no_grad():
        for e, p in zip(ema.parameters(), model.parameters()):
            e.lerp_(p, 1.0 - decay)


def train(cfg: GeneratorTrainConfig, resume: bool = False) -> Path:
    """Train and return the path of the final model file (``generator.pt`` in ``cfg.out``)."""
    rt = common.setup()
    common.seed_everything(cfg.seed)
    out = Path(cfg.out)
    res = cfg.model.resolution
    train_set = data.load_folder(cfg.data, (res, res), split="train", limit=cfg.limit, progress=True)
    images = torch.from_numpy(train_set.images).permute(0, 3, 1, 2).contiguous()

    G, D = Generator(cfg.model).to(rt.device), Discriminator(cfg.model).to(rt.device)
    G_ema = copy.deepcopy(G).requires_grad_(False)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr, betas=cfg.betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr, betas=cfg.betas)
    gen = torch.Generator().manual_seed(cfg.seed)
    start, spent_before, running = 0, 0.0, {}
    ckpt_path = out / "checkpoint.pt"
    if resume and ckpt_path.exists():
        ckpt = torch.load(ckpt_path, map_location=rt.device, weights_only=False)
        G.load_state_dict(ckpt["G"])
        D.load_state_dict(ckpt["D"])
        G_ema.load_state_dict(ckpt["G_ema"])
        opt_g.load_state_dict(ckpt["opt_G"])
        opt_d.load_state_dict(ckpt["opt_D"])
        gen.set_state(ckpt["gen"])
        common.set_rng_state(ckpt["rng"])
        start, spent_before, running = ckpt["step"], ckpt["minutes"], ckpt["losses"]
    out.mkdir(parents=True, exist_ok=True)
    print(f"training face generator {cfg.model} on {len(images)} images of {cfg.data} (train split, "
          f"{len(train_set.skipped)} skipped), G {sum(p.numel() for p in G.parameters()) / 1e6:.2f} M, "
          f"D {sum(p.numel() for p in D.parameters()) / 1e6:.2f} M parameters, device {rt.device}")

    def save(step: int, minutes: float) -> None:
        common.save_atomic({"G": G.state_dict(), "D": D.state_dict(), "G_ema": G_ema.state_dict(),
                            "opt_G": opt_g.state_dict(), "opt_D": opt_d.state_dict(), "gen": gen.get_state(),
                            "rng": common.rng_state(), "step": step, "minutes": minutes, "losses": running,
                            "config": asdict(cfg)}, ckpt_path)

    started = time.monotonic()
    done, minutes = start, spent_before
    bar = tqdm(range(start, cfg.steps), desc="train generator", unit="step", initial=start, total=cfg.steps)
    for step in bar:
        idx = torch.randint(len(images), (cfg.batch,), generator=gen)
        flip = torch.rand(cfg.batch, generator=gen) < 0.5
        real = images[idx].to(rt.device).float() / 255.0
        real = torch.where(flip.to(rt.device)[:, None, None, None], real.flip(3), real)
        z = torch.randn(cfg.batch, cfg.model.latent, generator=gen).to(rt.device)
        fake = G(z, *G.sample_noise(cfg.batch, gen))

        r1_step = cfg.r1_gamma > 0 and step % cfg.r1_every == 0
        real.requires_grad_(r1_step)
        real_logits = D(real)
        gan_d = F.softplus(D(fake.detach())).mean() + F.softplus(-real_logits).mean()
        loss_d = gan_d
        if r1_step:
            grad, = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
            r1 = grad.pow(2).flatten(1).sum(1).mean()
            loss_d = loss_d + cfg.r1_gamma / 2 * cfg.r1_every * r1
            running["r1"] = float(r1.detach())
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()

        D.requires_grad_(False)  # G's step needs gradients through D, not for it
        loss_g = F.softplus(-D(fake)).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        D.requires_grad_(True)
        _update_ema(G_ema, G, step, cfg.ema)
        done = step + 1

        for k, v in (("d", float(gan_d.detach())), ("g", float(loss_g.detach()))):
            running[k] = 0.95 * running.get(k, v) + 0.05 * v
        bar.set_postfix({k: f"{v:.3f}" for k, v in running.items()})
        minutes = spent_before + (time.monotonic() - started) / 60
        out_of_time = cfg.max_minutes is not None and (time.monotonic() - started) / 60 > cfg.max_minutes
        if done % cfg.checkpoint_every == 0 or done == cfg.steps or out_of_time:
            save(done, minutes)
            tqdm.write(json.dumps({"step": done, "minutes": round(minutes, 2),
                                   **{k: round(v, 4) for k, v in running.items()}}))
        if out_of_time:
            tqdm.write(f"stopping after step {done}: time limit of {cfg.max_minutes} minutes reached")
            break
    bar.close()

    final = out / "generator.pt"
    info = {"data": Path(cfg.data).name, "split": "train (identity-disjoint, 10% of identities held out, seed 0)",
            "images": len(images), "steps": done, "minutes": round(minutes, 1), "device": str(rt.device),
            "seed": cfg.seed, "losses": {k: round(v, 4) for k, v in running.items()},
            "train": {k: v for k, v in asdict(cfg).items() if k not in ("data", "out", "model")}}
    common.save_atomic({"config": cfg.model.to_dict(), "state_dict": G_ema.state_dict(), "info": info}, final)
    write_samples(G_ema, out / "samples.png")
    common.teardown(rt)
    return final


def load_generator(path: str | Path, device: str = "cpu") -> tuple[Generator, dict]:
    """A trained generator file (``generator.pt``) as an eval-mode model and its training record."""
    blob = torch.load(path, map_location=device, weights_only=False)
    model = Generator(GeneratorConfig(**blob["config"]))
    model.load_state_dict(blob["state_dict"])
    return model.eval(), blob.get("info", {})
