"""Evaluation of the codec and of the digital baseline over the channel, on ONNX Runtime.

Every ``semcom eval`` command shares the options of ``add_common_options`` and loads its images with
``images_from_args``: DIR is any image folder, evaluated whole in name order (first N with --limit),
or its held-out split with --split test. Noise and fading draws are seeded per SNR, so two commands
with the same seed see the same channel.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from . import channel, data, metrics
from .runtime import Codec

DEFAULT_CODEC = "deepjscc-celeba64"
DEFAULT_SNRS = (0.0, 5.0, 10.0, 15.0, 20.0)


def add_common_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, default=None,
                   help=f"image folder (default: ${data.DATA_ENV}, else ../shared/data/celeba-10k)")
    p.add_argument("--split", choices=["train", "test"], default=None,
                   help="evaluate only this split of DIR (identity-disjoint when DIR has identity.csv)")
    p.add_argument("--limit", type=int, default=None, help="first N images only")
    p.add_argument("--channel", choices=channel.CHANNELS, default="awgn")
    p.add_argument("--fading", choices=channel.FADINGS, default="block", help="Rayleigh: one h per image or per symbol")
    p.add_argument("--equalizer", choices=channel.EQUALIZERS, default=None,
                   help="default: zf for block fading, mmse for fast fading")
    p.add_argument("--snr", type=float, nargs="+", default=list(DEFAULT_SNRS), help="SNRs in dB")
    p.add_argument("--json", type=Path, default=None, help="write the results here")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--model", default=DEFAULT_CODEC, help="codec name in models/manifest.json")


def data_root(args) -> Path:
    """--data, else the development data set; a clear exit when neither is there."""
    root = args.data or data.default_data_dir()
    if root is None:
        raise SystemExit(f"no --data given, ${data.DATA_ENV} unset and ../shared/data/celeba-10k not found")
    return Path(root)


def images_from_args(args, resolution) -> data.ImageSet:
    images = data.load_folder(data_root(args), tuple(resolution), split=args.split, limit=args.limit, progress=True)
    if images.skipped:
        print(f"skipped {len(images.skipped)} unreadable image(s): "
              + ", ".join(str(f) for f, _ in images.skipped), file=sys.stderr)
    return images


def channel_from_args(args) -> channel.Channel:
    return channel.Channel(args.channel, args.fading, args.equalizer)


def snr_rng(seed: int, snr_db: float) -> np.random.Generator:
    """The channel draws for one SNR: the same for every command given the same seed."""
    return np.random.default_rng([seed, int(round(snr_db * 1000)) & 0xFFFFFFFF])


def new_scores() -> dict[str, list]:
    return {"psnr": [], "ms_ssim": [], "lpips": []}


def add_scores(scores: dict[str, list], x_hat: np.ndarray, x: np.ndarray, lpips=None) -> None:
    """Per-image PSNR, MS-SSIM and LPIPS (None without weights) of a batch, kept for ``summary``."""
    scores["psnr"].append(metrics.psnr(x_hat, x))
    scores["ms_ssim"].append(metrics.ms_ssim(x_hat, x))
    if "lpips" in scores:
        scores["lpips"].append(None if lpips is None else lpips(x_hat, x))


def summary(values: dict[str, list]) -> dict:
    """The mean of each score over all images (None when it was not computed)."""
    return {k: (None if not v or v[0] is None else float(np.mean(np.concatenate(v)))) for k, v in values.items()}


def eval_codec(codec: Codec, images: data.ImageSet, chan: channel.Channel, snrs, seed: int = 0,
               batch: int = 64, lpips=None) -> list[dict]:
    """Per SNR: mean PSNR, MS-SSIM and LPIPS (None without weights) of decoded images."""
    rngs = {s: snr_rng(seed, s) for s in snrs}
    scores = {s: new_scores() for s in snrs}
    for i in tqdm(range(0, len(images), batch), desc=f"eval {codec.name} {chan.kind}", unit="batch"):
        x = images.as_float(slice(i, i + batch))
        sent = codec.encode(x)
        for s in snrs:
            y, rx_snr = chan(sent, s, rngs[s])
            add_scores(scores[s], codec.decode(y, rx_snr), x, lpips)
    return [{"snr_db": s, **summary(scores[s]), "n": len(images)} for s in snrs]


# --- the digital alternative: an image codec at the capacity of the same K channel uses ---------

QUALITIES = {"jpeg": range(1, 96), "webp": range(0, 101)}


def _encode(img: Image.Image, fmt: str, quality: int) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt.upper(), quality=quality)
    return buf.getvalue()


def capacity_bits(symbols: int, snr_db: float, gains: np.ndarray | None = None) -> float:
    """Bits a capacity-achieving code carries in ``symbols`` channel uses: K log2(1 + SNR), or with
    known fading gains |h|^2 the sum of log2(1 + |h|^2 SNR) over the symbols."""
    snr = 10.0 ** (snr_db / 10.0)
    if gains is None:
        return symbols * np.log2(1.0 + snr)
    return float(np.broadcast_to(np.log2(1.0 + gains * snr), (symbols,)).sum())


class DigitalLink:
    """One image sent digitally: the highest quality of a format whose file fits the bit budget.

    When no quality fits, the receiver has nothing and shows ``grey``.
    """

    def __init__(self, img_u8: np.ndarray, grey: np.ndarray):
        self.img = Image.fromarray(img_u8)
        self.grey = grey
        self._sizes: dict[str, dict[int, int]] = {}

    def sizes(self, fmt: str) -> dict[int, int]:
        if fmt not in self._sizes:
            self._sizes[fmt] = {q: len(_encode(self.img, fmt, q)) for q in QUALITIES[fmt]}
        return self._sizes[fmt]

    def receive(self, fmt: str, budget_bits: float) -> np.ndarray:
        fitting = [q for q, n in self.sizes(fmt).items() if 8 * n <= budget_bits]
        if not fitting:
            return self.grey
        with Image.open(io.BytesIO(_encode(self.img, fmt, max(fitting)))) as im:
            return np.asarray(im.convert("RGB"), dtype=np.float32).transpose(2, 0, 1) / 255.0


def mean_grey(images: data.ImageSet) -> np.ndarray:
    """What a receiver with no bits shows: a flat grey at the mean pixel value of the images."""
    return np.full((3, *images.images.shape[1:3]), images.images.mean() / 255.0, np.float32)


def eval_baseline(images: data.ImageSet, symbols: int, chan: channel.Channel, snrs, seed: int = 0) -> list[dict]:
    """JPEG and WebP (Pillow) at the largest quality that fits the channel's capacity, per image.

    With Rayleigh fading the budget uses the image's own fading draws (a genie-aided upper bound
    for the digital link).
    """
    grey = mean_grey(images)
    rngs = {s: snr_rng(seed, s) for s in snrs}
    scores = {s: {f: {"psnr": [], "ms_ssim": []} for f in QUALITIES} for s in snrs}
    for img in tqdm(images.images, desc="eval jpeg/webp baseline", unit="img"):
        link = DigitalLink(img, grey)
        x = img.transpose(2, 0, 1)[None].astype(np.float32) / 255.0
        for s in snrs:
            gains = None
            if chan.kind == "rayleigh":
                h = channel.rayleigh_coefficients(np.zeros((1, symbols), np.complex64), chan.fading, rngs[s])
                gains = np.abs(h[0]) ** 2
            budget = capacity_bits(symbols, s, gains)
            for f in QUALITIES:
                add_scores(scores[s][f], link.receive(f, budget)[None], x)
    return [{"snr_db": s, **{f: summary(scores[s][f]) for f in QUALITIES}, "n": len(images)} for s in snrs]


def write_json(path: Path | None, payload: dict) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {path}")


def fmt(v, digits=2) -> str:
    return "null" if v is None else f"{v:.{digits}f}"


def plot_psnr(path: Path, curves: dict[str, tuple[list, list]], title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 3.6), dpi=120)
    for label, (x, y) in curves.items():
        ax.plot(x, y, marker="o", label=label)
    ax.set_xlabel("SNR (dB)")
    ax.set_ylabel("PSNR (dB)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, path)


def save_figure(fig, path: Path) -> None:
    """Write a matplotlib figure (making its folder), close it and say where it went."""
    import matplotlib.pyplot as plt
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    print(f"wrote {path}")


def finish_snr_figure(fig, axes, ylabels, title: str, path: Path) -> None:
    """Axes against SNR side by side: labels and grid on each, the legend on the first, then save."""
    for ax, label in zip(axes, ylabels):
        ax.set_xlabel("SNR (dB)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
