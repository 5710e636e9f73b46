"""Default images that need no data set: portraits shipped by the project's dependencies."""
from __future__ import annotations

from pathlib import Path


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
