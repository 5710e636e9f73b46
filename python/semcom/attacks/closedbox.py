"""Closed-box inversion (Algorithm 2), its GenAI variant (eqs. 22-23) and the adaptive attack.

Eve cannot see inside the encoder; she feeds images she knows to Alice's transmitter (the API) and
records what it sends, then trains an inverse network on those (symbols, image) pairs with her own
simulated channel noise on top (``semcom.train.eve``). What she may query depends on the threat:

* ``plain``: no covert communication; Eve's image is what is sent.
* ``host``: covert communication on, the paper's Eve: her image goes out as the host and Alice hides
  one of her own private images in it; Eve learns (container -> her image), i.e. the host.
* ``private``: the adaptive Eve of this project: she knows the scheme and makes Alice hide images of
  her choosing, so she learns (container -> private image) directly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..data import ImageSet
from ..nn.inverse import ThroughGenerator
from .glassbox import iq_tensor
from ..runtime import Codec

QUERY_MODES = ("plain", "host", "private")


@dataclass
class Queries:
    """Eve's training pairs: the images she knows (float (N, 3, H, W)) and the clean symbols the
    transmitter sent for each (complex (N, K))."""

    images: np.ndarray
    symbols: np.ndarray
    mode: str

    def __len__(self) -> int:
        return len(self.images)


def collect(codec: Codec, public: ImageSet, budget: int | None, mode: str = "plain", stego=None,
            seed: int = 0, batch: int = 256) -> Queries:
    """Spend ``budget`` queries (None: one per public image) on Eve's public faces.

    In the covert modes Alice's own image in each query (the private one for ``host``, the host for
    ``private``) is another public face, drawn with the seed.
    """
    if mode not in QUERY_MODES:
        raise ValueError(f"query mode must be one of {QUERY_MODES}, got {mode!r}")
    if mode != "plain" and stego is None:
        raise ValueError(f"query mode {mode!r} needs the stego key Alice's transmitter uses")
    n = len(public) if budget is None else budget
    if n > len(public):
        raise ValueError(f"a budget of {n} queries needs {n} public faces, only {len(public)} are available")
    if n < 1:
        raise ValueError(f"the query budget must be at least 1, got {n}")
    rng = np.random.default_rng(seed)
    chosen = rng.permutation(len(public))[:n]
    alice = rng.permutation(len(public))
    images, symbols = [], []
    for i in range(0, n, batch):
        x = public.as_float(chosen[i:i + batch])
        s = codec.encode(x)
        if mode != "plain":
            other = alice[i:i + len(x)]
            other = np.where(other == chosen[i:i + len(x)], alice[(np.arange(i, i + len(x)) + 1) % len(alice)], other)
            s_other = codec.encode(public.as_float(other))
            s = stego.embed(s, s_other) if mode == "host" else stego.embed(s_other, s)
        images.append(x)
        symbols.append(s)
    return Queries(np.concatenate(images), np.concatenate(symbols), mode)


class ClosedBox:
    """``attack(symbols, snr_db)``: Eve's trained inverse network on the equalised symbols."""

    def __init__(self, net: torch.nn.Module, name: str = "closedbox", batch: int = 256):
        self.net, self.name, self.batch = net.eval(), name, batch

    @torch.no_grad()
    def __call__(self, symbols: np.ndarray, snr_db, progress: bool = True) -> np.ndarray:
        device = next(self.net.parameters()).device
        snr = np.broadcast_to(np.asarray(snr_db, np.float32).reshape(-1), (len(symbols),))
        snr = torch.from_numpy(snr.reshape(-1, 1).copy()).to(device)
        return np.concatenate([self.net(iq_tensor(symbols[i:i + self.batch]).to(device), snr[i:i + self.batch]).cpu().numpy()
                               for i in range(0, len(symbols), self.batch)])


def genai_closedbox(inverse: torch.nn.Module, generator: torch.nn.Module, batch: int = 256) -> ClosedBox:
    """The inverse network predicts the generator's input (z, noise); the frozen generator draws the face."""
    return ClosedBox(ThroughGenerator(inverse, generator), "genai-closedbox", batch)
