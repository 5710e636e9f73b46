"""Stego extract: received container packets in, Bob's host and private packets out (any paradigm of the key)."""
from __future__ import annotations

import numpy as np
import pmt
from gnuradio import gr

from semcom.keys import Stego

from . import ofdm_params as P
from .packets import MODEL_THREADS, DropCounts, PacketReader, queue_images


class stego_extract(DropCounts, gr.basic_block):
    """Runs the key's extraction (the INN backwards, or the CNN / GAN extraction network) on every
    complete container packet (``packet_len`` = K).

    Outputs: the host's and the private image's symbols, K per packet, each packet tagged
    ``packet_len`` and carrying the container's ``packet_num`` and ``snr_db``, ready for two
    ``jscc_decoder`` blocks. Packets of another length, or symbols outside a packet, are dropped
    and counted (``packets_dropped``, ``symbols_dropped``).

    An empty ``key`` matches an embed without one: the received packets are the private image's,
    passed on as they are on the private output; the host output stays silent.
    ``threads``: ONNX Runtime threads per call (0: one per core); ``packets.MODEL_THREADS`` says why one.
    """

    def __init__(self, key: str = "stego-inn-demo", seed: int = 0, max_batch: int = 64, threads: int = MODEL_THREADS):
        gr.basic_block.__init__(self, "stego_extract", [np.complex64], [np.complex64, np.complex64])
        self.set_tag_propagation_policy(gr.TPP_DONT)
        self.stego = None
        self.packets_out = 0
        if not key:
            self.reader = PacketReader(0)
            return
        self.stego = Stego(key, threads)
        self.set_output_multiple(self.stego.symbols)
        queue_images(self, self.stego.symbols)
        self.max_batch = max_batch
        self.reader = PacketReader(self.stego.symbols)
        self.rng = np.random.default_rng(seed)  # for a key whose lost-information estimate is a sample

    def forecast(self, noutput_items, ninputs):
        return [noutput_items]

    def general_work(self, input_items, output_items):
        if self.stego is None:
            return self._pass_private(input_items[0], output_items[1])
        k = self.stego.symbols
        inp = input_items[0]
        room = min(len(output_items[0]), len(output_items[1])) // k
        batch, consumed = self.reader.read(self, 0, len(inp), min(room, self.max_batch))
        if batch:
            host, private = self.stego.extract(np.stack([inp[rel:rel + k] for rel, _ in batch]), self.rng)
            output_items[0][:len(batch) * k] = host.reshape(-1)
            output_items[1][:len(batch) * k] = private.reshape(-1)
            first = self.nitems_written(0)
            for i, (_, tags) in enumerate(batch):
                for port in (0, 1):
                    self.add_item_tag(port, first + i * k, pmt.intern(P.LEN_TAG), pmt.from_long(k))
                    for key in (P.NUM_TAG, P.SNR_TAG):
                        if key in tags:
                            self.add_item_tag(port, first + i * k, pmt.intern(key), pmt.to_pmt(tags[key]))
        self.consume(0, consumed)
        self.packets_out += len(batch)
        n = len(batch) * k
        self.produce(0, n)
        self.produce(1, n)
        return gr.WORK_CALLED_PRODUCE

    def _pass_private(self, inp, out):
        n = min(len(inp), len(out))
        out[:n] = inp[:n]
        first, start = self.nitems_written(1), self.nitems_read(0)
        for t in self.get_tags_in_window(0, 0, n):
            self.add_item_tag(1, first + t.offset - start, t.key, t.value)
        self.consume(0, n)
        self.produce(1, n)
        return gr.WORK_CALLED_PRODUCE
