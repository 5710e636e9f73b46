"""Train a stego key on top of a frozen DeepJSCC codec (Algorithm 3 of the first paper), for any
paradigm of ``nn.stego``.

Loss (eqs. 30-33), every term a mean square:
    l1 |s_c - s_h|^2 + l2 |r - r_hat|^2          forward: the container looks like the host
  + l3 |s_h_hat - s_h|^2 + l4 |s_p_hat - s_p|^2  backward: Bob recovers both from the received container
  + l5 |D(s_p_hat) - x_p|^2                      privacy consistency through the frozen decoder
with the channel in the loop (SNR uniform per pair); the lost-information term only where the
paradigm leaves some behind (the INN). ``adversarial`` > 0 adds a discriminator that learns to tell
received containers from received plain signals, ``image_adversarial`` > 0 one that tells the images
decoded from them apart, each with a term that rewards the stego model for fooling it. The ``gan``
paradigm (Huo et al., Sec. III of the second paper) is the CNN pair trained with both.
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
from ..nn.stego import PARADIGMS, build, config_for
from ..nn.steganalysis import ImageCritic, Steganalyser
from . import common
from .codec import load_jscc, training_channel

VALIDATION_SNR = 10.0


@dataclass
class StegoTrainConfig:
    data: str
    out: str  # the key file to write
    codec: str = "deepjscc-celeba64"
    paradigm: str = "inn"
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
    adversarial: float = 0.0  # weight of fooling the signal discriminator
    image_adversarial: float = 0.0  # weight of fooling the decoded-image discriminator
    clip: float = 1.0  # gradient norm limit
    blocks: int = 8  # INN
    hidden: int = 64  # width of the INN's coupling networks or of the CNN pair
    layers: int = 4  # CNN / GAN: convolutions per network
    seed: int = 0
    val_pairs: int = 128
    max_minutes: float | None = None
    demo: bool = False  # mark the key as the public demo key
    init: str | None = None  # start from this key's model (fine-tuning, e.g. with the adversarial term)

    def check(self) -> None:
        """ValueError naming the first setting that cannot be trained."""
        if self.paradigm not in PARADIGMS:
            raise ValueError(f"paradigm must be one of {PARADIGMS}, got {self.paradigm!r}")
        if self.paradigm == "gan" and min(self.adversarial, self.image_adversarial) <= 0:
            raise ValueError("the gan paradigm trains against both discriminators: adversarial and image_adversarial "
                             f"must be > 0, got {self.adversarial} and {self.image_adversarial}")
        if self.lost not in LOST_ESTIMATES:
            raise ValueError(f"lost must be one of {LOST_ESTIMATES}, got {self.lost!r}")
        if len(self.weights) != 5:
            raise ValueError(f"weights must be five numbers (lambda 1..5), got {self.weights}")


def _pairs(n: int, batch: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random (host, private) indices, never the same image twice in a pair."""
    host = torch.randint(n, (batch,), generator=gen)
    private = (host + torch.randint(1, n, (batch,), generator=gen)) % n
    return host, private


class StegoLoss:
    """Eqs. 30-33 for a batch: returns the total and its parts (for the progress bar and the log)."""

    def __init__(self, model, decoder, chan, cfg: StegoTrainConfig):
        self.model, self.decoder, self.chan, self.cfg = model, decoder, chan, cfg

    def __call__(self, s_h, s_p, x_p, snr, gen=None):
        l1, l2, l3, l4, l5 = self.cfg.weights
        container, lost = self.model(s_h, s_p)
        r_hat = None if lost is None else lost_estimate(lost, self.cfg.lost, gen)
        y, rx_snr = self.chan(torch.view_as_complex(container.contiguous()), snr)
        y = torch.view_as_real(y)
        h_hat, p_hat = self.model.extract(y, r_hat)
        x_p_hat = self.decoder(p_hat, rx_snr)
        # Bob's symbol errors are weighed by 1 / (1 + his noise variance), within a factor 2 of the
        # plain mean square over AWGN at 0-20 dB, and left out for pairs whose block fade puts his
        # SNR below the training range: the INN's inverse amplifies ZF noise of variance 10 or 100
        # into errors that would drown the batch (the image term still sees those pairs)
        weight = (rx_snr >= self.cfg.snr_min) / (1.0 + channel.noise_variance(rx_snr))

        def bob(est, ref):
            return (weight * ((est - ref) ** 2).mean((1, 2))).mean()
        parts = {"container": F.mse_loss(container, s_h), "host": bob(h_hat, s_h), "private": bob(p_hat, s_p),
                 "image": F.mse_loss(x_p_hat, x_p)}
        total = l1 * parts["container"] + l3 * parts["host"] + l4 * parts["private"] + l5 * parts["image"]
        if lost is not None:
            parts["lost"] = F.mse_loss(lost, r_hat)
            total = total + l2 * parts["lost"]
        return total, parts, y, rx_snr


@torch.no_grad()
def validate(model, decoder, s_h, s_p, x_h, x_p, lost_mode: str) -> dict[str, float]:
    """Bob's host and private PSNR and Eve's decoder-on-container PSNR against the host, AWGN 10 dB."""
    model.eval()
    gen = torch.Generator(device=s_h.device).manual_seed(1234)
    container, lost = model(s_h, s_p)
    y = torch.view_as_real(channel.awgn(torch.view_as_complex(container.contiguous()), VALIDATION_SNR, gen))
    snr = torch.full((len(y),), VALIDATION_SNR, device=y.device)
    h_hat, p_hat = model.extract(y, None if lost is None else lost_estimate(lost, lost_mode, gen))

    def score(symbols, x):
        return psnr(decoder(symbols, snr).cpu().numpy(), x.cpu().numpy()).mean()
    out = {"bob_host_psnr": score(h_hat, x_h), "bob_private_psnr": score(p_hat, x_p), "eve_host_psnr": score(y, x_h)}
    model.train()
    return {k: float(v) for k, v in out.items()}


def train(cfg: StegoTrainConfig, resume: bool = False) -> Path:
    """Train the stego model and write the key file ``cfg.out`` (owner-only); returns its path."""
    from ..export import export_stego_key
    cfg.check()
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

    model = build(cfg.paradigm, config_for(cfg.paradigm, codec.cfg.latent_shape, blocks=cfg.blocks,
                                           hidden=cfg.hidden, layers=cfg.layers)).to(rt.device)
    if cfg.init:
        start, _ = keys.load_model(cfg.init, str(rt.device))
        if (start.paradigm, start.cfg) != (model.paradigm, model.cfg):
            raise ValueError(f"--init key {cfg.init} holds {start.paradigm} {start.cfg}, this run builds "
                             f"{model.paradigm} {model.cfg}")
        model.load_state_dict(start.state_dict())
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.steps, cfg.lr_min)
    critics = {}  # name -> (network, optimizer, weight of fooling it)
    for name, weight, net in (("signal", cfg.adversarial, lambda: Steganalyser(codec.cfg.latent_shape)),
                              ("image", cfg.image_adversarial, ImageCritic)):
        if weight > 0:
            critic = net().to(rt.device)
            critics[name] = (critic, torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.999)), weight)
    loss_fn = StegoLoss(model, codec.decoder, training_channel(cfg.channel, cfg.fading), cfg)
    start, history, spent_before = 0, [], 0.0
    if resume and ckpt_path.exists():
        ckpt = torch.load(ckpt_path, map_location=rt.device, weights_only=False)
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        for name, (critic, critic_opt, _) in critics.items():
            critic.load_state_dict(ckpt["critics"][name])
            critic_opt.load_state_dict(ckpt["critic_optimizers"][name])
        common.set_rng_state(ckpt["rng"])
        start, history = ckpt["step"], ckpt["history"]
        spent_before = history[-1]["minutes"] if history else 0.0
        sched.T_max = cfg.steps
    print(f"training {cfg.paradigm.upper()} stego key ({model.cfg}, {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M "
          f"parameters{', discriminators: ' + ', '.join(critics) if critics else ''}) "
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
        loss, parts, y, rx_snr = loss_fn(s_h, s_p, x_p, snr)
        if critics:
            # what each discriminator compares: the received container (and its decoded image) against
            # the host sent plainly over the same kind of channel
            plain, plain_snr = loss_fn.chan(torch.view_as_complex(s_h.contiguous()), snr)
            plain = torch.view_as_real(plain)
            fake = {"signal": y, "image": codec.decoder(y, rx_snr) if "image" in critics else None}
            with torch.no_grad():
                real = {"signal": plain, "image": codec.decoder(plain, plain_snr) if "image" in critics else None}
        for name, (critic, _, weight) in critics.items():
            # the stego model is rewarded when the discriminator takes its containers for plain signals
            fool = F.binary_cross_entropy_with_logits(critic(fake[name]), torch.zeros(len(y), device=rt.device))
            loss = loss + weight * fool
            parts[f"fool_{name}"] = fool
        opt.zero_grad(set_to_none=True)
        loss.backward()
        # a deep block fade makes the ZF-equalised container very noisy; keep such a pair from
        # throwing the model off in one step
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        opt.step()
        sched.step()
        for name, (critic, critic_opt, _) in critics.items():
            logits = critic(torch.cat([real[name], fake[name].detach()]))
            labels = torch.cat([torch.zeros(len(y)), torch.ones(len(y))]).to(rt.device)
            critic_loss = F.binary_cross_entropy_with_logits(logits, labels)
            critic_opt.zero_grad(set_to_none=True)
            critic_loss.backward()
            critic_opt.step()
            parts[f"critic_acc_{name}"] = ((logits > 0).float() == labels).float().mean()
        for k, v in parts.items():
            v = float(v.detach())
            running[k] = 0.95 * running.get(k, v) + 0.05 * v
        bar.set_postfix(image_psnr=f"{-10 * math.log10(max(running['image'], 1e-10)):.2f}",
                        container=f"{running['container']:.4f}", lr=f"{sched.get_last_lr()[0]:.1e}")
        minutes = spent_before + (time.monotonic() - started) / 60
        out_of_time = cfg.max_minutes is not None and (time.monotonic() - started) / 60 > cfg.max_minutes
        if (step + 1) % log_every == 0 or step + 1 == cfg.steps or out_of_time:
            record = {"step": step + 1, "minutes": minutes, **{k: round(v, 6) for k, v in running.items()},
                      **validate(model, codec.decoder, *val_args, cfg.lost)}
            history.append(record)
            tqdm.write(json.dumps(record))
            state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                     "rng": common.rng_state(), "step": step + 1, "history": history, "config": asdict(cfg),
                     "critics": {n: c.state_dict() for n, (c, _, _) in critics.items()},
                     "critic_optimizers": {n: o.state_dict() for n, (_, o, _) in critics.items()}}
            common.save_atomic(state, ckpt_path)
            os.chmod(ckpt_path, 0o600)  # the checkpoint holds the key too
        if out_of_time:
            tqdm.write(f"stopping after step {step + 1}: time limit of {cfg.max_minutes} minutes reached")
            break
    bar.close()

    info = {"data": Path(cfg.data).name, "split": "train", "images": len(pool), "steps": history[-1]["step"] if history else 0,
            "minutes": round(history[-1]["minutes"], 1) if history else 0.0, "device": str(rt.device),
            "seconds_per_step": round(60 * history[-1]["minutes"] / history[-1]["step"], 3) if history else None,
            "discriminator_parameters": {n: sum(p.numel() for p in c.parameters()) for n, (c, _, _) in critics.items()},
            "config": {k: v for k, v in asdict(cfg).items() if k not in ("data", "out")},
            "validation_awgn_10dB": {k: v for k, v in (history[-1] if history else {}).items() if k.endswith("psnr")}}
    with torch.no_grad():
        real = torch.stack([val_args[0][:4], val_args[1][:4]]).cpu().numpy()  # real (host, private) pairs
    export_stego_key(model, out, cfg.codec, cfg.lost, info, real_symbols=real, demo=cfg.demo)
    return out
