"""The analog OFDM frame shared by transmitter and receiver.

64-point FFT, 16-sample cyclic prefix, 48 data and 4 pilot carriers (the 802.11a-like allocation of
gr-digital's OFDM examples), two Schmidl-Cox sync symbols, two symbols of Golay-coded BPSK header
(``ofdm_header``). The payload carries the JSCC symbols themselves, one complex value per data carrier.
"""
from __future__ import annotations

import numpy as np
from semcom.channel import noise_variance

FFT_LEN = 64
CP_LEN = 16
TX_SCALE = 0.05  # output amplitude: peaks stay well inside a DAC's range
GAP = 320  # zeros after every burst: back-to-back frames were lost without it
OCCUPIED = (tuple(range(-26, -21)) + tuple(range(-20, -7)) + tuple(range(-6, 0)) + tuple(range(1, 7))
            + tuple(range(8, 21)) + tuple(range(22, 27)),)
PILOTS = ((-21, -7, 7, 21),)
_PILOT_SIGNS = np.where(np.random.default_rng(7).integers(0, 2, 127) == 1, 1.0, -1.0)
PILOT_SYMBOLS = tuple((s, s, s, -s) for s in _PILOT_SIGNS)
LEN_TAG = "packet_len"
FRAME_TAG = "frame_len"
NUM_TAG = "packet_num"
SNR_TAG = "snr_db"
CFO_TAG = "cfo"  # the frame's carrier frequency offset, in subcarrier spacings
MAX_SYMBOLS = 4095  # the 12-bit length field of the header
SEQ_MODULO = 1 << 12  # the header's 12-bit sequence number wraps here
HEADER_SYMBOLS = 2  # OFDM symbols of coded header after the two sync symbols
LONGEST_PAYLOAD = -(-MAX_SYMBOLS // len(OCCUPIED[0]))  # OFDM symbols
# The longest frame in OFDM symbols (sync, header, the payload) and as a burst in samples: blocks
# that pass whole frames need buffers that hold two (GNU Radio's defaults hold about 64 OFDM symbols).
LONGEST_FRAME = 2 + HEADER_SYMBOLS + LONGEST_PAYLOAD
LONGEST_BURST = LONGEST_FRAME * (FFT_LEN + CP_LEN) + GAP
# Schmidl-Cox plateau |P|^2/R^2 is about (SNR / (SNR + 1))^2: 0.58 at 5 dB, where stock 0.9 misses
DETECTION_THRESHOLD = 0.4


def _active():
    return {c % FFT_LEN for c in OCCUPIED[0] + PILOTS[0]}


def sync_words() -> tuple[list[complex], list[complex]]:
    """Schmidl-Cox preamble as gr-digital builds it: word 1 on every other (odd) active carrier,
    so its two time halves repeat up to sign, scaled by sqrt(2) to keep the energy; word 2 on all
    active carriers for the channel estimate. BPSK, DC empty, in FFT-shifted order."""
    signs = np.random.default_rng(42).integers(0, 2, FFT_LEN) * 2 - 1
    active = _active()
    w1 = [np.sqrt(2) * signs[k] if (k in active and k % 2) else 0 for k in range(FFT_LEN)]
    w2 = [float(signs[k]) if (k in active and k) else 0 for k in range(FFT_LEN)]
    return list(np.fft.fftshift(w1).astype(complex)), list(np.fft.fftshift(w2).astype(complex))


def unwrap_seq(last: int, seq: int) -> int:
    """The header sequence number ``seq`` counted on from the unwrapped ``last`` (-1 at the start):
    the next one it can be, a repeat counting as a full wrap."""
    return last + ((seq - last) % SEQ_MODULO or SEQ_MODULO)


def noise_voltage(snr_db: float, scale: float = TX_SCALE) -> float:
    """Time-domain noise amplitude (``channels.channel_model``'s noise_voltage) that puts the
    equalised payload symbols at ``snr_db`` in the convention of ``semcom.channel``.

    The unnormalised IFFT/FFT pair scales a carrier by FFT_LEN and white noise power by FFT_LEN, so
    a unit-power symbol sent at amplitude ``scale`` meets per-carrier noise FFT_LEN * v^2 against
    signal scale^2 * FFT_LEN^2: SNR = scale^2 * FFT_LEN / v^2.
    """
    return float(scale * np.sqrt(FFT_LEN * noise_variance(snr_db)))
