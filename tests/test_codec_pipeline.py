"""Training smoke run, ONNX export and parity, the runtime's checks, and the eval commands."""
import json
import shutil
import subprocess
import sys

import numpy as np
import onnx
import pytest
import torch

from semcom import channel, runtime
from semcom.export import PARITY_TOLERANCE, _for_onnx, check_parity


def test_smoke_training_loss_decreases_and_resumes(tiny_codec):
    history = tiny_codec["info"]["history"]
    assert len(history) == 4
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    ckpt = torch.load(tiny_codec["run"] / "checkpoint.pt", weights_only=False)
    assert ckpt["epoch"] == 4 and set(ckpt) >= {"model", "optimizer", "scheduler", "rng"}


def test_resume_continues_from_the_checkpoint(tiny_codec, tmp_path):
    from semcom.train.codec import train
    run = tmp_path / "run"
    shutil.copytree(tiny_codec["run"], run)
    cfg = tiny_codec["cfg"]
    cfg = type(cfg)(**{**cfg.__dict__, "out": str(run), "epochs": 5})
    final = train(cfg, resume=True)
    history = torch.load(final, weights_only=False)["info"]["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3, 4, 5]
    assert history[-1]["minutes"] >= history[3]["minutes"]  # minutes add up across the resume
    # the new budget re-planned the cosine decay: it ends at lr_min after epoch 5
    scheduler = torch.load(run / "checkpoint.pt", weights_only=False)["scheduler"]
    assert scheduler["_last_lr"][0] == pytest.approx(cfg.lr_min, rel=1e-3)


def test_export_parity_on_random_and_real_inputs(tiny_codec):
    parity = tiny_codec["entry"]["parity_max_abs_diff"]
    assert set(parity) == {"encoder_random", "encoder_real", "decoder_random", "decoder_real"}
    assert max(parity.values()) <= PARITY_TOLERANCE
    # and again here, on a batch size never seen at export (dynamic batch)
    model = tiny_codec["model"]
    x = np.random.default_rng(5).random((7, 3, 64, 64), dtype=np.float32)
    assert check_parity(model.encoder, tiny_codec["dir"] / "tiny.encoder.onnx", {"image": x}, "7 images") <= PARITY_TOLERANCE


def test_export_writes_prelu_as_relu_arithmetic_with_the_same_numbers(tiny_codec):
    """ONNX Runtime's PRelu with per-channel slopes is 30-45x slower than its Relu, so the export
    writes each PReLU as relu(x) + slope * (x - relu(x)): PReLU's numbers exactly."""
    for part in ("encoder", "decoder"):
        ops = {node.op_type for node in onnx.load(tiny_codec["dir"] / f"tiny.{part}.onnx").graph.node}
        assert "PRelu" not in ops and "Relu" in ops, part
    for prelu, x in ((torch.nn.PReLU(5), torch.randn(3, 5, 4, 4)), (torch.nn.PReLU(5), torch.randn(3, 5)),
                     (torch.nn.PReLU(), torch.randn(2, 5, 3))):
        torch.nn.init.uniform_(prelu.weight, -0.5, 1.5)  # negative and above-one slopes too
        model = torch.nn.Sequential(prelu)
        with torch.no_grad():
            assert torch.equal(_for_onnx(model)(x), model(x))
        assert isinstance(model[0], torch.nn.PReLU)  # the model itself is left as it was


def test_runtime_codec_matches_torch_through_the_channel(tiny_codec):
    codec = runtime.Codec("tiny", tiny_codec["dir"])
    x = np.random.default_rng(0).random((5, 3, 64, 64), dtype=np.float32)
    s = codec.encode(x)
    assert s.dtype == np.complex64 and s.shape == (5, 1024)
    assert np.allclose((np.abs(s) ** 2).mean(-1), 1, atol=1e-5)
    y, snr = channel.Channel("awgn")(s, 10.0, np.random.default_rng(1))
    out = codec.decode(y, snr)
    with torch.no_grad():
        ref = tiny_codec["model"].decoder(torch.from_numpy(y.view(np.float32).reshape(5, -1, 2)), torch.full((5, 1), 10.0))
    assert np.abs(out - ref.numpy()).max() <= PARITY_TOLERANCE
    with pytest.raises(ValueError, match=r"\(N, 1024\)"):
        codec.decode(y[:, :1000], 10.0)


def test_tampered_model_is_refused_naming_both_hashes(tiny_codec, tmp_path):
    models = tmp_path / "models"
    shutil.copytree(tiny_codec["dir"], models)
    enc = models / "tiny.encoder.onnx"
    expected = runtime.sha256(enc)
    blob = bytearray(enc.read_bytes())
    blob[-100] ^= 0xFF
    enc.write_bytes(bytes(blob))
    with pytest.raises(runtime.ModelError) as err:
        runtime.Codec("tiny", models)
    assert expected in str(err.value) and runtime.sha256(enc) in str(err.value)


def test_shapes_disagreeing_with_manifest_are_refused(tiny_codec, tmp_path):
    models = tmp_path / "models"
    shutil.copytree(tiny_codec["dir"], models)
    manifest = json.loads((models / "manifest.json").read_text())
    manifest["models"]["tiny"]["parts"]["encoder"]["outputs"]["symbols"] = ["batch", 512, 2]
    (models / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(runtime.ModelError, match=r"512.*|1024"):
        runtime.Codec("tiny", models)
    with pytest.raises(runtime.ModelError, match="not in the manifest"):
        runtime.Codec("nope", models)


def _semcom(*args, env_models):
    env = {**__import__("os").environ, "SEMCOM_MODELS": str(env_models)}
    return subprocess.run([sys.executable, "-m", "semcom.cli", *args], capture_output=True, text=True, env=env, timeout=600)


def test_eval_codec_command_writes_the_json_interface(tiny_codec, celeba, tmp_path):
    out = tmp_path / "eval.json"
    r = _semcom("eval", "codec", "--model", "tiny", "--data", str(celeba), "--limit", "16", "--snr", "0", "10",
                "--json", str(out), env_models=tiny_codec["dir"])
    assert r.returncode == 0, r.stderr
    res = json.loads(out.read_text())
    assert res["channel"] == "awgn" and [r["snr_db"] for r in res["results"]] == [0, 10]
    for row in res["results"]:
        assert set(row) == {"snr_db", "psnr", "ms_ssim", "lpips", "n"} and row["n"] == 16
        assert 5 < row["psnr"] < 50 and 0 < row["ms_ssim"] <= 1
    assert "PSNR" in r.stdout


def test_eval_baseline_command_and_plot(tiny_codec, image_dir, tmp_path):
    out, plot = tmp_path / "baseline.json", tmp_path / "psnr.png"
    r = _semcom("eval", "baseline", "--model", "tiny", "--data", str(image_dir), "--limit", "4", "--snr", "0", "20",
                "--json", str(out), "--plot", str(plot), env_models=tiny_codec["dir"])
    assert r.returncode == 0, r.stderr
    res = json.loads(out.read_text())["results"]
    assert [r["n"] for r in res] == [4, 4]
    for fmt in ("jpeg", "webp"):
        assert set(res[0][fmt]) == {"psnr", "ms_ssim"}
        assert res[1][fmt]["psnr"] > res[0][fmt]["psnr"]  # more capacity, better picture
    assert plot.stat().st_size > 1000


def test_capacity_budget_follows_shannon():
    from semcom.evaluate import capacity_bits
    assert capacity_bits(1024, 0.0) == pytest.approx(1024.0)
    assert capacity_bits(1024, 10 * np.log10(3)) == pytest.approx(2048.0)
    assert capacity_bits(4, 0.0, np.array([0.0, 1.0, 3.0, 0.0])) == pytest.approx(0 + 1 + 2 + 0)


def test_mixed_training_channel_sends_half_the_batch_over_fading():
    from semcom.train.codec import training_channel
    x = channel.power_normalize(torch.complex(torch.randn(8, 1024), torch.randn(8, 1024)))
    y, snr = training_channel("mixed")(x, torch.full((8,), 30.0))
    assert y.shape == x.shape and snr.shape == (8,)
    assert torch.equal(snr[:4], torch.full((4,), 30.0)) and not torch.equal(snr[4:], torch.full((4,), 30.0))
