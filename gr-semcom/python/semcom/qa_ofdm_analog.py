#!/usr/bin/env python3
"""End to end: analog OFDM TX -> channel -> RX, as gr-digital's qa_ofdm_txrx does for bytes."""
import numpy as np
import pmt
from gnuradio import blocks, channels, gr, gr_unittest

from gnuradio.semcom import ofdm_analog_rx, ofdm_analog_tx
from gnuradio.semcom.ofdm_analog_rx import schmidl_cox_trigger
from gnuradio.semcom import ofdm_params as P
from gnuradio.semcom.fragments import fragment_sizes, packet_reassembler
from semcom import channel

K = 1024


class chunker(gr.sync_block):
    """Passes samples on in chunks of random sizes (1 to 300), as a socket might deliver them."""

    def __init__(self, seed):
        gr.sync_block.__init__(self, "chunker", [np.complex64], [np.complex64])
        self.rng = np.random.default_rng(seed)

    def work(self, input_items, output_items):
        n = min(len(output_items[0]), int(self.rng.integers(1, 301)))
        output_items[0][:n] = input_items[0][:n]
        return n


def packets(n, seed=0, k=K):
    rng = np.random.default_rng(seed)
    z = (rng.standard_normal((n, k)) + 1j * rng.standard_normal((n, k))).astype(np.complex64)
    return channel.power_normalize(z)


def transmit(x):
    """All packets through the TX: the bursts plus trailing silence, and where each burst starts."""
    tb = gr.top_block()
    src = blocks.vector_source_c(x.ravel().tolist())
    tagger = blocks.stream_to_tagged_stream(gr.sizeof_gr_complex, 1, x.shape[1], P.LEN_TAG)
    tx = ofdm_analog_tx()
    bursts = blocks.vector_sink_c()
    tb.connect(src, tagger, tx, bursts)
    tb.run()
    air = np.concatenate([np.asarray(bursts.data(), np.complex64), np.zeros(4000, np.complex64)])
    return air, np.array([t.offset for t in bursts.tags() if pmt.symbol_to_string(t.key) == P.LEN_TAG])


def run_link(x, snr_db=None, cfo=0.0, taps=(1.0,), seed=1, symbols=0):
    """TX all packets, then the channel and RX over the bursts plus trailing silence."""
    air, _ = transmit(x)
    tb = gr.top_block()
    noise = 0.0 if snr_db is None else P.noise_voltage(snr_db)
    chan = channels.channel_model(noise_voltage=noise, frequency_offset=cfo / P.FFT_LEN, epsilon=1.0,
                                  taps=list(taps), noise_seed=seed, block_tags=False)
    rx = ofdm_analog_rx(symbols)
    sink = blocks.vector_sink_c()
    tb.connect(blocks.vector_source_c(air.tolist()), chan, rx, sink)
    tb.run()
    y = np.asarray(sink.data(), np.complex64)
    tags = {}
    for t in sink.tags():
        tags.setdefault(pmt.symbol_to_string(t.key), []).append(pmt.to_python(t.value))
    return y.reshape(-1, x.shape[1]) if len(y) else y, tags, rx


class qa_ofdm_analog(gr_unittest.TestCase):

    def test_001_clean_link_returns_the_symbols(self):
        x = packets(5)
        y, tags, _ = run_link(x)
        self.assertEqual(tags[P.NUM_TAG], [0, 1, 2, 3, 4])
        self.assertEqual(tags[P.LEN_TAG], [K] * 5)
        self.assertLess(np.abs(y - x).max(), 1e-3)

    def test_002_awgn_cfo_multipath_all_frames_in_order(self):
        x = packets(50, seed=2)
        taps = (1.0, 0.3 + 0.2j, 0.1j)
        y, tags, rx = run_link(x, snr_db=20.0, cfo=0.1, taps=taps, seed=3)
        self.assertEqual(tags[P.NUM_TAG], list(range(50)))
        measured = np.array([channel.measured_snr_db(a, b) for a, b in zip(x, y)])
        # the channel estimate from the sync word and the decoded header costs about 0.7 dB
        self.assertGreater(measured.mean(), 18.5)
        # the tagged per-frame SNR tells the decoder what it gets
        self.assertLess(abs(np.mean(tags[P.SNR_TAG]) - measured.mean()), 2.0)
        self.assertEqual(rx.sync.frames_out, 50)

    def test_004_bursts_carry_start_and_end_of_burst_tags(self):
        x = packets(3, seed=4)
        tb = gr.top_block()
        tagger = blocks.stream_to_tagged_stream(gr.sizeof_gr_complex, 1, K, P.LEN_TAG)
        tx, bursts = ofdm_analog_tx(), blocks.vector_sink_c()  # tx held: it holds a Python block
        ids = [gr.tag_utils.python_to_tag((i * K, pmt.intern("image_id"), pmt.from_long(i))) for i in range(3)]
        tb.connect(blocks.vector_source_c(x.ravel().tolist(), False, 1, ids), tagger, tx, bursts)
        tb.run()
        tags = {}
        for t in bursts.tags():
            tags.setdefault(pmt.symbol_to_string(t.key), []).append((t.offset, pmt.to_python(t.value)))
        starts = [offset for offset, _ in tags[P.LEN_TAG]]
        self.assertEqual([offset for offset, _ in tags["tx_sob"]], starts)
        ends = [offset + length - 1 for offset, length in tags[P.LEN_TAG]]
        # every burst ends, the last one too, though the stream ends with it
        self.assertEqual([offset for offset, _ in tags["tx_eob"]], ends)
        self.assertEqual(ends[-1], len(bursts.data()) - 1)
        self.assertEqual(len(bursts.data()), 3 * ((4 + 22) * (P.FFT_LEN + P.CP_LEN) + P.GAP))
        # a burst is one zero sample, the frame, then the rest of the gap
        y = np.asarray(bursts.data())
        for start, end in zip(starts, ends):
            self.assertEqual(y[start], 0.0)
            self.assertGreater(np.abs(y[start + 1:start + 11]).min(), 0.0)
            self.assertEqual(np.abs(y[end - P.GAP + 2:end + 1]).max(), 0.0)
            self.assertGreater(np.abs(y[end - P.GAP - 8:end - P.GAP + 2]).min(), 0.0)
        # no other tag leaves the transmitter
        self.assertEqual(set(tags), {P.LEN_TAG, "tx_sob", "tx_eob"})

    def test_005_long_payloads_are_split_and_put_back_together(self):
        """10,000 symbols a packet (beyond the 12-bit length field): three frames each, reassembled
        into whole packets, numbered by packet, at 20 dB."""
        x = packets(4, seed=5, k=10000)
        y, tags, rx = run_link(x, snr_db=20.0, cfo=0.05, taps=(1.0, 0.2j), seed=6, symbols=10000)
        self.assertEqual(fragment_sizes(10000), [3335, 3333, 3332])  # distinct: the length tells the part
        self.assertEqual(tags[P.LEN_TAG], [10000] * 4)
        self.assertEqual(tags[P.NUM_TAG], [0, 1, 2, 3])
        # 70 OFDM symbols a frame on one preamble's channel estimate: 14.4 dB measured at 20 dB
        self.assertGreater(np.mean([channel.measured_snr_db(a, b) for a, b in zip(x, y)]), 13.0)
        self.assertEqual((rx.reassembler.packets_out, rx.reassembler.packets_dropped), (4, 0))

    def test_006_a_packet_missing_a_frame_is_dropped_whole(self):
        sizes = fragment_sizes(5000)  # two frames a packet
        frames = [(seq, sizes[seq % 2]) for seq in range(6) if seq != 2]  # packet 1 lost its first frame
        data, tags, offset = [], [], 0
        for seq, size in frames:
            for key, value in ((P.LEN_TAG, size), (P.NUM_TAG, seq)):
                t = gr.tag_t()
                t.offset, t.key, t.value = offset, pmt.intern(key), pmt.from_long(value)
                tags.append(t)
            data += [complex(seq)] * size
            offset += size
        reassembler, sink = packet_reassembler(5000), blocks.vector_sink_c()
        tb = gr.top_block()
        tb.connect(blocks.vector_source_c(data, False, 1, tags), reassembler, sink)
        tb.run()
        out = np.asarray(sink.data()).reshape(-1, 5000)
        self.assertEqual([pmt.to_long(t.value) for t in sink.tags() if pmt.symbol_to_string(t.key) == P.NUM_TAG], [0, 2])
        self.assertTrue(np.array_equal(out[1, :sizes[0]], np.full(sizes[0], 4)))  # packet 2 = frames 4 and 5
        self.assertEqual((reassembler.packets_out, reassembler.packets_dropped), (2, 1))

    def test_007_nan_and_inf_drop_their_frames_only(self):
        x = packets(10, seed=7)
        air, starts = transmit(x)
        air[starts[3] + 250] = np.nan  # in frame 3's header
        air[starts[6] + 1500] = np.inf  # in frame 6's payload
        tb = gr.top_block()
        rx, sink = ofdm_analog_rx(), blocks.vector_sink_c()
        tb.connect(blocks.vector_source_c(air.tolist()), rx, sink)
        tb.run()
        nums = [pmt.to_long(t.value) for t in sink.tags() if pmt.symbol_to_string(t.key) == P.NUM_TAG]
        self.assertEqual(nums, [0, 1, 2, 4, 5, 7, 8, 9])
        self.assertEqual((rx.sync.headers_failed, rx.sync.frames_dropped), (1, 1))
        y = np.asarray(sink.data(), np.complex64).reshape(-1, K)
        self.assertLess(np.abs(y - x[nums]).max(), 1e-3)

    def test_008_whole_subcarrier_offsets_are_found(self):
        x = packets(10, seed=8)
        for cfo in (2.2, -3.4):
            y, tags, _ = run_link(x, snr_db=20.0, cfo=cfo, taps=(1.0, 0.3 + 0.2j, 0.1j), seed=9)
            self.assertEqual(tags[P.NUM_TAG], list(range(10)))
            self.assertGreater(np.mean([channel.measured_snr_db(a, b) for a, b in zip(x, y)]), 18.0)

    def test_009_one_trigger_a_frame_however_the_samples_are_chunked(self):
        """ZMQ hands the receiver samples in chunks of any size: the trigger may not depend on them
        (gr-digital's ofdm_sync_sc_cfb marked plateaus straddling a chunk's end twice, early)."""
        x = packets(20, seed=10)
        air, starts = transmit(x)
        triggers = []
        for chunked in (False, True):
            tb = gr.top_block()
            chan = channels.channel_model(noise_voltage=P.noise_voltage(10.0), taps=[1.0, 0.3 + 0.2j, 0.1j],
                                          noise_seed=11, block_tags=False)
            trigger, sink = schmidl_cox_trigger(), blocks.vector_sink_b()
            path = [blocks.vector_source_c(air.tolist()), chan] + ([chunker(12)] if chunked else [])
            tb.connect(*path, trigger, sink)
            tb.run()
            triggers.append(np.flatnonzero(np.asarray(sink.data())))
        self.assertTrue(np.array_equal(*triggers))
        first = [t for t in triggers[0] if ((t - starts[starts <= t].max()) if (starts <= t).any() else -1) < 200]
        self.assertEqual(len(first), len(starts))  # one trigger at every frame's start

    def test_010_fixed_length_frames_match_the_header_inserters(self):
        """symbols=K (C++ only, headers precomputed) sends what the Python header inserter sends,
        sample for sample and tag for tag, past the wrap of the 12-bit sequence number; the
        incoming tags, a stray one included, do not leave either."""
        k, n = 48, P.SEQ_MODULO + 5  # one payload symbol a frame keeps 4,101 frames quick
        x = packets(n, seed=8, k=k)
        tags = [gr.tag_utils.python_to_tag((7, pmt.intern("image_id"), pmt.from_long(0)))]
        sent = []
        for symbols in (0, k):
            tb = gr.top_block()
            tagger = blocks.stream_to_tagged_stream(gr.sizeof_gr_complex, 1, k, P.LEN_TAG)
            tx, bursts = ofdm_analog_tx(symbols=symbols), blocks.vector_sink_c()
            tb.connect(blocks.vector_source_c(x.ravel().tolist(), False, 1, tags), tagger, tx, bursts)
            tb.run()
            sent.append((np.asarray(bursts.data()),
                         [(t.offset, pmt.symbol_to_string(t.key), pmt.to_python(t.value)) for t in bursts.tags()]))
        (python_air, python_tags), (fixed_air, fixed_tags) = sent
        self.assertEqual(len(fixed_air), n * ((4 + 1) * (P.FFT_LEN + P.CP_LEN) + P.GAP))
        np.testing.assert_array_equal(fixed_air, python_air)
        self.assertEqual(fixed_tags, python_tags)
        self.assertEqual({key for _, key, _ in fixed_tags}, {P.LEN_TAG, "tx_sob", "tx_eob"})
        with self.assertRaisesRegex(ValueError, "symbols -1"):
            ofdm_analog_tx(symbols=-1)

    def test_003_noise_voltage_follows_the_channel_convention(self):
        self.assertAlmostEqual(P.noise_voltage(10.0) ** 2, P.TX_SCALE ** 2 * P.FFT_LEN / 10.0, places=9)


if __name__ == "__main__":
    gr_unittest.run(qa_ofdm_analog)
