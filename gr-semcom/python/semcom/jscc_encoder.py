"""DeepJSCC encoder: one image vector in, one packet of K complex channel symbols out."""
from __future__ import annotations

import numpy as np
import pmt
from gnuradio import gr

from semcom.runtime import Codec, model_entry

from . import ofdm_params as P
from .packets import MODEL_THREADS, queue_images


def packet_symbols(model: str) -> int:
    """K, the symbols of one image's packet, of a manifest codec (read from the manifest, no model
    loaded): what ``ofdm_analog_tx(symbols=...)`` frames by."""
    return int(model_entry(model)["symbols"])


class jscc_encoder(gr.interp_block):
    """Runs a manifest codec's encoder (ONNX Runtime) on every image, batched per call of work().

    Output: K unit-power complex symbols per image, the first tagged ``packet_len`` = K, ready for
    ``ofdm_analog_tx``. Tags of the image (``image_id``...) move to its first symbol.
    ``threads``: ONNX Runtime threads per call (0: one per core); ``packets.MODEL_THREADS`` says why one.
    """

    def __init__(self, model: str = "deepjscc-celeba64", max_batch: int = 64, threads: int = MODEL_THREADS):
        self.codec = Codec(model, threads=threads)
        h, w = self.codec.resolution
        k = self.codec.symbols
        gr.interp_block.__init__(self, "jscc_encoder", [(np.float32, 3 * h * w)], [np.complex64], k)
        self.shape = (3, h, w)
        self.max_batch = max_batch
        self.set_max_noutput_items(k * max_batch)
        queue_images(self, k)

    def work(self, input_items, output_items):
        k = self.codec.symbols
        n = min(len(output_items[0]) // k, len(input_items[0]))
        images = input_items[0][:n].reshape(n, *self.shape)
        output_items[0][:n * k] = self.codec.encode(images).reshape(-1)
        first = self.nitems_written(0)
        for i in range(n):
            self.add_item_tag(0, first + i * k, pmt.intern(P.LEN_TAG), pmt.from_long(k))
        return n * k
