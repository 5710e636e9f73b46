"""SDR front ends through SoapySDR (gr-soapy): USRP, HackRF, LimeSDR, ... by device string."""
from __future__ import annotations

from gnuradio import gr

from . import ofdm_params as P

DEFAULT_RATE = 2e6  # HackRF's lowest sample rate (the receiver needs more than 2 cores to keep up: README)


class NoDevice(RuntimeError):
    """SoapySDR found no device that matches the arguments."""


def _open(kind: str, device: str):
    from gnuradio import soapy
    if "driver" not in {kv.split("=")[0].strip() for kv in device.split(",")}:
        # gr-soapy needs the driver first; "type=b200" alone would match nothing anyway
        raise ValueError(f"device string {device!r} must name the driver, e.g. 'driver=uhd,type=b200' or "
                         "'driver=hackrf,serial=...'")
    try:
        return getattr(soapy, kind)(device, "fc32", 1, "", "", [""], [""])
    except RuntimeError as e:
        raise NoDevice(f"no device found for {device!r} ({e}); SoapySDRUtil --find lists the attached ones") from e


def _tune(dev, rate: float, freq: float, gain: float, antenna: str, bandwidth: float) -> None:
    dev.set_sample_rate(0, rate)
    dev.set_frequency(0, freq)
    dev.set_gain(0, gain)
    if bandwidth:
        dev.set_bandwidth(0, bandwidth)
    if antenna:
        dev.set_antenna(0, antenna)


class sdr_sink(gr.hier_block2):
    """Transmits the analog OFDM bursts. Burst mode: gr-soapy ends a burst where each ``packet_len``
    tagged stream (frame plus gap) ends, so the radio idles between frames."""

    def __init__(self, device: str = "driver=hackrf", freq: float = 2.45e9, rate: float = DEFAULT_RATE,
                 gain: float = 20.0, antenna: str = "", bandwidth: float = 0.0):
        gr.hier_block2.__init__(self, "sdr_sink", gr.io_signature(1, 1, gr.sizeof_gr_complex), gr.io_signature(0, 0, 0))
        self.dev = _open("sink", device)
        _tune(self.dev, rate, freq, gain, antenna, bandwidth)
        self.dev.set_length_tag_name(P.LEN_TAG)
        self.connect(self, self.dev)

    def set_freq(self, freq: float) -> None:
        self.dev.set_frequency(0, freq)

    def set_gain(self, gain: float) -> None:
        self.dev.set_gain(0, gain)


class sdr_source(gr.hier_block2):
    """Receives baseband samples for the analog OFDM RX."""

    def __init__(self, device: str = "driver=hackrf", freq: float = 2.45e9, rate: float = DEFAULT_RATE,
                 gain: float = 30.0, antenna: str = "", bandwidth: float = 0.0):
        gr.hier_block2.__init__(self, "sdr_source", gr.io_signature(0, 0, 0), gr.io_signature(1, 1, gr.sizeof_gr_complex))
        self.dev = _open("source", device)
        _tune(self.dev, rate, freq, gain, antenna, bandwidth)
        self.connect(self.dev, self)

    def set_freq(self, freq: float) -> None:
        self.dev.set_frequency(0, freq)

    def set_gain(self, gain: float) -> None:
        self.dev.set_gain(0, gain)
