"""int8 copies (``semcom quantize``): made from the float files they name, verified like every
model, close to the float models, and readable by Eve's ONNX interpreter."""
import shutil
import stat

import numpy as np
import onnx
import pytest
import torch

from semcom import data, keys, runtime
from semcom.attacks.onnx_torch import OnnxModule
from semcom.cli import main
from semcom.metrics import psnr


@pytest.fixture(scope="module")
def int8_codec(tiny_codec, image_dir, tmp_path_factory):
    """The tiny codec's folder, copied, with ``tiny-int8`` made by the command line."""
    models = tmp_path_factory.mktemp("int8-models")
    shutil.copytree(tiny_codec["dir"], models, dirs_exist_ok=True)
    main(["quantize", "codec", "--model", "tiny", "--out", str(models), "--data", str(image_dir), "--limit", "32"])
    return models


def _ops(path) -> set[str]:
    return _ops_of(open(path, "rb").read())


def test_int8_codec_names_its_float_source_and_verifies(int8_codec):
    float_entry, entry = runtime.model_entry("tiny", int8_codec), runtime.model_entry("tiny-int8", int8_codec)
    assert entry["quantized"]["from"] == {"model": "tiny", **{p: float_entry["parts"][p]["sha256"] for p in ("encoder", "decoder")}}
    assert entry["quantized"]["calibration"]["images"] == 32 and entry["symbols"] == float_entry["symbols"]
    codec = runtime.Codec("tiny-int8", int8_codec)
    for part in (codec.encoder, codec.decoder):
        ops = _ops(part.path)
        assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= ops, ops
        # the convolutions' weights are stored as int8
        weights = [i for i in onnx.load(str(part.path)).graph.initializer if i.data_type == onnx.TensorProto.INT8]
        assert weights


def test_int8_codec_stays_close_to_the_float_codec(int8_codec, image_dir):
    images = data.load_folder(image_dir, split="test").as_float()
    f, q = runtime.Codec("tiny", int8_codec), runtime.Codec("tiny-int8", int8_codec)
    sf, sq = f.encode(images), q.encode(images)
    # still unit power per image: the power normalisation stays in float
    np.testing.assert_allclose((np.abs(sq) ** 2).mean(1), 1.0, atol=1e-4)
    assert 10 * np.log10((np.abs(sf) ** 2).mean() / (np.abs(sf - sq) ** 2).mean()) > 25  # symbol SQNR in dB
    xf, xq = f.decode(sf, 20.0), q.decode(sf, 20.0)
    assert psnr(xq, xf).min() > 30


def test_eve_runs_an_int8_encoder_file_and_its_gradients(int8_codec, image_dir):
    codec = runtime.Codec("tiny-int8", int8_codec)
    images = data.load_folder(image_dir, limit=4).as_float()
    eve = OnnxModule(codec.encoder.path)
    x = torch.from_numpy(images).requires_grad_(True)
    y = eve(x)
    want = codec.encoder(image=images)
    # ties in the rounding may land one step apart; anything else would be far larger
    assert np.abs(y.detach().numpy() - want).max() < 0.05 and np.abs(y.detach().numpy() - want).mean() < 1e-4
    y.square().sum().backward()  # straight through the rounding to the image
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_int8_key_is_private_names_its_source_and_recovers_like_the_float_key(tiny_keys, image_dir, tmp_path, monkeypatch):
    monkeypatch.setenv(runtime.MODELS_ENV, str(tiny_keys["dir"]))
    source = tiny_keys["paths"][0]
    out = tmp_path / "keys" / "k0-int8.key"
    main(["quantize", "key", "--key", str(source), "--model", "tiny", "--out", str(out), "--data", str(image_dir),
          "--limit", "32"])
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    meta, members = keys.read(out)
    assert meta["quantized"]["from"] == {"key": source.name, "sha256": runtime.sha256(source)}
    assert "QuantizeLinear" in _ops_of(members["embed.onnx"]) and "QuantizeLinear" in _ops_of(members["extract.onnx"])
    codec = runtime.Codec("tiny")
    f, q = keys.Stego(source), keys.Stego(out)
    s = codec.encode(data.load_folder(image_dir, limit=8).as_float())
    host, private = s[:4], s[4:]
    cf, cq = f.embed(host, private), q.embed(host, private)
    np.testing.assert_allclose((np.abs(cq) ** 2).mean(1), 1.0, atol=1e-4)
    pf, pq = f.extract(cf)[1], q.extract(cq)[1]
    assert psnr(codec.decode(pq, 20.0), codec.decode(pf, 20.0)).min() > 25


def _ops_of(model: bytes) -> set[str]:
    return {n.op_type for n in onnx.load_from_string(model).graph.node}


def test_codec_bench_measures_the_shipped_int8_copy_beside_the_float_codec():
    from semcom.bench import run
    report = run("deepjscc-celeba64", batch=4, repeats=1)
    assert set(report["int8"]["parts"]) == {"encoder", "decoder"} and report["int8"]["matmul_gops"] > 0
    for part, r in report["int8"]["parts"].items():
        assert r["onnxruntime_img_s"] > 0 and 0 < r["fraction_of_bound"] < 1.5
        assert r["over_float"] == r["onnxruntime_img_s"] / report["parts"][part]["onnxruntime_img_s"]


def test_quantize_refuses_too_few_calibration_images(tiny_keys, image_dir, tmp_path, monkeypatch):
    from semcom.quantize import quantize_key
    monkeypatch.setenv(runtime.MODELS_ENV, str(tiny_keys["dir"]))
    one = data.load_folder(image_dir, limit=1)
    with pytest.raises(ValueError, match="at least 2 images, got 1"):
        quantize_key(tiny_keys["paths"][0], "tiny", one, "synthetic", tmp_path / "k.key")
    assert not (tmp_path / "k.key").exists()


def test_eve_quantize_without_zero_point_is_the_uint8_grid():
    from semcom.attacks.onnx_torch import OPS
    x = torch.tensor([-1.0, 0.26, 1.0, 300.0])
    got = OPS["QuantizeLinear"](x, torch.tensor(0.5))
    assert got.tolist() == [0.0, 1.0, 2.0, 255.0]
