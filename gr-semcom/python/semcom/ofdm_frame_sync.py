"""The analog OFDM receiver's per-frame work: the header, then the payload's phase."""
from __future__ import annotations

from collections import deque

import numpy as np
import pmt
from gnuradio import gr

from . import ofdm_params as P
from .ofdm_header import FrameHeader, HeaderDecoder, carriers, derotate
from .ofdm_phase_tracker import track

HEADER_VECTORS = 2 + P.HEADER_SYMBOLS  # the sync words and the header
_HEADER_PORT = pmt.intern("header_data")
_SNR_KEY = pmt.intern(P.SNR_TAG)


class ofdm_frame_sync(gr.basic_block):
    """Sits between ``header_payload_demux`` and the zero-forcing equaliser.

    Input 0, a frame's sync and header vectors (time domain, prefixes removed): the
    ``HeaderDecoder`` measures the frame's CFO and channel and decodes its header; the
    ``header_data`` message tells the demultiplexer the payload's length and what to tag it
    with, or (False) to drop the frame: a header that fails its check, counted in
    ``headers_failed``.
    Input 1, that payload: out with the frame's CFO and phase drift taken out
    (``ofdm_phase_tracker.track``), as carriers, tagged with its SNR (``snr_db``) beside the
    header's tags. A payload holding NaN or Inf is dropped and counted (``frames_dropped``).

    One block for both: the demultiplexer hands on a header, waits for its message, then hands
    on the payload and the next header, so one call here decodes a header and tracks the payload
    before it. As two Python blocks every frame cost two thread wake-ups and GIL hand-overs (TX+RX
    0.91-0.94 MS/s against 1.0-1.1 in one A/B run of the bench's PHY measurement). The price:
    while this block waits for room at its output, headers wait too, and the demultiplexer spins
    until they are answered (as it spins, in either design, while its payload output is full).
    """

    def __init__(self):
        gr.basic_block.__init__(self, "ofdm_frame_sync", [(np.complex64, P.FFT_LEN)] * 2, [(np.complex64, P.FFT_LEN)])
        self.message_port_register_out(_HEADER_PORT)
        self.set_tag_propagation_policy(gr.TPP_DONT)
        # Called only with room for the longest payload: a call that returns 0 for want of room
        # would spin, holding the GIL.
        self.set_output_multiple(P.LONGEST_PAYLOAD)
        self.set_min_output_buffer(4 * P.LONGEST_PAYLOAD)
        self.decoder = HeaderDecoder()
        self.frames_out = self.frames_dropped = 0
        self._accepted: deque[FrameHeader] = deque()  # headers whose payloads are still to come, in order

    @property
    def headers_ok(self) -> int:
        return self.decoder.headers_ok

    @property
    def headers_failed(self) -> int:
        return self.decoder.headers_failed

    def forecast(self, noutput_items, ninputs):
        # a header is there only once the payload before it is whole
        return [0, self._accepted[0].frame_len] if self._accepted else [HEADER_VECTORS, 0]

    def general_work(self, input_items, output_items):
        headers, payload, out = input_items[0], input_items[1], output_items[0]
        # The next header first: the demultiplexer waits for its message (spinning while it
        # waits), and goes on copying that frame's payload while this call tracks the last one.
        if len(headers) >= HEADER_VECTORS:
            header = self.decoder.parse(headers[:HEADER_VECTORS])
            self.consume(0, HEADER_VECTORS)
            self.message_port_pub(_HEADER_PORT, header.message() if header else pmt.PMT_F)
            if header:
                self._accepted.append(header)
        produced = used = 0
        while self._accepted and used + self._accepted[0].frame_len <= len(payload) \
                and produced + self._accepted[0].frame_len <= len(out):
            header = self._accepted.popleft()
            frame = payload[used:used + header.frame_len]
            tags = self.get_tags_in_window(1, used, used + 1)  # the demultiplexer's, from the message
            used += header.frame_len
            if not np.isfinite(frame).all():
                self.frames_dropped += 1
                continue
            out[produced:produced + len(frame)], snr_db = track(carriers(derotate(frame, header.cfo, HEADER_VECTORS)),
                                                                header.taps)
            at = self.nitems_written(0) + produced
            for t in tags:
                self.add_item_tag(0, at, t.key, t.value)
            self.add_item_tag(0, at, _SNR_KEY, pmt.from_double(snr_db))
            self.frames_out += 1
            produced += len(frame)
        self.consume(1, used)
        return produced
