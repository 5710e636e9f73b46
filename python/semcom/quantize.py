"""int8 copies of a codec and of a stego key, for receivers and transmitters on a few CPU cores.

Static quantization with ONNX Runtime (QDQ format): the convolutions' weights become int8 per output
channel and their inputs uint8, the layout ONNX Runtime's x86 int8 kernels (VNNI) run fastest; every
other operator stays float (quantizing the shipped decoder's element-wise operators as well cost
0.2 dB at 20 dB SNR and saved no time). Activation ranges come from real data sent through
``semcom.channel`` (AWGN) at SNRs drawn from the training range, clipped at the 99.99th percentile
of what the calibration saw (min/max ranges cost the decoder another 0.16 dB at 20 dB).

The float models stay the reference: every int8 model names the files it was made from, and its
quality is measured and recorded like any other model's (``semcom eval ... --record``).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from . import channel, keys, runtime
from .data import ImageSet

CALIBRATION_SNR = (0.0, 20.0)  # dB, the codec's and the keys' training range
PERCENTILE = 99.99
SUFFIX = "-int8"


def settings() -> dict:
    """How every model is quantized, as ONNX Runtime's ``quantize_static`` arguments."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType
    return dict(quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                per_channel=True, op_types_to_quantize=["Conv"], calibrate_method=CalibrationMethod.Percentile,
                extra_options={"CalibPercentile": PERCENTILE})


def record(source: dict[str, str], images: ImageSet, data_name: str) -> dict:
    """What the manifest says about how an int8 model was made."""
    return {"from": source, "format": "QDQ", "weights": "int8, per output channel", "activations": "uint8",
            "operators": ["Conv"], "calibration": {"data": data_name, "images": len(images),
                                                   "snr_db": list(CALIBRATION_SNR), "percentile": PERCENTILE}}


def quantize(model: bytes, feeds: list[dict[str, np.ndarray]]) -> bytes:
    """An ONNX model (bytes) quantized with ``settings()``, calibrated on ``feeds`` (one dict of
    inputs per batch)."""
    from onnxruntime.quantization import CalibrationDataReader, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Feeds(CalibrationDataReader):
        def __init__(self):
            self._it = iter(feeds)

        def get_next(self):
            return next(self._it, None)

    with tempfile.TemporaryDirectory() as tmp:
        src, pre, dst = Path(tmp) / "float.onnx", Path(tmp) / "pre.onnx", Path(tmp) / "int8.onnx"
        src.write_bytes(model)
        quant_pre_process(str(src), str(pre))  # shape inference the quantizer needs
        quantize_static(str(pre), str(dst), Feeds(), **settings())
        return dst.read_bytes()


def _enough(images: ImageSet, need: int, what: str) -> None:
    if len(images) < need:
        raise ValueError(f"calibrating {what} needs at least {need} images, got {len(images)}")


def _batches(n: int, size: int = 32):
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


def received(symbols: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Unit-power symbols (N, K) after AWGN at SNRs drawn uniformly from ``CALIBRATION_SNR``, and
    those SNRs (N, 1). AWGN only: calibrating on ZF-equalised Rayleigh fades as well widened the
    decoder's input ranges and cost 0.2 dB more at 20 dB over AWGN (measured on the shipped codec)."""
    snr = rng.uniform(*CALIBRATION_SNR, len(symbols)).astype(np.float32)
    y, _ = channel.Channel("awgn")(symbols, snr, rng)
    return y, snr.reshape(-1, 1)


def quantize_codec(name: str, images: ImageSet, data_name: str, out_name: str | None = None,
                   directory: Path | None = None, seed: int = 0) -> dict:
    """Write ``OUT.encoder.onnx`` and ``OUT.decoder.onnx`` (OUT defaults to NAME-int8) beside the
    float codec and describe them in the manifest; returns the entry. The encoder calibrates on
    ``images``, the decoder on their symbols after the channel."""
    from .export import update_manifest
    directory = directory or runtime.models_dir()
    out_name = out_name or name + SUFFIX
    codec = runtime.Codec(name, directory)
    _enough(images, 1, f"codec {name}")
    x = images.as_float()
    symbols = codec.encode(x)
    y, snr = received(symbols, np.random.default_rng(seed))
    y = channel.to_iq(y)
    made = {
        "encoder": quantize(codec.encoder.path.read_bytes(), [{"image": x[b]} for b in _batches(len(x))]),
        "decoder": quantize(codec.decoder.path.read_bytes(),
                            [{"symbols": y[b], "snr_db": snr[b]} for b in _batches(len(y))]),
    }
    entry = {k: v for k, v in codec.entry.items() if k not in ("parts", "parity_max_abs_diff", "checkpoint",
                                                               "training", "metrics")}
    entry["parts"] = {}
    for part, model in made.items():
        path = directory / f"{out_name}.{part}.onnx"
        path.write_bytes(model)
        entry["parts"][part] = {**codec.entry["parts"][part], "file": path.name, "sha256": runtime.sha256(path)}
    entry["quantized"] = record({"model": name, **{p: codec.entry["parts"][p]["sha256"] for p in made}},
                                images, data_name)
    update_manifest(directory, out_name, entry, keep=())
    runtime.Codec(out_name, directory)  # the files verify against the entry just written
    return entry


def quantize_key(key: str | Path, codec_name: str, images: ImageSet, data_name: str, out: Path,
                 seed: int = 0) -> dict:
    """Write an int8 copy of a stego key to ``out``: embed and extract quantized, the torch weights
    kept (for training further), the key's description marked ``quantized``. The embedder
    calibrates on (host, private) symbol pairs of ``images``, the extractor on their containers
    after the channel with Bob's lost-information estimate. Returns the key's description."""
    meta, members = keys.read(key)
    stego = keys.Stego(key)
    codec = runtime.Codec(codec_name)
    stego.check_codec(codec)
    _enough(images, 2, f"key {stego.path}")  # one (host, private) pair
    symbols = codec.encode(images.as_float())
    half = len(symbols) // 2
    host, private = symbols[:half], symbols[half:2 * half]
    rng = np.random.default_rng(seed)
    container, _ = received(stego.embed(host, private), rng)
    container = channel.to_iq(container)
    host, private = channel.to_iq(host), channel.to_iq(private)
    extract_feeds = []
    for b in _batches(half):
        feed = {"container": container[b]}
        if stego.takes_lost:
            feed["lost"] = keys.lost_estimate(container[b], stego.lost_mode, rng)
        extract_feeds.append(feed)
    members = {**members,
               "embed.onnx": quantize(members["embed.onnx"], [{"host": host[b], "private": private[b]}
                                                              for b in _batches(half)]),
               "extract.onnx": quantize(members["extract.onnx"], extract_feeds)}
    source = {"key": Path(stego.path).name, "sha256": runtime.sha256(stego.path)}
    meta = {k: v for k, v in meta.items() if k not in ("format", "version", "sha256", "parity_max_abs_diff")}
    meta["quantized"] = record(source, images, data_name)
    keys.write(out, meta, members)
    return meta
