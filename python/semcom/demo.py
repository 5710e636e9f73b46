"""``make demo``: the sample portraits through the shipped codec and the channel, next to WebP at the
capacity of the same channel uses. Needs no data set: the portraits come with the dependencies."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import channel, evaluate, metrics
from .data import ImageSet, load_image
from .runtime import Codec
from .samples import sample_images


def run(model: str, out: Path, snrs: list[float], channel_kind: str = "awgn", seed: int = 0) -> dict:
    """WebP gets the AWGN capacity K log2(1 + SNR) whatever the channel: the demo's reference line."""
    codec = Codec(model)
    files = sample_images()
    images = ImageSet(np.stack([load_image(p, codec.resolution) for p in files]), files)
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
    return {"results": table}


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
        for ax, (img, title) in zip(axes[i], panels):
            ax.imshow(np.clip(img.transpose(1, 2, 0), 0, 1))
            ax.set_title(title, fontsize=6)
            ax.axis("off")
    fig.suptitle(f"DeepJSCC vs WebP at capacity over {kind}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
