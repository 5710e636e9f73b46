"""Train the INN stego key on top of a frozen DeepJSCC codec (Algorithm 3 of the first paper).

Loss (eqs. 30-33), every term a mean square:
    l1 |s_c - s_h|^2 + l2 |r - r_hat|^2          forward: the container looks like the host
  + l3 |s_h_hat - s_h|^2 + l4 |s_p_hat - s_p|^2  backward: Bob recovers both from the received container
  + l5 |D(s_p_hat) - x_p|^2                      privacy consistency through the frozen decoder
with the channel in the loop (SNR uniform per pair). ``adversarial`` > 0 adds a steganalyser that
learns to tell received containers from received plain signals, and a term that rewards the INN
for fooling it (the GAN-based strategy of the second paper).
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch.nn import functional as F
from tqdm import tqdm

from .. import channel, data, keys, runtime
from ..metrics import psnr
from ..keys import LOST_ESTIMATES, lost_estimate
from ..nn.stego import StegoConfig, StegoINN
from ..nn.steganalysis import Steganalyser
from . import common
from .codec import load_jscc, training_channel

VALIDATION_SNR = 10.0


@dataclass
class StegoTrainConfig:
    data: str
    out: str  # the key file to write
    codec: str = "deepjscc-celeba64"
    samples: int = 1000  # training images (the paper uses 1000); None: the whole train split
    steps: int = 1500
    batch: int = 128
    lr: float = 1e-3
    lr_min: float = 1e-5
    weights: tuple[float, ...] = (1.0, 2.0, 2.0, 1.0, 1.0)  # lambda 1..5
    channel: str = "mixed"  # awgn, rayleigh, or mixed (half of each batch each)
    fading: str = "block"
    snr_min: float = 0.0
    snr_max: float = 20.0
    lost: str = "zero"
    adversarial: float = 0.0
    clip: float = 1.0  # gradient norm limit
    blocks: int = 8
    hidden: int = 64
    seed: int = 0
    val_pairs: int = 128
    max_minutes: float | None = None
    demo: bool = False  # mark the key as the public demo key
    init: str | None = None  # start from this key's INN (fine-tuning, e.g. with the adversarial term)


def _pairs(n: int, batch: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random (host, private) indices, never the same image twice in a pair."""
    host = torch.randint(n, (batch,), generator=gen)
    private = (host + torch.randint(1, n, (batch,), generator=gen)) % n
    return host, private


class StegoLoss:
    """Eqs. 30-33 for a batch: returns the total and its parts (for the progress bar and the log)."""

    def __init__(self, inn: StegoINN, decoder, chan, cfg: StegoTrainConfig):
        self.inn, self.decoder, self.chan, self.cfg = inn, decoder, chan, cfg

    def __call__(self, s_h, s_p, x_p, snr, gen=None):
        l1, l2, l3, l4, l5 = self.cfg.weights
        container, lost = self.inn(s_h, s_p)
        r_hat = lost_estimate(lost, self.cfg.lost, gen)
        y, rx_snr = self.chan(torch.view_as_complex(container.contiguous()), snr)
        y = torch.view_as_real(y)
        h_hat, p_hat = self.inn.inverse(y, r_hat)
        x_p_hat = self.decoder(p_hat, rx_snr)
        # Bob's symbol errors are weighed by 1 / (1 + his noise variance), within a factor 2 of the
        # plain mean square over AWGN at 0-20 dB, and left out for pairs whose block fade puts his
        # SNR below the training range: the INN's inverse amplifies ZF noise of variance 10 or 100
        # into errors that would drown the batch (the image term still sees those pairs)
        weight = (rx_snr >= self.cfg.snr_min) / (1.0 + channel.noise_variance(rx_snr))

        def bob(est, ref):
            return (weight * ((est - ref) ** 2).mean((1, 2))).mean()
        parts = {"container": F.mse_loss(container, s_h), "lost": F.mse_loss(lost, r_hat),
                 "host": bob(h_hat, s_h), "private": bob(p_hat, s_p), "image": F.mse_loss(x_p_hat, x_p)}
        total = l1 * parts["container"] + l2 * parts["lost"] + l3 * parts["host"] + l4 * parts["private"] \
            + l5 * parts["image"]
        return total, parts, y


@torch.no_grad()
def validate(inn, decoder, s_h, s_p, x_h, x_p, lost_mode: str) -> dict[str, float]:
    """Bob's host and private PSNR and Eve's decoder-on-container PSNR against the host, AWGN 10 dB."""
    inn.eval()
    gen = torch.Generator(device=s_h.device).manual_seed(1234)
    container, lost = inn(s_h, s_p)
    y = torch.view_as_real(channel.awgn(torch.view_as_complex(container.contiguous()), VALIDATION_SNR, gen))
    snr = torch.full((len(y),), VALIDATION_SNR, device=y.device)
    h_hat, p_hat = inn.inverse(y, lost_estimate(lost, lost_mode, gen))

    def score(symbols, x):
        return psnr(decoder(symbols, snr).cpu().numpy(), x.cpu().numpy()).mean()
    out = {"bob_host_psnr": score(h_hat, x_h), "bob_private_psnr": score(p_hat, x_p), "eve_host_psnr": score(y, x_h)}
    inn.train()
    return {k: float(v) for k, v in out.items()}


def train(cfg: StegoTrainConfig, resume: bool = False) -> Path:
    """Train the INN and write the key file ``cfg.out`` (owner-only); returns its path."""
    from ..export import export_stego_key
    if cfg.lost not in LOST_ESTIMATES:
        raise ValueError(f"lost must be one of {LOST_ESTIMATES}, got {cfg.lost!r}")
    if len(cfg.weights) != 5:
        raise ValueError(f"weights must be five numbers (lambda 1..5), got {cfg.weights}")
    rt = common.setup()
    common.seed_everything(cfg.seed)
    out = Path(cfg.out)
    ckpt_path = out.with_suffix(".ckpt")
    keys.private_folder(out)

    codec, _ = load_jscc(runtime.checkpoint_path(cfg.codec), str(rt.device))
    for p in codec.parameters():
        p.requires_grad_(False)
    size = (codec.cfg.height, codec.cfg.width)
    pool = data.load_folder(cfg.data, size, split="train", limit=cfg.samples, progress=True)
    val = data.load_folder(cfg.data, size, split="test", limit=2 * cfg.val_pairs)
    images = torch.from_numpy(pool.as_float()).to(rt.device)
    images = torch.cat([images, images.flip(3)])  # mirrored faces double the pool
    with torch.no_grad():
        symbols = torch.cat([codec.encoder(images[i:i + 256]) for i in range(0, len(images), 256)])
        val_x = torch.from_numpy(val.as_float()).to(rt.device)
        val_s = codec.encoder(val_x)
    half = len(val_x) // 2
    val_args = (val_s[:half], val_s[half:2 * half], val_x[:half], val_x[half:2 * half])

    inn = StegoINN(StegoConfig(latent=codec.cfg.latent_shape, blocks=cfg.blocks, hidden=cfg.hidden)).to(rt.device)
    if cfg.init:
        start_inn, _ = keys.load_inn(cfg.init, str(rt.device))
        if start_inn.cfg != inn.cfg:
            raise ValueError(f"--init key {cfg.init} has INN {start_inn.cfg}, this run builds {inn.cfg}")
        inn.load_state_dict(start_inn.state_dict())
    opt = torch.optim.Adam(inn.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.steps, cfg.lr_min)
    critic = Steganalyser(codec.cfg.latent_shape).to(rt.device) if cfg.adversarial > 0 else None
    critic_opt = torch.optim.Adam(critic.parameters(), lr=1e-3) if critic else None
    loss_fn = StegoLoss(inn, codec.decoder, training_channel(cfg.channel, cfg.fading), cfg)
    start, history, spent_before = 0, [], 0.0
    if resume and ckpt_path.exists():
        ckpt = torch.load(ckpt_path, map_location=rt.device, weights_only=False)
        inn.load_state_dict(ckpt["inn"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        if critic:
            critic.load_state_dict(ckpt["critic"])
            critic_opt.load_state_dict(ckpt["critic_optimizer"])
        common.set_rng_state(ckpt["rng"])
        start, history = ckpt["step"], ckpt["history"]
        spent_before = history[-1]["minutes"] if history else 0.0
        sched.T_max = cfg.steps
    print(f"training INN stego key ({inn.cfg}, {sum(p.numel() for p in inn.parameters()) / 1e6:.2f} M parameters) "
          f"on {len(pool)} images of {cfg.data} (+ mirrored), codec {cfg.codec} frozen, device {rt.device}")

    gen = torch.Generator().manual_seed(cfg.seed)
    started = time.monotonic()
    log_every = max(1, min(100, cfg.steps // 10))
    bar = tqdm(range(start, cfg.steps), desc="train stego", unit="step", initial=start, total=cfg.steps)
    running: dict[str, float] = {}
    for step in bar:
        hi, pi = _pairs(len(images), cfg.batch, gen)
        s_h, s_p, x_p = symbols[hi], symbols[pi], images[pi]
        snr = torch.empty(cfg.batch, device=rt.device).uniform_(cfg.snr_min, cfg.snr_max)
        loss, parts, y = loss_fn(s_h, s_p, x_p, snr)
        if critic:
            # the INN is rewarded when the steganalyser takes its containers for plain signals
            fool = F.binary_cross_entropy_with_logits(critic(y), torch.zeros(len(y), device=rt.device))
            loss = loss + cfg.adversarial * fool
            parts["fool"] = fool
        opt.zero_grad(set_to_none=True)
        loss.backward()
        # a deep block fade makes the ZF-equalised container very noisy; keep such a pair from
        # throwing the INN off in one step
        torch.nn.utils.clip_grad_norm_(inn.parameters(), cfg.clip)
        opt.step()
        sched.step()
        if critic:
            plain, _ = loss_fn.chan(torch.view_as_complex(s_h.contiguous()), snr)
            logits = critic(torch.cat([torch.view_as_real(plain), y.detach()]))
            labels = torch.cat([torch.zeros(len(y)), torch.ones(len(y))]).to(rt.device)
            critic_loss = F.binary_cross_entropy_with_logits(logits, labels)
            critic_opt.zero_grad(set_to_none=True)
            critic_loss.backward()
            critic_opt.step()
            parts["critic_acc"] = ((logits > 0).float() == labels).float().mean()
        for k, v in parts.items():
            v = float(v.detach())
            running[k] = 0.95 * running.get(k, v) + 0.05 * v
        bar.set_postfix(image_psnr=f"{-10 * math.log10(max(running['image'], 1e-10)):.2f}",
                        container=f"{running['container']:.4f}", lr=f"{sched.get_last_lr()[0]:.1e}")
        minutes = spent_before + (time.monotonic() - started) / 60
        out_of_time = cfg.max_minutes is not None and (time.monotonic() - started) / 60 > cfg.max_minutes
        if (step + 1) % log_every == 0 or step + 1 == cfg.steps or out_of_time:
            record = {"step": step + 1, "minutes": minutes, **{k: round(v, 6) for k, v in running.items()},
                      **validate(inn, codec.decoder, *val_args, cfg.lost)}
            history.append(record)
            tqdm.write(json.dumps(record))
            state = {"inn": inn.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                     "rng": common.rng_state(), "step": step + 1, "history": history, "config": asdict(cfg)}
            if critic:
                state |= {"critic": critic.state_dict(), "critic_optimizer": critic_opt.state_dict()}
            common.save_atomic(state, ckpt_path)
            os.chmod(ckpt_path, 0o600)  # the checkpoint holds the key too
        if out_of_time:
            tqdm.write(f"stopping after step {step + 1}: time limit of {cfg.max_minutes} minutes reached")
            break
    bar.close()

    info = {"data": Path(cfg.data).name, "split": "train", "images": len(pool), "steps": history[-1]["step"] if history else 0,
            "minutes": round(history[-1]["minutes"], 1) if history else 0.0, "device": str(rt.device),
            "config": {k: v for k, v in asdict(cfg).items() if k not in ("data", "out")},
            "validation_awgn_10dB": {k: v for k, v in (history[-1] if history else {}).items() if k.endswith("psnr")}}
    with torch.no_grad():
        real = torch.stack([val_args[0][:4], val_args[1][:4]]).cpu().numpy()  # real (host, private) pairs
    export_stego_key(inn, out, cfg.codec, cfg.lost, info, real_symbols=real, demo=cfg.demo)
    return out
