#!/usr/bin/env python3
"""The coded header: the Golay code, the CRC, the inserter at the transmitter and the frame
synchronisation of the header decoder."""
import numpy as np
import pmt
from gnuradio import blocks, gr, gr_unittest

from gnuradio.semcom import ofdm_header as H
from gnuradio.semcom import ofdm_params as P
from gnuradio.semcom.fragments import fragment_sizes


def frame_vectors(cfo: float, header: np.ndarray, snr_db: float = 40.0, seed: int = 0) -> np.ndarray:
    """The sync and header symbols of one frame as ofdm_frame_sync cuts them (time domain,
    prefixes removed), through a 3-tap channel with ``cfo`` subcarrier spacings of offset."""
    rng = np.random.default_rng(seed)
    words = [np.array(w) for w in P.sync_words()]
    data = np.array(P.OCCUPIED[0]) + P.FFT_LEN // 2
    pilots = np.array(P.PILOTS[0]) + P.FFT_LEN // 2
    for m, part in enumerate(header.reshape(P.HEADER_SYMBOLS, -1)):
        symbol = np.zeros(P.FFT_LEN, complex)
        symbol[data], symbol[pilots] = part, P.PILOT_SYMBOLS[m]
        words.append(symbol)
    time = [np.fft.ifft(np.fft.ifftshift(w)) for w in words]
    samples = np.concatenate([np.r_[t[-P.CP_LEN:], t] for t in time])
    samples = np.convolve(samples, [1.0, 0.3 + 0.2j, 0.1j])[:len(samples)]
    samples = samples * np.exp(2j * np.pi * cfo * np.arange(len(samples)) / P.FFT_LEN)
    power = np.mean(np.abs(np.concatenate(time)) ** 2) * P.FFT_LEN / len(P.OCCUPIED[0] + P.PILOTS[0])
    noise = np.sqrt(power / 10 ** (snr_db / 10) / 2)
    samples = samples + noise * (rng.standard_normal(len(samples)) + 1j * rng.standard_normal(len(samples)))
    step = P.FFT_LEN + P.CP_LEN
    return np.array([samples[m * step + P.CP_LEN:(m + 1) * step] for m in range(2 + P.HEADER_SYMBOLS)], np.complex64)


class qa_ofdm_header(gr_unittest.TestCase):

    def test_001_golay_code_has_distance_8(self):
        weights = H.CODEBOOK.sum(1)
        self.assertEqual(len({row.tobytes() for row in H.CODEBOOK}), 4096)
        self.assertEqual(int(weights[1:].min()), 8)  # linear code: distance = least nonzero weight
        self.assertEqual(sorted(set(weights.tolist())), [0, 8, 12, 16, 24])

    def test_002_fields_round_trip_and_three_errors_a_word_are_corrected(self):
        rng = np.random.default_rng(1)
        for _ in range(50):
            length, seq = int(rng.integers(1, P.MAX_SYMBOLS + 1)), int(rng.integers(0, P.SEQ_MODULO))
            symbols = H.encode(length, seq).real
            self.assertEqual(H.decode(symbols), (length, seq))
            flipped = symbols.copy()
            for word in range(H.WORDS):  # slot p * 4 + word holds bit p of that word
                flipped[rng.choice(H.CODE_BITS, 3, replace=False) * H.WORDS + word] *= -1
            self.assertEqual(H.decode(flipped), (length, seq))

    def test_003_what_the_code_cannot_tell_the_crc_rejects(self):
        symbols = H.encode(1024, 7).real.reshape(H.CODE_BITS, H.WORDS).copy()
        symbols[:, 1] = 1.0 - 2.0 * H.CODEBOOK[123]  # the sequence word swapped for another codeword
        self.assertIsNone(H.decode(symbols.ravel()))
        rng = np.random.default_rng(2)
        accepted = sum(H.decode(rng.standard_normal(H.SYMBOLS)) is not None for _ in range(2000))
        self.assertEqual(accepted, 0)  # noise passes the 24 check bits about once in 16 million

    def test_004_lengths_outside_the_field_are_refused(self):
        for length in (0, P.MAX_SYMBOLS + 1):
            with self.assertRaisesRegex(ValueError, f"frame length {length} outside"):
                H.encode(length, 0)

    def test_005_cfo_estimated_whole_and_fractional(self):
        cfos = (0.0, 0.3, -0.3, 2.2, -3.4)
        frames = np.stack([frame_vectors(cfo, H.encode(1024, 5).real) for cfo in cfos])
        estimates, spectra = H.HeaderDecoder().synchronise(frames)  # all at once, each its own shift
        for cfo, estimate, vectors, got in zip(cfos, estimates, frames, spectra):
            self.assertAlmostEqual(estimate, cfo, delta=0.01)
            # a whole spacing taken out as a bin shift and a turn per symbol, as the samples would
            exact = np.fft.fftshift(np.fft.fft(H.derotate(vectors, estimate, 0), axis=1), axes=1)
            self.assertLess(np.abs(got - exact).max(), 1e-3 * np.abs(exact).max())

    def test_006_header_decodes_at_5_db_and_noise_is_refused(self):
        decoder = H.HeaderDecoder()
        frames = [frame_vectors(0.1, H.encode(1000 + s, s).real, snr_db=5.0, seed=s) for s in range(50)]
        noise = np.random.default_rng(3).standard_normal((2 + P.HEADER_SYMBOLS, P.FFT_LEN, 2)).view(np.complex128)[..., 0]
        nan = frame_vectors(0.0, H.encode(10, 0).real)
        nan[2, 5] = np.nan
        decoded = decoder.parse(np.stack(frames[:25] + [noise, nan] + frames[25:]).astype(np.complex64))
        self.assertIsNone(decoded.pop(25))
        self.assertIsNone(decoded.pop(25))
        self.assertEqual([(d.length, d.seq) for d in decoded], [(1000 + s, s) for s in range(50)])
        for s in (0, 31):  # a frame decodes the same alone as among others
            alone = decoder.parse(frames[s][None].astype(np.complex64))[0]
            self.assertEqual((alone.length, alone.seq), (decoded[s].length, decoded[s].seq))
            self.assertAlmostEqual(alone.cfo, decoded[s].cfo, places=5)
            np.testing.assert_allclose(alone.taps, decoded[s].taps, atol=1e-4)
        tags = {pmt.symbol_to_string(key): value for key, value in decoded[3].tags()}  # the payload's
        fields = {key: pmt.to_python(tags[key]) for key in (P.LEN_TAG, P.FRAME_TAG, P.NUM_TAG, P.CFO_TAG)}
        self.assertEqual(fields, {P.LEN_TAG: 1003, P.FRAME_TAG: 21, P.NUM_TAG: 3, P.CFO_TAG: decoded[3].cfo})

    def test_007_shortcut_decisions_equal_the_exhaustive_search(self):
        rng = np.random.default_rng(4)
        for _ in range(2000):
            symbols = H.encode(int(rng.integers(1, P.MAX_SYMBOLS + 1)), int(rng.integers(0, P.SEQ_MODULO))).real
            soft = (symbols * rng.rayleigh(0.7, H.SYMBOLS) + rng.normal(0, rng.uniform(0.2, 1.2), H.SYMBOLS)).astype(np.float32)
            value = 0
            for w in (H._CODEBOOK_BPSK @ soft.reshape(H.CODE_BITS, H.WORDS)).argmax(0):  # all 4,096 words
                value = (value << H.WORD_BITS) | int(w)
            length, seq, reserved, crc = value >> 36, (value >> 24) & 0xFFF, (value >> 16) & 0xFF, value & 0xFFFF
            exhaustive = None if reserved or not length or crc != H._crc(length, seq) else (length, seq)
            self.assertEqual(H.decode(soft), exhaustive)

    def test_008_inserter_frames_packets_splits_long_ones_and_counts_strays(self):
        rng = np.random.default_rng(5)
        packets = [rng.standard_normal((n, 2)).view(np.complex128)[:, 0].astype(np.complex64) for n in (100, 5000, 7)]
        stream = np.concatenate([np.ones(10, np.complex64)] + packets)  # 10 symbols before any packet
        tags, offset = [], 10
        for p in packets:
            tags.append(gr.tag_utils.python_to_tag((offset, pmt.intern(P.LEN_TAG), pmt.from_long(len(p)))))
            offset += len(p)
        tags.append(gr.tag_utils.python_to_tag((10 + 100 + 4500, pmt.intern("image_id"), pmt.from_long(1))))
        tags.append(gr.tag_utils.python_to_tag((5, pmt.intern(P.LEN_TAG), pmt.from_long(0))))  # empty: ignored
        tb = gr.top_block()
        src, inserter, sink = blocks.vector_source_c(stream.tolist(), False, 1, tags), H.header_inserter(), blocks.vector_sink_c()
        inserter.set_max_noutput_items(2 * H.SYMBOLS)  # packets and headers straddle work calls
        tb.connect(src, inserter, sink)
        tb.run()
        out = np.asarray(sink.data(), np.complex64)
        starts = [(t.offset, pmt.to_long(t.value)) for t in sink.tags() if pmt.symbol_to_string(t.key) == P.LEN_TAG]
        sizes = [100] + fragment_sizes(5000) + [7]
        self.assertEqual([n for _, n in starts], [H.SYMBOLS + n for n in sizes])
        payload = []
        for seq, ((at, n), size) in enumerate(zip(starts, sizes)):
            self.assertEqual(H.decode(out[at:at + H.SYMBOLS].real), (size, seq))
            payload.append(out[at + H.SYMBOLS:at + n])
        np.testing.assert_array_equal(np.concatenate(payload), np.concatenate(packets))
        # the air carries no tags: only the frames' lengths leave the inserter
        self.assertEqual({pmt.symbol_to_string(t.key) for t in sink.tags()}, {P.LEN_TAG})
        self.assertEqual(inserter.symbols_dropped, 10)


if __name__ == "__main__":
    gr_unittest.run(qa_ofdm_header)
