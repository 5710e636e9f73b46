"""Default images that need no data set: portraits shipped by the project's dependencies."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .data import ImageSet, load_image

# Square crops framed like the CelebA crops the models learnt on: dlib's face box on the full
# portrait (grace_hopper.jpg: 180,139-366,325; astronaut.png: 175,76-265,166) placed where the
# median box sits in a CelebA crop (FALLBACK_BOX of semcom.face, 69% of the side).
FACE_CROPS = {"grace_hopper.jpg": (146, 84, 414, 352), "astronaut.png": (158, 48, 288, 178)}


def sample_images() -> list[Path]:
    """Grace Hopper (matplotlib) and, when scikit-image is installed, Eileen Collins (astronaut)."""
    import matplotlib
    found = [Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"]
    try:
        import skimage
        found.append(Path(skimage.__file__).parent / "data" / "astronaut.png")
    except ImportError:
        pass
    return [p for p in found if p.is_file()]


def load_samples(size: tuple[int, int] = (64, 64)) -> ImageSet:
    """The sample portraits cut to the face as CelebA frames it, at ``size`` = (height, width)."""
    files = sample_images()
    return ImageSet(np.stack([load_image(p, size, FACE_CROPS.get(p.name)) for p in files]), files)
