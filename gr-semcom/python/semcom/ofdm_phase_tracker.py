"""Common-phase tracking and per-frame SNR estimation for the analog OFDM payload."""
from __future__ import annotations

import functools

import numpy as np
import pmt
from gnuradio import gr

from . import ofdm_params as P
from .ofdm_chanest_smoother import CHAN_TAPS_TAG, taps_from_pmt
from .ofdm_header import carriers, derotate


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
        self.frames_out = 0
        self.frames_dropped = 0
        self._waiting_for = 1  # symbols of the frame at the input's head, once it is known

    def forecast(self, noutput_items, ninputs):
        return [self._waiting_for]

    def general_work(self, input_items, output_items):
        inp, out = input_items[0], output_items[0]
        read = self.nitems_read(0)
        tags: dict[int, dict] = {}  # relative offset -> {key: tag}
        for t in self.get_tags_in_window(0, 0, len(inp)):
            tags.setdefault(t.offset - read, {})[pmt.symbol_to_string(t.key)] = t
        # every whole frame in the window while the output has room; items outside frames (which
        # the demultiplexer does not produce) are consumed unread
        pos = produced = 0
        self._waiting_for = 1
        for start in sorted(rel for rel, head in tags.items() if P.FRAME_TAG in head):
            if start < pos:
                continue
            head = tags[start]
            n = pmt.to_long(head[P.FRAME_TAG].value)
            if start + n > len(inp) or produced + n > len(out):
                self._waiting_for = n if start + n > len(inp) else 1
                pos = start
                break
            frame = inp[start:start + n]
            pos = start + n
            if not np.isfinite(frame).all():
                self.frames_dropped += 1
                continue
            taps = taps_from_pmt(head[CHAN_TAPS_TAG].value)  # smoothed by the header decoder
            cfo = pmt.to_double(head[P.CFO_TAG].value)
            out[produced:produced + n], snr_db = self.track(carriers(derotate(frame, cfo, 2 + P.HEADER_SYMBOLS)), taps)
            at = self.nitems_written(0) + produced
            for t in head.values():
                self.add_item_tag(0, at, t.key, t.value)
            self.add_item_tag(0, at, _SNR_KEY, pmt.from_double(snr_db))
            self.frames_out += 1
            produced += n
        else:
            pos = len(inp)
        self.consume(0, pos)
        return produced

    def track(self, frame: np.ndarray, taps: np.ndarray) -> tuple[np.ndarray, float]:
        """De-rotated frame and its SNR in dB."""
        pilots, times, fit = _payload_constants(len(frame))
        pilot_taps = taps[_PILOT_BINS]
        known = pilots * pilot_taps
        rx = frame[:, _PILOT_BINS]
        common = (rx * known.conj()).sum(1)
        # unwrapped phases: each symbol's step from the one before (within +-pi), summed up
        phase = np.angle(common[0]) + np.concatenate(([0.0], np.cumsum(np.angle(common[1:] * common[:-1].conj()))))
        intercept, slope = fit @ phase  # least-squares line through the phases
        rotation = np.exp(-1j * (intercept + slope * times)).astype(np.complex64)[:, None]
        noise = np.abs(rx * rotation - known) ** 2 / np.maximum(np.abs(pilot_taps) ** 2, 1e-20)
        return frame * rotation, float(-10.0 * np.log10(max(noise.mean(), 1e-12)))


_SNR_KEY = pmt.intern(P.SNR_TAG)
_PILOT_BINS = np.array(P.PILOTS[0]) + P.FFT_LEN // 2  # FFT-shifted order
_PILOT_SYMBOLS = np.array(P.PILOT_SYMBOLS, dtype=np.complex64)


@functools.lru_cache(maxsize=None)
def _payload_constants(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For a payload of n symbols: the known pilots (symbol m carries pilot set m + HEADER_SYMBOLS,
    the sets before it went with the header), the symbol times, and the least-squares solver of a
    line through n phases (slope 0 for a single symbol)."""
    times = np.arange(n)
    pilots = _PILOT_SYMBOLS[(times + P.HEADER_SYMBOLS) % len(_PILOT_SYMBOLS)]
    return pilots, times.astype(np.float64), np.linalg.pinv(np.stack([np.ones(n), times], 1))
