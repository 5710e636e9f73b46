"""Noise reduction of the preamble's channel estimate."""
from __future__ import annotations

import numpy as np
import pmt
from gnuradio import gr

from . import ofdm_params as P

CHAN_TAPS_TAG = "ofdm_sync_chan_taps"
EARLY = 4  # delays before the sync point: a timing estimate a few samples late wraps taps round


def projection(fft_len: int = P.FFT_LEN, taps: int = P.CP_LEN, early: int = EARLY) -> tuple[np.ndarray, np.ndarray]:
    """Active carriers (FFT-shifted bins) and the least-squares projector that keeps, of a channel
    estimate on them, only what an impulse response of delays -early .. taps-1 can produce."""
    active = np.sort(np.array([c for c in P.OCCUPIED[0] + P.PILOTS[0]]) + fft_len // 2)
    k = active - fft_len // 2
    delays = np.arange(-early, taps)
    basis = np.exp(-2j * np.pi * np.outer(k, delays) / fft_len)
    return active, basis @ np.linalg.pinv(basis)


_ACTIVE, _PROJECTOR = projection()


def smooth(taps: np.ndarray) -> np.ndarray:
    """A channel estimate (FFT_LEN bins, FFT-shifted) projected onto CP-long impulse responses."""
    out = np.zeros(len(taps), np.complex64)
    out[_ACTIVE] = _PROJECTOR @ taps[_ACTIVE]
    return out


def taps_from_pmt(value) -> np.ndarray:
    return np.asarray(pmt.c32vector_elements(value), np.complex64)


class ofdm_chanest_smoother(gr.sync_block):
    """Replaces the ``ofdm_sync_chan_taps`` tag of ``ofdm_chanest_vcvc`` by its projection on
    impulse responses no longer than the cyclic prefix. The raw estimate divides one noisy
    preamble symbol by its known value on each of the 52 active carriers; the channel has only
    about CP + 4 = 20 degrees of freedom, so the projection leaves 20/52 of the estimate's noise
    (4 dB less). (gr-digital's own ``eq_noise_red_len`` option is accepted but not implemented.)
    Samples pass unchanged.
    """

    def __init__(self):
        gr.sync_block.__init__(self, "ofdm_chanest_smoother", [(np.complex64, P.FFT_LEN)], [(np.complex64, P.FFT_LEN)])
        self.set_tag_propagation_policy(gr.TPP_DONT)

    def work(self, input_items, output_items):
        n = len(output_items[0])
        output_items[0][:] = input_items[0][:n]
        delta = self.nitems_written(0) - self.nitems_read(0)
        for t in self.get_tags_in_window(0, 0, n):
            value = t.value
            if pmt.symbol_to_string(t.key) == CHAN_TAPS_TAG:
                smoothed = smooth(taps_from_pmt(value))
                value = pmt.init_c32vector(len(smoothed), smoothed.tolist())
            self.add_item_tag(0, t.offset + delta, t.key, value)
        return n
