"""``semcom eval attacks``: how much of the sent face each eavesdropper gets back, judged by image
metrics and by a face recognizer (FPESR, rank-1), with and without covert communication.

Per SNR the victims' symbols (or, with a stego key, the containers that hide them in hosts of other
people) go through one channel draw that Bob and every strategy share. The recognizer's operating
point on the victims' original faces is measured in the same run, so the FPESR can be read against
its false and true accept rates.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import channel, data, face
from .attacks import QUERIED
from .attacks.eve import Eve
from .evaluate import add_scores, new_scores, save_figure, snr_rng, summary
from .runtime import Codec
from .stego_eval import identities, pair

GRID_ROWS = 4


@dataclass
class Victims:
    """What Alice sends: the images Eve is after (``sent``), the hosts they hide in (covert only),
    and the recognizer's view of both."""

    sent: np.ndarray
    host: np.ndarray | None
    files: list[str]
    people: list[str]
    faces: face.Faces
    host_faces: face.Faces | None


def victims(images: data.ImageSet, root: Path, recognizer: face.Recognizer, covert: bool, seed: int) -> Victims:
    people = identities(images, root)
    files = [str(f) for f in images.files]
    if not covert:
        x = images.as_float()
        return Victims(x, None, files, people, recognizer.describe(x, "victims' faces"), None)
    host_idx, private_idx = pair(images, root, seed)
    x_p, x_h = images.as_float(private_idx), images.as_float(host_idx)
    return Victims(x_p, x_h, [files[i] for i in private_idx], [people[i] for i in private_idx],
                   recognizer.describe(x_p, "private faces"), recognizer.describe(x_h, "host faces"))


def original_faces(v: Victims, gallery: face.Gallery | None) -> tuple[face.Faces, list[str]]:
    """Every distinct original photo at hand (the victims', and the gallery's other photos of them)
    with its person: where the recognizer's operating point is measured."""
    faces, people, seen = [v.faces], list(v.people), set(v.files)
    if gallery is not None:
        for part, files in ((gallery.first, gallery.files), (gallery.second, gallery.second_files)):
            keep = [i for i, f in enumerate(files) if f is not None and f not in seen]
            seen.update(files[i] for i in keep)
            faces.append(part[keep])
            people += [str(gallery.people[i]) for i in keep]
    return face.Faces(np.concatenate([f.descriptors for f in faces]), np.concatenate([f.fallback for f in faces])), people


def runs(strategies: list[str], budgets: list[int | None]) -> list[tuple[str, int | None]]:
    """(strategy, query budget) pairs: closed-box strategies once per budget, the others once."""
    return [(s, b) for s in strategies for b in (budgets if s in QUERIED else [None])]


def _scores(recognizer, eve_images, eve_faces, target, target_faces, lpips) -> dict:
    scores = new_scores()
    add_scores(scores, eve_images, target, lpips)
    return {**summary(scores), **face.fpesr(recognizer, eve_faces, target_faces)}


def eval_attacks(codec: Codec, eve: Eve, strategies: list[str], budgets: list[int | None], v: Victims,
                 recognizer: face.Recognizer, gallery: face.Gallery | None, chan: channel.Channel, snrs,
                 seed: int = 0, lpips=None, stego=None) -> tuple[list[dict], dict]:
    """Per SNR, one record per (strategy, budget); also the images for the grids (a few per SNR)."""
    attacks = {(s, b): eve.attack(s, b) for s, b in runs(strategies, budgets)}  # train closed-box nets first
    sent = codec.encode(v.sent)
    if stego is not None:
        sent = stego.embed(codec.encode(v.host), sent)
    results, grids = [], {}
    for s in snrs:
        y, rx = chan(sent, s, snr_rng(seed, s))
        if stego is None:
            bob = codec.decode(y, rx)
        else:
            bob = codec.decode(stego.extract(y, np.random.default_rng([seed, 7]))[1], rx)
        record = {"snr_db": s, "bob": _scores(recognizer, bob, recognizer.describe(bob), v.sent, v.faces, lpips),
                  "strategies": []}
        grid = {"original": v.sent[:GRID_ROWS], "Bob": bob[:GRID_ROWS]}
        if v.host is not None:
            grid = {"private": v.sent[:GRID_ROWS], "host": v.host[:GRID_ROWS], "Bob (private)": bob[:GRID_ROWS]}
        for (strategy, budget), attack in attacks.items():
            started = time.perf_counter()
            images = attack(y, rx)
            seconds = (time.perf_counter() - started) / len(y)
            faces = recognizer.describe(images, f"{strategy} faces at {s:g} dB")
            r = {"strategy": strategy, **({"queries": budget or len(eve.public)} if strategy in QUERIED else {}),
                 **_scores(recognizer, images, faces, v.sent, v.faces, lpips), "seconds_per_image": seconds}
            r["rank1"] = None
            if gallery is not None:
                ranked = gallery.rank1(faces, v.files, v.people)
                r["rank1"], r["rank1_probes"] = ranked["rank1"], ranked["probes"]
            if v.host is not None:
                r["vs_host"] = _scores(recognizer, images, faces, v.host, v.host_faces, lpips)
            record["strategies"].append(r)
            grid[label(r)] = images[:GRID_ROWS]
        results.append(record)
        grids[s] = grid
    return results, grids


def label(r: dict) -> str:
    return r["strategy"] + (f" ({r['queries']} q)" if "queries" in r else "")


def plot_curves(path: Path, results: list[dict], title: str, covert: bool) -> None:
    """PSNR, MS-SSIM and FPESR of each strategy against SNR (the paper's Figs. 4-5)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    snrs = [r["snr_db"] for r in results]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), dpi=110)
    for k, name in enumerate(label(r) for r in results[0]["strategies"]):
        for ax, metric in zip(axes, ("psnr", "ms_ssim", "fpesr")):
            ax.plot(snrs, [r["strategies"][k][metric] for r in results], "-o", ms=3, label=name)
            if covert and metric == "psnr":
                ax.plot(snrs, [r["strategies"][k]["vs_host"][metric] for r in results], ":", color=ax.lines[-1].get_color())
    for ax, metric in zip(axes, ("PSNR (dB)", "MS-SSIM", "FPESR")):
        ax.plot(snrs, [r["bob"][metric.split()[0].lower().replace("-", "_")] for r in results], "k--", label="Bob")
        ax.set_xlabel("SNR (dB)")
        ax.set_ylabel(metric + (" vs private" if covert else ""))
        ax.grid(alpha=0.3)
    if covert:
        axes[0].set_title("dotted: Eve vs the host", fontsize=8)
    axes[2].legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


def plot_fpesr_bars(path: Path, record: dict, title: str) -> None:
    """FPESR of each strategy at one SNR (the paper's Fig. 6)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = [label(r) for r in record["strategies"]]
    values = [100 * r["fpesr"] for r in record["strategies"]]
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(names), 3.6), dpi=110)
    bars = ax.bar(range(len(names)), values, color="tab:red")
    ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=7)
    ax.set_ylabel("FPESR (%)")
    ax.set_ylim(0, 105)
    ax.set_title(f"{title}, {record['snr_db']:g} dB", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


def plot_grid(path: Path, columns: dict[str, np.ndarray], title: str) -> None:
    """Rows of faces; columns: the original (and host), Bob, then each Eve (the paper's Figs. 1 and 9)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = min(len(v) for v in columns.values())
    fig, axes = plt.subplots(rows, len(columns), figsize=(1.3 * len(columns), 1.35 * rows + 0.5), dpi=110, squeeze=False)
    for j, (name, images) in enumerate(columns.items()):
        for i in range(rows):
            axes[i, j].imshow(np.clip(images[i].transpose(1, 2, 0), 0, 1))
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
        axes[0, j].set_title(name, fontsize=6)
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
