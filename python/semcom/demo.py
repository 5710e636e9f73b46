"""``make demo``: the sample portraits through the shipped codec and the channel, next to WebP at the
capacity of the same channel uses; hidden inside each other with a stego key (what Bob and Eve see);
and what eavesdroppers without the decoder rebuild, judged by the face recognizer. Needs no data
set: the portraits come with the dependencies."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import channel, evaluate, metrics
from .keys import DEMO_KEY, Stego
from .runtime import Codec
from .samples import load_samples


def run(model: str, out: Path, snrs: list[float], channel_kind: str = "awgn", seed: int = 0,
        key: str = DEMO_KEY, covert_snr: float = 10.0) -> dict:
    """WebP gets the AWGN capacity K log2(1 + SNR) whatever the channel: the demo's reference line."""
    codec = Codec(model)
    images = load_samples(codec.resolution)
    files = images.files
    x = images.as_float()
    chan = channel.Channel(channel_kind)
    sent = codec.encode(x)
    grey = evaluate.mean_grey(images)
    links = [evaluate.DigitalLink(img, grey) for img in images.images]
    rows, table = [], []
    for s in snrs:
        y, rx_snr = chan(sent, s, evaluate.snr_rng(seed, s))
        x_hat = codec.decode(y, rx_snr)
        webp = np.stack([link.receive("webp", evaluate.capacity_bits(codec.symbols, s)) for link in links])
        rows.append((s, x_hat, webp))
        table.append({"snr_db": s, "deepjscc": {"psnr": float(metrics.psnr(x_hat, x).mean()),
                                                "ms_ssim": float(metrics.ms_ssim(x_hat, x).mean())},
                      "webp_at_capacity": {"psnr": float(metrics.psnr(webp, x).mean()),
                                           "ms_ssim": float(metrics.ms_ssim(webp, x).mean())}})
    out.mkdir(parents=True, exist_ok=True)
    _grid(out / "codec_demo.png", x, rows, [p.name for p in files], channel_kind)
    (out / "codec_demo.json").write_text(json.dumps({"model": model, "channel": channel_kind,
                                                      "images": [str(p) for p in files], "results": table}, indent=2))
    print(f"{model}: {len(files)} sample portrait(s) over {channel_kind}, K = {codec.symbols} symbols per image")
    print(f"{'SNR dB':>7} {'DeepJSCC PSNR':>14} {'MS-SSIM':>8} {'WebP@capacity PSNR':>19}")
    for r in table:
        print(f"{r['snr_db']:7.1f} {r['deepjscc']['psnr']:14.2f} {r['deepjscc']['ms_ssim']:8.4f} "
              f"{r['webp_at_capacity']['psnr']:19.2f}")
    print(f"wrote {out / 'codec_demo.png'} and {out / 'codec_demo.json'}")
    covert = _covert(codec, Stego(key), x, [p.name for p in files], chan, covert_snr, seed, out)
    eve = _eavesdroppers(codec, x, [p.name for p in files], chan, EVE_SNR, seed, out)
    return {"results": table, "covert": covert, "eavesdroppers": eve}


EVE_SNR = 5.0  # the paper's Figs. 1 and 6
# strategies that need no data set: the closed-box ones train on Eve's queries of a face collection
DEMO_STRATEGIES = ("naive", "glassbox", "genai-glassbox")


def _eavesdroppers(codec: Codec, x: np.ndarray, names: list[str], chan, snr: float, seed: int, out: Path) -> list[dict]:
    """Eve without the decoder (glass-box, GenAI glass-box) next to Eve with it, and whether the face
    recognizer takes each of her images for the person sent."""
    from .attacks.eve import load_attack
    from .face import Recognizer, fpesr
    y, rx_snr = chan(codec.encode(x), snr, evaluate.snr_rng(seed, snr))
    recognizer = Recognizer(workers=1)
    sent = recognizer.describe(x)
    rows, panels = [], [[(x[i], f"sent\n{names[i]}")] for i in range(len(x))]
    for strategy in DEMO_STRATEGIES:
        images = load_attack(strategy, codec)(y, rx_snr, progress=False)
        faces = recognizer.describe(images)
        accepted = recognizer.same_person(faces, sent)
        rows.append({"strategy": strategy, "snr_db": snr, "psnr": metrics.psnr(images, x).tolist(),
                     "same_person": accepted.tolist(), **fpesr(recognizer, faces, sent)})
        for i in range(len(x)):
            verdict = "same person" if accepted[i] else "not recognised"
            panels[i].append((images[i], f"Eve {strategy}\n{metrics.psnr(images[i], x[i])[0]:.1f} dB, {verdict}"))
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(x), len(panels[0]), figsize=(2 * len(panels[0]), 2.2 * len(x)), dpi=110, squeeze=False)
    for i in range(len(x)):
        _show(axes[i], panels[i])
    fig.suptitle(f"eavesdroppers on plain DeepJSCC, {chan.kind} {snr:g} dB (dlib face recognizer, threshold 0.6)", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "eve_demo.png")
    plt.close(fig)
    (out / "eve_demo.json").write_text(json.dumps({"snr_db": snr, "images": names, "results": rows}, indent=2))
    print(f"eavesdroppers at {chan.kind} {snr:g} dB: {'strategy':>15} {'PSNR':>6} {'FPESR':>6}")
    for r in rows:
        print(f"{'':>29} {r['strategy']:>15} {np.mean(r['psnr']):6.2f} {r['fpesr']:6.2f}")
    print(f"wrote {out / 'eve_demo.png'} and {out / 'eve_demo.json'}")
    return rows


def _covert(codec: Codec, stego: Stego, x: np.ndarray, names: list[str], chan, snr: float, seed: int,
            out: Path) -> list[dict] | None:
    """Each portrait hidden in the other one: host, private, Eve's decoder output, Bob's two images."""
    if len(x) < 2:
        print("covert demo skipped: it needs two sample portraits (install scikit-image)")
        return None
    stego.check_codec(codec)
    private = x[::-1].copy()
    container = stego.embed(codec.encode(x), codec.encode(private))
    y, rx_snr = chan(container, snr, evaluate.snr_rng(seed, snr))
    bob_host, bob_private = (codec.decode(s, rx_snr) for s in stego.extract(y, np.random.default_rng(seed)))
    eve = codec.decode(y, rx_snr)
    rows = []
    for i in range(len(x)):
        rows.append({"host": names[i], "private": names[len(x) - 1 - i], "snr_db": snr,
                     "bob_host_psnr": float(metrics.psnr(bob_host[i], x[i])[0]),
                     "bob_private_psnr": float(metrics.psnr(bob_private[i], private[i])[0]),
                     "eve_vs_host_psnr": float(metrics.psnr(eve[i], x[i])[0]),
                     "eve_vs_private_psnr": float(metrics.psnr(eve[i], private[i])[0])})
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(x), 5, figsize=(8, 2.2 * len(x)), dpi=110, squeeze=False)
    for i, r in enumerate(rows):
        panels = [(x[i], f"host\n{r['host']}"), (private[i], f"private\n{r['private']}"),
                  (eve[i], f"Eve (decoder)\n{r['eve_vs_host_psnr']:.1f} dB vs host"),
                  (bob_host[i], f"Bob, host\n{r['bob_host_psnr']:.1f} dB"),
                  (bob_private[i], f"Bob, private\n{r['bob_private_psnr']:.1f} dB")]
        _show(axes[i], panels)
    fig.suptitle(f"covert communication with key {stego.path.name}, {chan.kind} {snr:g} dB", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "covert_demo.png")
    plt.close(fig)
    (out / "covert_demo.json").write_text(json.dumps({"key": stego.path.name, "results": rows}, indent=2))
    print(f"covert: each portrait hidden in the other with key {stego.path.name}, {chan.kind} {snr:g} dB")
    print(f"{'host':>18} {'private':>18} {'Bob host':>9} {'Bob private':>12} {'Eve vs host':>12} {'Eve vs private':>15}")
    for r in rows:
        print(f"{r['host']:>18} {r['private']:>18} {r['bob_host_psnr']:9.2f} {r['bob_private_psnr']:12.2f} "
              f"{r['eve_vs_host_psnr']:12.2f} {r['eve_vs_private_psnr']:15.2f}")
    print(f"wrote {out / 'covert_demo.png'} and {out / 'covert_demo.json'}")
    return rows


def _grid(path: Path, x: np.ndarray, rows, names: list[str], kind: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    cols = 1 + 2 * len(rows)
    fig, axes = plt.subplots(len(x), cols, figsize=(1.6 * cols, 2.2 * len(x)), dpi=110, squeeze=False)
    for i in range(len(x)):
        panels = [(x[i], names[i])]
        panels += [(r[1][i], f"DeepJSCC {r[0]:g} dB\n{metrics.psnr(r[1][i], x[i])[0]:.1f} dB PSNR") for r in rows]
        panels += [(r[2][i], f"WebP {r[0]:g} dB\n{metrics.psnr(r[2][i], x[i])[0]:.1f} dB PSNR") for r in rows]
        _show(axes[i], panels)
    fig.suptitle(f"DeepJSCC vs WebP at capacity over {kind}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _show(axes, panels) -> None:
    """One row of a grid: (image (3, H, W) in [0, 1], title) per axis."""
    for ax, (img, title) in zip(axes, panels):
        ax.imshow(np.clip(img.transpose(1, 2, 0), 0, 1))
        ax.set_title(title, fontsize=6)
        ax.axis("off")
