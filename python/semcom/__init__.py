"""semcom: secure semantic communication (DeepJSCC, covert INN steganography, intelligent
eavesdroppers). Importable without GNU Radio; the GNU Radio blocks build on it."""

__version__ = "0.1.0"
