"""Image folders: discovery, face crops, identity-disjoint splits, in-memory datasets.

Any folder of jpg/png images works (searched recursively, sorted by relative path). CelebA's
``img_align_celeba`` framing (portrait 178x218, or 89x109 as in celeba-10k) gets a square face crop;
other images (CelebAMask-HQ's 1024x1024 faces, any photo) get their largest centred square.
When the folder (or its parent) holds ``identity.csv`` (``file,identity``), splits are by identity,
so test faces belong to people never seen in training.
"""
from __future__ import annotations

import csv
import hashlib
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
DATA_ENV = "SEMCOM_DATA"
CELEBA_ASPECT = 178 / 218
# CelebA aligned faces: the face centre sits at about 57% of the height; a square of 80% of the
# width around it holds the face and some hair, the framing of the usual 64x64 CelebA crops.
CELEBA_CENTER_Y, CELEBA_SIDE = 0.57, 0.80


def default_data_dir() -> Path | None:
    """The development data set: $SEMCOM_DATA, else ../shared/data/celeba-10k beside the project."""
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV])
    guess = Path(__file__).resolve().parents[3] / "shared" / "data" / "celeba-10k"
    return guess if guess.is_dir() else None


def list_images(root: str | os.PathLike) -> list[Path]:
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"image folder {root} does not exist")
    if root.is_file():
        return [root]
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in EXTENSIONS and p.is_file())
    if not files:
        raise ValueError(f"image folder {root} holds no images ({', '.join(sorted(EXTENSIONS))})")
    return files


def face_crop_box(width: int, height: int) -> tuple[int, int, int, int]:
    """The square to cut: a face crop for CelebA's aligned framing, else the centred square."""
    if abs(width / height - CELEBA_ASPECT) < 0.02:
        side = round(CELEBA_SIDE * width)
        top = min(max(round(CELEBA_CENTER_Y * height - side / 2), 0), height - side)
        left = (width - side) // 2
    else:
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
    return left, top, left + side, top + side


def load_image(path: str | os.PathLike, size: tuple[int, int] = (64, 64),
               box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """An RGB uint8 array (H, W, 3) of the face crop (or of ``box``: left, top, right, bottom) at
    ``size`` = (height, width)."""
    with Image.open(path) as im:
        im = im.convert("RGB")  # grey, palette and RGBA images alike
        im = im.crop(box or face_crop_box(*im.size)).resize((size[1], size[0]), Image.Resampling.LANCZOS)
        return np.asarray(im, dtype=np.uint8)


def read_identities(root: Path) -> dict[str, str] | None:
    for candidate in (root / "identity.csv", root.parent / "identity.csv"):
        if candidate.is_file():
            with open(candidate, newline="") as f:
                return {row["file"]: row["identity"] for row in csv.DictReader(f)}
    return None


def _unit_hash(key: str, seed: int) -> float:
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


def split_files(files: list[Path], root: Path, split: str, test_fraction: float = 0.1, seed: int = 0) -> list[Path]:
    """Deterministic train/test split: by identity when identity.csv exists, else by file name.

    Each identity (or file) goes to the test split when a seeded hash of it falls below
    ``test_fraction``, so the split of one file never depends on which other files are present.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    ids = read_identities(root)
    keys = [ids.get(f.name, f"file:{f.name}") if ids else f.relative_to(root).as_posix() for f in files]
    return [f for f, k in zip(files, keys) if (_unit_hash(k, seed) < test_fraction) == (split == "test")]


@dataclass
class ImageSet:
    """Images held in memory as uint8 (N, H, W, 3), with their files and the files skipped."""

    images: np.ndarray
    files: list[Path]
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)

    def as_float(self, index=slice(None)) -> np.ndarray:
        """Images as float32 (N, 3, H, W) in [0, 1], the models' input layout."""
        return np.ascontiguousarray(self.images[index].transpose(0, 3, 1, 2), dtype=np.float32) / 255.0


def to_uint8_hwc(images: np.ndarray) -> np.ndarray:
    """Float (N, 3, H, W) in [0, 1] -> uint8 (N, H, W, 3); uint8 (N, H, W, 3) passes through."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]
    if images.dtype == np.uint8 and images.shape[-1] == 3:
        return images
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be float (N, 3, H, W) in [0, 1] or uint8 (N, H, W, 3), got {images.shape} {images.dtype}")
    return (np.clip(images, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8).transpose(0, 2, 3, 1)


def load_folder(root: str | os.PathLike, size: tuple[int, int] = (64, 64), split: str | None = None,
                limit: int | None = None, test_fraction: float = 0.1, seed: int = 0,
                progress: bool = False) -> ImageSet:
    """Load every image of ``root`` (or of its ``split``), first ``limit`` only if given.

    Unreadable files are skipped with a warning that names them, and listed in ``skipped``.
    """
    root = Path(root)
    files = list_images(root)
    if split is not None:
        files = split_files(files, root, split, test_fraction, seed)
    if limit is not None:
        files = files[:limit]
    images, kept, skipped = [], [], []
    if progress:
        from tqdm import tqdm
        files = tqdm(files, desc=f"loading {root.name}", unit="img")
    for f in files:
        try:
            images.append(load_image(f, size))
            kept.append(f)
        except (OSError, UnidentifiedImageError, ValueError) as e:
            skipped.append((f, str(e)))
            warnings.warn(f"skipped unreadable image {f}: {e}", stacklevel=2)
    if not images:
        raise ValueError(f"no readable images in {root}" + (f" ({len(skipped)} skipped)" if skipped else ""))
    return ImageSet(np.stack(images), kept, skipped)
