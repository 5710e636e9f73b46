"""Eve: each strategy built from what she has (see the package note)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from ..data import ImageSet
from ..runtime import Codec, checkpoint_path, sha256
from ..train.eve import EveTrainConfig
from . import QUERIED, STRATEGIES
from .closedbox import ClosedBox, collect
from .glassbox import GenAIGlassBox, GenAIGlassBoxConfig, GlassBox, GlassBoxConfig

DEFAULT_GENERATOR = "face-gan-celeba64"


class Naive:
    name = "naive"

    def __init__(self, codec: Codec):
        self.codec = codec

    def __call__(self, symbols: np.ndarray, snr_db, progress: bool = False) -> np.ndarray:
        return self.codec.decode(symbols, snr_db)


def alice_encoder(codec: Codec):
    """Eve's differentiable copy of the encoder, from Alice's ONNX file (verified by the manifest)."""
    from .onnx_torch import OnnxModule
    return OnnxModule(codec.encoder.path)


def load_generator(name: str = DEFAULT_GENERATOR):
    """Eve's face generator (torch, for gradients), verified against the manifest."""
    from ..train.generator import load_generator as load
    return load(checkpoint_path(name))[0]


@dataclass
class EveSetup:
    """Options of Eve's attacks, with the documented defaults."""

    glassbox: GlassBoxConfig = field(default_factory=GlassBoxConfig)
    genai_glassbox: GenAIGlassBoxConfig = field(default_factory=GenAIGlassBoxConfig)
    train: EveTrainConfig = field(default_factory=EveTrainConfig)  # closed-box inverse networks
    generator: str = DEFAULT_GENERATOR
    cache: Path = Path("runs/eve")  # trained inverse networks, reused when every input is the same
    seed: int = 0


class Eve:
    """Builds each strategy from what Eve has: Alice's encoder file, her public faces (disjoint from
    the victims), her face generator, and query access to Alice's transmitter (with its stego key
    when covert communication is on: Eve cannot read the key, the transmitter applies it)."""

    def __init__(self, codec: Codec, public: ImageSet, setup: EveSetup = EveSetup(), stego=None):
        self.codec, self.public, self.setup, self.stego = codec, public, setup, stego
        self._generator = None
        self.trained: dict[str, dict] = {}  # cache file -> training record, for the report

    @property
    def generator(self):
        if self._generator is None:
            self._generator = load_generator(self.setup.generator)
        return self._generator

    def mean_face(self) -> np.ndarray:
        return self.public.as_float().mean(0)

    def attack(self, strategy: str, queries: int | None = None):
        """The attack callable for a strategy; closed-box ones train (or reuse) Eve's inverse network
        for ``queries`` queries (None: one per public face)."""
        if strategy in QUERIED:
            return self._closed_box(strategy, queries)
        setup = self.setup
        return load_attack(strategy, self.codec, generator=setup.generator, seed=setup.seed,
                           start=self.mean_face() if strategy == "glassbox" else None,
                           glassbox=setup.glassbox, genai_glassbox=setup.genai_glassbox)

    def _closed_box(self, strategy: str, queries: int | None):
        from ..train import eve as train_eve
        kind, covert_mode = QUERIED[strategy]
        if strategy == "adaptive-closedbox" and self.stego is None:
            raise ValueError("adaptive-closedbox attacks covert communication: it needs a stego key (--stego)")
        mode = "plain" if self.stego is None else covert_mode
        cfg = replace(self.setup.train, kind=kind, seed=self.setup.seed)
        generator = self.generator if kind == "latent" else None
        path = self._cache_path(strategy, mode, queries, cfg)
        if path.is_file():
            net, info = train_eve.load(path, generator)
        else:
            q = collect(self.codec, self.public, queries, mode, self.stego, seed=self.setup.seed)
            net, info = train_eve.train_inverse(q, cfg, generator, progress=f"Eve {strategy}")
            info["strategy"] = strategy
            train_eve.save(net, cfg, info, path, self.setup.generator if kind == "latent" else None)
        self.trained[str(path)] = info
        return ClosedBox(net, strategy)

    def _cache_path(self, strategy: str, mode: str, queries: int | None, cfg) -> Path:
        what = {"strategy": strategy, "mode": mode, "queries": queries, "codec": self.codec.entry["parts"]["encoder"]["sha256"],
                "key": None if self.stego is None else sha256(self.stego.path),
                "public": [str(f) for f in (self.public.files[0], self.public.files[-1])] + [len(self.public)],
                "generator": self.setup.generator if cfg.kind == "latent" else None, "train": asdict(cfg)}
        digest = hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:12]
        budget = "all" if queries is None else str(queries)
        return Path(self.setup.cache) / f"{strategy}-q{budget}-{digest}.pt"


def load_attack(strategy: str, codec: Codec, inverse: str | Path | None = None, generator: str = DEFAULT_GENERATOR,
                start: np.ndarray | None = None, glassbox: GlassBoxConfig = GlassBoxConfig(),
                genai_glassbox: GenAIGlassBoxConfig = GenAIGlassBoxConfig(), seed: int = 0):
    """One strategy from files alone (what the GNU Radio Eve block uses): closed-box strategies need
    the inverse network trained for them (``semcom train eve`` writes it); the glass-box search
    starts from ``start`` (e.g. the mean of Eve's faces), else mid grey."""
    from ..train import eve as train_eve
    if strategy == "naive":
        return Naive(codec)
    if strategy == "glassbox":
        grey = np.full((3, *codec.resolution), 0.5, np.float32)
        return GlassBox(alice_encoder(codec), grey if start is None else start, glassbox)
    if strategy == "genai-glassbox":
        return GenAIGlassBox(alice_encoder(codec), load_generator(generator), genai_glassbox, seed)
    if strategy not in QUERIED:
        raise ValueError(f"unknown strategy {strategy!r}; choose from {', '.join(STRATEGIES)}")
    if not inverse or not Path(inverse).is_file():
        raise FileNotFoundError(f"{strategy} needs Eve's trained inverse network; {inverse or '(none given)'} "
                                "is not a file (make one with 'semcom train eve')")
    net, info = train_eve.load(Path(inverse), load_generator(generator) if QUERIED[strategy][0] == "latent" else None)
    if info.get("strategy", strategy) != strategy:
        raise ValueError(f"{inverse} was trained for {info['strategy']}, not {strategy}")
    return ClosedBox(net, strategy)
