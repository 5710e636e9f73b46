"""``semcom eval paradigms``: the three ways of hiding the private image's symbols (INN, CNN, GAN)
side by side, Table II of the second paper with measured figures in place of low / medium / high.

Per key: its parameter count; its training time, both as recorded in the key and timed here by a
short run of every paradigm's recipe on the same data, batch and number of steps; the secret
capacity; Bob's host and private quality against plain DeepJSCC (``stego_eval``); Eve's FPESR under
every attack strategy (``attack_eval``); a steganalyser's detection accuracy (``steganalysis``).

Secret capacity: the private codeword is cut to its first f K symbols (the rest is zero at Alice,
and Bob sets it to zero after extraction); the capacity is the largest f for which Bob's private
PSNR stays within 2 dB of plain DeepJSCC sending the same f K symbols over the same channel draws.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import channel, data
from .evaluate import finish_snr_figure, fmt, snr_rng
from .keys import Stego
from .metrics import psnr
from .runtime import Codec
from .stego_eval import pair

FRACTIONS = (0.125, 0.25, 0.5, 0.75, 1.0)
CAPACITY_MARGIN_DB = 2.0


def timed_training(stego: Stego, root: Path, steps: int, samples: int, batch: int, seed: int = 0) -> dict:
    """Seconds per training step, on this machine, of a model shaped like the key's, trained by its
    paradigm's recipe (a throwaway key)."""
    from .keys import read
    from .train.stego import StegoTrainConfig, train
    gan = 0.1 if stego.paradigm == "gan" else 0.0
    shape = {k: v for k, v in stego.meta["config"].items() if k in ("blocks", "hidden", "layers")}
    with tempfile.TemporaryDirectory() as tmp:
        cfg = StegoTrainConfig(data=str(root), out=str(Path(tmp) / "keys" / "timed.key"), codec=stego.codec,
                               paradigm=stego.paradigm, samples=samples, steps=steps, batch=batch, adversarial=gan,
                               image_adversarial=gan, seed=seed, val_pairs=8, **shape)
        info = read(train(cfg))[0]["training"]
    return {"steps": steps, "batch": batch, "images": info["images"], "seconds_per_step": info["seconds_per_step"],
            "device": info["device"]}


def capacity(codec: Codec, stego: Stego, images: data.ImageSet, root: Path, chan: channel.Channel, snrs,
             fractions=FRACTIONS, seed: int = 0, batch: int = 64) -> list[dict]:
    """Per SNR: Bob's private PSNR and plain DeepJSCC's for each payload fraction, and the capacity."""
    host_idx, private_idx = pair(images, root, seed)
    k = codec.symbols
    scores = {(s, f): ([], []) for s in snrs for f in fractions}
    # per (SNR, fraction): the container and the plain payload see the same draws, the same for every fraction
    rngs = {(s, f): (snr_rng(seed, s), snr_rng(seed, s)) for s in snrs for f in fractions}
    lost_rng = np.random.default_rng([seed, 7])
    for i in tqdm(range(0, len(host_idx), batch), desc="secret capacity", unit="batch"):
        x_h, x_p = images.as_float(host_idx[i:i + batch]), images.as_float(private_idx[i:i + batch])
        s_h, s_p = codec.encode(x_h), codec.encode(x_p)
        for f in fractions:
            n = int(round(f * k))
            payload = s_p.copy()
            payload[:, n:] = 0
            container = stego.embed(s_h, payload)
            for s in snrs:
                container_rng, plain_rng = rngs[(s, f)]
                y, rx = chan(container, s, container_rng)
                p_hat = stego.extract(y, lost_rng)[1]
                p_hat[:, n:] = 0
                y_p, rx_p = chan(payload, s, plain_rng)
                y_p[:, n:] = 0  # symbols never sent
                bob, plain = scores[(s, f)]
                bob.extend(psnr(codec.decode(p_hat, rx), x_p))
                plain.extend(psnr(codec.decode(y_p, rx_p), x_p))
    out = []
    for s in snrs:
        rows = [{"fraction": f, "symbols": int(round(f * k)), "bob_private_psnr": float(np.mean(scores[(s, f)][0])),
                 "deepjscc_psnr": float(np.mean(scores[(s, f)][1]))} for f in fractions]
        within = [r["fraction"] for r in rows if r["bob_private_psnr"] >= r["deepjscc_psnr"] - CAPACITY_MARGIN_DB]
        out.append({"snr_db": s, "capacity": max(within) if within else 0.0, "fractions": rows})
    return out


def at_snr(records: list[dict], snr: float) -> dict:
    return min(records, key=lambda r: abs(r["snr_db"] - snr))


def table(results: list[dict], snr: float) -> str:
    """Markdown: one row per paradigm, figures at the SNR nearest ``snr``."""
    strategies = [s["strategy"] for s in at_snr(results[0]["attacks"], snr)["strategies"]]
    head = (["paradigm", "key", "parameters (+ discriminators)", "s/step (timed)", "capacity", "Bob host PSNR", "Bob private PSNR",
             "DeepJSCC private PSNR", "steganalyser acc."] + [f"FPESR {s}" for s in strategies])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        q = at_snr(r["quality"], snr)
        timed = r["training"]["timed"]
        attacks = at_snr(r["attacks"], snr)["strategies"]
        extra = sum((r["training"]["recorded"].get("discriminator_parameters") or {}).values())
        cells = [r["paradigm"], r["key"], f"{r['parameters']:,}" + (f" (+ {extra:,})" if extra else ""),
                 fmt(timed["seconds_per_step"] if timed else None), fmt(at_snr(r["capacity"], snr)["capacity"], 3),
                 fmt(q["bob_host"]["psnr"]), fmt(q["bob_private"]["psnr"]), fmt(q["jscc_reference"]["psnr"]),
                 fmt(at_snr(r["steganalysis"], snr)["accuracy"], 3)] + [fmt(a["fpesr"], 3) for a in attacks]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(path: Path, results: list[dict], title: str) -> None:
    """Against SNR, per paradigm: Bob's private PSNR (DeepJSCC dashed), steganalyser accuracy, capacity,
    and Eve's highest FPESR over the strategies."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.6), dpi=110)
    for r in results:
        snrs = [q["snr_db"] for q in r["quality"]]
        line, = axes[0].plot(snrs, [q["bob_private"]["psnr"] for q in r["quality"]], "-o", ms=3, label=r["paradigm"])
        axes[1].plot([a["snr_db"] for a in r["steganalysis"]], [a["accuracy"] for a in r["steganalysis"]], "-o", ms=3,
                     color=line.get_color())
        axes[2].plot([c["snr_db"] for c in r["capacity"]], [c["capacity"] for c in r["capacity"]], "-o", ms=3,
                     color=line.get_color())
        axes[3].plot([a["snr_db"] for a in r["attacks"]], [max(s["fpesr"] for s in a["strategies"]) for a in r["attacks"]],
                     "-o", ms=3, color=line.get_color())
    ref = results[0]["quality"]
    axes[0].plot([q["snr_db"] for q in ref], [q["jscc_reference"]["psnr"] for q in ref], "k--", label="DeepJSCC")
    axes[1].axhline(0.5, color="k", ls=":", lw=1)
    finish_snr_figure(fig, axes, ("Bob's private PSNR (dB)", "steganalyser accuracy", "secret capacity (fraction of K)",
                                  "Eve's best FPESR"), title, path)
