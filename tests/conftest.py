import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from semcom import data, runtime


def smooth_faces(n: int, size=(109, 89), seed: int = 0) -> list[np.ndarray]:
    """Smooth random RGB images (blurry blobs), CelebA-sized by default: cheap stand-ins for faces."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size[0], 0:size[1]] / max(size)
    out = []
    for _ in range(n):
        img = np.zeros(size + (3,))
        for _ in range(4):
            cy, cx, r = rng.random(3) * [1, 1, 0.5] + [0, 0, 0.1]
            img += rng.random(3) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / r ** 2)[..., None]
        out.append((255 * img / img.max()).astype(np.uint8))
    return out


@pytest.fixture(scope="session")
def image_dir(tmp_path_factory) -> Path:
    """48 synthetic images in a CelebA-like folder with identity.csv (3 images per identity)."""
    root = tmp_path_factory.mktemp("images")
    rows = ["file,identity"]
    for i, img in enumerate(smooth_faces(48)):
        name = f"{i + 1:06d}.jpg"
        Image.fromarray(img).save(root / name, quality=95)
        rows.append(f"{name},{i // 3}")
    (root / "identity.csv").write_text("\n".join(rows) + "\n")
    return root


@pytest.fixture(scope="session")
def celeba() -> Path:
    """The development data set (../shared/data/celeba-10k or $SEMCOM_DATA); CI has it beside the clone."""
    root = data.default_data_dir()
    if root is None:
        pytest.fail("celeba-10k not found: set SEMCOM_DATA or place ../shared/data/celeba-10k beside the project")
    return root


@pytest.fixture(scope="session")
def tiny_codec(tmp_path_factory, image_dir):
    """A tiny DeepJSCC trained for a few epochs and exported into its own models folder."""
    from semcom.export import export_codec
    from semcom.nn.jscc import JSCCConfig
    from semcom.train.codec import CodecTrainConfig, load_jscc, train
    out = tmp_path_factory.mktemp("tiny-run")
    cfg = CodecTrainConfig(data=str(image_dir), out=str(out), epochs=4, batch=8, lr=3e-3,
                           model=JSCCConfig(channels=16, blocks=1), val_images=8)
    final = train(cfg)
    model, info = load_jscc(final)
    models = tmp_path_factory.mktemp("models")
    entry = export_codec(model, models, "tiny", checkpoint=final, info={"data": "synthetic"})
    return {"dir": models, "model": model, "info": info, "entry": entry, "run": out, "cfg": cfg}


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())


@pytest.fixture(scope="session")
def tiny_keys(tiny_codec, image_dir, tmp_path_factory):
    """Two tiny keys (seeds 0 and 1) trained on the tiny codec (tests using them point
    $SEMCOM_MODELS at ``dir``)."""
    from semcom.train.stego import StegoTrainConfig, train
    out = tmp_path_factory.mktemp("keys")
    paths = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(runtime.MODELS_ENV, str(tiny_codec["dir"]))
        for seed in (0, 1):
            cfg = StegoTrainConfig(data=str(image_dir), out=str(out / "private" / f"k{seed}.key"), codec="tiny",
                                   samples=30, steps=40, batch=16, lr=3e-3, blocks=3, hidden=16, seed=seed,
                                   channel="awgn", val_pairs=4)
            paths.append(train(cfg))
    return {"paths": paths, "dir": tiny_codec["dir"]}


@pytest.fixture(scope="session")
def tiny_paradigm_keys(tiny_codec, image_dir, tmp_path_factory):
    """Tiny CNN and GAN keys on the tiny codec, the GAN one marked as a demo key (for export). The
    discriminators slow the GAN's learning down: it gets 100 steps to the CNN's 40."""
    from semcom.train.stego import StegoTrainConfig, train
    out = tmp_path_factory.mktemp("paradigm-keys")
    paths = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(runtime.MODELS_ENV, str(tiny_codec["dir"]))
        for paradigm in ("cnn", "gan"):
            gan = 0.1 if paradigm == "gan" else 0.0
            cfg = StegoTrainConfig(data=str(image_dir), out=str(out / "private" / f"{paradigm}.key"), codec="tiny",
                                   paradigm=paradigm, samples=30, steps=100 if gan else 40, batch=16, lr=3e-3, hidden=16, layers=3,
                                   adversarial=gan, image_adversarial=gan, channel="awgn", val_pairs=4,
                                   demo=paradigm == "gan")
            paths[paradigm] = train(cfg)
    return {"paths": paths, "dir": tiny_codec["dir"]}
