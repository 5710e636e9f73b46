"""Per-frame image quality against the originals: JSON lines, messages and a ZMQ PUB socket."""
from __future__ import annotations

import json
import threading
from collections import deque
import time
from pathlib import Path

import numpy as np
import pmt
from gnuradio import gr

from semcom import metrics

from . import ofdm_params as P
from .image_source import IMAGE_ID_TAG, load_images
from .packets import tags_by_offset


class _Publisher:
    """One PUB socket per address in a process, shared by the sinks that name it (Bob's host and
    private sinks publish on one address); ZMQ sockets are not thread-safe, hence the lock."""

    _open: dict[str, "_Publisher"] = {}
    _guard = threading.Lock()

    def __init__(self, address: str):
        import zmq
        self.socket = zmq.Context.instance().socket(zmq.PUB)
        self.socket.bind(address)
        self.lock, self.users, self.address = threading.Lock(), 0, address

    @classmethod
    def get(cls, address: str) -> "_Publisher":
        with cls._guard:
            publisher = cls._open.get(address) or cls(address)
            cls._open[address] = publisher
            publisher.users += 1
            return publisher

    def send(self, line: str) -> None:
        with self.lock:
            self.socket.send_string(line)

    def release(self) -> None:
        with self._guard:
            self.users -= 1
            if not self.users:
                del self._open[self.address]
                self.socket.close(linger=0)


class metrics_sink(gr.sync_block):
    """Scores each received image against the original the source sent with the same ``image_id``
    (same folder, size, limit and offset as the ``image_source``).

    Each frame gives a record ``{"role", "image_id", "file", "snr_db", "psnr", "ms_ssim",
    "same_person", "time"}``: appended to ``jsonl`` (when set), sent as a PMT dict on the
    ``metrics`` message port, and published on ``zmq_address`` (e.g. ``tcp://127.0.0.1:5599``;
    empty: off) for ``semcom monitor``. With ``faces``, the face recognizer of ``semcom.face``
    judges whether the image shows the person of the original (``same_person``, whose mean is
    the FPESR when the sink scores Eve); about 0.1 s per frame, so off by default (``null``).
    ``frames``: how many frames the run expects; ``wait`` returns once they are in. ``records``
    keeps the first ``frames`` records, or the last ``RECENT`` of an open-ended run (memory stays
    flat however long the link runs; the JSON lines file has them all).
    """

    RECENT = 1000

    def __init__(self, folder: str = "", size: int = 64, role: str = "bob", jsonl: str = "", zmq_address: str = "",
                 limit: int = 0, offset: int = 0, faces: bool = False, frames: int = 0):
        gr.sync_block.__init__(self, "metrics_sink", [(np.float32, 3 * size * size)], [])
        self.message_port_register_out(pmt.intern("metrics"))
        self.reference = load_images(folder, size, limit)
        self.originals = self.reference.as_float()
        self.role, self.size, self.offset, self.frames = role, size, offset, frames
        self.records: list[dict] | deque = [] if frames else deque(maxlen=self.RECENT)
        self._complete = threading.Event()
        self._recognizer = self._known = None
        if faces:
            from semcom.face import Recognizer
            self._recognizer = Recognizer(workers=1)
            self._known = {}  # reference index -> descriptor, computed when first needed
        self._file = None
        if jsonl:
            Path(jsonl).parent.mkdir(parents=True, exist_ok=True)
            self._file = open(jsonl, "a", buffering=1)
        self._publisher = _Publisher.get(zmq_address) if zmq_address else None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until ``frames`` frames were scored (True) or ``timeout`` seconds passed (False);
        a sink that expects no frame count returns at once."""
        return not self.frames or self._complete.wait(timeout)

    def _same_person(self, images: np.ndarray, refs: np.ndarray) -> list:
        if self._recognizer is None:
            return [None] * len(images)
        for i in set(refs.tolist()) - self._known.keys():
            self._known[i] = self._recognizer.describe(self.originals[i:i + 1])
        got = self._recognizer.describe(images)
        return [bool(self._recognizer.same_person(got[j:j + 1], self._known[i])[0]) for j, i in enumerate(refs)]

    def work(self, input_items, output_items):
        inp = input_items[0]
        first = self.nitems_read(0)
        tags = tags_by_offset(self, 0, len(inp))
        images = inp.reshape(len(inp), 3, self.size, self.size)
        ids = np.array([tags.get(i, {}).get(IMAGE_ID_TAG, first + i) for i in range(len(inp))])
        refs = (ids + self.offset) % len(self.originals)
        ref = self.originals[refs]
        psnr, ssim = metrics.psnr(images, ref), metrics.ms_ssim(images, ref)
        same = self._same_person(images, refs)
        for i, image_id in enumerate(ids):
            record = {"role": self.role, "image_id": int(image_id), "file": self.reference.files[refs[i]].name,
                      "snr_db": tags.get(i, {}).get(P.SNR_TAG), "psnr": float(psnr[i]), "ms_ssim": float(ssim[i]),
                      "same_person": same[i], "time": time.time()}
            if not self.frames or len(self.records) < self.frames:
                self.records.append(record)
            line = json.dumps(record)
            if self._file:
                self._file.write(line + "\n")
            if self._publisher is not None:
                self._publisher.send(line)
            self.message_port_pub(pmt.intern("metrics"), pmt.to_pmt(record))
        if self.frames and len(self.records) >= self.frames:
            self._complete.set()
        return len(inp)

    def stop(self):
        if self._file:
            self._file.close()
        if self._publisher is not None:
            self._publisher.release()
            self._publisher = None
        return True
