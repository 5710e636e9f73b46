"""Per-frame image quality against the originals: JSON lines, messages and a ZMQ PUB socket."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pmt
from gnuradio import gr

from semcom import metrics

from . import ofdm_params as P
from .image_source import IMAGE_ID_TAG, load_images


class metrics_sink(gr.sync_block):
    """Scores each received image against the original the source sent with the same ``image_id``
    (same folder, order and size as the ``image_source``).

    Each frame gives a record ``{"role", "image_id", "file", "snr_db", "psnr", "ms_ssim", "time"}``:
    appended to ``jsonl`` (when set), sent as a PMT dict on the ``metrics`` message port, and
    published on ``zmq_address`` (e.g. ``tcp://127.0.0.1:5599``; empty: off) for ``semcom monitor``.
    """

    def __init__(self, folder: str = "", size: int = 64, role: str = "bob", jsonl: str = "", zmq_address: str = "",
                 limit: int = 0):
        gr.sync_block.__init__(self, "metrics_sink", [(np.float32, 3 * size * size)], [])
        self.message_port_register_out(pmt.intern("metrics"))
        self.reference = load_images(folder, size, limit)
        self.originals = self.reference.as_float()
        self.role, self.size = role, size
        self.records: list[dict] = []
        self._file = None
        if jsonl:
            Path(jsonl).parent.mkdir(parents=True, exist_ok=True)
            self._file = open(jsonl, "a", buffering=1)
        self._socket = None
        if zmq_address:
            import zmq
            self._socket = zmq.Context.instance().socket(zmq.PUB)
            self._socket.bind(zmq_address)

    def work(self, input_items, output_items):
        inp = input_items[0]
        first = self.nitems_read(0)
        tags = {}
        for t in self.get_tags_in_window(0, 0, len(inp)):
            tags.setdefault(t.offset - first, {})[pmt.symbol_to_string(t.key)] = pmt.to_python(t.value)
        images = inp.reshape(len(inp), 3, self.size, self.size)
        ids = np.array([tags.get(i, {}).get(IMAGE_ID_TAG, first + i) for i in range(len(inp))])
        ref = self.originals[ids % len(self.originals)]
        psnr, ssim = metrics.psnr(images, ref), metrics.ms_ssim(images, ref)
        for i, image_id in enumerate(ids):
            record = {"role": self.role, "image_id": int(image_id),
                      "file": self.reference.files[image_id % len(self.originals)].name,
                      "snr_db": tags.get(i, {}).get(P.SNR_TAG), "psnr": float(psnr[i]),
                      "ms_ssim": float(ssim[i]), "time": time.time()}
            self.records.append(record)
            line = json.dumps(record)
            if self._file:
                self._file.write(line + "\n")
            if self._socket is not None:
                self._socket.send_string(line)
            self.message_port_pub(pmt.intern("metrics"), pmt.to_pmt(record))
        return len(inp)

    def stop(self):
        if self._file:
            self._file.close()
        if self._socket is not None:
            self._socket.close(linger=0)
        return True
