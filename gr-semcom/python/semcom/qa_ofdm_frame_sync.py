#!/usr/bin/env python3
"""The receiver's per-frame block on its own: samples and triggers in, payload carriers out."""
import numpy as np
import pmt
from gnuradio import blocks, gr, gr_unittest

from gnuradio.semcom import ofdm_analog_tx, ofdm_frame_sync
from gnuradio.semcom import ofdm_params as P
from gnuradio.semcom.ofdm_frame_sync import FRAME_START, SYMBOL

DATA = np.array(P.OCCUPIED[0]) + P.FFT_LEN // 2
CHANNEL = [1.0, 0.3 + 0.2j, 0.1j]
EARLY = 8  # each trigger this many samples early: the FFT window starts inside the cyclic prefix
# what a carrier meets from the transmitter's IFFT and amplitude to the receiver's FFT, the early
# window included
GAIN = (P.FFT_LEN * P.TX_SCALE * np.fft.fftshift(np.fft.fft(CHANNEL, P.FFT_LEN))
        * np.exp(-2j * np.pi * (np.arange(P.FFT_LEN) - P.FFT_LEN // 2) * EARLY / P.FFT_LEN))


class chunker(gr.sync_block):
    """Passes items on in chunks of random sizes (1 to 700), as a socket might deliver them."""

    def __init__(self, dtype, seed):
        gr.sync_block.__init__(self, "chunker", [dtype], [dtype])
        self.rng = np.random.default_rng(seed)

    def work(self, input_items, output_items):
        n = min(len(output_items[0]), int(self.rng.integers(1, 701)))
        output_items[0][:n] = input_items[0][:n]
        return n


def bursts(packets):
    """The packets through the transmitter and a 3-tap channel: the samples, and where each frame
    starts (one zero sample into its burst)."""
    tb = gr.top_block()
    tx, sink = ofdm_analog_tx(), blocks.vector_sink_c()
    src = blocks.vector_source_c(np.concatenate(packets).astype(np.complex64).tolist())
    tagger = blocks.stream_to_tagged_stream(gr.sizeof_gr_complex, 1, len(packets[0]), P.LEN_TAG)
    tb.connect(src, tagger, tx, sink)
    tb.run()
    air = np.convolve(np.asarray(sink.data()), CHANNEL).astype(np.complex64)
    return air, [t.offset + 1 for t in sink.tags() if pmt.symbol_to_string(t.key) == P.LEN_TAG]


def sync_on(air, trigger, room=0):
    """The frame sync run on the samples and trigger stream given whole (``room``: at most that
    many output vectors a call); the block and the sink of its output."""
    tb = gr.top_block()
    sync, sink = ofdm_frame_sync(), blocks.vector_sink_c(P.FFT_LEN)
    if room:
        sync.set_max_noutput_items(room)
    tb.connect(blocks.vector_source_c(air.tolist()), (sync, 0))
    tb.connect(blocks.vector_source_b(trigger.tolist()), (sync, 1))
    tb.connect(sync, sink)
    tb.run()
    return sync, sink


def sequence_numbers(sink):
    return [pmt.to_long(t.value) for t in sink.tags() if pmt.symbol_to_string(t.key) == P.NUM_TAG]


def random_packets(rng, count, n):
    return [(rng.standard_normal((n, 2)) / np.sqrt(2)).view(np.complex128)[:, 0] for _ in range(count)]


class qa_ofdm_frame_sync(gr_unittest.TestCase):

    def test_001_frames_cut_at_their_triggers_bad_ones_dropped_and_counted(self):
        rng = np.random.default_rng(0)
        n = 22 * len(DATA)
        packets = random_packets(rng, 6, n)
        air, starts = bursts(packets)
        self.assertEqual(starts[0], 1)  # the first frame starts one zero sample into the stream
        trigger = np.zeros(len(air), np.uint8)
        trigger[np.array(starts) + FRAME_START - EARLY] = 1
        header_end = starts[2] + 4 * SYMBOL
        trigger[header_end + 5 * SYMBOL] = 1  # inside frame 2's payload: passed over
        gap = starts[3] - P.GAP
        air[gap:starts[3]] = (rng.standard_normal((P.GAP, 2)) * 0.01).view(np.complex128)[:, 0]
        trigger[gap + 100] = 1  # noise where a header should be
        air[starts[3] + 7 * SYMBOL + 20] = np.nan  # in frame 3's payload: dropped
        tb = gr.top_block()
        sync, sink = ofdm_frame_sync(), blocks.vector_sink_c(P.FFT_LEN)
        chunks = chunker(np.complex64, 1), chunker(np.uint8, 2)  # Python blocks: held while connected
        tb.connect(blocks.vector_source_c(air.tolist()), chunks[0], (sync, 0))
        tb.connect(blocks.vector_source_b(trigger.tolist()), chunks[1], (sync, 1))
        tb.connect(sync, sink)
        tb.run()
        self.assertEqual((sync.headers_ok, sync.headers_failed), (6, 1))
        self.assertEqual((sync.frames_out, sync.frames_dropped), (5, 1))
        got = np.asarray(sink.data(), np.complex64).reshape(-1, P.FFT_LEN)
        tags = {}
        for t in sink.tags():
            tags.setdefault(pmt.symbol_to_string(t.key), []).append((t.offset, pmt.to_python(t.value)))
        self.assertEqual([seq for _, seq in tags[P.NUM_TAG]], [0, 1, 2, 4, 5])
        self.assertEqual([length for _, length in tags[P.LEN_TAG]], [n] * 5)
        self.assertEqual([frame_len for _, frame_len in tags[P.FRAME_TAG]], [22] * 5)
        for at, seq in tags[P.NUM_TAG]:
            sent = packets[seq].reshape(22, len(DATA))
            np.testing.assert_allclose(got[at:at + 22, DATA] / GAIN[DATA], sent, atol=1e-3)
        self.assertEqual(len(got), 5 * 22)
        self.assertGreater(min(snr for _, snr in tags[P.SNR_TAG]), 40.0)  # a noiseless channel: only rounding

    def test_002_frames_that_wait_for_output_room_are_not_lost_at_the_end(self):
        packets = random_packets(np.random.default_rng(1), 8, 22 * len(DATA))
        air, starts = bursts(packets)
        trigger = np.zeros(len(air), np.uint8)
        trigger[np.array(starts) + FRAME_START - EARLY] = 1
        # room for 3 of these frames a call: 8 arrive at once
        sync, sink = sync_on(air, trigger, room=P.LONGEST_PAYLOAD)
        self.assertEqual((sync.headers_ok, sync.frames_out, sync.frames_dropped), (8, 8, 0))
        self.assertEqual(sequence_numbers(sink), list(range(8)))

    def test_003_a_frame_cut_short_by_the_end_of_the_stream_is_counted(self):
        packets = random_packets(np.random.default_rng(2), 3, 22 * len(DATA))
        air, starts = bursts(packets)
        air = air[:starts[2] + 10 * SYMBOL]  # the last frame ends inside its payload
        trigger = np.zeros(len(air), np.uint8)
        trigger[np.array(starts) + FRAME_START - EARLY] = 1
        sync, sink = sync_on(air, trigger)
        self.assertEqual((sync.headers_ok, sync.frames_out, sync.frames_dropped), (3, 2, 1))
        self.assertEqual(len(sink.data()), 2 * 22 * P.FFT_LEN)

    def test_004_the_last_frame_is_taken_when_the_triggers_stop_short(self):
        """A recording that ends with the last frame's payload: the Schmidl-Cox plateau detector
        never delivers the last samples of a stream, so its triggers stop a hundred samples short."""
        packets = random_packets(np.random.default_rng(3), 3, 22 * len(DATA))
        air, starts = bursts(packets)
        air = air[:starts[2] + (4 + 22) * SYMBOL + len(CHANNEL) - 1]
        trigger = np.zeros(len(air) - 2 * P.FFT_LEN, np.uint8)
        trigger[np.array(starts) + FRAME_START - EARLY] = 1
        sync, sink = sync_on(air, trigger)
        self.assertEqual((sync.headers_ok, sync.frames_out, sync.frames_dropped), (3, 3, 0))
        self.assertEqual(sequence_numbers(sink), [0, 1, 2])


if __name__ == "__main__":
    gr_unittest.run(qa_ofdm_frame_sync)
