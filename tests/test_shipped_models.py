"""The models in models/: files match the manifest, ONNX matches the torch weights, and the quality
the manifest records is what the files deliver."""
import numpy as np
import pytest
import torch

from semcom import channel, data, evaluate, runtime
from semcom.export import PARITY_TOLERANCE, check_parity, parity_images
from semcom.train.codec import load_jscc

CODEC = evaluate.DEFAULT_CODEC


@pytest.fixture(scope="module")
def shipped():
    return runtime.Codec(CODEC, runtime.models_dir()), load_jscc(runtime.checkpoint_path(CODEC))[0]


def test_manifest_describes_a_ratio_1_12_codec_at_64px(shipped):
    codec, model = shipped
    entry = runtime.model_entry(CODEC)
    assert entry["ratio"] == "1/12" and codec.symbols == 1024 == model.cfg.symbols
    assert tuple(entry["resolution"]) == (64, 64)
    assert {"data", "split", "epochs", "channel"} <= set(entry["training"])


def test_shipped_onnx_matches_shipped_torch_weights(shipped):
    codec, model = shipped
    for what, images in parity_images(model, None).items():
        assert check_parity(model.encoder, codec.encoder.path, {"image": images}, what) <= PARITY_TOLERANCE
        with torch.no_grad():
            s = model.encoder(torch.from_numpy(images)).numpy()
        snr = np.full((len(images), 1), 7.0, np.float32)
        assert check_parity(model.decoder, codec.decoder.path, {"symbols": s, "snr_db": snr}, what) <= PARITY_TOLERANCE


@pytest.mark.parametrize("key", ["awgn", "rayleigh-block-zf"])
def test_recorded_metrics_hold_on_held_out_faces(shipped, celeba, key):
    """Recompute on the first 128 held-out faces; their mean stays within 1 dB of the recorded
    figure over the whole held-out split."""
    codec, _ = shipped
    recorded = runtime.model_entry(CODEC)["metrics"][key]
    assert [r["snr_db"] for r in recorded["results"]] == [0, 5, 10, 15, 20]
    images = data.load_folder(celeba, codec.resolution, split="test", limit=128)
    chan = channel.Channel(recorded["channel"], recorded["fading"] or "block", recorded["equalizer"])
    snrs = [0.0, 10.0, 20.0]
    got = evaluate.eval_codec(codec, images, chan, snrs)
    want = {r["snr_db"]: r["psnr"] for r in recorded["results"]}
    for row in got:
        assert abs(row["psnr"] - want[row["snr_db"]]) < 1.0, (row, want)


# --- the public demo stego key -------------------------------------------------------------------

@pytest.mark.parametrize("paradigm", ["inn", "cnn", "gan"])
def test_demo_key_is_verified_and_fits_the_codec(shipped, paradigm):
    from semcom import keys
    codec, _ = shipped
    name = keys.DEMO_KEYS[paradigm]
    entry = runtime.model_entry(name)
    assert entry["kind"] == f"stego-{paradigm}" and entry["demo"] and entry["codec"] == CODEC
    stego = keys.Stego(name)
    stego.check_codec(codec)
    assert stego.demo and stego.paradigm == paradigm and runtime.sha256(stego.path) == entry["key"]["sha256"]


@pytest.mark.parametrize("paradigm", ["inn", "cnn", "gan"])
def test_demo_key_onnx_matches_its_torch_weights(shipped, paradigm):
    from semcom import keys
    codec, model = shipped
    inn, _ = keys.load_model(keys.DEMO_KEYS[paradigm])
    stego = keys.Stego(keys.DEMO_KEYS[paradigm])
    portraits = parity_images(model, None)["real"]
    s = codec.encode(portraits)
    host, private = s, s[::-1].copy()
    container = stego.embed(host, private)
    as_iq = lambda z: torch.from_numpy(np.ascontiguousarray(z).view(np.float32).reshape(len(z), -1, 2))  # noqa: E731
    with torch.no_grad():
        want, lost = inn(as_iq(host), as_iq(private))
        _, want_p = inn.extract(want, None if lost is None else torch.zeros_like(want))
    assert np.abs(as_iq(container).numpy() - want.numpy()).max() <= PARITY_TOLERANCE
    assert np.abs(as_iq(stego.extract(container)[1]).numpy() - want_p.numpy()).max() <= PARITY_TOLERANCE


def test_demo_key_recorded_metrics_hold_on_held_out_pairs(shipped, celeba):
    """Bob's and Eve's PSNR on the first 128 held-out faces (64 pairs) stay within 1 dB of the
    figures recorded over the whole held-out split."""
    from semcom import keys, stego_eval
    codec, _ = shipped
    recorded = runtime.model_entry(keys.DEMO_KEY)["metrics"]["awgn"]
    want = {r["snr_db"]: r for r in recorded["results"]}
    images = data.load_folder(celeba, codec.resolution, split="test", limit=128)
    got = stego_eval.eval_stego(codec, keys.Stego(keys.DEMO_KEY), images, celeba, channel.Channel("awgn"), [10.0, 20.0])
    for row in got:
        for role in ("bob_host", "bob_private", "eve_decoder_vs_host", "eve_decoder_vs_private"):
            assert abs(row[role]["psnr"] - want[row["snr_db"]][role]["psnr"]) < 1.0, (role, row, want[row["snr_db"]])


# --- the int8 copies (semcom quantize) -------------------------------------------------------------

def test_int8_copies_were_made_from_the_shipped_float_files():
    """Re-exporting a float model without re-quantizing would leave a stale int8 copy: refused here."""
    from semcom import keys
    float_entry, entry = runtime.model_entry(CODEC), runtime.model_entry(CODEC + "-int8")
    assert entry["quantized"]["from"] == {"model": CODEC, **{p: float_entry["parts"][p]["sha256"] for p in ("encoder", "decoder")}}
    key_entry = runtime.model_entry(keys.DEMO_KEY + "-int8")
    assert key_entry["demo"] and key_entry["kind"] == "stego-inn"
    assert key_entry["quantized"]["from"] == {"key": f"{keys.DEMO_KEY}.key",
                                              "sha256": runtime.model_entry(keys.DEMO_KEY)["key"]["sha256"]}


def test_int8_codec_holds_its_recorded_metrics_and_stays_near_the_float_codec(shipped, celeba):
    codec, _ = shipped
    int8 = runtime.Codec(CODEC + "-int8")
    recorded = {r["snr_db"]: r["psnr"] for r in runtime.model_entry(int8.name)["metrics"]["awgn"]["results"]}
    images = data.load_folder(celeba, codec.resolution, split="test", limit=128)
    snrs = [10.0, 20.0]
    got = evaluate.eval_codec(int8, images, channel.Channel("awgn"), snrs)
    ref = evaluate.eval_codec(codec, images, channel.Channel("awgn"), snrs)
    for row, f in zip(got, ref):
        assert abs(row["psnr"] - recorded[row["snr_db"]]) < 1.0, (row, recorded)
        assert f["psnr"] - row["psnr"] < 0.5, (row, f)


def test_int8_demo_key_holds_its_recorded_metrics(celeba):
    from semcom import keys, stego_eval
    int8 = runtime.Codec(CODEC + "-int8")
    recorded = {r["snr_db"]: r for r in runtime.model_entry(keys.DEMO_KEY + "-int8")["metrics"]["awgn"]["results"]}
    images = data.load_folder(celeba, int8.resolution, split="test", limit=128)
    got = stego_eval.eval_stego(int8, keys.Stego(keys.DEMO_KEY + "-int8"), images, celeba, channel.Channel("awgn"), [10.0, 20.0])
    for row in got:
        for role in ("bob_host", "bob_private", "eve_decoder_vs_private"):
            assert abs(row[role]["psnr"] - recorded[row["snr_db"]][role]["psnr"]) < 1.0, (role, row)


def test_demo_sends_the_portraits_plainly_and_covertly_and_shows_eve(tmp_path):
    from semcom.demo import DEMO_STRATEGIES, run
    out = run(CODEC, tmp_path, [10.0])
    assert {p.name for p in tmp_path.iterdir()} == {"codec_demo.png", "codec_demo.json", "covert_demo.png", "covert_demo.json",
                                                    "eve_demo.png", "eve_demo.json"}
    rows = out["covert"]
    assert [(r["host"], r["private"]) for r in rows] == [("grace_hopper.jpg", "astronaut.png"), ("astronaut.png", "grace_hopper.jpg")]
    for r in rows:  # Eve's decoder shows the host, not the private portrait
        assert r["eve_vs_host_psnr"] > r["eve_vs_private_psnr"] + 8
    eve = {r["strategy"]: r for r in out["eavesdroppers"]}
    assert list(eve) == list(DEMO_STRATEGIES)
    for r in eve.values():
        assert 0 <= r["fpesr"] <= 1 and r["n"] == 2 and len(r["same_person"]) == 2
    assert min(eve["naive"]["psnr"]) > 18.0 > max(eve["glassbox"]["psnr"])  # the decoder knows far more


def test_face_generator_is_verified_and_makes_faces():
    from semcom.attacks.eve import load_generator
    from semcom.face import Recognizer
    entry = runtime.model_entry("face-gan-celeba64")
    assert entry["kind"] == "generator" and entry["training"]["split"].startswith("train")
    G = load_generator()
    part = runtime.load_part("face-gan-celeba64", "generator")
    g = torch.Generator().manual_seed(0)
    z, noise = torch.randn(16, G.cfg.latent, generator=g), G.sample_noise(16, g)
    with torch.no_grad():
        images = G(z, *noise).numpy()
    onnx = part(z=z.numpy(), **{f"noise{i}": n.numpy() for i, n in enumerate(noise)})
    assert np.abs(onnx - images).max() <= PARITY_TOLERANCE
    faces = Recognizer(workers=1).describe(images)
    assert faces.fallback.mean() < 0.5  # dlib's detector finds a face in most samples
