"""Common-phase tracking and per-frame SNR estimation for the analog OFDM payload."""
from __future__ import annotations

import numpy as np
import pmt
from gnuradio import gr

from . import ofdm_params as P
from .ofdm_chanest_smoother import CHAN_TAPS_TAG, taps_from_pmt
from .ofdm_header import derotate


class ofdm_phase_tracker(gr.basic_block):
    """The payload of each frame, from time domain to carriers, with its phase drift removed and
    its SNR tagged; sits between the header/payload demultiplexer and the static (zero-forcing)
    equaliser.

    Per frame: the CFO the header decoder measured (``CFO_TAG``) is taken out of the samples in the
    frame's own phase reference, then the FFT. The equaliser applies one channel estimate, taken
    from the sync word and the header, to the whole frame: any residual CFO turns into a phase
    that grows from symbol to symbol (a 0.006-subcarrier error rotates the last of 22 symbols by
    about 1 rad). So this block estimates the common phase of every OFDM symbol from its pilots
    against that estimate, fits a straight line through the phases (a frequency error makes them
    linear in time), de-rotates each symbol by the fitted phase, and measures the noise on the
    de-rotated pilots after zero forcing: the frame's SNR in the convention of ``semcom.channel``
    (unit-power symbols over complex noise variance), tagged as ``snr_db``.

    Frames holding NaN or Inf are dropped and counted (``frames_dropped``).
    """

    def __init__(self):
        gr.basic_block.__init__(self, "ofdm_phase_tracker", [(np.complex64, P.FFT_LEN)], [(np.complex64, P.FFT_LEN)])
        self.set_tag_propagation_policy(gr.TPP_DONT)
        # Called only with room for the longest frame, and asking for the whole frame at the input:
        # a work call that returns 0 for want of either would spin, holding the GIL.
        longest = P.MAX_SYMBOLS // len(P.OCCUPIED[0]) + 2
        self.set_output_multiple(longest)
        self.set_min_output_buffer(4 * longest)
        self.pilot_bins = np.array(P.PILOTS[0]) + P.FFT_LEN // 2  # FFT-shifted order
        self.pilot_symbols = np.array(P.PILOT_SYMBOLS, dtype=np.complex64)
        self.frames_out = 0
        self.frames_dropped = 0
        self._waiting_for = 1  # symbols of the frame at the input's head, once it is known

    def forecast(self, noutput_items, ninputs):
        return [self._waiting_for]

    def general_work(self, input_items, output_items):
        inp, out = input_items[0], output_items[0]
        # only the head's tags: the window may hold many frames, and this runs once per frame
        head = {pmt.symbol_to_string(t.key): t for t in self.get_tags_in_window(0, 0, 1)}
        if P.FRAME_TAG not in head:
            # not at a frame start (cannot happen after the header/payload demux): skip to the next
            later = self.get_tags_in_window(0, 1, len(inp), pmt.intern(P.FRAME_TAG))
            self.consume(0, min([t.offset - self.nitems_read(0) for t in later], default=len(inp)))
            return 0
        n = pmt.to_long(head[P.FRAME_TAG].value)
        if len(inp) < n:
            self._waiting_for = n
            return 0
        self._waiting_for = 1
        frame = inp[:n]
        self.consume(0, n)
        if not np.isfinite(frame).all():
            self.frames_dropped += 1
            return 0
        taps = taps_from_pmt(head[CHAN_TAPS_TAG].value)  # smoothed by the header decoder
        cfo = float(pmt.to_double(head[P.CFO_TAG].value))
        carriers = np.fft.fftshift(np.fft.fft(derotate(frame, cfo, 2 + P.HEADER_SYMBOLS), axis=1), axes=1)
        out[:n], snr_db = self.track(carriers, taps)
        for t in head.values():
            self.add_item_tag(0, self.nitems_written(0), t.key, t.value)
        self.add_item_tag(0, self.nitems_written(0), pmt.intern(P.SNR_TAG), pmt.from_double(snr_db))
        self.frames_out += 1
        return n

    def track(self, frame: np.ndarray, taps: np.ndarray) -> tuple[np.ndarray, float]:
        """De-rotated frame and its SNR in dB. The payload's symbol m carries pilot set
        m + HEADER_SYMBOLS (the sets before it went with the header)."""
        m = np.arange(len(frame))
        known = self.pilot_symbols[(m + P.HEADER_SYMBOLS) % len(self.pilot_symbols)] * taps[self.pilot_bins]
        rx = frame[:, self.pilot_bins]
        phase = np.unwrap(np.angle((rx * known.conj()).sum(1)))
        slope = 0.0
        if len(m) > 1:  # least-squares line through the phases
            centred = m - m.mean()
            slope = float(centred @ (phase - phase.mean()) / (centred @ centred))
        intercept = phase.mean() - slope * m.mean()
        rotation = np.exp(-1j * (intercept + slope * m)).astype(np.complex64)[:, None]
        derotated = frame * rotation
        noise = np.abs(rx * rotation - known) ** 2 / np.maximum(np.abs(taps[self.pilot_bins]) ** 2, 1e-20)
        return derotated, float(-10.0 * np.log10(max(noise.mean(), 1e-12)))
