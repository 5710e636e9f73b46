"""The analog OFDM receiver's per-frame work: cut the frame at its trigger, decode the header,
take the payload's phase out."""
from __future__ import annotations

import numpy as np
import pmt
from gnuradio import gr

from . import ofdm_params as P
from .ofdm_header import FrameHeader, HeaderDecoder, carriers, derotate
from .ofdm_phase_tracker import track

SYMBOL = P.FFT_LEN + P.CP_LEN  # samples of one OFDM symbol with its prefix
HEADER_VECTORS = 2 + P.HEADER_SYMBOLS  # the sync words and the header
TRIGGER_LAG = P.CP_LEN // 2  # the smoothing of the trigger's metric: a boxcar of CP_LEN taps
# a trigger marks its frame a symbol (plus the metric's smoothing) after the frame's first sample
FRAME_START = SYMBOL + TRIGGER_LAG
_SNR_KEY = pmt.intern(P.SNR_TAG)


def symbols(samples: np.ndarray) -> np.ndarray:
    """Whole OFDM symbols of samples as (symbols, FFT_LEN) with their cyclic prefixes removed."""
    return samples.reshape(-1, SYMBOL)[:, P.CP_LEN:]


class ofdm_frame_sync(gr.basic_block):
    """Baseband samples (input 0) and the Schmidl-Cox trigger (input 1, bytes, 1 where a frame was
    detected) in; each received frame's payload out as carriers (FFT-shifted vectors) for the
    zero-forcing equaliser, tagged on its first vector with the header's fields (``packet_len``,
    ``frame_len``, ``packet_num``, ``cfo``, the channel taps) and its SNR (``snr_db``).

    At each trigger the ``HeaderDecoder`` measures the frame's CFO and channel from its sync words
    and decodes its header; ``ofdm_phase_tracker.track`` then takes the CFO and the phase drift
    out of the payload. A header that fails its check is counted (``headers_failed``) and the
    search goes on at the next trigger; a payload holding NaN or Inf, or cut short by the end of
    the stream, is dropped and counted (``frames_dropped``). Triggers inside an accepted frame are
    passed over.

    It takes the place of gr-digital's ``header_payload_demux``, which hands a header over, then
    spins until a message answers it: in the flowgraphs that cost a thread of CPU while the Python
    side decoded, and a GIL hand-over per frame on top. Here the samples wait in the input buffer
    until a frame is whole, and one call handles every frame that has arrived.
    """

    def __init__(self):
        gr.basic_block.__init__(self, "ofdm_frame_sync", [np.complex64, np.uint8], [(np.complex64, P.FFT_LEN)])
        self.set_tag_propagation_policy(gr.TPP_DONT)
        # Called only with room for the longest payload: a call that returns 0 for want of room
        # would spin, holding the GIL.
        self.set_output_multiple(P.LONGEST_PAYLOAD)
        self.set_min_output_buffer(4 * P.LONGEST_PAYLOAD)
        # One output vector per SYMBOL samples: GNU Radio sizes the input buffers to twice that
        # times the output multiple, room for two of the longest frames.
        self.set_relative_rate(1, SYMBOL)
        self.decoder = HeaderDecoder()
        self.frames_out = self.frames_dropped = 0
        self._scan = 0  # absolute sample index from which the triggers are still to be looked at
        self._pending: tuple[int, FrameHeader] | None = None  # a decoded header whose payload is not all in
        self._need = FRAME_START + 1  # input samples the next call needs

    @property
    def headers_ok(self) -> int:
        return self.decoder.headers_ok

    @property
    def headers_failed(self) -> int:
        return self.decoder.headers_failed

    def stop(self):
        if self._pending:  # the stream ended inside this frame
            self.frames_dropped += 1
            self._pending = None
        return True

    def forecast(self, noutput_items, ninputs):
        return [self._need] * ninputs

    def general_work(self, input_items, output_items):
        base = self.nitems_read(0)
        n = min(len(input_items[0]), len(input_items[1]))
        samples, out = input_items[0][:n], output_items[0]
        scan, produced, lead = self._scan - base, 0, 0
        for t in (np.flatnonzero(input_items[1][scan:n]) + scan).tolist():
            t += lead
            if t < scan:  # inside the frame just taken
                continue
            start = t - FRAME_START
            if start < 0:  # a frame right at the start of the stream, its trigger a little early:
                lead = -start  # silence before it, as a delay line would hold
                samples = np.concatenate([np.zeros(lead, np.complex64), samples])
                base, n, t, scan, start = base - lead, n + lead, t + lead, scan + lead, 0
            if self._pending and self._pending[0] == base + t:
                header = self._pending[1]
            else:
                if start + HEADER_VECTORS * SYMBOL > n:
                    scan, need = t, start + HEADER_VECTORS * SYMBOL
                    break
                header = self.decoder.parse(symbols(samples[start:start + HEADER_VECTORS * SYMBOL]))
                if header is None:
                    scan = t + 1
                    continue
            end = start + (HEADER_VECTORS + header.frame_len) * SYMBOL
            if end > n or produced + header.frame_len > len(out):  # wait for the rest, or for room
                self._pending, scan, need = (base + t, header), t, end
                break
            self._pending, scan = None, end
            payload = symbols(samples[start + HEADER_VECTORS * SYMBOL:end])
            if not np.isfinite(payload).all():
                self.frames_dropped += 1
                continue
            out[produced:produced + header.frame_len], snr_db = track(
                carriers(derotate(payload, header.cfo, HEADER_VECTORS)), header.taps)
            at = self.nitems_written(0) + produced
            for key, value in header.tags():
                self.add_item_tag(0, at, key, value)
            self.add_item_tag(0, at, _SNR_KEY, pmt.from_double(snr_db))
            self.frames_out += 1
            produced += header.frame_len
        else:
            scan, need = max(scan, n), n + 1
        # keep the samples a trigger still to come may reach back to
        used = min(max(scan - FRAME_START, lead), n)
        self.consume_each(used - lead)
        self._scan = base + scan
        self._need = need - used
        return produced
