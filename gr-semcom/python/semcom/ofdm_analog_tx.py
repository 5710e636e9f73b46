"""Analog OFDM transmitter: JSCC symbols go straight onto the data carriers."""
from __future__ import annotations

import numpy as np
import pmt
from gnuradio import blocks, digital, fft, gr

from . import ofdm_params as P
from .ofdm_header import SYMBOLS, encode, header_inserter


_LEN = pmt.intern(P.LEN_TAG)


def _silence(samples: int, tag: str) -> blocks.vector_source_c:
    """Endless packets of ``samples`` zeros, ``packet_len`` tagged, with ``tag`` on the first
    sample (``tx_sob``) or the last (``tx_eob``)."""
    where = 0 if tag == "tx_sob" else samples - 1
    tags = [gr.tag_utils.python_to_tag((0, _LEN, pmt.from_long(samples))),
            gr.tag_utils.python_to_tag((where, pmt.intern(tag), pmt.PMT_T))]
    return blocks.vector_source_c([0j] * samples, True, 1, tags)


def _headers(symbols: int) -> blocks.vector_source_c:
    """The headers of frames of ``symbols`` payload symbols numbered 0 .. SEQ_MODULO - 1, again and
    again, each a ``packet_len`` tagged packet: the header inserter's output for such frames."""
    stream = np.concatenate([encode(symbols, seq) for seq in range(P.SEQ_MODULO)])
    tags = [gr.tag_utils.python_to_tag((seq * SYMBOLS, _LEN, pmt.from_long(SYMBOLS))) for seq in range(P.SEQ_MODULO)]
    return blocks.vector_source_c(stream.tolist(), True, 1, tags)


class ofdm_analog_tx(gr.hier_block2):
    """Complex payload packets (tagged stream, ``packet_len`` symbols each) in, bursts out.

    Each burst: one zero sample, two sync symbols, the Golay-coded BPSK header (``ofdm_header``:
    length, sequence number, CRC-16) on two symbols, the payload symbols on the 48 data carriers
    with 4 pilots, cyclic prefixes, then ``gap`` - 1 zero samples, so ``gap`` zeros part two frames.
    Each burst is a ``packet_len`` tagged stream (gap included) with ``tx_sob`` / ``tx_eob`` on its
    first and last samples, for burst-mode SDR sinks; no other tag leaves the transmitter.
    ``scale`` sets the output amplitude; ``ofdm_params.noise_voltage`` maps an SNR onto it.

    ``symbols`` = 0, or over the header's length field (4095): one frame per ``packet_len``
    packet, headed by the Python ``header_inserter`` (``self.header``); a packet longer than the
    length field goes out as several frames (``fragments.fragment_sizes``), which the receiver
    puts back together when told its length.
    ``symbols`` in 1 .. 4095 (what a JSCC encoder's packets hold): every frame carries the next
    ``symbols`` symbols of the stream, whatever its tags say. Its headers repeat every 4,096
    frames, so a vector source plays them precomputed and the transmitter is C++ from end to
    end: it never waits for the GIL behind the Python blocks of a receiver or a model that share
    its process.

    The silence around a frame comes from two endless zero sources that a tagged-stream
    multiplexer puts on either side of it. gr-digital's ``burst_shaper`` pads a burst only while
    input keeps coming, so the last burst of a stream went out without its gap or ``tx_eob``; the
    multiplexer emits a burst as soon as its frame is complete. The zero sample ahead of the
    frame carries ``tx_sob``: the carrier allocator moves a header's tags to the first header
    symbol, behind the sync symbols.
    """

    def __init__(self, scale: float = P.TX_SCALE, gap: int = P.GAP, rolloff: int = 0, symbols: int = 0):
        gr.hier_block2.__init__(self, "ofdm_analog_tx", gr.io_signature(1, 1, gr.sizeof_gr_complex),
                                gr.io_signature(1, 1, gr.sizeof_gr_complex))
        if gap < 2:
            raise ValueError(f"gap {gap}: a burst needs at least 2 zero samples (one before the frame, one after)")
        if symbols < 0:
            raise ValueError(f"symbols {symbols}: expected a frame's payload length, or 0 to follow the packet_len tags")
        sync1, sync2 = P.sync_words()
        allocator = digital.ofdm_carrier_allocator_cvc(P.FFT_LEN, P.OCCUPIED, P.PILOTS, P.PILOT_SYMBOLS,
                                                       [sync1, sync2], P.LEN_TAG, True)
        ifft = fft.fft_vcc(P.FFT_LEN, False, (), True)
        prefixer = digital.ofdm_cyclic_prefixer(P.FFT_LEN, P.FFT_LEN + P.CP_LEN, rolloff, P.LEN_TAG)
        amplitude = blocks.multiply_const_cc(scale)
        bursts = blocks.tagged_stream_mux(gr.sizeof_gr_complex, P.LEN_TAG)
        for vectors in (allocator, ifft):
            vectors.set_min_output_buffer(2 * P.LONGEST_FRAME)
        for samples in (prefixer, amplitude, bursts):
            samples.set_min_output_buffer(2 * P.LONGEST_BURST)
        self.connect(_silence(1, "tx_sob"), (bursts, 0))
        self.header = None
        if 0 < symbols <= P.MAX_SYMBOLS:
            # C++ only: the incoming tags stop at the gate, the stream is cut into frames' payloads
            frames = blocks.tagged_stream_mux(gr.sizeof_gr_complex, P.LEN_TAG)
            frames.set_min_output_buffer(2 * (SYMBOLS + P.MAX_SYMBOLS))
            self.connect(_headers(symbols), (frames, 0))
            self.connect(self, blocks.tag_gate(gr.sizeof_gr_complex, False),
                         blocks.stream_to_tagged_stream(gr.sizeof_gr_complex, 1, symbols, P.LEN_TAG), (frames, 1))
        else:
            frames = self.header = header_inserter()  # a Python block: the hier block must hold it
            self.connect(self, frames)
        self.connect(frames, allocator, ifft, prefixer, amplitude, (bursts, 1))
        self.connect(_silence(gap - 1, "tx_eob"), (bursts, 2))
        self.connect(bursts, self)
