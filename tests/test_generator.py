"""Eve's face generator: shapes and noise inputs, a tiny training run with resume, ONNX export, the CLI."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from semcom import runtime
from semcom.export import PARITY_TOLERANCE, check_parity, export_generator
from semcom.nn.generator import Discriminator, Generator, GeneratorConfig

TINY = GeneratorConfig(latent=16, resolution=32, width=32)


@pytest.fixture(scope="module")
def tiny_run(image_dir, tmp_path_factory):
    """A tiny generator trained for 4 steps, then resumed to 6."""
    from semcom.train.generator import GeneratorTrainConfig, train
    out = tmp_path_factory.mktemp("generator-run")
    cfg = GeneratorTrainConfig(data=str(image_dir), out=str(out), model=TINY, steps=4, batch=8, r1_every=2)
    first = torch.load(train(cfg), weights_only=False)
    cfg.steps = 6
    final = train(cfg, resume=True)
    return {"out": out, "cfg": cfg, "first": first, "final": final}


def test_shapes_and_range():
    G, D = Generator(), Discriminator()
    assert G.noise_shapes(2) == [(2, 1, s, s) for s in (4, 8, 16, 32, 64)]
    x = G(torch.randn(2, 128), *G.sample_noise(2))
    assert x.shape == (2, 3, 64, 64) and 0 <= x.min() and x.max() <= 1
    assert D(x).shape == (2,)
    with pytest.raises(ValueError, match="power of two"):
        GeneratorConfig(resolution=48).sizes
    with pytest.raises(ValueError, match="5 noise maps"):
        G(torch.randn(2, 128))


def test_noise_changes_the_output_once_scaled():
    G = Generator(TINY)
    z = torch.randn(3, TINY.latent)
    a = G.sample_noise(3, torch.Generator().manual_seed(0))
    b = G.sample_noise(3, torch.Generator().manual_seed(1))
    assert torch.equal(a[0], G.sample_noise(3, torch.Generator().manual_seed(0))[0])  # seeded draws repeat
    with torch.no_grad():
        assert torch.equal(G(z, *a), G(z, *b))  # scales start at zero: noise has no effect yet
        for stage in G.stages:
            stage.noise_scale.fill_(0.5)
        assert (G(z, *a) - G(z, *b)).abs().max() > 1e-3
        # one face never depends on the rest of its batch (pixel norm, no batch norm)
        assert torch.allclose(G(z[:1], *[n[:1] for n in a]), G(z, *a)[:1], atol=1e-6)


def test_training_writes_the_generator_and_resumes_exactly(tiny_run, image_dir, tmp_path):
    from semcom.train.generator import load_generator, train
    out, cfg = tiny_run["out"], tiny_run["cfg"]
    assert tiny_run["first"]["info"]["steps"] == 4
    G, info = load_generator(tiny_run["final"])
    assert not G.training and G.cfg == TINY
    assert info["steps"] == 6 and info["data"] == image_dir.name and info["seed"] == 0
    assert info["images"] < 48  # the train split only: the held-out people are not in it
    assert torch.load(out / "checkpoint.pt", weights_only=False)["step"] == 6
    assert Image.open(out / "samples.png").size == (8 * 32, 8 * 32)
    # 4 steps and a resume to 6 end where 6 steps in one go do
    straight = torch.load(train(type(cfg)(**{**cfg.__dict__, "out": str(tmp_path)})), weights_only=False)
    resumed = torch.load(tiny_run["final"], weights_only=False)
    for k, v in straight["state_dict"].items():
        assert torch.equal(v, resumed["state_dict"][k]), k


def test_export_parity_and_runtime(tiny_run, tmp_path):
    from semcom.train.generator import load_generator
    G, info = load_generator(tiny_run["final"])
    with torch.no_grad():
        for stage in G.stages:  # as after real training, so that the noise inputs matter
            stage.noise_scale.normal_()
    entry = export_generator(G, tmp_path, "tiny-gan", checkpoint=tiny_run["final"], info=info)
    assert max(entry["parity_max_abs_diff"].values()) <= PARITY_TOLERANCE
    assert entry["kind"] == "generator" and entry["latent"] == 16 and entry["resolution"] == [32, 32]
    assert (tmp_path / entry["samples"]).is_file() and (tmp_path / "tiny-gan.pt").is_file()
    part = runtime.load_part("tiny-gan", "generator", tmp_path)  # verifies hash and graph shapes
    rng = np.random.default_rng(0)
    feeds = {"z": rng.standard_normal((5, 16), dtype=np.float32)}
    feeds |= {f"noise{i}": rng.standard_normal(s, dtype=np.float32) for i, s in enumerate(G.noise_shapes(5))}
    image = part(**feeds)
    assert image.shape == (5, 3, 32, 32)
    assert check_parity(G, part.path, feeds, "5 draws") <= PARITY_TOLERANCE
    path = runtime.checkpoint_path("tiny-gan", tmp_path)
    assert load_generator(path)[1]["steps"] == 6


def test_cli_train_and_export(image_dir, tmp_path, capsys):
    from semcom.cli import main
    run = tmp_path / "run"
    main(["train", "generator", "--data", str(image_dir), "--out", str(run), "--steps", "2", "--batch", "4",
          "--limit", "8", "--latent", "8", "--width", "32"])
    assert (run / "generator.pt").is_file() and (run / "samples.png").is_file()
    models = tmp_path / "models"
    main(["export", "generator", "--checkpoint", str(run / "generator.pt"), "--out", str(models), "--name", "g"])
    printed = capsys.readouterr().out
    assert json.loads(printed[printed.index('{\n  "name"'):])["name"] == "g"
    entry = runtime.model_entry("g", models)
    assert entry["training"]["steps"] == 2 and entry["config"]["latent"] == 8
    assert runtime.load_part("g", "generator", models)(
        z=np.zeros((1, 8)), **{f"noise{i}": np.zeros((1, 1, s, s)) for i, s in enumerate((4, 8, 16, 32, 64))}
    ).shape == (1, 3, 64, 64)
