"""Eve's reconstruction functions. Every attack is called the same way, by the evaluation and by
the GNU Radio Eve block: ``attack(symbols, snr_db)`` with Eve's equalised complex symbols (N, K) and
her receiver's SNR in dB returns float images (N, 3, H, W) in [0, 1].

What each strategy may use (the threat model of the design):
  naive               Alice's decoder (the reference row of the paper)
  glassbox            Alice's encoder file, nothing else (gradient inversion, Algorithm 1)
  closedbox           query access to Alice's transmitter and public faces (inverse network, Algorithm 2)
  genai-glassbox      the encoder file and a face generator trained on public faces (eqs. 17-21)
  genai-closedbox     query access and the face generator (eqs. 22-23)
  adaptive-closedbox  covert communication on: Eve makes Alice hide images of her choosing
"""
from __future__ import annotations

STRATEGIES = ("naive", "glassbox", "closedbox", "genai-glassbox", "genai-closedbox", "adaptive-closedbox")
PAPER_STRATEGIES = STRATEGIES[:5]
# closed-box strategies: (inverse kind, what Eve's queries teach her with covert communication on)
QUERIED = {"closedbox": ("image", "host"), "genai-closedbox": ("latent", "host"), "adaptive-closedbox": ("image", "private")}


def parse_strategies(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in names if s not in STRATEGIES]
    if unknown or not names:
        raise ValueError(f"unknown strategy {', '.join(unknown) or '(none)'}; choose from {', '.join(STRATEGIES)}")
    return names
