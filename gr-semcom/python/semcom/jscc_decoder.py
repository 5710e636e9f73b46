"""DeepJSCC decoder: received packets of K symbols in, one image vector per packet out."""
from __future__ import annotations

import numpy as np
import pmt
from gnuradio import gr

from semcom.runtime import Codec

from . import ofdm_params as P
from .image_source import IMAGE_ID_TAG
from .packets import MODEL_THREADS, DropCounts, PacketReader, queue_images


class jscc_decoder(DropCounts, gr.basic_block):
    """Decodes every complete packet (``packet_len`` = K) into an image vector.

    The SNR given to the decoder is the packet's ``snr_db`` tag (the receiver's estimate), else
    ``snr_db``. A packet of another length, or symbols outside any packet, are dropped and
    counted (``packets_dropped``, ``symbols_dropped``), never decoded as an image. The header's
    12-bit sequence number is unwrapped into ``image_id`` on the output. ``threads``: ONNX Runtime
    threads per call (0: one per core); ``packets.MODEL_THREADS`` says why one.
    """

    def __init__(self, model: str = "deepjscc-celeba64", snr_db: float = 10.0, max_batch: int = 64,
                 threads: int = MODEL_THREADS):
        self.codec = Codec(model, threads=threads)
        h, w = self.codec.resolution
        gr.basic_block.__init__(self, "jscc_decoder", [np.complex64], [(np.float32, 3 * h * w)])
        self.set_tag_propagation_policy(gr.TPP_DONT)
        queue_images(self, 1)
        self.snr_db = snr_db
        self.max_batch = max_batch
        self.reader = PacketReader(self.codec.symbols)
        self.packets_out = 0
        self._last_id = -1

    def reconstruct(self, symbols: np.ndarray, snr_db: np.ndarray) -> np.ndarray:
        """Images (N, 3, H, W) from packets (N, K) and their SNRs."""
        return self.codec.decode(symbols, snr_db)

    def forecast(self, noutput_items, ninputs):
        return [self.codec.symbols]

    def _image_id(self, seq: int) -> int:
        self._last_id = P.unwrap_seq(self._last_id, seq)
        return self._last_id

    def general_work(self, input_items, output_items):
        inp, out = input_items[0], output_items[0]
        k = self.codec.symbols
        batch, consumed = self.reader.read(self, 0, len(inp), min(len(out), self.max_batch))
        if batch:
            symbols = np.stack([inp[rel:rel + k] for rel, _ in batch])
            snr = np.array([tags.get(P.SNR_TAG, self.snr_db) for _, tags in batch], np.float32)
            out[:len(batch)] = self.reconstruct(symbols, snr).reshape(len(batch), -1)
            first = self.nitems_written(0)
            for i, (_, tags) in enumerate(batch):
                for key in (P.NUM_TAG, P.SNR_TAG):
                    if key in tags:
                        self.add_item_tag(0, first + i, pmt.intern(key), pmt.to_pmt(tags[key]))
                if P.NUM_TAG in tags:
                    self.add_item_tag(0, first + i, pmt.intern(IMAGE_ID_TAG),
                                      pmt.from_long(self._image_id(int(tags[P.NUM_TAG]))))
        self.consume(0, consumed)
        self.packets_out += len(batch)
        return len(batch)
