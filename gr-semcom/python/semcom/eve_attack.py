"""Eve: intercepted packets in, her reconstruction of each image out, by any strategy of
``semcom.attacks``. Framing, drop counting and tags are the JSCC decoder's, so Eve's images line up
with Bob's in the metrics sink. The one block that imports torch (gradient-based strategies)."""
from __future__ import annotations

import numpy as np

from semcom import data
from semcom.attacks import STRATEGIES
from semcom.attacks.eve import DEFAULT_GENERATOR, load_attack
from semcom.attacks.glassbox import GenAIGlassBoxConfig, GlassBoxConfig

from .jscc_decoder import jscc_decoder
from .packets import MODEL_THREADS


class eve_attack(jscc_decoder):
    """``strategy``: one of semcom.attacks.STRATEGIES. ``inverse``: the closed-box strategies' trained
    network (``semcom train eve`` writes it). ``public``: a folder of Eve's own faces whose mean starts
    the glass-box search (mid grey without it). ``iterations``: glass-box steps (0: the default).
    ``max_batch``: packets per call, 0: 64 for the feed-forward strategies, ``SEARCH_BATCH`` for the
    glass-box searches (about a second per image on a CPU: a batch of 64 would hold every frame
    back for a minute). ``threads``: ONNX Runtime threads of the codec's decoder (the naive strategy);
    ``packets.MODEL_THREADS`` says why one by default.
    """

    SEARCH_BATCH = 4

    def __init__(self, strategy: str = "naive", model: str = "deepjscc-celeba64", snr_db: float = 10.0,
                 inverse: str = "", generator: str = DEFAULT_GENERATOR, public: str = "", iterations: int = 0,
                 max_batch: int = 0, threads: int = MODEL_THREADS):
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; choose from {', '.join(STRATEGIES)}")
        jscc_decoder.__init__(self, model, snr_db, max_batch or (self.SEARCH_BATCH if "glassbox" in strategy else 64),
                              threads)
        start = data.load_folder(public, self.codec.resolution, limit=2000).as_float().mean(0) if public else None
        self.strategy = strategy
        steps = {"iterations": iterations} if iterations else {}
        self.attack = load_attack(strategy, self.codec, inverse or None, generator, start,
                                  GlassBoxConfig(**steps), GenAIGlassBoxConfig(**steps))

    def reconstruct(self, symbols: np.ndarray, snr_db: np.ndarray) -> np.ndarray:
        return self.attack(symbols, snr_db, progress=False)
