"""Eve: the encoder rebuilt from its ONNX file, every strategy against a trivial baseline on tiny
models, the face recognizer's sanity, rank-1 bookkeeping and the eval command's JSON."""
import json

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter

from semcom import channel, data, face, metrics, runtime
from semcom.attacks import STRATEGIES, parse_strategies
from semcom.attacks.closedbox import collect
from semcom.attacks.eve import Eve, EveSetup
from semcom.attacks.glassbox import GenAIGlassBoxConfig, GlassBoxConfig
from semcom.attacks.onnx_torch import OnnxModule
from semcom.cli import main
from semcom.nn.jscc import JSCCConfig
from semcom.train.eve import EveTrainConfig

SNR = 20.0
TINY_NET = JSCCConfig(channels=16, blocks=1)


@pytest.fixture(scope="module")
def tiny_world(tiny_codec, image_dir, tmp_path_factory):
    """The tiny codec with a tiny face generator beside it, Eve's public faces (train split) and the
    victims (held-out people), sent once at 20 dB."""
    from semcom.export import export_generator
    from semcom.nn.generator import GeneratorConfig
    from semcom.train.generator import GeneratorTrainConfig, load_generator, train
    run = tmp_path_factory.mktemp("tiny-gan")
    final = train(GeneratorTrainConfig(data=str(image_dir), out=str(run), steps=150, batch=16,
                                       model=GeneratorConfig(latent=16, resolution=64, width=32)))
    G, info = load_generator(final)
    export_generator(G, tiny_codec["dir"], "tiny-gan", checkpoint=final, info=info)
    codec = runtime.Codec("tiny", tiny_codec["dir"])
    public = data.load_folder(image_dir, (64, 64), split="train")
    victims = data.load_folder(image_dir, (64, 64), split="test")
    x = victims.as_float()
    rng = np.random.default_rng(0)
    y, rx = channel.Channel()(codec.encode(x), SNR, rng)
    return {"codec": codec, "public": public, "x": x, "y": y, "rx": rx, "dir": tiny_codec["dir"],
            "mean_face_psnr": metrics.psnr(np.broadcast_to(public.as_float().mean(0), x.shape), x).mean()}


@pytest.fixture
def eve(tiny_world, tmp_path, monkeypatch):
    monkeypatch.setenv(runtime.MODELS_ENV, str(tiny_world["dir"]))
    setup = EveSetup(glassbox=GlassBoxConfig(iterations=60, lr=0.1),
                     genai_glassbox=GenAIGlassBoxConfig(iterations=60, lr=0.1, restarts=2),
                     train=EveTrainConfig(steps=150, batch=16, lr=3e-3, net=TINY_NET, channel="awgn"),
                     generator="tiny-gan", cache=tmp_path / "eve")
    return Eve(tiny_world["codec"], tiny_world["public"], setup)


def test_eve_rebuilds_the_encoder_from_its_onnx_file(tiny_codec, tmp_path):
    import onnx
    path = tiny_codec["dir"] / "tiny.encoder.onnx"
    copy = OnnxModule(path)
    x = torch.rand(3, 3, 64, 64, requires_grad=True)
    with torch.no_grad():
        want = tiny_codec["model"].encoder(x)
    got = copy(x)
    assert (got - want).abs().max() < 1e-4
    got.pow(2).sum().backward()  # autograd reaches the image, which glass-box inversion needs
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(not p.requires_grad for p in copy.buffers())
    graph = onnx.load(str(path))
    graph.graph.node[5].op_type = "Einsum"
    onnx.save(graph, str(tmp_path / "odd.onnx"))
    with pytest.raises(ValueError, match="Einsum"):
        OnnxModule(tmp_path / "odd.onnx")


@pytest.mark.parametrize("strategy", ["naive", "glassbox", "closedbox", "genai-glassbox", "genai-closedbox"])
def test_every_strategy_beats_a_trivial_guess(strategy, eve, tiny_world):
    """The mean public face, or for the GenAI strategies the generator's own faces (what its prior
    gives without the intercepted signal: a tiny GAN's faces are far from the mean face's PSNR)."""
    x = tiny_world["x"]
    images = eve.attack(strategy, None)(tiny_world["y"], tiny_world["rx"], progress=False)
    assert images.shape == x.shape and images.min() >= 0 and images.max() <= 1
    baseline = tiny_world["mean_face_psnr"]
    if strategy.startswith("genai"):
        G = eve.generator
        with torch.no_grad():
            guesses = [G(torch.randn(len(x), G.cfg.latent), *G.sample_noise(len(x))).numpy() for _ in range(8)]
        baseline = np.mean([metrics.psnr(g, x).mean() for g in guesses])
    assert metrics.psnr(images, x).mean() > baseline + 0.5


def test_closed_box_networks_are_cached_by_what_they_were_trained_on(eve, tiny_world):
    eve.attack("closedbox", 20)
    first = set(eve.trained)
    eve.attack("closedbox", 20)  # the same inputs: loaded, not trained again
    eve.attack("closedbox", 30)
    assert len(first) == 1 and len(eve.trained) == 2
    assert next(iter(eve.trained.values()))["queries"] == 20
    with pytest.raises(ValueError, match="public faces, only 45"):
        collect(tiny_world["codec"], tiny_world["public"], 10 ** 6)
    with pytest.raises(ValueError, match="needs a stego key"):
        eve.attack("adaptive-closedbox", 20)


def test_adaptive_eve_learns_the_private_image_and_the_papers_eve_the_host(tiny_world, tiny_keys, tmp_path, monkeypatch):
    from semcom.keys import Stego
    monkeypatch.setenv(runtime.MODELS_ENV, str(tiny_world["dir"]))
    stego = Stego(tiny_keys["paths"][0])
    codec, x = tiny_world["codec"], tiny_world["x"]
    host, private = x, x[::-1].copy()
    y, rx = channel.Channel()(stego.embed(codec.encode(host), codec.encode(private)), SNR, np.random.default_rng(1))
    setup = EveSetup(train=EveTrainConfig(steps=150, batch=16, lr=3e-3, net=TINY_NET), cache=tmp_path)
    eve = Eve(codec, tiny_world["public"], setup, stego)
    q = collect(codec, tiny_world["public"], 12, "private", stego)
    assert q.mode == "private" and q.symbols.shape == (12, codec.symbols)
    adaptive = eve.attack("adaptive-closedbox", None)(y, rx)
    papers = eve.attack("closedbox", None)(y, rx)
    psnr = lambda a, b: metrics.psnr(a, b).mean()  # noqa: E731
    assert psnr(adaptive, private) > psnr(adaptive, host)
    assert psnr(papers, host) > psnr(papers, private)


def test_strategy_names_are_checked():
    assert parse_strategies("naive, glassbox") == ["naive", "glassbox"]
    assert set(STRATEGIES) >= {"naive", "glassbox", "closedbox", "genai-glassbox", "genai-closedbox"}
    with pytest.raises(ValueError, match="unknown strategy blackbox"):
        parse_strategies("naive,blackbox")


@pytest.fixture(scope="module")
def recognizer():
    return face.Recognizer(workers=1)


@pytest.fixture(scope="module")
def faces(celeba):
    images = data.load_folder(celeba, (64, 64), split="test", limit=40)
    from semcom.stego_eval import identities
    return images, identities(images, celeba)


def test_recognizer_accepts_the_same_face_and_rejects_others(recognizer, faces):
    images, people = faces
    a = images.images[:1]
    blurred = np.asarray(Image.fromarray(a[0]).filter(ImageFilter.GaussianBlur(0.8)))[None]
    other = next(i for i, p in enumerate(people) if p != people[0])
    noise = np.random.default_rng(0).integers(0, 256, a.shape, dtype=np.uint8)
    ref = recognizer.describe(a)
    for probe, same in ((a, True), (blurred, True), (images.images[other:other + 1], False), (noise, False)):
        got = recognizer.describe(probe)
        assert bool(recognizer.same_person(got, ref)[0]) == same
    result = face.fpesr(recognizer, recognizer.describe(np.concatenate([a, noise])), recognizer.describe(np.concatenate([a, a])))
    assert result["fpesr"] == 0.5 and result["n"] == 2 and result["fallback_boxes"] == 1  # no face found in noise
    # float images in [0, 1] describe as their uint8 version
    assert np.allclose(recognizer.describe(images.as_float(slice(0, 1))).descriptors, ref.descriptors, atol=1e-4)


def test_operating_point_and_rank1_bookkeeping(recognizer):
    people = ["a", "a", "b", "b", "c"]
    d = np.zeros((5, 128), np.float32)
    d[0, 0], d[1, 0], d[2, 1], d[3, 1], d[4, 2] = 1, 1.1, 1, 1.2, 1  # a and b close to themselves only
    faces = face.Faces(d, np.zeros(5, bool))
    op = face.operating_point(recognizer, faces, people)
    assert op["tar"] == 1.0 and op["far"] == 0.0 and op["same_pairs"] == 2
    gallery = face.Gallery(np.array(["a", "b", "c"]), ["fa0", "fb0", "fc0"], faces[[0, 2, 4]], faces[[1, 3, 4]],
                           ["fa1", "fb1", None])
    # probe a's first photo: the gallery uses a's second photo; c has no other photo and is not counted
    ranked = gallery.rank1(faces[[0, 3, 4]], ["fa0", "fb1", "fc0"], ["a", "b", "c"])
    assert ranked == {"rank1": 1.0, "probes": 2, "gallery": 3}
    swapped = gallery.rank1(faces[[2]], ["fa1"], ["a"])  # a probe that looks like b
    assert swapped["rank1"] == 0.0


def test_eval_attacks_writes_the_documented_json(tiny_world, tiny_keys, celeba, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(runtime.MODELS_ENV, str(tiny_world["dir"]))
    out = tmp_path / "attacks.json"
    common = ["eval", "attacks", "--data", str(celeba), "--split", "test", "--limit", "6", "--model", "tiny",
              "--snr", "5", "20", "--eve-data", str(celeba), "--eve-limit", "48", "--eve-steps", "10",
              "--glassbox-iterations", "3", "--genai-iterations", "3", "--genai-restarts", "1",
              "--generator", "tiny-gan", "--eve-cache", str(tmp_path / "eve")]
    main(common + ["--strategies", ",".join(STRATEGIES[:5]), "--queries", "20", "all", "--json", str(out)])
    payload = json.loads(out.read_text())
    assert set(payload["recognizer"]) >= {"threshold", "far", "tar", "fallback_boxes"}
    assert payload["recognizer"]["threshold"] == 0.6 and payload["victims"] == 6
    assert [r["snr_db"] for r in payload["results"]] == [5.0, 20.0]
    for r in payload["results"]:
        names = [(s["strategy"], s.get("queries")) for s in r["strategies"]]
        assert names == [("naive", None), ("glassbox", None), ("closedbox", 20), ("closedbox", 48),
                         ("genai-glassbox", None), ("genai-closedbox", 20), ("genai-closedbox", 48)]
        for s in r["strategies"]:
            assert set(s) >= {"strategy", "psnr", "ms_ssim", "lpips", "fpesr", "rank1", "seconds_per_image"}
            assert 0 <= s["fpesr"] <= 1 and s["seconds_per_image"] > 0 and "vs_host" not in s
    for suffix in ("curves", "fpesr", "grid"):
        assert (tmp_path / f"attacks.{suffix}.png").stat().st_size > 0
    assert "no victim among them" in capsys.readouterr().out

    covert = tmp_path / "covert.json"
    main(common + ["--stego", "--key", str(tiny_keys["paths"][0]), "--strategies", "naive,adaptive-closedbox", "--queries", "20",
                   "--json", str(covert), "--snr", "10"])
    r = json.loads(covert.read_text())["results"][0]
    assert r["snr_db"] == 10.0 and json.loads(covert.read_text())["victims"] == 3  # 6 images make 3 pairs
    for s in r["strategies"]:
        assert set(s["vs_host"]) >= {"psnr", "ms_ssim", "lpips", "fpesr"}


def test_eve_never_trains_on_the_victims_people(celeba, tmp_path):
    with pytest.raises(SystemExit, match="share .* people with the victims"):
        main(["eval", "attacks", "--data", str(celeba), "--split", "test", "--limit", "4", "--eve-data", str(celeba),
              "--eve-split", "test", "--strategies", "naive", "--json", str(tmp_path / "x.json")])
