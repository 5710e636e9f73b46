#!/usr/bin/env python3
"""Eve block: framing as the decoder's, each strategy's reconstruction as the library's."""
import numpy as np
import pmt
from gnuradio import blocks, gr, gr_unittest

from gnuradio.semcom import eve_attack, jscc_decoder
from gnuradio.semcom import ofdm_params as P
from semcom import channel, metrics
from semcom.runtime import Codec
from semcom.samples import load_samples

MODEL = "deepjscc-celeba64"


def _packets(symbols: np.ndarray, snr_db: float):
    """A stream of packets with packet_len, packet_num and snr_db tags."""
    k = symbols.shape[1]
    tags = []
    for n in range(len(symbols)):
        for key, value in ((P.LEN_TAG, pmt.from_long(k)), (P.NUM_TAG, pmt.from_long(n)), (P.SNR_TAG, pmt.from_double(snr_db))):
            t = gr.tag_t()
            t.offset, t.key, t.value = n * k, pmt.intern(key), value
            tags.append(t)
    return blocks.vector_source_c(symbols.reshape(-1).tolist(), False, 1, tags)


class qa_eve_attack(gr_unittest.TestCase):

    def setUp(self):
        self.codec = Codec(MODEL)
        self.x = load_samples().as_float()
        y, _ = channel.Channel()(self.codec.encode(self.x), 15.0, np.random.default_rng(0))
        self.y = y.astype(np.complex64)

    def _run(self, block):
        sink = blocks.vector_sink_f(3 * 64 * 64)
        tb = gr.top_block()
        tb.connect(_packets(self.y, 15.0), block, sink)
        tb.run()
        return np.asarray(sink.data(), np.float32).reshape(-1, 3, 64, 64), sink.tags()

    def test_001_naive_eve_sees_what_the_decoder_sees(self):
        eve, eve_tags = self._run(eve_attack("naive", MODEL))
        bob, _ = self._run(jscc_decoder(MODEL))
        self.assertEqual(eve.shape[0], len(self.x))
        self.assertLess(np.abs(eve - bob).max(), 1e-5)
        ids = [pmt.to_long(t.value) for t in eve_tags if pmt.symbol_to_string(t.key) == "image_id"]
        self.assertEqual(ids, list(range(len(self.x))))

    def test_002_glassbox_eve_beats_a_grey_guess(self):
        eve, _ = self._run(eve_attack("glassbox", MODEL, iterations=200))
        grey = np.full_like(self.x, 0.5)
        self.assertGreater(metrics.psnr(eve, self.x).mean(), metrics.psnr(grey, self.x).mean() + 2.0)

    def test_003_closed_box_needs_its_trained_network(self):
        with self.assertRaisesRegex(FileNotFoundError, "inverse network"):
            eve_attack("closedbox", MODEL, inverse="/nonexistent/inverse.pt")
        with self.assertRaisesRegex(ValueError, "unknown strategy"):
            eve_attack("blackbox", MODEL)


if __name__ == "__main__":
    gr_unittest.run(qa_eve_attack)
