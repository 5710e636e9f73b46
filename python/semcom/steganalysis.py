"""How covert is the container? Train a steganalyser on received signals and test it on held-out ones.

The analyst is strong: she has many containers made with the key under test (as if she had seen
labelled traffic) and plain DeepJSCC signals, all received at one SNR, and trains ``Steganalyser``
to tell them apart. The images are split three ways (plain, host, private), so a plain signal and a
container never share an image. Noise and fading are drawn afresh for every training batch. Her
accuracy on signals from people she never saw is the figure: 50% is chance.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F
from tqdm import tqdm

from . import channel, data
from .keys import Stego
from .nn.steganalysis import Steganalyser
from .runtime import Codec


def clean_signals(codec: Codec, stego: Stego, images: data.ImageSet, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sent symbols (2M, K) complex64 and labels (1: container), M = N // 3 of each kind."""
    m = len(images) // 3
    if m == 0:
        raise ValueError(f"steganalysis needs at least 3 images, got {len(images)}")
    order = np.random.default_rng(seed).permutation(len(images))
    plain, host, private = order[:m], order[m:2 * m], order[2 * m:3 * m]
    sent, labels = [], []
    for i in range(0, m, 256):
        sent.append(codec.encode(images.as_float(plain[i:i + 256])))
        labels.append(np.zeros(len(sent[-1]), np.float32))
        s_h = codec.encode(images.as_float(host[i:i + 256]))
        s_p = codec.encode(images.as_float(private[i:i + 256]))
        sent.append(stego.embed(s_h, s_p))
        labels.append(np.ones(len(sent[-1]), np.float32))
    return np.concatenate(sent), np.concatenate(labels)


def _received(sent: torch.Tensor, chan: channel.Channel, snr_db: float, gen: torch.Generator) -> torch.Tensor:
    y, _ = chan(sent, torch.full((len(sent),), snr_db), gen)
    return torch.view_as_real(y)


def detection_accuracy(train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray],
                       latent: tuple[int, int, int], chan: channel.Channel, snr_db: float, epochs: int = 30,
                       batch: int = 64, seed: int = 0) -> dict:
    """Train on ``train`` signals at snr_db, return the accuracy on ``test`` (and on train, to show fit)."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    x_train, y_train = torch.from_numpy(train[0]), torch.from_numpy(train[1])
    x_test, y_test = torch.from_numpy(test[0]), torch.from_numpy(test[1])
    net = Steganalyser(latent)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in tqdm(range(epochs), desc=f"steganalyser at {snr_db:g} dB", unit="epoch"):
        order = torch.randperm(len(x_train), generator=gen)
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            loss = F.binary_cross_entropy_with_logits(net(_received(x_train[idx], chan, snr_db, gen)), y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    @torch.no_grad()
    def accuracy(x, y):
        net.eval()
        hits = sum(int(((net(_received(x[i:i + 256], chan, snr_db, gen)) > 0).float() == y[i:i + 256]).sum())
                   for i in range(0, len(x), 256))
        net.train()
        return hits / len(x)
    return {"snr_db": snr_db, "accuracy": accuracy(x_test, y_test), "train_accuracy": accuracy(x_train, y_train),
            "test_signals": len(x_test), "train_signals": len(x_train), "epochs": epochs}
