#!/usr/bin/env python3
"""Stego embed -> extract between two JSCC encoders and two JSCC decoders, against the library,
for the demo key of every paradigm (INN, CNN, GAN)."""
import numpy as np
import pmt
from gnuradio import blocks, gr, gr_unittest

from gnuradio.semcom import image_source, jscc_decoder, jscc_encoder, stego_embed, stego_extract
from gnuradio.semcom import ofdm_params as P
from semcom.keys import DEMO_KEYS, KeyFileError, Stego
from semcom.runtime import Codec

MODEL, KEY = "deepjscc-celeba64", "stego-inn-demo"
IMAGE = 3 * 64 * 64


def _tags(sink, key):
    return [(t.offset, pmt.to_python(t.value)) for t in sink.tags() if pmt.symbol_to_string(t.key) == key]


class qa_stego_blocks(gr_unittest.TestCase):

    def setUp(self):
        self.codec, self.stego = Codec(MODEL), Stego(KEY)

    def test_001_embed_then_extract_matches_the_library(self):
        for key in DEMO_KEYS.values():
            with self.subTest(key=key):
                self._embed_then_extract(key)

    def _embed_then_extract(self, key):
        stego = Stego(key)
        n, k = 4, self.codec.symbols
        host_src = image_source(repeat=True)
        images = host_src.flat[np.arange(n) % len(host_src.flat)]
        private_images = images[::-1].copy()  # a different image beside each host
        host_head = blocks.head(gr.sizeof_float * IMAGE, n)
        id_tags = []
        for i in range(n):
            t = gr.tag_t()
            t.offset, t.key, t.value = i, pmt.intern("image_id"), pmt.from_long(100 + i)
            id_tags.append(t)
        private_src = blocks.vector_source_f(private_images.reshape(-1).tolist(), False, IMAGE, id_tags)
        enc_h, enc_p = jscc_encoder(MODEL), jscc_encoder(MODEL)
        embed, extract = stego_embed(key), stego_extract(key)
        container_sink = blocks.vector_sink_c()
        host_sink, private_sink = blocks.vector_sink_c(), blocks.vector_sink_c()
        dec_p = jscc_decoder(MODEL, snr_db=20.0)
        image_sink = blocks.vector_sink_f(IMAGE)
        tb = gr.top_block()
        tb.connect(host_src, host_head, enc_h, (embed, 0))
        tb.connect(private_src, enc_p, (embed, 1))
        tb.connect(embed, container_sink)
        tb.connect(embed, extract)
        tb.connect((extract, 0), host_sink)
        tb.connect((extract, 1), private_sink)
        tb.connect((extract, 1), dec_p, image_sink)
        tb.run()

        s_h = self.codec.encode(images.reshape(n, 3, 64, 64))
        s_p = self.codec.encode(private_images.reshape(n, 3, 64, 64))
        container = np.asarray(container_sink.data(), np.complex64).reshape(n, k)
        want = stego.embed(s_h, s_p)
        self.assertLess(np.abs(container - want).max(), 1e-5)
        self.assertTrue(np.allclose((np.abs(container) ** 2).mean(1), 1.0, atol=1e-4))
        got_h, got_p = stego.extract(want, np.random.default_rng(0))
        self.assertLess(np.abs(np.asarray(host_sink.data()).reshape(n, k) - got_h).max(), 1e-5)
        self.assertLess(np.abs(np.asarray(private_sink.data()).reshape(n, k) - got_p).max(), 1e-5)
        # tags: one packet_len per container, the host's id, the private image's id beside it
        self.assertEqual(_tags(container_sink, P.LEN_TAG), [(i * k, k) for i in range(n)])
        self.assertEqual([v for _, v in _tags(container_sink, "image_id")], list(range(n)))
        self.assertEqual(_tags(container_sink, "private_image_id"), [(i * k, 100 + i) for i in range(n)])
        self.assertEqual(_tags(private_sink, P.LEN_TAG), [(i * k, k) for i in range(n)])
        # Bob's private image, decoded from the extracted symbols, is the private image, not the host
        out = np.asarray(image_sink.data(), np.float32).reshape(n, -1)
        err_private = np.mean((out - private_images) ** 2)
        err_host = np.mean((out - images) ** 2)
        self.assertLess(err_private, err_host)
        self.assertEqual((extract.packets_out, extract.packets_dropped), (n, 0))

    def test_004_without_a_key_the_private_packets_go_out_plainly(self):
        """Covert communication off (empty key): the container is the private packet itself, tags
        and all; Bob's extract hands it on as the private packet and nothing as the host."""
        n, k = 3, self.codec.symbols
        x = np.random.default_rng(1).standard_normal((2, n * k)).astype(np.float32)
        host, private = (x[0] + 1j * x[1]).astype(np.complex64), (x[1] - 1j * x[0]).astype(np.complex64)
        len_tags = []
        for i in range(n):
            t = gr.tag_t()
            t.offset, t.key, t.value = i * k, pmt.intern(P.LEN_TAG), pmt.from_long(k)
            len_tags.append(t)
        embed, extract = stego_embed(""), stego_extract("")
        host_sink, private_sink = blocks.vector_sink_c(), blocks.vector_sink_c()
        tb = gr.top_block()
        tb.connect(blocks.vector_source_c(host.tolist()), (embed, 0))
        tb.connect(blocks.vector_source_c(private.tolist(), False, 1, len_tags), (embed, 1))
        tb.connect(embed, extract)
        tb.connect((extract, 0), host_sink)
        tb.connect((extract, 1), private_sink)
        tb.run()
        self.assertEqual(len(host_sink.data()), 0)
        self.assertTrue(np.array_equal(np.asarray(private_sink.data(), np.complex64), private))
        self.assertEqual(_tags(private_sink, P.LEN_TAG), [(i * k, k) for i in range(n)])

    def test_002_extract_drops_packets_of_the_wrong_length(self):
        k = self.codec.symbols
        rng = np.random.default_rng(1)
        lengths = [k, k - 24, k]
        total = sum(lengths)
        x = ((rng.standard_normal(total) + 1j * rng.standard_normal(total)) / np.sqrt(2)).astype(np.complex64)
        tags, offset = [], 0
        for num, length in enumerate(lengths):
            for key, value in ((P.LEN_TAG, pmt.from_long(length)), (P.NUM_TAG, pmt.from_long(num)),
                               (P.SNR_TAG, pmt.from_double(12.5))):
                t = gr.tag_t()
                t.offset, t.key, t.value = offset, pmt.intern(key), value
                tags.append(t)
            offset += length
        src = blocks.vector_source_c(x.tolist(), False, 1, tags)
        extract = stego_extract(KEY)
        host_sink, private_sink = blocks.vector_sink_c(), blocks.vector_sink_c()
        tb = gr.top_block()
        tb.connect(src, extract, host_sink)
        tb.connect((extract, 1), private_sink)
        tb.run()
        self.assertEqual((extract.packets_out, extract.packets_dropped), (2, 1))
        self.assertEqual(len(private_sink.data()), 2 * k)
        self.assertEqual([v for _, v in _tags(private_sink, P.NUM_TAG)], [0, 2])
        self.assertEqual([v for _, v in _tags(private_sink, P.SNR_TAG)], [12.5, 12.5])
        _, want = self.stego.extract(np.stack([x[:k], x[2 * k - 24:]]), np.random.default_rng(0))
        self.assertLess(np.abs(np.asarray(private_sink.data()).reshape(2, k) - want).max(), 1e-5)

    def test_003_a_missing_key_is_named_at_construction(self):
        with self.assertRaisesRegex(KeyFileError, "no-such.key not found"):
            stego_embed("/tmp/no-such.key")
        with self.assertRaisesRegex(KeyFileError, "no-such.key not found"):
            stego_extract("/tmp/no-such.key")


if __name__ == "__main__":
    gr_unittest.run(qa_stego_blocks)
