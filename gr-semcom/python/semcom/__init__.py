"""gnuradio.semcom: secure semantic communication blocks (gr-semcom).

The analog OFDM PHY carries DeepJSCC symbols (one image = one packet); the models run through the
``semcom`` library's ONNX runtime; the stego blocks hide a private packet in a host packet with a
key that Alice and Bob share; the Eve block runs the eavesdroppers of ``semcom.attacks``.
"""
from .burst_tagger import burst_tagger
from .headless import compile_flowgraph, stop_when_received
from .image_sink import image_sink
from .image_source import image_source
from .jscc_decoder import jscc_decoder
from .jscc_encoder import jscc_encoder
from .metrics_sink import metrics_sink
from .ofdm_analog_rx import ofdm_analog_rx
from .ofdm_analog_tx import ofdm_analog_tx
from .ofdm_chanest_smoother import ofdm_chanest_smoother
from .ofdm_phase_tracker import ofdm_phase_tracker
from .sdr import NoDevice, sdr_sink, sdr_source
from .stego_embed import stego_embed
from .stego_extract import stego_extract


def __getattr__(name):
    # the Eve block brings torch (gradient-based attacks): imported only by flowgraphs that use it
    if name == "eve_attack":
        from .eve_attack import eve_attack as block
        globals()[name] = block  # the class, not the submodule of the same name that importing it set
        return block
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
