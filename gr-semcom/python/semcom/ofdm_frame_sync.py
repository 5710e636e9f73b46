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
HEADER_SAMPLES = HEADER_VECTORS * SYMBOL
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
    and decodes its header (every trigger that has arrived, in one batch);
    ``ofdm_phase_tracker.track`` then takes the CFO and the phase drift out of the payloads (those
    taken in one call, in one batch). A header that fails its check is counted (``headers_failed``)
    and the search goes on at the next trigger; a payload holding NaN or Inf, or cut short by the
    end of the stream, is dropped and counted (``frames_dropped``). Triggers inside an accepted
    frame are passed over. A frame is taken once its samples are in, wherever the triggers are:
    they stop short of the samples at the end of a stream.

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
        self.headers_ok = self.headers_failed = self.frames_out = self.frames_dropped = 0
        self._scan = 0  # absolute sample index from which the triggers are still to be looked at
        # Headers decoded ahead, by their trigger's absolute index: every trigger whose header is
        # in is decoded in one batch, though a frame taken may turn some into triggers inside it.
        self._headers: dict[int, FrameHeader | None] = {}
        self._need = (FRAME_START + 1, FRAME_START + 1)  # samples and triggers the next call needs

    def stop(self):
        if self._headers.get(self._scan):  # the stream ended inside this frame
            self.headers_ok += 1
            self.frames_dropped += 1
        self._headers.clear()
        return True

    def forecast(self, noutput_items, ninputs):
        return list(self._need)

    def _decode_ahead(self, samples: np.ndarray, base: int, triggers: list[int]) -> None:
        """Decode, in one batch, every trigger's header that is all in and not decoded yet."""
        last = len(samples) - HEADER_SAMPLES + FRAME_START  # the last trigger whose header is all in
        todo = [t for t in triggers if t <= last and base + t not in self._headers]
        if todo:
            windows = np.stack([symbols(samples[t - FRAME_START:t - FRAME_START + HEADER_SAMPLES]) for t in todo])
            self._headers.update(zip((base + t for t in todo), self.decoder.parse(windows)))

    def _put_out(self, frames: list, out: np.ndarray) -> None:
        """Takes each frame's CFO and phase drift out of its payload, the frames of one length in
        one batch, and writes and tags them where they go."""
        first = self.nitems_written(0)
        for length in {header.frame_len for _, _, header in frames}:
            group = [frame for frame in frames if frame[2].frame_len == length]
            cfo = np.array([header.cfo for _, _, header in group])
            payloads = carriers(derotate(np.stack([payload for _, payload, _ in group]), cfo, HEADER_VECTORS))
            tracked, snr_db = track(payloads, np.stack([header.taps for _, _, header in group]))
            for (at, _, header), payload, snr in zip(group, tracked, snr_db):
                out[at:at + length] = payload
                for key, value in header.tags():
                    self.add_item_tag(0, first + at, key, value)
                self.add_item_tag(0, first + at, _SNR_KEY, pmt.from_double(float(snr)))
        self.frames_out += len(frames)

    def general_work(self, input_items, output_items):
        # The trigger stream may run behind the samples: its plateau detector holds back the last
        # samples it has seen, so at the end of a stream it never delivers them; and a frame taken
        # consumes the samples up to its end, triggers or not. Positions below are relative to the
        # first sample; the triggers reach ``seen``.
        base = self.nitems_read(0)
        behind = base - self.nitems_read(1)
        samples, flags, out = input_items[0], input_items[1], output_items[0]
        n, seen = len(samples), len(flags) - behind
        scan, produced, lead = self._scan - base, 0, 0
        # looked at as bool: numpy finds the nonzero items of a uint8 array 7 times slower
        window = flags[behind + scan:behind + max(seen, scan)].view(np.bool_)
        triggers = (np.flatnonzero(window) + scan).tolist()
        if triggers and triggers[0] < FRAME_START:  # a frame right at the start of the stream, its trigger a
            lead = FRAME_START - triggers[0]  # little early: silence before it, as a delay line would hold
            samples = np.concatenate([np.zeros(lead, np.complex64), samples])
            base, n, seen, scan = base - lead, n + lead, seen + lead, scan + lead
            triggers = [t + lead for t in triggers]
        self._decode_ahead(samples, base, triggers)
        need_triggers = 0  # how far the trigger stream must reach before the next call
        taken = []  # (output position, payload, header) of the frames to put out
        for t in triggers:
            if t < scan:  # inside the frame just taken
                self._headers.pop(base + t, None)
                continue
            start = t - FRAME_START
            if base + t not in self._headers:  # its header is not all in
                scan, need = t, start + HEADER_SAMPLES
                break
            header = self._headers[base + t]
            if header is None:
                self.headers_failed += 1
                del self._headers[base + t]
                scan = t + 1
                continue
            end = start + HEADER_SAMPLES + header.frame_len * SYMBOL
            if end > n or produced + header.frame_len > len(out):  # wait for the rest, or for room
                scan, need = t, end
                break
            del self._headers[base + t]
            self.headers_ok += 1
            scan = end
            payload = symbols(samples[start + HEADER_SAMPLES:end])
            if not np.isfinite(payload).all():
                self.frames_dropped += 1
                continue
            taken.append((produced, payload, header))
            produced += header.frame_len
        else:
            scan = max(scan, seen)
            need, need_triggers = 0, scan + 1
        self._put_out(taken, out)
        # keep the samples a trigger still to come may reach back to
        used = min(max(scan - FRAME_START, lead), n)
        used_flags = min(used - lead + behind, len(flags))  # triggers up to the same sample, as far as they go
        self.consume(0, used - lead)
        self.consume(1, used_flags)
        self._scan = base + scan
        self._need = (max(need - used, 0), max(need_triggers - lead + behind - used_flags, 0))
        return produced
