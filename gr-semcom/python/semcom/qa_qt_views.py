#!/usr/bin/env python3
"""Qt views: the image view draws the newest image, the figures view tabulates metrics messages."""
import time

import numpy as np
import pmt
from gnuradio import blocks, gr, gr_unittest
from PyQt5 import Qt

from gnuradio import semcom  # sets the offscreen platform where no display exists


class qa_qt_views(gr_unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.app = Qt.QApplication.instance() or Qt.QApplication([])

    def test_001_image_view_shows_the_newest_image_and_its_id(self):
        images = np.zeros((3, 3, 8, 8), np.float32)
        images[2, 0] = 1.0  # the last one red
        tags = []
        for i in range(3):
            t = gr.tag_t()
            t.offset, t.key, t.value = i, pmt.intern("image_id"), pmt.from_long(40 + i)
            tags.append(t)
        view = semcom.image_view(size=8, label="Bob", scale=2)
        tb = gr.top_block()
        tb.connect(blocks.vector_source_f(images.ravel().tolist(), False, 3 * 64, tags), view)
        tb.run()
        self.app.processEvents()  # the drawing is queued to Qt's thread
        self.assertEqual(view.widget.caption.text(), "Bob  #42")
        pixel = view.widget.picture.pixmap().toImage().pixelColor(4, 4)
        self.assertEqual((pixel.red(), pixel.green(), pixel.blue()), (255, 0, 0))

    def test_002_figures_view_tabulates_the_metrics_messages(self):
        view = semcom.figures_view(every=0.0)
        source = blocks.message_strobe(pmt.to_pmt({"role": "eve-naive", "image_id": 0, "snr_db": 10.0, "psnr": 12.5,
                                                   "ms_ssim": 0.3, "same_person": False}), 10)
        tb = gr.top_block()
        tb.msg_connect(source, "strobe", view, "metrics")
        tb.start()
        deadline = time.monotonic() + 10
        while not view.figures.roles and time.monotonic() < deadline:
            self.app.processEvents()
        tb.stop()
        tb.wait()
        self.app.processEvents()
        self.assertIn("| eve-naive |", view.widget.text())
        self.assertIn("12.50", view.widget.text())


if __name__ == "__main__":
    gr_unittest.run(qa_qt_views)
