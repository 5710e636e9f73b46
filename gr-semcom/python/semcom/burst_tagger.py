"""Ends every burst: the gap of silence after it and tx_sob / tx_eob for burst-mode SDR sinks."""
from __future__ import annotations

import numpy as np
import pmt
from gnuradio import gr

from . import ofdm_params as P

SOB, EOB, LEN = pmt.intern("tx_sob"), pmt.intern("tx_eob"), pmt.intern(P.LEN_TAG)


class burst_tagger(gr.basic_block):
    """Copies each burst (a ``packet_len`` tagged stream), appends ``gap`` zero samples, and marks
    the whole as one burst: ``packet_len`` (the gap included) and ``tx_sob`` on its first sample,
    ``tx_eob`` on its last, as UHD-style sinks expect; gr-soapy's sink reads the ``packet_len``
    tags (``set_length_tag_name``). Samples outside any burst pass through untagged; other tags
    stop here.

    gr-digital's ``burst_shaper`` pads too, but only while input keeps coming: the last burst of a
    stream went out without its gap and without ``tx_eob``. This block asks for no input while it
    owes zeros, so GNU Radio calls it once more after the stream has ended.
    """

    def __init__(self, gap: int = P.GAP):
        gr.basic_block.__init__(self, "burst_tagger", [np.complex64], [np.complex64])
        self.set_tag_propagation_policy(gr.TPP_DONT)
        self.gap = gap
        self._open = False  # inside a burst whose end is not out yet
        self._left = self._pad = 0  # its samples still to copy, then its zeros still to send

    def forecast(self, noutput_items, ninputs):
        return [0 if self._open and not self._left else 1]

    def general_work(self, input_items, output_items):
        inp, out = input_items[0], output_items[0]
        first_in, first_out = self.nitems_read(0), self.nitems_written(0)
        starts = {t.offset - first_in: pmt.to_long(t.value) for t in self.get_tags_in_window(0, 0, len(inp), LEN)}
        i = o = 0
        while True:
            if not self._open:
                if i == len(inp) or o == len(out):
                    break
                if i not in starts:  # outside any burst
                    n = min(min((r for r in starts if r > i), default=len(inp)) - i, len(out) - o)
                    out[o:o + n] = inp[i:i + n]
                    i, o = i + n, o + n
                    continue
                self._open, self._left, self._pad = True, starts[i], self.gap
                self.add_item_tag(0, first_out + o, LEN, pmt.from_long(self._left + self.gap))
                self.add_item_tag(0, first_out + o, SOB, pmt.PMT_T)
            n = min(self._left, len(inp) - i, len(out) - o)
            out[o:o + n] = inp[i:i + n]
            i, o, self._left = i + n, o + n, self._left - n
            if self._left:  # waits for input or room
                break
            n = min(self._pad, len(out) - o)
            out[o:o + n] = 0
            o, self._pad = o + n, self._pad - n
            if self._pad:  # waits for room
                break
            self.add_item_tag(0, first_out + o - 1, EOB, pmt.PMT_T)
            self._open = False
        self.consume(0, i)
        return o
