"""gnuradio.semcom: secure semantic communication blocks (gr-semcom).

The analog OFDM PHY carries DeepJSCC symbols (one image = one packet); the models run through the
``semcom`` library's ONNX runtime; the stego blocks hide a private packet in a host packet with a
key that Alice and Bob share; the Eve block runs the eavesdroppers of ``semcom.attacks``.
"""
import os
import sys

from threadpoolctl import threadpool_limits

from .headless import compile_flowgraph, stop_when_received
from .image_sink import image_sink
from .image_source import image_source
from .jscc_decoder import jscc_decoder
from .jscc_encoder import jscc_encoder, packet_symbols
from .metrics_sink import metrics_sink
from .ofdm_analog_rx import ofdm_analog_rx
from .ofdm_analog_tx import ofdm_analog_tx
from .ofdm_frame_sync import ofdm_frame_sync
from .ofdm_header import header_inserter
from .sdr import NoDevice, sdr_sink, sdr_source
from .stego_embed import stego_embed
from .stego_extract import stego_extract


# Qt flowgraphs run headless where no display exists (CI, ssh): Qt would abort without one
if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# numpy's BLAS on one thread: the blocks already run in parallel, and after each small matrix
# product (header decoding, channel smoothing, MS-SSIM) an OpenBLAS worker spins on the other
# core; in the PHY bench it burnt 3.2 of 11 CPU seconds.
threadpool_limits(1, user_api="blas")

# The Python blocks share one GIL. A block coming back from ONNX Runtime (which ran without it)
# waits for it until the thread holding it reaches the switch interval, and its core idles
# meanwhile: 1 ms instead of Python's 5 kept the 2 cores 88-90% busy instead of 82-85% and made
# loopback_sim 13% faster (five alternating pairs of runs). Never raised where it is lower.
GIL_SWITCH_INTERVAL = 0.001
sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_INTERVAL))

# imported only by the flowgraphs that use them: the Eve block brings torch (gradient-based
# attacks), the views bring Qt
_LAZY = {"eve_attack": "eve_attack", "image_view": "qt_views", "figures_view": "qt_views"}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        block = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = block  # the class, not the submodule of the same name that importing it set
        return block
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
