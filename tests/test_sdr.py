"""The SoapySDR flowgraphs: a clear error without hardware; over the air with it (-m hardware)."""
import os
import time
from pathlib import Path

import numpy as np
import pytest

from gnuradio.semcom import NoDevice, compile_flowgraph

ROOT = Path(__file__).resolve().parents[1]
ABSENT = "driver=uhd,serial=semcom-no-such-device"
TX_ARGS = os.environ.get("SEMCOM_SOAPY_ARGS", "")
RX_ARGS = os.environ.get("SEMCOM_SOAPY_RX_ARGS", TX_ARGS)  # a second board for half-duplex radios (HackRF)


@pytest.mark.parametrize("name", ["alice_tx_soapy", "bob_rx_soapy", "eve_rx_soapy"])
def test_soapy_flowgraph_without_its_device_says_which(name, tmp_path):
    flowgraph = compile_flowgraph(ROOT / "flowgraphs" / f"{name}.grc", tmp_path)
    receiver = {"out": str(tmp_path / "out")} if "_rx_" in name else {}
    with pytest.raises(NoDevice, match=f"no device found for '{ABSENT}'"):
        getattr(flowgraph, name)(device=ABSENT, **receiver)


def test_a_device_string_without_a_driver_is_refused():
    from gnuradio.semcom import sdr_source
    with pytest.raises(ValueError, match="type=b200"):
        sdr_source("type=b200")


@pytest.mark.hardware
@pytest.mark.skipif(not TX_ARGS, reason="no SDR: set SEMCOM_SOAPY_ARGS (and SEMCOM_SOAPY_RX_ARGS for a second board)")
def test_over_the_air_frames_arrive_in_order():
    """20 sample portraits over the air at 2.45 GHz, 2 MS/s: at least 18 decoded, ids increasing,
    and what arrives is the image sent (PSNR above 15 dB), judged by the metrics sink."""
    from gnuradio import gr
    from gnuradio.semcom import (image_source, jscc_decoder, jscc_encoder, metrics_sink, ofdm_analog_rx,
                                 ofdm_analog_tx, sdr_sink, sdr_source)
    tb = gr.top_block()
    src, enc, tx = image_source(repeat=True), jscc_encoder(), ofdm_analog_tx()
    radio_tx = sdr_sink(TX_ARGS, gain=float(os.environ.get("SEMCOM_TX_GAIN", "20")))
    radio_rx = sdr_source(RX_ARGS, gain=float(os.environ.get("SEMCOM_RX_GAIN", "30")))
    rx, dec, scores = ofdm_analog_rx(), jscc_decoder(), metrics_sink(frames=20)
    tb.connect(src, enc, tx, radio_tx)
    tb.connect(radio_rx, rx, dec, scores)
    tb.start()
    scores.wait(60)
    time.sleep(1)
    tb.stop()
    tb.wait()
    ids = [r["image_id"] for r in scores.records][:20]
    assert len(ids) >= 18 and ids == sorted(ids), ids
    assert np.median([r["psnr"] for r in scores.records]) > 15
