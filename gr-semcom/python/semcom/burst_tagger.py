"""tx_sob / tx_eob on every burst, for burst-mode SDR sinks."""
from __future__ import annotations

from collections import deque

import numpy as np
import pmt
from gnuradio import gr

from . import ofdm_params as P

SOB, EOB = pmt.intern("tx_sob"), pmt.intern("tx_eob")


class burst_tagger(gr.sync_block):
    """Copies the samples and marks each burst (a ``packet_len`` tagged stream) with ``tx_sob`` on
    its first sample and ``tx_eob`` on its last, as UHD-style sinks expect; gr-soapy's sink reads the
    ``packet_len`` tags themselves (``set_length_tag_name``), which pass on unchanged."""

    def __init__(self):
        gr.sync_block.__init__(self, "burst_tagger", [np.complex64], [np.complex64])
        self._ends = deque()  # absolute offsets of burst ends not yet in a work window

    def work(self, input_items, output_items):
        out = output_items[0]
        n = len(out)
        out[:] = input_items[0][:n]
        for t in self.get_tags_in_window(0, 0, n, pmt.intern(P.LEN_TAG)):
            self.add_item_tag(0, t.offset, SOB, pmt.PMT_T)
            self._ends.append(t.offset + pmt.to_long(t.value) - 1)
        end = self.nitems_written(0) + n
        while self._ends and self._ends[0] < end:
            self.add_item_tag(0, self._ends.popleft(), EOB, pmt.PMT_T)
        return n
