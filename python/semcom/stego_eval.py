"""``semcom eval stego``: covert communication over the channel, on ONNX Runtime.

Images of a folder are paired as (host, private) with a fixed seed, never one person twice in a
pair when the folder has identities. Per SNR, the container, the plain host and the plain private
image see the same noise and fading draws, so Bob's figures and plain DeepJSCC's differ only by the
steganography.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import channel, data
from .evaluate import add_scores, finish_snr_figure, new_scores, snr_rng, summary
from .keys import Stego
from .runtime import Codec

ROLES = ("bob_host", "bob_private", "jscc_reference", "jscc_reference_host",
         "eve_decoder_vs_host", "eve_decoder_vs_private")
WRONG_KEY = "bob_private_wrong_key"


def identities(images: data.ImageSet, root: Path) -> list[str]:
    """Each image's person where the folder says (identity.csv), else the file itself."""
    ids = data.read_identities(Path(root)) or {}
    return [ids.get(Path(f).name, f"file:{f}") for f in images.files]


def pair(images: data.ImageSet, root: Path, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(host, private) index arrays over N // 2 disjoint pairs, two different people in each pair."""
    who = identities(images, root)
    order = np.random.default_rng(seed).permutation(len(images))
    m = len(order) // 2
    if m == 0:
        raise ValueError(f"stego evaluation needs at least 2 images, got {len(images)}")
    host, private = order[:m].copy(), order[m:2 * m].copy()
    for i in range(m):
        if who[host[i]] != who[private[i]]:
            continue
        for j in range(m):  # swap privates with a pair where both stay mixed
            if who[private[j]] != who[host[i]] and who[private[i]] != who[host[j]]:
                private[i], private[j] = private[j], private[i]
                break
        else:
            raise ValueError("cannot pair the images as two different people; the folder holds one identity")
    return host, private


def eval_stego(codec: Codec, stego: Stego, images: data.ImageSet, root: Path, chan: channel.Channel, snrs,
               seed: int = 0, batch: int = 64, lpips=None, wrong_key: Stego | None = None) -> list[dict]:
    """Per SNR: the mean PSNR / MS-SSIM / LPIPS of every role in ROLES (and WRONG_KEY when given)."""
    stego.check_codec(codec)
    if wrong_key is not None:
        wrong_key.check_codec(codec)
    host_idx, private_idx = pair(images, root, seed)
    roles = ROLES + ((WRONG_KEY,) if wrong_key is not None else ())
    scores = {s: {r: new_scores() for r in roles} for s in snrs}
    rngs = {s: [snr_rng(seed, s) for _ in range(3)] for s in snrs}  # container, plain private, plain host
    lost_rng = np.random.default_rng([seed, 7])
    for i in tqdm(range(0, len(host_idx), batch), desc=f"eval stego {chan.kind}", unit="batch"):
        x_h = images.as_float(host_idx[i:i + batch])
        x_p = images.as_float(private_idx[i:i + batch])
        s_h, s_p = codec.encode(x_h), codec.encode(x_p)
        container = stego.embed(s_h, s_p)
        for s in snrs:
            rc, rp, rh = rngs[s]
            y, rx = chan(container, s, rc)
            y_p, rx_p = chan(s_p, s, rp)
            y_h, rx_h = chan(s_h, s, rh)
            h_hat, p_hat = stego.extract(y, lost_rng)
            out = scores[s]
            add_scores(out["bob_host"], codec.decode(h_hat, rx), x_h, lpips)
            add_scores(out["bob_private"], codec.decode(p_hat, rx), x_p, lpips)
            add_scores(out["jscc_reference"], codec.decode(y_p, rx_p), x_p, lpips)
            add_scores(out["jscc_reference_host"], codec.decode(y_h, rx_h), x_h, lpips)
            eve = codec.decode(y, rx)
            add_scores(out["eve_decoder_vs_host"], eve, x_h, lpips)
            add_scores(out["eve_decoder_vs_private"], eve, x_p, lpips)
            if wrong_key is not None:
                _, p_wrong = wrong_key.extract(y, lost_rng)
                add_scores(out[WRONG_KEY], codec.decode(p_wrong, rx), x_p, lpips)
    return [{"snr_db": s, "pairs": len(host_idx), **{r: summary(scores[s][r]) for r in roles}} for s in snrs]


def plot(path: Path, results: list[dict], title: str) -> None:
    """PSNR and MS-SSIM against SNR for Bob and plain DeepJSCC (the paper's Figs. 7-8), with Eve."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    snrs = [r["snr_db"] for r in results]
    curves = {"Bob, host": ("bob_host", "-o"), "Bob, private": ("bob_private", "-s"),
              "DeepJSCC, host": ("jscc_reference_host", "--o"), "DeepJSCC, private": ("jscc_reference", "--s"),
              "Eve decoder vs host": ("eve_decoder_vs_host", ":^"), "Eve decoder vs private": ("eve_decoder_vs_private", ":v")}
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), dpi=120)
    for ax, metric in zip(axes, ("psnr", "ms_ssim")):
        for name, (role, style) in curves.items():
            ax.plot(snrs, [r[role][metric] for r in results], style, label=name)
    finish_snr_figure(fig, axes, ("PSNR (dB)", "MS-SSIM"), title, path)
