"""The CNN and GAN stego paradigms behind the INN's interface, and the side-by-side evaluation."""
import json

import numpy as np
import pytest
import torch

from semcom import channel, keys, runtime
from semcom.cli import main
from semcom.export import PARITY_TOLERANCE
from semcom.nn.stego import PARADIGMS, build, config_for


def _symbols(n, seed, k=1024):
    g = torch.Generator().manual_seed(seed)
    return channel.power_normalize(torch.randn(n, k, 2, generator=g))


def _perturbed(paradigm):
    """A model whose zero-started last layers are moved, so that the container is not just the host."""
    torch.manual_seed(0)
    model = build(paradigm, config_for(paradigm, (8, 16, 16), hidden=16, layers=3, blocks=2))
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.Conv2d) and not m.weight.abs().sum():
                torch.nn.init.normal_(m.weight, std=0.05)
    return model.eval()


@pytest.mark.parametrize("paradigm", PARADIGMS)
def test_container_has_the_host_shape_and_unit_power(paradigm):
    model = _perturbed(paradigm)
    host, private = _symbols(5, 1), _symbols(5, 2)
    with torch.no_grad():
        container, lost = model(host, private)
        h, p = model.extract(container, lost)
    assert container.shape == host.shape and h.shape == p.shape == host.shape
    assert torch.allclose((container ** 2).sum(-1).mean(-1), torch.ones(5), atol=1e-5)
    assert not torch.allclose(container, host, atol=1e-3)
    assert (lost is None) == (paradigm != "inn")
    with torch.no_grad():  # the private image changes the container
        other, _ = model(host, _symbols(5, 3))
    assert (other - container).abs().max() > 1e-3


@pytest.mark.parametrize("paradigm", ["cnn", "gan"])
def test_untrained_cnn_pair_sends_and_reads_back_the_host(paradigm):
    model = build(paradigm, config_for(paradigm, (8, 16, 16), hidden=8, layers=2))
    host, private = _symbols(3, 1), _symbols(3, 2)
    with torch.no_grad():
        container, _ = model(host, private)
        h, p = model.extract(container)
    assert torch.allclose(container, host, atol=1e-6) and torch.allclose(h, host, atol=1e-6)
    assert p.abs().max() == 0


@pytest.mark.parametrize("paradigm", ["cnn", "gan"])
def test_trained_key_recovers_the_private_symbols_over_a_clean_channel(tiny_paradigm_keys, image_dir, paradigm):
    from semcom.data import load_folder
    codec = runtime.Codec("tiny", tiny_paradigm_keys["dir"])
    stego = keys.Stego(tiny_paradigm_keys["paths"][paradigm])
    assert stego.paradigm == paradigm and stego.meta["parameters"] > 0
    x = load_folder(image_dir, codec.resolution, limit=16).as_float()
    s_h, s_p = codec.encode(x[:8]), codec.encode(x[8:])
    container = stego.embed(s_h, s_p)
    assert container.shape == (8, 1024) and container.dtype == np.complex64
    assert np.allclose(np.mean(np.abs(container) ** 2, axis=1), 1.0, atol=1e-4)
    h, p = stego.extract(container)  # nothing but the container: no lost information to estimate
    # an untrained pair returns zeros for the private symbols: error 1 (their power)
    assert np.mean(np.abs(p - s_p) ** 2) < 0.5
    assert np.mean(np.abs(h - s_h) ** 2) < 0.5


@pytest.mark.parametrize("paradigm", PARADIGMS)
def test_onnx_key_matches_torch(request, paradigm):
    """Each paradigm's key on ONNX Runtime computes what its torch model does: the container, then
    Bob's host and private (the INN's from a zero lost-information estimate, as its key says)."""
    path = (request.getfixturevalue("tiny_keys")["paths"][0] if paradigm == "inn"
            else request.getfixturevalue("tiny_paradigm_keys")["paths"][paradigm])
    model, meta = keys.load_model(path)
    assert meta["paradigm"] == paradigm and model.paradigm == paradigm
    assert max(meta["parity_max_abs_diff"].values()) <= PARITY_TOLERANCE
    stego = keys.Stego(path)
    host, private = _symbols(5, 3), _symbols(5, 4)
    as_complex = lambda t: t.numpy().view(np.complex64)[..., 0]  # noqa: E731
    container = stego.embed(as_complex(host), as_complex(private))
    h, p = stego.extract(container)
    assert container.dtype == np.complex64 and container.shape == (5, 1024)
    with torch.no_grad():
        want_c, lost = model(host, private)
        want_h, want_p = model.extract(want_c, None if lost is None else torch.zeros_like(want_c))
    for got, want in ((container, want_c), (h, want_h), (p, want_p)):
        assert np.abs(got - as_complex(want)).max() <= PARITY_TOLERANCE


def test_gan_trains_against_both_discriminators_and_needs_them(tiny_paradigm_keys, image_dir, tmp_path):
    from semcom.train.stego import StegoTrainConfig, train
    history = torch.load(tiny_paradigm_keys["paths"]["gan"].with_suffix(".ckpt"), weights_only=False)["history"]
    assert {"critic_acc_signal", "critic_acc_image", "fool_signal", "fool_image"} <= set(history[-1])
    assert "critic_acc_signal" not in torch.load(tiny_paradigm_keys["paths"]["cnn"].with_suffix(".ckpt"),
                                                 weights_only=False)["history"][-1]
    with pytest.raises(ValueError, match="gan paradigm trains against both discriminators"):
        train(StegoTrainConfig(data=str(image_dir), out=str(tmp_path / "k" / "x.key"), paradigm="gan", adversarial=0.1))
    with pytest.raises(SystemExit, match="image_adversarial must be > 0, got 0.1 and 0.0"):
        main(["train", "stego", "--data", str(image_dir), "--paradigm", "gan", "--image-adversarial", "0",
              "--out", str(tmp_path / "k" / "y.key")])


def test_a_shipped_gan_key_is_described_by_its_own_graphs(tiny_paradigm_keys, tmp_path, monkeypatch):
    import shutil
    models = tmp_path / "models"
    shutil.copytree(tiny_paradigm_keys["dir"], models)
    main(["export", "stego", "--key", str(tiny_paradigm_keys["paths"]["gan"]), "--out", str(models)])
    entry = json.loads((models / "manifest.json").read_text())["models"]["stego-gan-demo"]
    assert entry["kind"] == "stego-gan" and entry["lost_estimate"] is None
    assert entry["parts"]["embed"]["outputs"] == {"container": ["batch", 1024, 2]}
    assert entry["parts"]["extract"]["inputs"] == {"container": ["batch", 1024, 2]}
    monkeypatch.setenv(runtime.MODELS_ENV, str(models))
    assert keys.Stego("stego-gan-demo").paradigm == "gan"
    with pytest.raises(SystemExit, match="private key"):  # the CNN key was trained without --demo
        main(["export", "stego", "--key", str(tiny_paradigm_keys["paths"]["cnn"]), "--out", str(models)])


def test_eval_paradigms_writes_every_figure(tiny_keys, tiny_paradigm_keys, celeba, tmp_path, monkeypatch):
    monkeypatch.setenv(runtime.MODELS_ENV, str(tiny_keys["dir"]))
    out = tmp_path / "paradigms.json"
    main(["eval", "paradigms", "--data", str(celeba), "--split", "test", "--limit", "8", "--model", "tiny",
          "--snr", "10", "20", "--keys", str(tiny_keys["paths"][0]), str(tiny_paradigm_keys["paths"]["cnn"]),
          str(tiny_paradigm_keys["paths"]["gan"]), "--train-images", "24", "--test-images", "12", "--epochs", "1", "--time-steps", "2",
          "--time-images", "16", "--time-batch", "8", "--strategies", "naive,glassbox,closedbox", "--queries", "16",
          "--eve-data", str(celeba), "--eve-limit", "32", "--eve-steps", "5", "--glassbox-iterations", "2",
          "--eve-cache", str(tmp_path / "eve"), "--json", str(out)])
    payload = json.loads(out.read_text())
    assert payload["pairs"] == 4 and payload["capacity_margin_db"] == 2.0
    assert payload["steganalysis_images"] == {"train": 24, "test": 12}
    assert [r["paradigm"] for r in payload["results"]] == ["inn", "cnn", "gan"]
    for r in payload["results"]:
        assert r["parameters"] > 0
        assert r["training"]["timed"]["steps"] == 2 and r["training"]["timed"]["seconds_per_step"] > 0
        assert r["training"]["recorded"]["steps"] == (100 if r["paradigm"] == "gan" else 40)
        for per_snr in (r["quality"], r["capacity"], r["steganalysis"], r["attacks"]):
            assert [x["snr_db"] for x in per_snr] == [10.0, 20.0]
        for c in r["capacity"]:
            assert c["capacity"] in (0.0, *[f["fraction"] for f in c["fractions"]])
            assert [f["fraction"] for f in c["fractions"]] == [0.125, 0.25, 0.5, 0.75, 1.0]
        assert {"bob_host", "bob_private", "jscc_reference"} <= set(r["quality"][0])
        assert 0 <= r["steganalysis"][0]["accuracy"] <= 1 and r["steganalysis"][0]["test_signals"] == 8
        assert [s["strategy"] for s in r["attacks"][0]["strategies"]] == ["naive", "glassbox", "closedbox"]
        assert all(0 <= s["fpesr"] <= 1 for s in r["attacks"][0]["strategies"])
    table = out.with_suffix(".md").read_text()
    assert "| inn |" in table and "| gan |" in table and "FPESR glassbox" in table
    assert out.with_suffix(".png").stat().st_size > 0


def test_a_key_of_an_unknown_version_is_refused(tiny_paradigm_keys, tmp_path):
    import zipfile
    future = tmp_path / "future.key"
    with zipfile.ZipFile(tiny_paradigm_keys["paths"]["cnn"]) as src, zipfile.ZipFile(future, "w") as dst:
        for item in src.infolist():
            blob = src.read(item)
            if item.filename == "key.json":
                blob = json.dumps({**json.loads(blob), "version": 3}).encode()
            dst.writestr(item, blob)
    with pytest.raises(keys.KeyFileError, match="future.key is a version 3 key; this gr-semcom reads versions 1, 2"):
        keys.Stego(future)
