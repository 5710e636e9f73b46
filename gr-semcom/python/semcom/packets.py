"""Reading tagged-stream packets of a known length, for the blocks that take whole packets."""
from __future__ import annotations

import pmt

from . import ofdm_params as P

# Images (or packets) the output of a model block holds. The block after it runs its network on
# every image queued; with GNU Radio's default 32 KiB buffers that was one or two images a call,
# and ONNX Runtime takes a third less time per image from four a call on.
QUEUE_IMAGES = 32

# ONNX Runtime threads per call in the model blocks. A flowgraph already runs every block on its own
# thread, so the models of a chain run side by side; a thread pool per session on top of that
# oversubscribes the cores: loopback_sim on 2 cores ran 10% faster with one thread per model than
# with ONNX Runtime's default of one per core (means of five runs each, faster in every pair).
MODEL_THREADS = 1


def queue_images(block, items_per_image: int) -> None:
    """Sizes every output buffer of ``block`` for ``QUEUE_IMAGES`` images (call before connecting)."""
    block.set_min_output_buffer(QUEUE_IMAGES * items_per_image)


def tags_by_offset(block, port: int, n: int) -> dict[int, dict]:
    """The tags on the first ``n`` input items of ``port``: {offset relative to the window: {key: value}}."""
    start = block.nitems_read(port)
    by_offset: dict[int, dict] = {}
    for t in block.get_tags_in_window(port, 0, n):
        by_offset.setdefault(t.offset - start, {})[pmt.symbol_to_string(t.key)] = pmt.to_python(t.value)
    return by_offset


class PacketReader:
    """Splits the input window of a block into packets of exactly ``length`` items.

    A packet of another length, or items before the first ``packet_len`` tag, are dropped and
    counted (``packets_dropped``, ``symbols_dropped``), never handed on as a packet.
    """

    def __init__(self, length: int):
        self.length = length
        self.packets_dropped = self.symbols_dropped = 0

    def read(self, block, port: int, available: int, max_packets: int) -> tuple[list[tuple[int, dict]], int]:
        """(complete packets as (relative offset, their tags by key), items to consume)."""
        by_offset = tags_by_offset(block, port, available)
        heads = sorted(rel for rel, tags in by_offset.items() if P.LEN_TAG in tags)
        if not heads:
            self.symbols_dropped += available
            return [], available
        pos, packets = 0, []
        for rel in heads:
            if rel > pos:  # items outside a packet
                self.symbols_dropped += rel - pos
                pos = rel
            length = int(by_offset[rel][P.LEN_TAG])
            if pos + length > available or len(packets) == max_packets:
                break
            if length != self.length:
                self.packets_dropped += 1
            else:
                packets.append((rel, by_offset[rel]))
            pos += length
        return packets, pos


class DropCounts:
    """``packets_dropped`` and ``symbols_dropped`` of a block that reads with ``self.reader``."""

    @property
    def packets_dropped(self) -> int:
        return self.reader.packets_dropped

    @property
    def symbols_dropped(self) -> int:
        return self.reader.symbols_dropped
