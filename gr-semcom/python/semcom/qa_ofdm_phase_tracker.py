#!/usr/bin/env python3
"""The phase tracker on its own: frames as the header/payload demultiplexer hands them on."""
import numpy as np
import pmt
from gnuradio import blocks, gr, gr_unittest

from gnuradio.semcom import ofdm_params as P
from gnuradio.semcom import ofdm_phase_tracker
from gnuradio.semcom.ofdm_chanest_smoother import CHAN_TAPS_TAG

DATA = np.array(P.OCCUPIED[0]) + P.FFT_LEN // 2
PILOTS = np.array(P.PILOTS[0]) + P.FFT_LEN // 2


def payload(n, seed):
    """A payload of n OFDM symbols (carriers, FFT-shifted), its pilots where the tracker expects
    them, and the same symbols in time domain."""
    rng = np.random.default_rng(seed)
    carriers = np.zeros((n, P.FFT_LEN), np.complex64)
    carriers[:, DATA] = (rng.standard_normal((n, len(DATA))) + 1j * rng.standard_normal((n, len(DATA)))) / np.sqrt(2)
    carriers[:, PILOTS] = [P.PILOT_SYMBOLS[(m + P.HEADER_SYMBOLS) % len(P.PILOT_SYMBOLS)] for m in range(n)]
    return carriers, np.fft.ifft(np.fft.ifftshift(carriers, axes=1), axis=1).astype(np.complex64)


def frame_tags(offset, n, num):
    return [gr.tag_utils.python_to_tag((offset, pmt.intern(key), value)) for key, value in (
        (P.FRAME_TAG, pmt.from_long(n)), (P.NUM_TAG, pmt.from_long(num)), (P.CFO_TAG, pmt.from_double(0.0)),
        (CHAN_TAPS_TAG, pmt.init_c32vector(P.FFT_LEN, [1.0] * P.FFT_LEN)))]


class qa_ofdm_phase_tracker(gr_unittest.TestCase):

    def test_001_every_frame_of_a_window_comes_out_and_a_nan_frame_is_dropped(self):
        lengths = [22, 5, 22, 1, 22, 22]
        sent, vectors, tags = [], [np.zeros((3, P.FFT_LEN), np.complex64)], []  # 3 symbols before any frame
        offset = 3
        for num, n in enumerate(lengths):
            carriers, time = payload(n, seed=num)
            if num == 2:
                time[4, 7] = np.nan
            else:
                sent.append((num, carriers))
            tags += frame_tags(offset, n, num)
            vectors.append(time)
            offset += n
        tb = gr.top_block()
        src = blocks.vector_source_c(np.concatenate(vectors).ravel().tolist(), False, P.FFT_LEN, tags)
        tracker, sink = ofdm_phase_tracker(), blocks.vector_sink_c(P.FFT_LEN)
        tb.connect(src, tracker, sink)
        tb.run()
        self.assertEqual((tracker.frames_out, tracker.frames_dropped), (len(lengths) - 1, 1))
        got = np.asarray(sink.data(), np.complex64).reshape(-1, P.FFT_LEN)
        starts = {pmt.to_long(t.value): t.offset for t in sink.tags() if pmt.symbol_to_string(t.key) == P.NUM_TAG}
        snrs = [pmt.to_double(t.value) for t in sink.tags() if pmt.symbol_to_string(t.key) == P.SNR_TAG]
        self.assertEqual(sorted(starts), [num for num, _ in sent])
        for num, carriers in sent:
            frame = got[starts[num]:starts[num] + len(carriers)]
            np.testing.assert_allclose(frame[:, DATA], carriers[:, DATA], atol=1e-4)
        self.assertEqual(len(snrs), len(sent))
        self.assertGreater(min(snrs), 60.0)  # a clean channel: only float rounding on the pilots


if __name__ == "__main__":
    gr_unittest.run(qa_ofdm_phase_tracker)
