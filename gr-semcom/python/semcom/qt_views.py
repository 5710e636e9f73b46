"""Qt GUI blocks: the latest received image, and Bob's and Eve's running figures."""
from __future__ import annotations

import time

import numpy as np
import pmt
from gnuradio import gr
from PyQt5 import Qt

from semcom.data import to_uint8_hwc
from semcom.monitor import Figures

from .image_source import IMAGE_ID_TAG


class _ImageWidget(Qt.QWidget):
    shown = Qt.pyqtSignal(object, str)  # emitted from GNU Radio's thread, drawn in Qt's

    def __init__(self, label: str, side: int):
        super().__init__()
        self.pending = False  # an image is queued: newer ones wait rather than pile up unseen
        layout = Qt.QVBoxLayout(self)
        self.caption, self.picture = Qt.QLabel(label), Qt.QLabel()
        self.picture.setFixedSize(side, side)
        self.picture.setScaledContents(True)
        layout.addWidget(self.caption)
        layout.addWidget(self.picture)
        self.shown.connect(self._draw)

    def _draw(self, rgb: np.ndarray, caption: str) -> None:
        self.pending = False
        h, w, _ = rgb.shape
        self._rgb = rgb  # QImage borrows the buffer
        self.picture.setPixmap(Qt.QPixmap.fromImage(Qt.QImage(rgb.data, w, h, 3 * w, Qt.QImage.Format_RGB888)))
        self.caption.setText(caption)


class image_view(gr.sync_block):
    """Shows the newest of the images it receives (3 x size x size in [0, 1]) under ``label``,
    with its image id; ``widget`` goes into the flowgraph's Qt window."""

    def __init__(self, size: int = 64, label: str = "", scale: int = 3):
        gr.sync_block.__init__(self, "image_view", [(np.float32, 3 * size * size)], [])
        self.size, self.label = size, label
        self.widget = _ImageWidget(label, size * scale)

    def work(self, input_items, output_items):
        inp = input_items[0]
        if self.widget.pending:  # Qt has not drawn the last one yet (or no event loop runs: headless)
            return len(inp)
        last = len(inp) - 1
        ids = self.get_tags_in_window(0, last, last + 1, pmt.intern(IMAGE_ID_TAG))
        image_id = pmt.to_long(ids[0].value) if ids else self.nitems_read(0) + last
        rgb = to_uint8_hwc(inp[last].reshape(3, self.size, self.size))[0]
        self.widget.pending = True
        self.widget.shown.emit(np.ascontiguousarray(rgb), f"{self.label}  #{image_id}")
        return len(inp)


class _TableWidget(Qt.QLabel):
    shown = Qt.pyqtSignal(str)

    def __init__(self):
        super().__init__("waiting for frames...")
        self.pending = False  # as the image widget's: one table queued at a time
        self.setFont(Qt.QFontDatabase.systemFont(Qt.QFontDatabase.FixedFont))
        self.shown.connect(self._draw)

    def _draw(self, table: str) -> None:
        self.pending = False
        self.setText(table)


class figures_view(gr.basic_block):
    """Bob's and Eve's running figures (frames, SNR, PSNR, MS-SSIM, same person = FPESR for Eve),
    from the ``metrics`` messages of metrics sinks, redrawn at most ``every`` seconds."""

    def __init__(self, every: float = 0.5):
        gr.basic_block.__init__(self, "figures_view", [], [])
        self.figures, self.every, self._drawn = Figures(), every, 0.0
        self.widget = _TableWidget()
        self.message_port_register_in(pmt.intern("metrics"))
        self.set_msg_handler(pmt.intern("metrics"), self._record)

    def _record(self, msg) -> None:
        self.figures.add(pmt.to_python(msg))
        if time.monotonic() - self._drawn >= self.every and not self.widget.pending:
            self._drawn = time.monotonic()
            self.widget.pending = True
            self.widget.shown.emit(self.figures.table())
