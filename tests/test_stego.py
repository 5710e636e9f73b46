"""INN steganography: invertibility, power, training smoke run, key files, wrong keys, bad input,
the eval command and the steganalyser (ONNX parity of every paradigm's key: test_paradigms)."""
import json
import stat
import zipfile

import numpy as np
import pytest
import torch

from semcom import channel, keys, runtime, stego_eval
from semcom.cli import main
from semcom.export import PARITY_TOLERANCE
from semcom.nn.stego import StegoConfig, StegoINN


def _perturbed_inn(seed=0, blocks=8) -> StegoINN:
    """An INN whose coupling networks are not at their zero start, so every block does something."""
    torch.manual_seed(seed)
    inn = StegoINN(StegoConfig(blocks=blocks, hidden=32))
    with torch.no_grad():
        for block in inn.blocks:
            for net in (block.phi, block.rho, block.eta):
                torch.nn.init.normal_(net[-1].weight, std=0.02)
    return inn.eval()


def _symbols(n, seed=0, k=1024):
    g = torch.Generator().manual_seed(seed)
    return channel.power_normalize(torch.randn(n, k, 2, generator=g))


def test_inn_is_exactly_invertible_and_the_container_has_unit_power():
    inn = _perturbed_inn()
    host, private = _symbols(6, 1), _symbols(6, 2)
    with torch.no_grad():
        a, r = inn.transform(host, private)
        h, p = inn.inverse(a, r)
        container, lost = inn(host, private)
    assert not torch.allclose(a, host, atol=1e-3)  # the blocks really transform
    assert (h - host).abs().max() < 1e-4 and (p - private).abs().max() < 1e-4
    assert torch.allclose((container ** 2).sum(-1).mean(-1), torch.ones(6), atol=1e-5)
    assert torch.equal(lost, r)


def test_untrained_inn_sends_the_host():
    inn = StegoINN(StegoConfig(blocks=2, hidden=8))
    host, private = _symbols(3, 1), _symbols(3, 2)
    with torch.no_grad():
        container, lost = inn(host, private)
    assert torch.allclose(container, host, atol=1e-6) and torch.allclose(lost, private)


def test_key_files_are_owner_only_and_checked_on_load(tiny_keys, monkeypatch):
    monkeypatch.setenv(runtime.MODELS_ENV, str(tiny_keys["dir"]))
    path = tiny_keys["paths"][0]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.with_suffix(".ckpt").stat().st_mode) == 0o600
    meta, _ = keys.read(path)
    assert meta["codec"] == "tiny" and meta["symbols"] == 1024 and meta["lost"] == "zero"
    assert max(meta["parity_max_abs_diff"].values()) <= PARITY_TOLERANCE
    history = torch.load(path.with_suffix(".ckpt"), weights_only=False)["history"]
    assert history[-1]["image"] < history[0]["image"]  # the privacy-consistency loss went down


def test_trained_key_recovers_the_private_symbols_and_another_key_does_not(tiny_keys, image_dir):
    from semcom.data import load_folder
    codec = runtime.Codec("tiny", tiny_keys["dir"])
    right, wrong = (keys.Stego(p) for p in tiny_keys["paths"])
    x = load_folder(image_dir, codec.resolution, limit=16).as_float()
    s_h, s_p = codec.encode(x[:8]), codec.encode(x[8:])
    container = right.embed(s_h, s_p)

    def private_error(key):
        return float(np.mean(np.abs(key.extract(container)[1] - s_p) ** 2))
    # an untrained INN gives back zeros for the private symbols: error 1 (their power)
    assert private_error(right) < 0.5
    assert private_error(wrong) > 2 * private_error(right)


def test_bad_input_gets_a_clear_error(tiny_keys, tmp_path, monkeypatch):
    monkeypatch.setenv(runtime.MODELS_ENV, str(tiny_keys["dir"]))
    stego = keys.Stego(tiny_keys["paths"][0])
    s = np.ones((2, 1024), np.complex64)
    with pytest.raises(ValueError, match=r"host symbols \(2, 1024\) and private symbols \(3, 1024\)"):
        stego.embed(s, np.ones((3, 1024), np.complex64))
    with pytest.raises(ValueError, match=r"container: expected symbols of shape \(N, 1024\), got \(2, 1000\)"):
        stego.extract(s[:, :1000])
    missing = tmp_path / "nowhere.key"
    with pytest.raises(keys.KeyFileError, match="nowhere.key not found"):
        keys.Stego(missing)
    # one member altered: the hash in key.json no longer matches
    tampered = tmp_path / "tampered.key"
    with zipfile.ZipFile(tiny_keys["paths"][0]) as src, zipfile.ZipFile(tampered, "w") as dst:
        for item in src.infolist():
            blob = src.read(item)
            dst.writestr(item, blob[:-1] + bytes([blob[-1] ^ 1]) if item.filename == "extract.onnx" else blob)
    with pytest.raises(keys.KeyFileError, match="extract.onnx has sha256 .* altered"):
        keys.Stego(tampered)
    (tmp_path / "junk.key").write_bytes(b"not a zip")
    with pytest.raises(keys.KeyFileError, match="junk.key is not a readable stego key"):
        keys.Stego(tmp_path / "junk.key")

    class OtherCodec:
        name, symbols = "other", 512
    with pytest.raises(keys.KeyFileError, match="1024 symbols per image, but codec other makes 512"):
        stego.check_codec(OtherCodec)


def test_manifest_key_is_verified_by_hash(tiny_keys, tmp_path, monkeypatch):
    import shutil
    models = tmp_path / "models"
    shutil.copytree(tiny_keys["dir"], models)
    shutil.copy(tiny_keys["paths"][0], models / "demo.key")
    manifest = json.loads((models / "manifest.json").read_text())
    manifest["models"]["demo"] = {"kind": "stego-inn", "key": {"file": "demo.key", "sha256": runtime.sha256(models / "demo.key")}}
    (models / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv(runtime.MODELS_ENV, str(models))
    assert keys.Stego("demo").symbols == 1024
    with open(models / "demo.key", "ab") as f:
        f.write(b"\0")
    with pytest.raises(keys.KeyFileError, match="demo.key has sha256 .* manifest expects"):
        keys.Stego("demo")
    with pytest.raises(runtime.ModelError, match="'tiny' is a deepjscc, not a stego key"):
        keys.Stego("tiny")


def test_pairs_are_two_different_people(image_dir):
    from semcom.data import load_folder
    images = load_folder(image_dir, (64, 64))
    host, private = stego_eval.pair(images, image_dir, seed=3)
    who = stego_eval.identities(images, image_dir)
    assert len(host) == len(images) // 2 and len(set(host) | set(private)) == 2 * len(host)
    assert all(who[h] != who[p] for h, p in zip(host, private))


def test_eval_stego_writes_the_documented_json(tiny_keys, image_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(runtime.MODELS_ENV, str(tiny_keys["dir"]))
    out, png = tmp_path / "stego.json", tmp_path / "stego.png"
    main(["eval", "stego", "--data", str(image_dir), "--limit", "16", "--model", "tiny", "--snr", "5", "20",
          "--key", str(tiny_keys["paths"][0]), "--wrong-key", str(tiny_keys["paths"][1]),
          "--json", str(out), "--plot", str(png)])
    results = json.loads(out.read_text())["results"]
    assert [r["snr_db"] for r in results] == [5.0, 20.0] and results[0]["pairs"] == 8
    for r in results:
        for role in ("bob_host", "bob_private", "jscc_reference", "eve_decoder_vs_host", "eve_decoder_vs_private",
                     "bob_private_wrong_key"):
            assert set(r[role]) == {"psnr", "ms_ssim", "lpips"} and r[role]["psnr"] > 0
    # the container decodes as the host far better than as the private image
    assert results[1]["eve_decoder_vs_host"]["psnr"] > results[1]["eve_decoder_vs_private"]["psnr"]
    assert png.stat().st_size > 0
    assert "bob_private" in capsys.readouterr().out


def test_steganalyser_detects_what_differs_and_not_what_does_not():
    from semcom.steganalysis import detection_accuracy
    rng = np.random.default_rng(0)

    def signals(n, marked):
        s = (rng.standard_normal((2 * n, 1024)) + 1j * rng.standard_normal((2 * n, 1024))).astype(np.complex64)
        if marked:  # containers with a strong constant component: easy to see
            s[n:] += 2.0
        s = channel.power_normalize(s)
        return s, np.repeat(np.array([0, 1], np.float32), n)
    chan = channel.Channel("awgn")
    easy = detection_accuracy(signals(96, True), signals(48, True), (8, 16, 16), chan, 20.0, epochs=4)
    same = detection_accuracy(signals(96, False), signals(48, False), (8, 16, 16), chan, 20.0, epochs=4)
    assert easy["accuracy"] > 0.95
    assert 0.3 < same["accuracy"] < 0.7


def test_only_a_demo_key_can_be_shipped_in_the_models_folder(tiny_keys, tmp_path, monkeypatch):
    monkeypatch.setenv(runtime.MODELS_ENV, str(tiny_keys["dir"]))
    with pytest.raises(SystemExit, match="private key .* would publish it"):
        main(["export", "stego", "--key", str(tiny_keys["paths"][0]), "--out", str(tmp_path)])
    assert not list(tmp_path.glob("*.key"))
