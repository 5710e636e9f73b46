"""Analog OFDM receiver: synchronise, equalise with zero forcing, hand the payload symbols on."""
from __future__ import annotations

from gnuradio import analog, blocks, digital, fft, gr

from . import ofdm_params as P
from .fragments import packet_reassembler
from .ofdm_chanest_smoother import ofdm_chanest_smoother
from .ofdm_phase_tracker import ofdm_phase_tracker


class ofdm_analog_rx(gr.hier_block2):
    """Baseband samples in; equalised payload symbols out as a tagged stream (``packet_len``),
    with the header's sequence number (``packet_num``) on each packet's first symbol.

    Schmidl-Cox detection and fine CFO correction, channel estimate from the second sync word
    (which also fixes the integer CFO), header equalised and parsed (CRC8; failed headers are
    dropped), payload equalised by ``ofdm_equalizer_static``: zero forcing on the estimate, never a
    decision on a constellation, because the payload is analog.

    ``symbols``: the packet length when it exceeds the header's length field (4095): the frames the
    transmitter split it into are put back together, and a packet missing a frame is dropped and
    counted (``reassembler.packets_dropped``). 0: every frame is a packet.
    """

    def __init__(self, symbols: int = 0):
        gr.hier_block2.__init__(self, "ofdm_analog_rx", gr.io_signature(1, 1, gr.sizeof_gr_complex),
                                gr.io_signature(1, 1, gr.sizeof_gr_complex))
        sync1, sync2 = P.sync_words()
        # Tags that came along with the samples (a simulated channel or ZMQ passes the TX's
        # packet_len on) would cut the receiver's own tagged streams: stop them here.
        gate = blocks.tag_gate(gr.sizeof_gr_complex, False)
        detect = digital.ofdm_sync_sc_cfb(P.FFT_LEN, P.CP_LEN, False, P.DETECTION_THRESHOLD)
        delay = blocks.delay(gr.sizeof_gr_complex, P.FFT_LEN + P.CP_LEN)
        oscillator = analog.frequency_modulator_fc(-2.0 / P.FFT_LEN)
        mixer = blocks.multiply_cc()
        demux = digital.header_payload_demux(3, P.FFT_LEN, P.CP_LEN, P.FRAME_TAG, "", True)
        self.connect(self, gate, detect)
        self.connect(gate, delay, (mixer, 0))
        self.connect((detect, 0), oscillator, (mixer, 1))
        self.connect(mixer, (demux, 0))
        self.connect((detect, 1), (demux, 1))

        bpsk = digital.constellation_bpsk()
        header_fft = fft.fft_vcc(P.FFT_LEN, True, (), True)
        chanest = digital.ofdm_chanest_vcvc(sync1, sync2, 1)
        self.smoother = ofdm_chanest_smoother()
        header_eq = digital.ofdm_frame_equalizer_vcvc(
            digital.ofdm_equalizer_simpledfe(P.FFT_LEN, bpsk.base(), P.OCCUPIED, P.PILOTS, P.PILOT_SYMBOLS).base(),
            P.CP_LEN, P.FRAME_TAG, True, 1)
        header_serializer = digital.ofdm_serializer_vcc(P.FFT_LEN, P.OCCUPIED, P.FRAME_TAG)
        header_demod = digital.constellation_decoder_cb(bpsk.base())
        header_parser = digital.packet_headerparser_b(P.header_formatter().formatter())
        self.connect((demux, 0), header_fft, chanest, self.smoother, header_eq, header_serializer, header_demod, header_parser)
        self.msg_connect(header_parser, "header_data", demux, "header_data")

        payload_fft = fft.fft_vcc(P.FFT_LEN, True, (), True)
        self.tracker = ofdm_phase_tracker()
        payload_eq = digital.ofdm_frame_equalizer_vcvc(
            digital.ofdm_equalizer_static(P.FFT_LEN, P.OCCUPIED, P.PILOTS, P.PILOT_SYMBOLS, 1).base(),
            P.CP_LEN, P.FRAME_TAG)
        payload_serializer = digital.ofdm_serializer_vcc(P.FFT_LEN, P.OCCUPIED, P.FRAME_TAG, P.LEN_TAG, 1)
        for vectors in (demux, payload_fft, payload_eq):
            vectors.set_min_output_buffer(2 * P.LONGEST_FRAME)
        payload_serializer.set_min_output_buffer(2 * P.MAX_SYMBOLS)
        self.connect((demux, 1), payload_fft, self.tracker, payload_eq, payload_serializer)
        self.reassembler = None
        if symbols > P.MAX_SYMBOLS:
            self.reassembler = packet_reassembler(symbols)
            self.connect(payload_serializer, self.reassembler, self)
        else:
            self.connect(payload_serializer, self)
