"""Stego embed: a host packet and a private packet in, one container packet out (any paradigm of the key)."""
from __future__ import annotations

import numpy as np
import pmt
from gnuradio import gr

from semcom.keys import Stego

from . import ofdm_params as P
from .packets import MODEL_THREADS, queue_images

PRIVATE_PREFIX = "private_"


class stego_embed(gr.sync_block):
    """Hides each private packet in the host packet beside it with a stego key (ONNX Runtime).

    Inputs: host and private symbols, K per image, as two ``jscc_encoder`` outputs deliver them.
    Output: the container, K unit-power symbols per image, tagged ``packet_len`` = K. The host's
    tags (``image_id``...) go with the container; the private image's tags follow with the prefix
    ``private_`` (``private_image_id``), so a metrics sink can score Bob's private image.

    An empty ``key`` turns covert communication off: the private packets go out as they are, tags
    and all, and the host input is consumed unread (the baseline an eavesdropper attacks).
    ``threads``: ONNX Runtime threads per call (0: one per core); ``packets.MODEL_THREADS`` says why one.
    """

    def __init__(self, key: str = "stego-inn-demo", max_batch: int = 64, threads: int = MODEL_THREADS):
        self.stego = None
        if not key:
            gr.sync_block.__init__(self, "stego_embed", [np.complex64, np.complex64], [np.complex64])
            self.set_tag_propagation_policy(gr.TPP_DONT)
            return
        self.stego = Stego(key, threads)
        k = self.stego.symbols
        gr.sync_block.__init__(self, "stego_embed", [np.complex64, np.complex64], [np.complex64])
        self.set_tag_propagation_policy(gr.TPP_DONT)
        self.set_output_multiple(k)
        self.set_max_noutput_items(k * max_batch)
        queue_images(self, k)

    def work(self, input_items, output_items):
        if self.stego is None:
            return self._send_private(input_items[1], output_items[0])
        k = self.stego.symbols
        n = len(output_items[0]) // k
        host = input_items[0][:n * k].reshape(n, k)
        private = input_items[1][:n * k].reshape(n, k)
        output_items[0][:n * k] = self.stego.embed(host, private).reshape(-1)
        first = self.nitems_written(0)
        for port, prefix in ((0, ""), (1, PRIVATE_PREFIX)):
            start = self.nitems_read(port)
            for t in self.get_tags_in_window(port, 0, n * k):
                key = pmt.symbol_to_string(t.key)
                if key != P.LEN_TAG:
                    self.add_item_tag(0, first + t.offset - start, pmt.intern(prefix + key), t.value)
        for i in range(n):
            self.add_item_tag(0, first + i * k, pmt.intern(P.LEN_TAG), pmt.from_long(k))
        return n * k

    def _send_private(self, private, out):
        n = len(out)
        out[:] = private[:n]
        first, start = self.nitems_written(0), self.nitems_read(1)
        for t in self.get_tags_in_window(1, 0, n):
            self.add_item_tag(0, first + t.offset - start, t.key, t.value)
        return n
