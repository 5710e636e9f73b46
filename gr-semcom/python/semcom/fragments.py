"""Payloads longer than the header's 12-bit length field: split into frames at the transmitter,
put back together at the receiver by sequence number."""
from __future__ import annotations

import numpy as np
import pmt
from gnuradio import gr

from . import ofdm_params as P
from .packets import tags_by_offset


def fragment_sizes(symbols: int, limit: int = P.MAX_SYMBOLS) -> list[int]:
    """The frame lengths one packet of ``symbols`` is sent as: as few frames as fit ``limit``, of
    nearly equal but distinct, decreasing lengths. The length of a frame tells the receiver which
    part it is: the header's 12-bit sequence number wraps at 4096, not at a multiple of the parts.
    The receiver derives the same list from the packet length alone."""
    count = -(-symbols // limit)
    while True:
        steps = [count - 1 - i for i in range(count)]
        base = (symbols - sum(steps)) // count
        sizes = [base + s for s in steps]
        sizes[0] += symbols - sum(sizes)
        if sizes[0] <= limit:
            return sizes
        count += 1


class packet_reassembler(gr.basic_block):
    """Received frames in (``packet_len``, ``packet_num``, ``snr_db`` tagged), packets of
    ``symbols`` out: the frames of ``fragment_sizes(symbols)``, in part order (told by their
    lengths) with consecutive sequence numbers, make one packet, tagged ``packet_len`` =
    ``symbols``, the frames' mean SNR, and its number: the first frame's sequence number, unwrapped
    since the receiver started, over the parts per packet (the transmitter's packet count when the
    receiver heard it from its start). A packet with a frame missing is dropped whole and counted
    (``packets_dropped``), never handed on with a hole."""

    def __init__(self, symbols: int, limit: int = P.MAX_SYMBOLS):
        gr.basic_block.__init__(self, "packet_reassembler", [np.complex64], [np.complex64])
        self.set_tag_propagation_policy(gr.TPP_DONT)
        self.symbols, self.sizes = symbols, fragment_sizes(symbols, limit)
        self.set_output_multiple(symbols)
        self.packets_out = self.packets_dropped = 0
        self._parts: list[np.ndarray] = []
        self._snrs: list[float] = []
        self._packet = -1  # the packet the held frames belong to
        self._broken = False  # the current packet lost a frame: skip its remaining frames
        self._seq = -1  # unwrapped sequence number of the last frame
        self._waiting_for = 1  # items up to the end of the frame at the input's head, once known

    def forecast(self, noutput_items, ninputs):
        return [self._waiting_for]  # returning 0 for want of input would spin

    def _drop_held(self) -> None:
        if self._parts:
            self.packets_dropped += 1
        self._parts, self._snrs = [], []

    def general_work(self, input_items, output_items):
        inp = input_items[0]
        heads = tags_by_offset(self, 0, len(inp))
        pos, produced = 0, 0
        for rel in sorted(r for r, tags in heads.items() if P.LEN_TAG in tags):
            tags = heads[rel]
            length = int(tags[P.LEN_TAG])
            if rel < pos:
                break
            if rel + length > len(inp):
                if pos == 0:
                    self._waiting_for = rel + length
                break
            pos = rel + length
            previous = self._seq
            self._seq = P.unwrap_seq(self._seq, int(tags.get(P.NUM_TAG, self._seq + 1)))
            part = self.sizes.index(length) if length in self.sizes else -1
            if part == 0:
                self._drop_held()  # a new packet: one still held lost its last frames
                self._packet, self._broken = self._seq // len(self.sizes), False
            elif self._broken:
                continue  # the rest of a packet already counted as dropped
            elif part != len(self._parts) or self._seq != previous + 1:
                self.packets_dropped += 1  # a frame went missing before this one, or it is not one of ours
                self._parts, self._snrs, self._broken = [], [], True
                continue
            packet = self._packet
            self._parts.append(np.array(inp[rel:rel + length]))
            if P.SNR_TAG in tags:
                self._snrs.append(float(tags[P.SNR_TAG]))
            if len(self._parts) == len(self.sizes):
                if produced + self.symbols > len(output_items[0]):
                    pos = rel  # no room: take this frame again next call
                    self._parts.pop()
                    self._snrs = self._snrs[:len(self._parts)]
                    self._seq -= 1
                    break
                out_at = self.nitems_written(0) + produced
                output_items[0][produced:produced + self.symbols] = np.concatenate(self._parts)
                self.add_item_tag(0, out_at, pmt.intern(P.LEN_TAG), pmt.from_long(self.symbols))
                self.add_item_tag(0, out_at, pmt.intern(P.NUM_TAG), pmt.from_long(packet % P.SEQ_MODULO))
                if self._snrs:
                    self.add_item_tag(0, out_at, pmt.intern(P.SNR_TAG), pmt.from_double(float(np.mean(self._snrs))))
                produced += self.symbols
                self.packets_out += 1
                self._parts, self._snrs = [], []
        if not heads:
            pos = len(inp)  # symbols outside any frame cannot happen after the serializer
        if pos:
            self._waiting_for = 1
        self.consume(0, pos)
        return produced
