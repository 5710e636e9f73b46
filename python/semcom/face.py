"""Face verification for the eavesdropping success rate (FPESR), with dlib's ResNet recognizer.

The recognizer is used the way it was trained: dlib's HOG detector finds the face, a 5-point landmark
model aligns it to a 150x150 chip, and the ResNet maps the chip to a 128-D descriptor; two faces are
the same person when their descriptors lie closer than 0.6 (99.38% on LFW). At the models' 64x64
the image is first upsampled to 150 px, where the detector finds most faces; when it finds none, a
fixed box (the median detection on held-out CelebA crops) stands in, and every such fallback is
counted. Taking the whole crop as the face instead accepts far more pairs of different people.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from PIL import Image
from tqdm import tqdm

from .data import to_uint8_hwc

THRESHOLD = 0.6
DETECT_SIZE = 150
# Median dlib detection (left, top, right, bottom) on 300 held-out CelebA 64x64 crops at 150 px.
FALLBACK_BOX = (19, 31, 123, 135)


class RecognizerUnavailable(RuntimeError):
    """dlib or the face_recognition_models weights are missing."""


@dataclass
class Faces:
    """Descriptors (N, 128) of a batch of images, and which images needed the fallback box."""

    descriptors: np.ndarray
    fallback: np.ndarray

    def __len__(self) -> int:
        return len(self.descriptors)

    def __getitem__(self, index) -> "Faces":
        return Faces(self.descriptors[index], self.fallback[index])


class _Models:
    """dlib's detector, 5-point landmark model and ResNet, loaded once per process."""

    def __init__(self):
        try:
            import dlib
            import face_recognition_models as weights
        except ImportError as e:
            raise RecognizerUnavailable(
                f"FPESR needs dlib and its weights ({e.name} is missing): pip install dlib-bin face_recognition_models") from e
        self.dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
        self.landmarks = dlib.shape_predictor(weights.pose_predictor_five_point_model_location())
        self.resnet = dlib.face_recognition_model_v1(weights.face_recognition_model_location())

    def describe(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dlib = self.dlib
        chips, fallback = [], np.zeros(len(images), bool)
        for i, img in enumerate(images):
            big = np.asarray(Image.fromarray(img).resize((DETECT_SIZE, DETECT_SIZE), Image.Resampling.BICUBIC))
            found = self.detector(big, 0)
            if len(found):
                box = max(found, key=lambda r: r.area())
            else:
                box, fallback[i] = dlib.rectangle(*FALLBACK_BOX), True
            chips.append(dlib.get_face_chip(big, self.landmarks(big, box), size=150, padding=0.25))
        return np.array(self.resnet.compute_face_descriptor(chips), np.float32).reshape(-1, 128), fallback


_WORKER: _Models | None = None


def _worker_init() -> None:
    global _WORKER
    _WORKER = _Models()


def _worker_describe(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _WORKER.describe(images)


class Recognizer:
    """dlib detector + 5-point alignment + ResNet descriptor; ``describe`` then ``same_person``.

    The ResNet takes about 0.1 s per face on one CPU core, so large batches are spread over
    ``workers`` processes (default: one per core).
    """

    CHUNK = 16

    def __init__(self, threshold: float = THRESHOLD, workers: int | None = None):
        self.threshold = threshold
        self._models = _Models()
        self.workers = workers or os.cpu_count() or 1
        self._pool = None

    def describe(self, images: np.ndarray, progress: str | None = None) -> Faces:
        """Descriptors of float (N, 3, H, W) or uint8 (N, H, W, 3) face images."""
        images = to_uint8_hwc(images)
        chunks = [images[i:i + self.CHUNK] for i in range(0, len(images), self.CHUNK)]
        if self.workers > 1 and len(chunks) > 1:
            if self._pool is None:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor
                self._pool = ProcessPoolExecutor(self.workers, multiprocessing.get_context("fork"), _worker_init)
            parts = self._pool.map(_worker_describe, chunks)
        else:
            parts = map(self._models.describe, chunks)
        parts = list(tqdm(parts, desc=progress, total=len(chunks), unit="chunk", disable=progress is None, leave=False))
        if not parts:
            return Faces(np.zeros((0, 128), np.float32), np.zeros(0, bool))
        return Faces(np.concatenate([d for d, _ in parts]), np.concatenate([f for _, f in parts]))

    @staticmethod
    def distance(a: Faces, b: Faces) -> np.ndarray:
        """Euclidean distance between the descriptors of paired faces."""
        return np.linalg.norm(a.descriptors - b.descriptors, axis=1)

    def same_person(self, a: Faces, b: Faces) -> np.ndarray:
        return self.distance(a, b) < self.threshold


def fpesr(recognizer: Recognizer, eve: Faces, sent: Faces) -> dict:
    """The share of Eve's images accepted as the person in the image that was sent."""
    accepted = recognizer.same_person(eve, sent)
    return {"fpesr": float(accepted.mean()), "accepted": int(accepted.sum()), "n": len(accepted),
            "fallback_boxes": int(eve.fallback.sum())}


def operating_point(recognizer: Recognizer, faces: Faces, people: list[str], pairs: int = 2000,
                    seed: int = 0) -> dict:
    """False accepts between different people and true accepts between two photos of one person,
    on original images (``pairs`` random pairs of each kind at most), so FPESR can be trusted."""
    rng = np.random.default_rng(seed)
    people = np.asarray(people)
    n = len(people)
    a, b = rng.integers(0, n, pairs * 4), rng.integers(0, n, pairs * 4)
    different = (people[a] != people[b])
    a_diff, b_diff = a[different][:pairs], b[different][:pairs]
    same_a, same_b = [], []
    for person in np.unique(people):
        idx = np.flatnonzero(people == person)
        same_a += [idx[i] for i in range(len(idx)) for j in range(i + 1, len(idx))]
        same_b += [idx[j] for i in range(len(idx)) for j in range(i + 1, len(idx))]
    keep = rng.permutation(len(same_a))[:pairs]
    same_a, same_b = np.asarray(same_a, int)[keep], np.asarray(same_b, int)[keep]
    far = recognizer.same_person(faces[a_diff], faces[b_diff]).mean() if len(a_diff) else None
    tar = recognizer.same_person(faces[same_a], faces[same_b]).mean() if len(same_a) else None
    return {"threshold": recognizer.threshold, "far": None if far is None else float(far),
            "tar": None if tar is None else float(tar), "different_pairs": int(len(a_diff)),
            "same_pairs": int(len(same_a)), "fallback_boxes": int(faces.fallback.sum()), "faces": len(faces)}


@dataclass
class Gallery:
    """Other photos of the victims for rank-1 identification: per victim the first photo of the
    pool, and a second one that stands in when the probe is that first photo itself."""

    people: np.ndarray
    files: list[str]
    first: Faces
    second: Faces | None
    second_files: list[str | None]

    @classmethod
    def build(cls, recognizer: Recognizer, images: np.ndarray, files: list[str], people: list[str],
              victims: set[str]) -> "Gallery":
        """From a pool of photos (``images`` with their files and people), for the ``victims`` in it."""
        by_person: dict[str, list[int]] = {}
        for i, p in enumerate(people):
            if p in victims:
                by_person.setdefault(p, []).append(i)
        order = sorted(by_person)
        first = [by_person[p][0] for p in order]
        second = [by_person[p][1] if len(by_person[p]) > 1 else by_person[p][0] for p in order]
        faces = recognizer.describe(images[np.array(first + second, dtype=int)], progress="gallery faces")
        m = len(order)
        return cls(np.asarray(order), [files[i] for i in first], faces[:m], faces[m:],
                   [files[j] if j != i else None for i, j in zip(first, second)])

    def rank1(self, probes: Faces, files: list[str], people: list[str]) -> dict:
        """The share of probes whose nearest gallery face (never the probe's own photo) is their person;
        probes whose person has no other photo in the gallery are not counted."""
        row = {p: i for i, p in enumerate(self.people)}
        hits, counted = 0, 0
        for k, (f, p) in enumerate(zip(files, people)):
            i = row.get(p)
            gallery = self.first.descriptors
            if i is not None and f == self.files[i]:
                if self.second_files[i] is None:
                    continue
                gallery = gallery.copy()
                gallery[i] = self.second.descriptors[i]
            elif i is None:
                continue
            nearest = int(np.argmin(np.linalg.norm(gallery - probes.descriptors[k], axis=1)))
            hits += nearest == i
            counted += 1
        return {"rank1": hits / counted if counted else None, "probes": counted, "gallery": len(self.people)}
