"""torch -> ONNX export with a parity check, and the manifest entries of ``models/``."""
from __future__ import annotations

import copy
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import torch

from . import runtime
from .nn.generator import Generator
from .nn.jscc import DeepJSCC
from .samples import load_samples

PARITY_TOLERANCE = 1e-4
OPSET = 17


class ParityError(AssertionError):
    """ONNX Runtime and torch disagree by more than the tolerance."""


class _PReLUAsRelu(torch.nn.Module):
    """nn.PReLU written as relu(x) + slope * (x - relu(x)): the same numbers, bit for bit, but ONNX
    Runtime's CPU PRelu kernel with per-channel slopes runs at about 1.7 GB/s, 30-45 times slower
    than its Relu (PRelu was a fifth of the codec's time there); these four operators take a fifth
    to an eighth of its time, and Eve's ONNX-to-torch copy runs them as they are."""

    def __init__(self, prelu: torch.nn.PReLU):
        super().__init__()
        self.weight = prelu.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        slope = self.weight.reshape(-1, *[1] * (x.dim() - 2)) if self.weight.numel() > 1 else self.weight
        r = torch.relu(x)
        return r + slope * (x - r)


def _for_onnx(module: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``module`` with every nn.PReLU as ``_PReLUAsRelu``."""
    module = copy.deepcopy(module)
    for parent in list(module.modules()):
        for name, child in parent.named_children():
            if isinstance(child, torch.nn.PReLU):
                setattr(parent, name, _PReLUAsRelu(child))
    return module


def _export(module: torch.nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str]) -> None:
    axes = {name: {0: "batch"} for name in inputs + outputs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(_for_onnx(module), args, str(path), input_names=inputs, output_names=outputs,
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)


def check_parity(module: torch.nn.Module, path: Path, feeds: dict[str, np.ndarray], what: str) -> float:
    """Max |ONNX - torch| over the outputs for these inputs; ParityError above the tolerance."""
    import onnxruntime as ort
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, feeds)
    with torch.no_grad():
        want = module(*[torch.from_numpy(v) for v in feeds.values()])
    want = want if isinstance(want, (tuple, list)) else [want]
    diff = max(float(np.abs(g - w.numpy()).max()) for g, w in zip(got, want))
    if diff > PARITY_TOLERANCE:
        raise ParityError(f"{path}: ONNX differs from torch by {diff:.2e} on {what} (tolerance {PARITY_TOLERANCE})")
    return diff


def parity_images(model: DeepJSCC, real: np.ndarray | None, seed: int = 0) -> dict[str, np.ndarray]:
    """Random images and real ones (the given set, else the embedded sample portraits)."""
    cfg = model.cfg
    rng = np.random.default_rng(seed)
    if real is None:
        real = load_samples((cfg.height, cfg.width)).as_float()
    return {"random": rng.random((4, 3, cfg.height, cfg.width), dtype=np.float32), "real": real.astype(np.float32)}


def export_codec(model: DeepJSCC, out_dir: Path, name: str, real_images: np.ndarray | None = None,
                 checkpoint: Path | None = None, info: dict | None = None) -> dict:
    """Write ``NAME.encoder.onnx`` and ``NAME.decoder.onnx``, check parity, update the manifest.

    Returns the manifest entry, with the parity figures measured.
    """
    model = model.eval().cpu()
    cfg = model.cfg
    out_dir.mkdir(parents=True, exist_ok=True)
    enc_path, dec_path = out_dir / f"{name}.encoder.onnx", out_dir / f"{name}.decoder.onnx"
    k = cfg.symbols
    _export(model.encoder, (torch.rand(2, 3, cfg.height, cfg.width),), enc_path, ["image"], ["symbols"])
    _export(model.decoder, (torch.rand(2, k, 2), torch.rand(2, 1)), dec_path, ["symbols", "snr_db"], ["image"])

    rng = np.random.default_rng(1)
    parity = {}
    for what, images in parity_images(model, real_images).items():
        parity[f"encoder_{what}"] = check_parity(model.encoder, enc_path, {"image": images}, f"{what} images")
        with torch.no_grad():
            symbols = model.encoder(torch.from_numpy(images)).numpy()
        snr = rng.uniform(0, 20, (len(images), 1)).astype(np.float32)
        parity[f"decoder_{what}"] = check_parity(model.decoder, dec_path, {"symbols": symbols, "snr_db": snr},
                                                 f"symbols of {what} images")

    entry = {
        "kind": "deepjscc",
        "resolution": [cfg.height, cfg.width],
        "ratio": cfg.ratio,
        "symbols": k,
        "config": cfg.to_dict(),
        "parameters": {"encoder": sum(p.numel() for p in model.encoder.parameters()),
                       "decoder": sum(p.numel() for p in model.decoder.parameters())},
        "parts": {
            "encoder": {"file": enc_path.name, "sha256": runtime.sha256(enc_path),
                        "inputs": {"image": ["batch", 3, cfg.height, cfg.width]},
                        "outputs": {"symbols": ["batch", k, 2]}},
            "decoder": {"file": dec_path.name, "sha256": runtime.sha256(dec_path),
                        "inputs": {"symbols": ["batch", k, 2], "snr_db": ["batch", 1]},
                        "outputs": {"image": ["batch", 3, cfg.height, cfg.width]}},
        },
        "parity_max_abs_diff": parity,
    }
    return _ship(out_dir, name, entry, checkpoint, info)


def export_generator(G: Generator, out_dir: Path, name: str, checkpoint: Path | None = None,
                     info: dict | None = None) -> dict:
    """Write ``NAME.onnx`` (inputs z, noise0..noiseN; output image) and ``NAME.samples.png``, check
    parity, update the manifest. Returns the manifest entry, with the parity figures measured."""
    G = G.eval().cpu()
    cfg = G.cfg
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.onnx"
    noise_names = [f"noise{i}" for i in range(len(cfg.sizes))]
    _export(G, (torch.randn(2, cfg.latent), *G.sample_noise(2)), path, ["z", *noise_names], ["image"])

    rng = np.random.default_rng(3)
    parity = {}
    # the attacks' searches leave z and the noise maps well outside N(0, 1): check there too
    for what, scale in (("random", 1.0), ("wide", 3.0)):
        feeds = {"z": rng.standard_normal((4, cfg.latent), dtype=np.float32) * scale}
        feeds |= {n: rng.standard_normal(s, dtype=np.float32) * scale for n, s in zip(noise_names, G.noise_shapes(4))}
        parity[f"generator_{what}"] = check_parity(G, path, feeds, f"{what} z and noise")

    samples = out_dir / f"{name}.samples.png"
    write_samples(G, samples)
    res = cfg.resolution
    entry = {
        "kind": "generator",
        "resolution": [res, res],
        "latent": cfg.latent,
        "config": cfg.to_dict(),
        "parameters": {"generator": sum(p.numel() for p in G.parameters())},
        "parts": {"generator": {
            "file": path.name, "sha256": runtime.sha256(path),
            "inputs": {"z": ["batch", cfg.latent],
                       **{n: ["batch", *s[1:]] for n, s in zip(noise_names, G.noise_shapes(1))}},
            "outputs": {"image": ["batch", 3, res, res]}}},
        "parity_max_abs_diff": parity,
        "samples": samples.name,
    }
    return _ship(out_dir, name, entry, checkpoint, info)


@torch.no_grad()
def write_samples(G: Generator, path: Path, rows: int = 8, seed: int = 0) -> None:
    """A rows x rows PNG grid of G(z, noise) for a fixed seed (the same faces on every call)."""
    from PIL import Image
    gen = torch.Generator().manual_seed(seed)
    n = rows * rows
    z = torch.randn(n, G.cfg.latent, generator=gen).to(G.input.weight.device)
    images = G(z, *G.sample_noise(n, gen)).cpu().numpy()
    _, c, h, w = images.shape
    grid = images.reshape(rows, rows, c, h, w).transpose(0, 3, 1, 4, 2).reshape(rows * h, rows * w, c)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((grid * 255).round().astype(np.uint8)).save(path)


def _ship(out_dir: Path, name: str, entry: dict, checkpoint: Path | None, info: dict | None) -> dict:
    """Copy the torch weights beside the ONNX files, add the training record, write the manifest entry."""
    if checkpoint is not None:
        target = out_dir / f"{name}.pt"
        if checkpoint.resolve() != target.resolve():
            shutil.copyfile(checkpoint, target)
        entry["checkpoint"] = {"file": target.name, "sha256": runtime.sha256(target)}
    if info:
        entry["training"] = info
    update_manifest(out_dir, name, entry)
    return entry


def update_manifest(directory: Path, name: str, entry: dict, keep: tuple[str, ...] = ("metrics",)) -> None:
    """Set ``models[name]`` in the manifest, keeping the listed keys of an existing entry."""
    path = directory / runtime.MANIFEST
    manifest = json.loads(path.read_text()) if path.exists() else {"schema": 1, "models": {}}
    old = manifest["models"].get(name, {})
    manifest["models"][name] = {**{key: old[key] for key in keep if key in old}, **entry}
    path.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")


def export_stego_key(model, path: Path, codec: str, lost: str, info: dict | None = None,
                     real_symbols: np.ndarray | None = None, demo: bool = False) -> dict:
    """Write a stego key file (``keys`` format) for a model of any paradigm: ONNX embed and extract,
    parity-checked against torch on random unit-power symbols and, when given, on real ones; returns
    the key's description."""
    import io
    import tempfile

    from . import keys
    from .nn.stego import Embed, Extract
    model = model.eval().cpu()
    k = model.cfg.symbols
    rng = np.random.default_rng(2)
    sets = {"random": (rng.standard_normal((2, 4, k, 2)) * 0.5 ** 0.5).astype(np.float32)}
    if real_symbols is not None:
        sets["real"] = real_symbols.astype(np.float32)
    sent = ["container", "lost"] if model.keeps_lost else ["container"]
    parity, members = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        embed_path, extract_path = Path(tmp) / "embed.onnx", Path(tmp) / "extract.onnx"
        example = (torch.randn(2, k, 2), torch.randn(2, k, 2))
        _export(Embed(model), example, embed_path, ["host", "private"], sent)
        _export(Extract(model), example[:len(sent)], extract_path, sent, ["host", "private"])
        for what, (host, private) in sets.items():
            parity[f"embed_{what}"] = check_parity(Embed(model), embed_path, {"host": host, "private": private},
                                                   f"{what} symbols")
            with torch.no_grad():
                container, r = model(torch.from_numpy(host), torch.from_numpy(private))
            received = {"container": container.numpy()} | ({"lost": r.numpy()} if model.keeps_lost else {})
            parity[f"extract_{what}"] = check_parity(Extract(model), extract_path, received,
                                                     f"containers of {what} symbols")
        members["embed.onnx"] = embed_path.read_bytes()
        members["extract.onnx"] = extract_path.read_bytes()
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    members["model.pt"] = buf.getvalue()
    meta = {"paradigm": model.paradigm, "codec": codec, "symbols": k, "config": model.cfg.to_dict(), "lost": lost,
            "demo": demo, "parameters": sum(p.numel() for p in model.parameters()), "parity_max_abs_diff": parity,
            "training": info or {}}
    keys.write(path, meta, members)
    return meta
