"""Stego keys: the trained stego model (INN, CNN or GAN paradigm) that Alice and Bob share, as one
file, run with ONNX Runtime.

A key file is a zip archive holding ``key.json`` (paradigm, codec name, symbol count, model
configuration, Bob's lost-information estimate, training record, and the sha256 of every other
member), ``embed.onnx`` (Alice), ``extract.onnx`` (Bob) and ``model.pt`` (the torch weights, for
further training and parity checks; ``inn.pt`` in version 1 keys, which were all INNs). Whoever
holds the file can extract the private image: it is the secret. The ones in ``models/`` are public
*demo* keys, verified against the manifest like every shipped model; ``semcom train stego`` writes
private keys readable by their owner only.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import sys
import zipfile
from pathlib import Path

import numpy as np

from . import runtime
from .channel import to_iq

FORMAT = "semcom-stego-key"
VERSION = 2
WEIGHTS = {1: "inn.pt", 2: "model.pt"}  # the torch member, by key version
DEMO_KEY = "stego-inn-demo"
DEMO_KEYS = {"inn": DEMO_KEY, "cnn": "stego-cnn-demo", "gan": "stego-gan-demo"}


LOST_ESTIMATES = ("zero", "gaussian")


def lost_estimate(like, mode: str, rng=None):
    """Bob's stand-in for the lost information r, shaped like ``like`` (..., K, 2): zeros, or a sample
    of N(0, 1/2) per real part (the power of a unit-power symbol). NumPy arrays (``rng`` a
    numpy Generator) and torch tensors (``rng`` a torch Generator) alike."""
    if mode not in LOST_ESTIMATES:
        raise ValueError(f"lost-information estimate must be one of {LOST_ESTIMATES}, got {mode!r}")
    if type(like).__module__.startswith("torch"):
        torch = sys.modules["torch"]
        if mode == "zero":
            return torch.zeros_like(like)
        return torch.randn(like.shape, generator=rng, device=like.device, dtype=like.dtype) * 0.5 ** 0.5
    if mode == "zero":
        return np.zeros(like.shape, np.float32)
    return ((rng or np.random.default_rng()).standard_normal(like.shape) * 0.5 ** 0.5).astype(np.float32)


class KeyFileError(runtime.ModelError):
    """A key file that is missing, damaged or does not fit the codec."""


def resolve(key: str | os.PathLike) -> Path:
    """A key path, or the name of a key in the models manifest (verified against its sha256)."""
    path = Path(key)
    if path.suffix != ".key" and not path.exists():
        try:
            entry = runtime.model_entry(str(key))  # a manifest name
        except runtime.ModelError as e:
            raise KeyFileError(f"{key} is neither a key file nor a key in the models manifest ({e})") from e
        if not str(entry.get("kind")).startswith("stego-"):
            raise KeyFileError(f"manifest entry {key!r} is a {entry.get('kind')}, not a stego key")
        path = runtime.models_dir() / entry["key"]["file"]
        if not path.is_file():
            raise KeyFileError(f"key file {path} of manifest entry {key!r} not found")
        digest = runtime.sha256(path)
        if digest != entry["key"]["sha256"]:
            raise KeyFileError(f"{path} has sha256 {digest}, but the manifest expects {entry['key']['sha256']}")
        return path
    if not path.is_file():
        raise KeyFileError(f"stego key file {path} not found (make one with 'semcom train stego --out {path}')")
    return path


def _digest(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def _members(version: int) -> tuple[str, ...]:
    return ("embed.onnx", "extract.onnx", WEIGHTS[version])


def read(key: str | os.PathLike) -> tuple[dict, dict[str, bytes]]:
    """The key's description (``paradigm`` always set) and its verified members, the torch weights
    under ``model.pt`` whatever the key's version."""
    path = resolve(key)
    try:
        with zipfile.ZipFile(path) as z:
            meta = json.loads(z.read("key.json"))
            if meta.get("format") != FORMAT:
                raise KeyFileError(f"{path} is not a {FORMAT} file (format {meta.get('format')!r})")
            if meta.get("version") not in WEIGHTS:
                raise KeyFileError(f"{path} is a version {meta.get('version')} key; this gr-semcom reads versions "
                                   f"{', '.join(map(str, WEIGHTS))}")
            names = _members(meta["version"])
            members = {m: z.read(m) for m in names}
            expected = {m: meta["sha256"][m] for m in names}
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as e:
        raise KeyFileError(f"{path} is not a readable stego key: {e}") from e
    for name, blob in members.items():
        if _digest(blob) != expected[name]:
            raise KeyFileError(f"{path}: member {name} has sha256 {_digest(blob)}, but key.json expects "
                            f"{expected[name]}; the key was altered or damaged")
    members["model.pt"] = members.pop(WEIGHTS[meta["version"]])
    return {"paradigm": "inn", **meta}, members


def private_folder(path: Path) -> None:
    """Create the folder of a key file, owner-only, unless it exists already."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)  # two trainings may race here
        os.chmod(path.parent, 0o700)  # whatever the umask


def write(path: Path, meta: dict, members: dict[str, bytes]) -> Path:
    """Write a key file readable by its owner only (its folder too, when this creates it)."""
    path = Path(path)
    private_folder(path)
    meta = {"format": FORMAT, "version": VERSION, **meta,
            "sha256": {name: _digest(members[name]) for name in _members(VERSION)}}
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("key.json", json.dumps(meta, indent=2))
        for name in _members(VERSION):
            z.writestr(name, members[name])
    os.chmod(tmp, stat.S_IRUSR | stat.S_IWUSR)
    os.replace(tmp, path)
    return path


def load_model(key: str | os.PathLike, device: str = "cpu"):
    """The key's stego model as an eval-mode torch module, and the key's description."""
    import torch
    from .nn.stego import build
    meta, members = read(key)
    model = build(meta["paradigm"], meta["config"])
    model.load_state_dict(torch.load(io.BytesIO(members["model.pt"]), map_location=device, weights_only=True))
    return model.eval(), meta


class Stego:
    """Embed and extract with a key on ONNX Runtime, on complex64 symbols (N, K) of unit power.
    Bob's lost-information estimate goes in only where the paradigm left some behind (the INN).
    ``threads``: CPU threads per call (0: one per core), as for ``runtime.session``."""

    def __init__(self, key: str | os.PathLike, threads: int = 0):
        self.path = resolve(key)
        self.meta, members = read(self.path)
        self.symbols = int(self.meta["symbols"])
        self.codec = self.meta["codec"]
        self.paradigm = self.meta["paradigm"]
        self.lost_mode = self.meta["lost"]
        self.demo = self.meta.get("demo", False)
        self._embed = runtime.session(members["embed.onnx"], threads)
        self._extract = runtime.session(members["extract.onnx"], threads)
        self.takes_lost = any(arg.name == "lost" for arg in self._extract.get_inputs())
        for session, part in ((self._embed, "embed"), (self._extract, "extract")):
            for arg in session.get_inputs() + session.get_outputs():
                if arg.shape[1:] != [self.symbols, 2]:
                    raise KeyFileError(f"{self.path}: {part}.onnx {arg.name} has shape {arg.shape}, "
                                    f"expected (batch, {self.symbols}, 2)")
        if self.demo:
            print(f"note: {self.path.name} is the public demo key; anyone with gr-semcom can extract what it "
                  "hides. Make your own with 'semcom train stego --out keys/NAME.key'.", file=sys.stderr)

    def check_codec(self, codec) -> None:
        """Refuse a codec whose symbol count differs from the key's."""
        if codec.symbols != self.symbols:
            raise KeyFileError(f"key {self.path} works on {self.symbols} symbols per image, but codec "
                            f"{codec.name} makes {codec.symbols}")

    def _iq(self, z: np.ndarray, what: str) -> np.ndarray:
        z = np.asarray(z, dtype=np.complex64)
        if z.ndim != 2 or z.shape[1] != self.symbols:
            raise ValueError(f"{what}: expected symbols of shape (N, {self.symbols}), got {z.shape}")
        return to_iq(z)

    def embed(self, host: np.ndarray, private: np.ndarray) -> np.ndarray:
        """The container (N, K), unit power. The lost information stays at Alice."""
        if np.shape(host) != np.shape(private):
            raise ValueError(f"host symbols {np.shape(host)} and private symbols {np.shape(private)} "
                             "must have the same shape")
        container = self._embed.run(None, {"host": self._iq(host, "host"), "private": self._iq(private, "private")})[0]
        return container.view(np.complex64)[..., 0]

    def extract(self, container: np.ndarray, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Bob's (host, private) symbols from the received, equalised container."""
        c = self._iq(container, "container")
        feed = {"container": c}
        if self.takes_lost:
            feed["lost"] = lost_estimate(c, self.lost_mode, rng)
        host, private = self._extract.run(None, feed)
        return host.view(np.complex64)[..., 0], private.view(np.complex64)[..., 0]
