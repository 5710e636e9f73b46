#!/usr/bin/env python3
"""The receiver's per-frame block on its own, fed as the header/payload demultiplexer feeds it."""
import numpy as np
import pmt
from gnuradio import blocks, gr, gr_unittest

from gnuradio.semcom import ofdm_analog_tx, ofdm_frame_sync
from gnuradio.semcom import ofdm_params as P

DATA = np.array(P.OCCUPIED[0]) + P.FFT_LEN // 2
CHANNEL = [1.0, 0.3 + 0.2j, 0.1j]
# what a carrier meets from the transmitter's IFFT and amplitude to the receiver's FFT
GAIN = P.FFT_LEN * P.TX_SCALE * np.fft.fftshift(np.fft.fft(CHANNEL, P.FFT_LEN))


def frames(symbols, seed=0):
    """Frames of the given payload OFDM symbols through the transmitter and a 3-tap channel, cut
    as the demultiplexer cuts them: (sync and header vectors, payload vectors, the payload as
    sent on the data carriers)."""
    rng = np.random.default_rng(seed)
    packets = [(rng.standard_normal((n * len(DATA), 2)) / np.sqrt(2)).view(np.complex128)[:, 0] for n in symbols]
    tb = gr.top_block()
    tx, bursts = ofdm_analog_tx(), blocks.vector_sink_c()
    src = blocks.vector_source_c(np.concatenate(packets).astype(np.complex64).tolist())
    tagger = blocks.stream_to_tagged_stream(gr.sizeof_gr_complex, 1, len(packets[0]), P.LEN_TAG)
    tb.connect(src, tagger, tx, bursts)
    tb.run()
    air = np.convolve(np.asarray(bursts.data()), CHANNEL)
    step, out = P.FFT_LEN + P.CP_LEN, []
    starts = [t.offset for t in bursts.tags() if pmt.symbol_to_string(t.key) == P.LEN_TAG]
    for start, n, packet in zip(starts, symbols, packets):
        vectors = np.array([air[start + m * step + P.CP_LEN:start + (m + 1) * step] for m in range(4 + n)], np.complex64)
        out.append((vectors[:4], vectors[4:], packet.reshape(n, len(DATA))))
    return out


class qa_ofdm_frame_sync(gr_unittest.TestCase):

    def test_001_headers_then_payloads_bad_ones_dropped_and_counted(self):
        cut = frames([22, 22, 22, 22, 22])
        noise = np.random.default_rng(9).standard_normal((4, P.FFT_LEN, 2)).view(np.complex128)[..., 0] * 0.01
        headers, payloads, tags, offset = [], [], [], 0
        for seq, (header, payload, _) in enumerate(cut):
            if seq == 3:  # a false trigger: noise where a header should be, and no payload after it
                headers.append(noise.astype(np.complex64))
            headers.append(header)
            if seq == 2:
                payload = payload.copy()
                payload[4, 7] = np.nan
            # the demultiplexer tags each payload with the fields of the header_data message
            tags.append(gr.tag_utils.python_to_tag((offset, pmt.intern(P.NUM_TAG), pmt.from_long(seq))))
            payloads.append(payload)
            offset += len(payload)
        tb = gr.top_block()
        header_src = blocks.vector_source_c(np.concatenate(headers).ravel().tolist(), False, P.FFT_LEN)
        payload_src = blocks.vector_source_c(np.concatenate(payloads).ravel().tolist(), False, P.FFT_LEN, tags)
        sync, sink, messages = ofdm_frame_sync(), blocks.vector_sink_c(P.FFT_LEN), blocks.message_debug()
        tb.connect(header_src, (sync, 0))
        tb.connect(payload_src, (sync, 1))
        tb.connect(sync, sink)
        tb.msg_connect(sync, "header_data", messages, "store")
        tb.run()
        self.assertEqual((sync.headers_ok, sync.headers_failed), (5, 1))
        self.assertEqual((sync.frames_out, sync.frames_dropped), (4, 1))
        replies = [messages.get_message(i) for i in range(messages.num_messages())]
        self.assertEqual([pmt.is_dict(m) for m in replies], [True, True, True, False, True, True])
        got = np.asarray(sink.data(), np.complex64).reshape(-1, P.FFT_LEN)
        starts = {pmt.to_long(t.value): t.offset for t in sink.tags() if pmt.symbol_to_string(t.key) == P.NUM_TAG}
        snrs = [pmt.to_double(t.value) for t in sink.tags() if pmt.symbol_to_string(t.key) == P.SNR_TAG]
        self.assertEqual(sorted(starts), [0, 1, 3, 4])
        for seq in starts:
            sent = cut[seq][2]
            frame = got[starts[seq]:starts[seq] + len(sent)]
            np.testing.assert_allclose(frame[:, DATA] / GAIN[DATA], sent, atol=1e-3)
        self.assertEqual(len(snrs), 4)
        self.assertGreater(min(snrs), 40.0)  # a noiseless channel: only rounding


if __name__ == "__main__":
    gr_unittest.run(qa_ofdm_frame_sync)
