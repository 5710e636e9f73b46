#!/usr/bin/env python3
"""Image source -> JSCC encoder -> (decoder) -> image and metrics sinks, against the library."""
import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pmt
from gnuradio import blocks, gr, gr_unittest
from PIL import Image

from gnuradio.semcom import image_sink, image_source, jscc_decoder, jscc_encoder, metrics_sink, stego_embed, stego_extract
from gnuradio.semcom import ofdm_params as P
from gnuradio.semcom.image_sink import png_bytes
from gnuradio.semcom.packets import QUEUE_IMAGES
from semcom import metrics
from semcom.runtime import Codec

MODEL = "deepjscc-celeba64"


class qa_jscc_blocks(gr_unittest.TestCase):

    def setUp(self):
        self.codec = Codec(MODEL)
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def test_001_encoder_packets_match_the_library(self):
        src = image_source(repeat=True)
        head = blocks.head(gr.sizeof_float * 3 * 64 * 64, 5)
        enc = jscc_encoder(MODEL)
        sink = blocks.vector_sink_c()
        tb = gr.top_block()
        tb.connect(src, head, enc, sink)
        tb.run()
        k = self.codec.symbols
        y = np.asarray(sink.data(), np.complex64).reshape(5, k)
        want = self.codec.encode(src.flat[np.arange(5) % len(src.flat)].reshape(5, 3, 64, 64))
        self.assertLess(np.abs(y - want).max(), 1e-5)
        lens = [t for t in sink.tags() if pmt.symbol_to_string(t.key) == P.LEN_TAG]
        self.assertEqual([t.offset for t in lens], [i * k for i in range(5)])
        ids = [pmt.to_long(t.value) for t in sink.tags() if pmt.symbol_to_string(t.key) == "image_id"]
        self.assertEqual(ids, [0, 1, 2, 3, 4])

    def test_002_decoder_drops_packets_of_the_wrong_length(self):
        k = self.codec.symbols
        rng = np.random.default_rng(0)
        x = (rng.standard_normal(3 * k) + 1j * rng.standard_normal(3 * k)).astype(np.complex64) / np.sqrt(2)
        lengths = [k, k // 2, k]  # the middle packet is cut short
        tags, offset = [], 0
        for n, length in enumerate(lengths):
            for key, value in ((P.LEN_TAG, pmt.from_long(length)), (P.NUM_TAG, pmt.from_long(n))):
                t = gr.tag_t()
                t.offset, t.key, t.value = offset, pmt.intern(key), value
                tags.append(t)
            offset += length
        src = blocks.vector_source_c(x[:offset].tolist(), False, 1, tags)
        dec = jscc_decoder(MODEL, snr_db=10.0)
        sink = blocks.vector_sink_f(3 * 64 * 64)
        tb = gr.top_block()
        tb.connect(src, dec, sink)
        tb.run()
        self.assertEqual((dec.packets_out, dec.packets_dropped), (2, 1))
        ids = [pmt.to_long(t.value) for t in sink.tags() if pmt.symbol_to_string(t.key) == "image_id"]
        self.assertEqual(ids, [0, 2])
        out = np.asarray(sink.data(), np.float32).reshape(2, 3, 64, 64)
        want = self.codec.decode(np.stack([x[:k], x[k + k // 2:offset]]), 10.0)
        self.assertLess(np.abs(out - want).max(), 1e-5)

    def test_003_sinks_write_pngs_and_scored_json_lines(self):
        src = image_source()
        enc, dec = jscc_encoder(MODEL), jscc_decoder(MODEL, snr_db=20.0)
        folder, jsonl = Path(self.tmp.name) / "png", Path(self.tmp.name) / "m.jsonl"
        images, scores = image_sink(str(folder)), metrics_sink(jsonl=str(jsonl))
        tb = gr.top_block()
        tb.connect(src, enc, dec, images)
        tb.connect(dec, scores)
        tb.run()
        n = len(src.flat)
        self.assertEqual(sorted(p.name for p in folder.iterdir()), [f"bob_{i:06d}.png" for i in range(n)])
        records = [json.loads(line) for line in jsonl.read_text().splitlines()]
        self.assertEqual([r["image_id"] for r in records], list(range(n)))
        x = src.flat.reshape(n, 3, 64, 64)
        decoded = self.codec.decode(self.codec.encode(x), 20.0)
        want = metrics.psnr(decoded, x)
        self.assertTrue(np.allclose([r["psnr"] for r in records], want, atol=0.05))
        for i, image in enumerate(decoded):  # the PNGs hold the decoded pixels (one level of rounding)
            with Image.open(folder / f"bob_{i:06d}.png") as png:
                self.assertEqual((png.mode, png.size), ("RGB", (64, 64)))
                pixels = np.asarray(png, np.int16)
            self.assertLessEqual(np.abs(pixels - np.round(image.transpose(1, 2, 0).clip(0, 1) * 255)).max(), 1)
        self.assertEqual([r["same_person"] for r in records], [None] * n)  # no face check asked for

    def test_004_offset_sources_and_the_face_check(self):
        """A source with offset 1 sends the next portrait; a metrics sink with the same offset scores
        against it, and its face check accepts the person sent and rejects the other one."""
        src = image_source(offset=1)
        right, wrong = metrics_sink(offset=1, faces=True, frames=2), metrics_sink(offset=0, faces=True)
        tb = gr.top_block()
        tb.connect(src, right)
        tb.connect(src, wrong)
        tb.run()
        self.assertTrue(right.wait(0))
        self.assertEqual([r["file"] for r in right.records], [f.name for f in src.images.files[::-1]])
        self.assertEqual([r["same_person"] for r in right.records], [True, True])
        self.assertEqual([r["same_person"] for r in wrong.records], [False, False])
        self.assertGreater(min(r["psnr"] for r in right.records), 60)

    def test_005_queued_images_are_coded_in_batches(self):
        """Sources and model blocks queue up to QUEUE_IMAGES images on their outputs, so the next
        block runs its network on many at once: 32 images take a few calls, not 32."""
        folder = Path(self.tmp.name) / "faces"
        folder.mkdir()
        portraits = image_source().flat.reshape(-1, 3, 64, 64)
        for i in range(32):
            pixels = (portraits[i % len(portraits)].transpose(1, 2, 0) * 255).round().astype(np.uint8)
            Image.fromarray(pixels).save(folder / f"{i:03d}.png")
        src = image_source(str(folder))
        enc, dec = jscc_encoder(MODEL), jscc_decoder(MODEL, snr_db=20.0)
        batches = {"encode": [], "decode": []}
        for block, name in ((enc, "encode"), (dec, "decode")):
            run = getattr(block.codec, name)
            setattr(block.codec, name, lambda x, *a, run=run, seen=batches[name]: seen.append(len(x)) or run(x, *a))
        sink = blocks.vector_sink_f(3 * 64 * 64)
        tb = gr.top_block()
        tb.connect(src, enc, dec, sink)
        tb.run()
        self.assertGreaterEqual(QUEUE_IMAGES, 16)
        self.assertEqual((sum(batches["encode"]), sum(batches["decode"])), (32, 32))
        self.assertLessEqual(len(batches["encode"]), 4, batches)
        self.assertLessEqual(len(batches["decode"]), 4, batches)
        x = src.flat.reshape(32, 3, 64, 64)
        out = np.asarray(sink.data(), np.float32).reshape(32, 3, 64, 64)
        self.assertLess(np.abs(out - self.codec.decode(self.codec.encode(x), 20.0)).max(), 1e-4)

    def test_006_png_encoder_is_lossless(self):
        """The sink's own PNG encoder: any RGB array, odd sizes and the full 0..255 range (the Sub
        filter's differences wrap modulo 256), decodes back exactly."""
        rng = np.random.default_rng(6)
        for shape in ((1, 1, 3), (7, 13, 3), (64, 64, 3)):
            rgb = rng.integers(0, 256, shape, dtype=np.uint8)
            rgb.flat[:3] = (0, 255, 128)
            with Image.open(io.BytesIO(png_bytes(rgb))) as png:
                self.assertEqual(png.mode, "RGB")
                self.assertTrue(np.array_equal(np.asarray(png), rgb), shape)

    def test_007_model_blocks_run_onnx_runtime_on_the_threads_asked_for(self):
        """One thread per call by default (the flowgraph's blocks already run side by side); the
        ``threads`` parameter reaches every session, stego keys' included."""
        def threads(session):
            return session.get_session_options().intra_op_num_threads
        enc, dec = jscc_encoder(MODEL), jscc_decoder(MODEL, threads=3)
        embed, extract = stego_embed(threads=2), stego_extract(threads=0)
        self.assertEqual([threads(enc.codec.encoder.session), threads(dec.codec.decoder.session)], [1, 3])
        self.assertEqual([threads(embed.stego._embed), threads(extract.stego._extract)], [2, 0])


if __name__ == "__main__":
    gr_unittest.run(qa_jscc_blocks)
