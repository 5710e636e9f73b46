"""The coded frame header: payload length, sequence number and CRC, protected by a Golay code.

An uncoded BPSK header on faded carriers failed 40% of frames at 5 dB (32 bits, any one wrong
loses the frame). Here 48 header bits (12-bit length, 12-bit sequence number, 8 reserved zero
bits, CRC-16/CCITT over the first 32) go out as four extended Golay (24, 12) codewords, BPSK on
the 96 data carriers of two OFDM symbols, interleaved so that each codeword spreads over every
fourth carrier of both symbols. Minimum distance 8 and soft maximum-likelihood decoding (a
correlation with the 4,096 codewords, one small matrix product) ride out the faded carriers: in a
simulation of this frame over the bench's 3-tap channel, 0 of 4,000 headers failed at 5 dB
against 41% uncoded. The CRC then rejects what noise alone decoded.
"""
from __future__ import annotations

import binascii
from collections import deque
from typing import NamedTuple

import numpy as np
import pmt
from gnuradio import gr

from . import ofdm_params as P
from .fragments import fragment_sizes
from .ofdm_chanest_smoother import CHAN_TAPS_TAG, smooth

WORDS, WORD_BITS, CODE_BITS = 4, 12, 24  # 48 header bits: length 12, sequence 12, reserved 8, CRC 16
SYMBOLS = WORDS * CODE_BITS  # 96 BPSK symbols: HEADER_SYMBOLS OFDM symbols of 48 data carriers
_GOLAY_POLY = 0b110001110101  # g(x) = x^11 + x^10 + x^6 + x^5 + x^4 + x^2 + 1 of the (23, 12) Golay code
assert SYMBOLS == P.HEADER_SYMBOLS * len(P.OCCUPIED[0])


def _codebook() -> np.ndarray:
    """All 4,096 extended Golay codewords (4096, 24) of 0/1, row i encoding the 12 bits of i
    (most significant first): cyclic (23, 12) code plus an overall parity bit."""
    info = (np.arange(1 << WORD_BITS)[:, None] >> np.arange(WORD_BITS - 1, -1, -1)) & 1
    generator = np.zeros((WORD_BITS, 23), np.int64)
    poly = (_GOLAY_POLY >> np.arange(WORD_BITS)) & 1
    for i in range(WORD_BITS):
        generator[i, i:i + WORD_BITS] = poly
    words = info @ generator % 2
    return np.concatenate([words, words.sum(1, keepdims=True) % 2], 1).astype(np.uint8)


CODEBOOK = _codebook()
_CODEBOOK_BPSK = (1.0 - 2.0 * CODEBOOK).astype(np.float32)  # bit 0 -> +1
_CODEBOOK_SYMBOLS = _CODEBOOK_BPSK.astype(np.complex64)
_BIT_WEIGHTS = 1 << np.arange(CODE_BITS - 1, -1, -1, dtype=np.int64)
_WORD_OF = {int(code): i for i, code in enumerate(CODEBOOK.astype(np.int64) @ _BIT_WEIGHTS)}  # codeword -> 12 bits


def _crc(length: int, seq: int) -> int:
    return binascii.crc_hqx(((length << 20) | (seq << 8)).to_bytes(4, "big"), 0xFFFF)


def _words(value: int) -> list[int]:
    """The 48 header bits as four 12-bit words, most significant first."""
    return [(value >> (WORD_BITS * (WORDS - 1 - i))) & 0xFFF for i in range(WORDS)]


def encode(length: int, seq: int) -> np.ndarray:
    """The header of a frame of ``length`` payload symbols and sequence number ``seq`` as
    SYMBOLS BPSK values in carrier order (symbol 0's 48 data carriers, then symbol 1's)."""
    if not 0 < length <= P.MAX_SYMBOLS:
        raise ValueError(f"frame length {length} outside the header's 1..{P.MAX_SYMBOLS}")
    seq %= P.SEQ_MODULO
    coded = _CODEBOOK_SYMBOLS[_words((length << 36) | (seq << 24) | _crc(length, seq))]  # (4, 24); reserved bits 0
    return coded.T.ravel()  # slot p * 4 + w: bit p of word w


def decode(soft: np.ndarray) -> tuple[int, int] | None:
    """(length, sequence number) from SYMBOLS soft values (positive for bit 0, scaled by the
    channel's reliability), or None where the CRC or the reserved bits disagree."""
    soft = soft.astype(np.float32).reshape(CODE_BITS, WORDS)
    # A word whose hard decisions form a codeword needs no search: that codeword correlates with
    # the soft values as sum |soft|, the most any signs can, so it is the maximum-likelihood one.
    # Only the other words are correlated with all 4,096 codewords.
    value = 0
    for w, code in enumerate(((soft < 0).T.astype(np.int64) @ _BIT_WEIGHTS).tolist()):
        word = _WORD_OF.get(code)
        if word is None:
            word = int(np.argmax(_CODEBOOK_BPSK @ soft[:, w]))
        value = (value << WORD_BITS) | word
    length, seq, reserved, crc = value >> 36, (value >> 24) & 0xFFF, (value >> 16) & 0xFF, value & 0xFFFF
    if reserved or not length or crc != _crc(length, seq):
        return None
    return length, seq


class header_inserter(gr.basic_block):
    """Complex payload packets (``packet_len`` tagged) in; frames out: each packet, or each part
    of a packet longer than the length field (``fragments.fragment_sizes``), behind its header
    of SYMBOLS BPSK symbols, tagged ``packet_len`` = SYMBOLS + its payload and numbered from 0 in
    order. Other tags stop here: the air carries none (the receiver numbers images by the header's
    sequence number). Symbols outside any packet are dropped and counted (``symbols_dropped``).

    (One block where there were three, a splitter, a header encoder and a tagged-stream
    multiplexer: every Python block a frame passes costs the flowgraph a GIL hand-over.)"""

    def __init__(self):
        gr.basic_block.__init__(self, "header_inserter", [np.complex64], [np.complex64])
        self.set_tag_propagation_policy(gr.TPP_DONT)
        self.set_output_multiple(SYMBOLS)  # a work call always has room for a header
        # the carrier allocator takes a frame at once: room for two of the longest
        self.set_min_output_buffer(2 * (SYMBOLS + P.MAX_SYMBOLS))
        self._seq = 0
        self._parts: deque[int] = deque()  # payload sizes of the current packet's frames still to start
        self._left = 0  # payload symbols of the current frame still to copy
        self.symbols_dropped = 0

    def forecast(self, noutput_items, ninputs):
        return [1]

    def general_work(self, input_items, output_items):
        inp, out = input_items[0], output_items[0]
        read, written = self.nitems_read(0), self.nitems_written(0)
        lengths = {t.offset - read: pmt.to_long(t.value) for t in self.get_tags_in_window(0, 0, len(inp), _LEN_KEY)}
        lengths = {rel: n for rel, n in lengths.items() if n > 0}  # an empty packet has nothing to send
        i = o = 0  # symbols consumed, produced
        while i < len(inp):
            if not self._left:
                if not self._parts:
                    if i not in lengths:  # not a packet start
                        later = [rel for rel in lengths if rel > i]
                        skip = min(later, default=len(inp)) - i
                        self.symbols_dropped += skip
                        i += skip
                        continue
                    self._parts.extend(fragment_sizes(lengths[i]))
                if o + SYMBOLS > len(out):
                    break
                size = self._parts.popleft()
                out[o:o + SYMBOLS] = encode(size, self._seq)
                self.add_item_tag(0, written + o, _LEN_KEY, pmt.from_long(SYMBOLS + size))
                self._seq = (self._seq + 1) % P.SEQ_MODULO
                o += SYMBOLS
                self._left = size
            n = min(self._left, len(inp) - i, len(out) - o)
            if not n:
                break
            out[o:o + n] = inp[i:i + n]
            i, o, self._left = i + n, o + n, self._left - n
        self.consume(0, i)
        return o


class FrameHeader(NamedTuple):
    """What a frame's sync and header symbols tell the receiver."""
    length: int  # payload symbols
    seq: int  # sequence number
    cfo: float  # carrier frequency offset, subcarrier spacings
    taps: np.ndarray  # channel estimate, FFT_LEN bins, FFT-shifted

    @property
    def frame_len(self) -> int:
        """The payload's OFDM symbols."""
        return -(-self.length // len(P.OCCUPIED[0]))

    def tags(self) -> list[tuple]:
        """(key, value) PMT pairs to tag the payload's first vector with."""
        return list(zip(_HEADER_KEYS, (pmt.from_long(self.length), pmt.from_long(self.frame_len),
                                       pmt.from_long(self.seq), pmt.from_double(self.cfo),
                                       # a list converts to a PMT vector 3x faster than an array
                                       pmt.init_c32vector(P.FFT_LEN, self.taps.tolist()))))


class HeaderDecoder:
    """Frame synchronisation after the Schmidl-Cox trigger, and the header, from frames' sync and
    header vectors (time domain, cyclic prefixes removed: the two sync symbols and the
    HEADER_SYMBOLS header symbols), many frames at once.

    Per frame: the carrier frequency offset from this frame's own sync words, the channel
    estimate from the second sync word (smoothed), the header decoded from the matched-filtered
    carriers; then the channel estimate sharpened by the decoded header (once it decodes, its
    symbols are known: sync word and both header symbols averaged carry a third of the noise).

    The CFO is not corrected on the sample stream by a held estimate (gr-digital's receivers do
    that): a false trigger inside a payload would change it for the rest of that frame. Here a
    trigger inside a frame cannot touch it.
    """

    def __init__(self):
        sync1, sync2 = (np.array(w, np.complex64) for w in P.sync_words())
        self._pairs = np.flatnonzero(sync2[:-1] * sync2[1:])  # neighbouring active carriers k, k + 1
        self._expected = sync2[self._pairs] * sync2[self._pairs + 1].conj()  # conj of their known product
        self._sync2 = sync2
        data = np.array(P.OCCUPIED[0]) + P.FFT_LEN // 2  # FFT-shifted bins
        pilots = np.array(P.PILOTS[0]) + P.FFT_LEN // 2
        self._bins = np.concatenate([data, pilots])
        self._active = np.flatnonzero(sync2)
        self._pilots = np.array(P.PILOT_SYMBOLS[:P.HEADER_SYMBOLS], np.complex64)  # pilot sets 0, 1
        self._offsets = np.arange(-self._pairs.min(), P.FFT_LEN - 1 - self._pairs.max())  # shifts within the FFT
        self._shifted = self._pairs[None] + self._offsets[:, None]  # the pairs at every shift

    def synchronise(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each frame's carrier frequency offset in subcarrier spacings, and its vectors (time
        domain, frames x vectors x FFT_LEN) as carriers with that offset taken out (FFT-shifted).

        The first sync word's halves repeat with a sign flip (odd carriers), rotated by pi times
        the fraction of a spacing. The whole spacings: the carrier shift at which the products of
        neighbouring carriers of the second word match the known ones; the channel, nearly the
        same on neighbours, cancels in them (the words carry the same signs, so the products of
        the two words, Schmidl and Cox's metric, would not tell shifts by two carriers apart).
        A whole spacing moves the carriers by one bin and turns each symbol by 2 pi 80/64."""
        half = P.FFT_LEN // 2
        fraction = np.angle(-(frames[:, 0, :half].conj() * frames[:, 0, half:]).sum(1)) / np.pi
        spectra = carriers(derotate(frames, fraction, 0))
        neighbours = spectra[:, 1, :-1].conj() * spectra[:, 1, 1:]
        whole = self._offsets[np.abs(neighbours[:, self._shifted] @ self._expected).argmax(1)]
        turn = np.exp(-2j * np.pi * (P.FFT_LEN + P.CP_LEN) / P.FFT_LEN * np.outer(whole, np.arange(frames.shape[1])))
        shift = (np.arange(P.FFT_LEN) + whole[:, None]) % P.FFT_LEN  # bin k comes from bin k + whole
        spectra = np.take_along_axis(spectra, shift[:, None, :], 2) * turn[..., None].astype(np.complex64)
        return fraction + whole, spectra

    def common_phase(self, matched: np.ndarray) -> np.ndarray:
        """The rotation that undoes each header symbol's phase against the sync word's (what the
        CFO estimate left: 0.08 subcarrier, its error at 5 dB, turns the second header symbol by
        1.3 rad), from its matched-filtered carriers (data, then pilots): squaring strips the
        BPSK data, the pilots settle the sign."""
        n_data = len(P.OCCUPIED[0])
        rotation = np.exp(-0.5j * np.angle((matched[..., :n_data] ** 2).sum(-1)))
        flipped = (rotation * (matched[..., n_data:] * self._pilots.conj()).sum(-1)).real < 0
        return np.where(flipped, -rotation, rotation).astype(np.complex64)

    def parse(self, frames: np.ndarray) -> list[FrameHeader | None]:
        """The header of each frame (frames x sync and header vectors x FFT_LEN, time domain), or
        None where it fails its check or holds NaN/Inf. One pass of array operations for all of
        them: per frame, the Python around each numpy call cost more than the arithmetic."""
        finite = np.isfinite(frames).all((1, 2))
        frames = np.where(finite[:, None, None], frames, 0)
        cfo, spectra = self.synchronise(frames)
        raw = np.zeros((len(frames), P.FFT_LEN), np.complex64)
        raw[:, self._active] = spectra[:, 1, self._active] / self._sync2[self._active]
        taps = smooth(raw)
        n_data = len(P.OCCUPIED[0])
        rx = spectra[:, 2:][..., self._bins]  # (frames, HEADER_SYMBOLS, data + pilot carriers)
        matched = rx * taps[:, None, self._bins].conj()
        rotation = self.common_phase(matched)[..., None]
        soft = (matched[..., :n_data] * rotation).real.reshape(len(frames), -1)
        rx = rx * rotation
        fields = [decode(word) if ok else None for word, ok in zip(soft, finite)]
        decoded = [i for i, f in enumerate(fields) if f]
        for i in decoded:
            known = np.concatenate([encode(*fields[i]).reshape(P.HEADER_SYMBOLS, n_data), self._pilots], 1)
            raw[i, self._bins] = (raw[i, self._bins] + (rx[i] / known).sum(0)) / (1 + P.HEADER_SYMBOLS)
        taps = dict(zip(decoded, smooth(raw[decoded])))
        return [FrameHeader(*f, float(cfo[i]), taps[i]) if f else None for i, f in enumerate(fields)]


_LEN_KEY = pmt.intern(P.LEN_TAG)
_HEADER_KEYS = [pmt.intern(key) for key in (P.LEN_TAG, P.FRAME_TAG, P.NUM_TAG, P.CFO_TAG, CHAN_TAPS_TAG)]


_SHIFT = np.fft.fftshift(np.arange(P.FFT_LEN))


def derotate(vectors: np.ndarray, cfo, first: int) -> np.ndarray:
    """OFDM symbols ``first``, ``first`` + 1, ... of a frame (time domain, prefixes removed; or of
    several frames, one ``cfo`` each) with a CFO of ``cfo`` subcarrier spacings taken out, in one
    phase reference for the whole frame: every symbol's phase counts the prefixes before it."""
    step = (-2j * np.pi / P.FFT_LEN) * np.asarray(cfo, np.float64)[..., None]  # phase per sample
    # separable over (symbol, sample)
    per_symbol = np.exp(step * (P.FFT_LEN + P.CP_LEN) * (first + np.arange(vectors.shape[-2])))
    per_sample = np.exp(step * np.arange(P.FFT_LEN))
    return vectors * (per_symbol[..., :, None] * per_sample[..., None, :]).astype(np.complex64)


def carriers(vectors: np.ndarray) -> np.ndarray:
    """OFDM symbols (time domain, prefixes removed) to their carriers in FFT-shifted order."""
    return np.fft.fft(vectors, axis=-1)[..., _SHIFT]
