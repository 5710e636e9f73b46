"""Analog OFDM transmitter: JSCC symbols go straight onto the data carriers."""
from __future__ import annotations

from gnuradio import blocks, digital, fft, gr

from . import ofdm_params as P
from .burst_tagger import burst_tagger
from .ofdm_header import header_inserter


class ofdm_analog_tx(gr.hier_block2):
    """Complex payload packets (tagged stream, ``packet_len`` symbols each) in, bursts out.

    Each burst: two sync symbols, the Golay-coded BPSK header (``ofdm_header``: length, sequence
    number, CRC-16) on two symbols, the payload
    symbols on the 48 data carriers with 4 pilots, cyclic prefixes, then ``gap`` zero samples.
    A packet longer than the header's length field (4095) goes out as several frames
    (``fragments.fragment_sizes``); the receiver puts it back together when told its length.
    Each burst is a ``packet_len`` tagged stream (gap included) with ``tx_sob`` / ``tx_eob`` on its
    first and last samples, for burst-mode SDR sinks.
    ``scale`` sets the output amplitude; ``ofdm_params.noise_voltage`` maps an SNR onto it.
    """

    def __init__(self, scale: float = P.TX_SCALE, gap: int = P.GAP, rolloff: int = 0):
        gr.hier_block2.__init__(self, "ofdm_analog_tx", gr.io_signature(1, 1, gr.sizeof_gr_complex),
                                gr.io_signature(1, 1, gr.sizeof_gr_complex))
        sync1, sync2 = P.sync_words()
        self.header = header_inserter()  # a Python block: the hier block must hold it
        allocator = digital.ofdm_carrier_allocator_cvc(P.FFT_LEN, P.OCCUPIED, P.PILOTS, P.PILOT_SYMBOLS,
                                                       [sync1, sync2], P.LEN_TAG, True)
        ifft = fft.fft_vcc(P.FFT_LEN, False, (), True)
        prefixer = digital.ofdm_cyclic_prefixer(P.FFT_LEN, P.FFT_LEN + P.CP_LEN, rolloff, P.LEN_TAG)
        amplitude = blocks.multiply_const_cc(scale)
        self.bursts = burst_tagger(gap)  # a Python block: the hier block must hold it
        for vectors in (allocator, ifft):
            vectors.set_min_output_buffer(2 * P.LONGEST_FRAME)
        for samples in (prefixer, amplitude, self.bursts):
            samples.set_min_output_buffer(2 * P.LONGEST_BURST)
        self.connect(self, self.header, allocator, ifft, prefixer, amplitude, self.bursts, self)
