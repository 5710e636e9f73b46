"""Run shipped models with ONNX Runtime, found by name through ``models/manifest.json``.

The manifest lists each model's parts (e.g. encoder and decoder), and for each part its file,
sha256 and input/output shapes (``"batch"`` marks the dynamic batch axis). A part whose file hash
or graph shapes disagree with the manifest is refused. CUDA is used when ONNX Runtime offers it.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from .channel import to_iq

MODELS_ENV = "SEMCOM_MODELS"
MANIFEST = "manifest.json"


class ModelError(RuntimeError):
    """A model file that cannot be used as the manifest describes it."""


def models_dir() -> Path:
    """$SEMCOM_MODELS, else the project's ``models/`` folder."""
    return Path(os.environ.get(MODELS_ENV) or Path(__file__).resolve().parents[2] / "models")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_manifest(directory: Path | None = None) -> dict:
    path = (directory or models_dir()) / MANIFEST
    if not path.is_file():
        raise ModelError(f"model manifest {path} not found")
    with open(path) as f:
        return json.load(f)


def model_entry(name: str, directory: Path | None = None) -> dict:
    models = read_manifest(directory)["models"]
    if name not in models:
        raise ModelError(f"model {name!r} is not in the manifest; known: {', '.join(sorted(models))}")
    return models[name]


def providers() -> list[str]:
    import onnxruntime as ort
    available = ort.get_available_providers()
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]


def session(model: str | bytes, threads: int = 0):
    """An ONNX Runtime session on the preferred provider, running each call on ``threads`` CPU
    threads (0: ONNX Runtime's default, one per core). Its idle threads sleep instead of spinning:
    in a flowgraph several models and the PHY share the cores, and a spinning pool starves them."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return ort.InferenceSession(model, options, providers=providers())


def graph_shapes(args) -> dict[str, list]:
    return {a.name: [d if isinstance(d, int) else "batch" for d in a.shape] for a in args}


@dataclass
class OnnxPart:
    """One verified ONNX file: call it with NumPy arrays by input name."""

    name: str
    path: Path
    spec: dict
    threads: int = 0

    @cached_property
    def session(self):
        return session(str(self.path), self.threads)

    def verify(self) -> "OnnxPart":
        if not self.path.is_file():
            raise ModelError(f"{self.name}: model file {self.path} not found")
        digest = sha256(self.path)
        if digest != self.spec["sha256"]:
            raise ModelError(f"{self.name}: {self.path} has sha256 {digest}, but the manifest expects "
                             f"{self.spec['sha256']}; the file was altered or replaced")
        for kind, got in (("inputs", graph_shapes(self.session.get_inputs())),
                          ("outputs", graph_shapes(self.session.get_outputs()))):
            if got != self.spec[kind]:
                raise ModelError(f"{self.name}: {self.path} has {kind} {got}, but the manifest expects {self.spec[kind]}")
        return self

    def __call__(self, **inputs: np.ndarray) -> np.ndarray | list[np.ndarray]:
        outs = self.session.run(None, {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in inputs.items()})
        return outs[0] if len(outs) == 1 else outs


def load_part(model: str, part: str, directory: Path | None = None, threads: int = 0) -> OnnxPart:
    directory = directory or models_dir()
    entry = model_entry(model, directory)
    if part not in entry["parts"]:
        raise ModelError(f"model {model!r} has no part {part!r}; it has {', '.join(entry['parts'])}")
    spec = entry["parts"][part]
    return OnnxPart(f"{model}.{part}", directory / spec["file"], spec, threads).verify()


class Codec:
    """The DeepJSCC encoder and decoder of a manifest entry, on ONNX Runtime.

    ``encode``: float32 images (N, 3, H, W) in [0, 1] -> complex64 symbols (N, K), unit power.
    ``decode``: complex64 equalised symbols (N, K) and receiver SNR in dB -> images.
    ``threads``: CPU threads per call (0: one per core), as for ``session``.
    """

    def __init__(self, name: str, directory: Path | None = None, threads: int = 0):
        self.name = name
        self.entry = model_entry(name, directory)
        self.encoder = load_part(name, "encoder", directory, threads)
        self.decoder = load_part(name, "decoder", directory, threads)
        self.symbols = int(self.entry["symbols"])
        self.resolution = tuple(self.entry["resolution"])

    def encode(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images, dtype=np.float32)
        if images.shape[1:] != (3, *self.resolution):
            raise ValueError(f"{self.name} encodes images of shape (N, 3, {self.resolution[0]}, "
                             f"{self.resolution[1]}), got {images.shape}")
        return self.encoder(image=images).view(np.complex64)[..., 0]

    def decode(self, symbols: np.ndarray, snr_db) -> np.ndarray:
        symbols = np.asarray(symbols, dtype=np.complex64)
        if symbols.ndim != 2 or symbols.shape[1] != self.symbols:
            raise ValueError(f"{self.name} decodes (N, {self.symbols}) symbols, got shape {symbols.shape}")
        snr = np.broadcast_to(np.asarray(snr_db, dtype=np.float32).reshape(-1), (len(symbols),)).reshape(-1, 1)
        return self.decoder(symbols=to_iq(symbols), snr_db=snr)


def checkpoint_path(name: str, directory: Path | None = None) -> Path:
    """The torch weights shipped beside a model's ONNX files (for training on top of it and for
    attacks that need gradients), verified against the manifest's sha256."""
    directory = directory or models_dir()
    entry = model_entry(name, directory)
    if "checkpoint" not in entry:
        raise ModelError(f"model {name!r} ships no torch checkpoint")
    path = directory / entry["checkpoint"]["file"]
    if not path.is_file():
        raise ModelError(f"{name}: checkpoint {path} not found")
    digest = sha256(path)
    if digest != entry["checkpoint"]["sha256"]:
        raise ModelError(f"{name}: {path} has sha256 {digest}, but the manifest expects {entry['checkpoint']['sha256']}")
    return path
