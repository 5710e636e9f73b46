"""Analog OFDM receiver: synchronise, equalise with zero forcing, hand the payload symbols on."""
from __future__ import annotations

from gnuradio import blocks, digital, filter, gr

from . import ofdm_params as P
from .fragments import packet_reassembler
from .ofdm_frame_sync import ofdm_frame_sync


class ofdm_analog_rx(gr.hier_block2):
    """Baseband samples in; equalised payload symbols out as a tagged stream (``packet_len``),
    with the header's sequence number (``packet_num``) on each packet's first symbol.

    Schmidl-Cox detection triggers ``ofdm_frame_sync``, which cuts the frame from the samples,
    measures its CFO and channel from its own sync words, decodes the coded header
    (``ofdm_header``; a header that fails its CRC drops the frame, counted in
    ``sync.headers_failed``) and takes the CFO and the phase drift out of the payload;
    ``ofdm_equalizer_static`` equalises it: zero forcing on the estimate, never a decision on a
    constellation, because the payload is analog.

    ``symbols``: the packet length when it exceeds the header's length field (4095): the frames the
    transmitter split it into are put back together, and a packet missing a frame is dropped and
    counted (``reassembler.packets_dropped``). 0: every frame is a packet.
    """

    def __init__(self, symbols: int = 0):
        gr.hier_block2.__init__(self, "ofdm_analog_rx", gr.io_signature(1, 1, gr.sizeof_gr_complex),
                                gr.io_signature(1, 1, gr.sizeof_gr_complex))
        self.sync = ofdm_frame_sync()  # a Python block: the hier block must hold it
        self.connect(self, (self.sync, 0))
        self.connect(self, schmidl_cox_trigger(), (self.sync, 1))
        payload_eq = digital.ofdm_frame_equalizer_vcvc(
            digital.ofdm_equalizer_static(P.FFT_LEN, P.OCCUPIED, P.PILOTS, P.PILOT_SYMBOLS, P.HEADER_SYMBOLS).base(),
            P.CP_LEN, P.FRAME_TAG)
        payload_serializer = digital.ofdm_serializer_vcc(P.FFT_LEN, P.OCCUPIED, P.FRAME_TAG, P.LEN_TAG, 1)
        payload_eq.set_min_output_buffer(2 * P.LONGEST_FRAME)
        payload_serializer.set_min_output_buffer(2 * P.MAX_SYMBOLS)
        self.connect(self.sync, payload_eq, payload_serializer)
        self.reassembler = None
        if symbols > P.MAX_SYMBOLS:
            self.reassembler = packet_reassembler(symbols)
            self.connect(payload_serializer, self.reassembler, self)
        else:
            self.connect(payload_serializer, self)


class schmidl_cox_trigger(gr.hier_block2):
    """Samples in, frame triggers out (bytes, 1 at a frame): gr-digital's ``ofdm_sync_sc_cfb``
    trigger, the middle of each plateau of |P|^2 / R^2 over ``DETECTION_THRESHOLD`` (P: the
    half-symbol autocorrelation, R: the energy), without its held CFO (the header decoder measures
    each frame's own). Its plateau detector looks ahead only twice its length, the cyclic prefix:
    a plateau wider than that, as the low threshold makes them, straddling the end of a work call
    was marked twice, early, and how the samples happened to be chunked (ZMQ messages) decided
    which frames that cost. Here the look-ahead is two OFDM symbols, wider than any plateau, and
    one mark per symbol at most."""

    def __init__(self):
        gr.hier_block2.__init__(self, "schmidl_cox_trigger", gr.io_signature(1, 1, gr.sizeof_gr_complex),
                                gr.io_signature(1, 1, gr.sizeof_char))
        half = P.FFT_LEN // 2
        delayed = blocks.delay(gr.sizeof_gr_complex, half)
        conjugate, product = blocks.conjugate_cc(), blocks.multiply_cc()
        correlation = filter.fir_filter_ccf(1, [1.0] * half)
        correlation_power = blocks.complex_to_mag_squared()
        power = blocks.complex_to_mag_squared()
        energy = filter.fir_filter_fff(1, [0.5] * P.FFT_LEN)
        energy_squared, metric = blocks.multiply_ff(), blocks.divide_ff()
        smoothed = filter.fir_filter_fff(1, [1.0 / P.CP_LEN] * P.CP_LEN)
        plateau = blocks.plateau_detector_fb(P.FFT_LEN, P.DETECTION_THRESHOLD)
        self.connect(self, delayed, conjugate, (product, 1))
        self.connect(self, (product, 0))
        self.connect(product, correlation, correlation_power, (metric, 0))
        self.connect(self, power, energy, (energy_squared, 0))
        self.connect(energy, (energy_squared, 1))
        self.connect(energy_squared, (metric, 1))
        self.connect(metric, smoothed, plateau, self)
