"""LPIPS (Zhang et al., 2018), AlexNet variant v0.1, the reference definition, from local weights.

Two files are needed and neither can be fetched at run time: the ImageNet AlexNet of torchvision
(``alexnet-owt-7be5be79.pth``) and LPIPS' linear heads (``alex.pth`` from the ``lpips`` package,
``lpips/weights/v0.1/alex.pth``). They are looked up in $SEMCOM_LPIPS_DIR, then in
~/.cache/semcom/lpips, and AlexNet also in torch's hub cache (~/.cache/torch/hub/checkpoints).
Without them ``load()`` returns None and callers report LPIPS as null.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

ALEXNET_FILE = "alexnet-owt-7be5be79.pth"
HEADS_FILE = "alex.pth"
_SHIFT = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
_SCALE = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)
_TAPS = (1, 4, 7, 9, 11)  # ReLU outputs of AlexNet's five conv layers
_WIDTHS = (64, 192, 384, 256, 256)


def search_dirs() -> list[Path]:
    dirs = [Path(os.environ["SEMCOM_LPIPS_DIR"])] if os.environ.get("SEMCOM_LPIPS_DIR") else []
    home = Path.home()
    return dirs + [home / ".cache" / "semcom" / "lpips", Path(torch.hub.get_dir()) / "checkpoints"]


def _find(name: str) -> Path | None:
    return next((d / name for d in search_dirs() if (d / name).is_file()), None)


class LPIPS(nn.Module):
    def __init__(self, alexnet_state: dict, heads_state: dict):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU())
        self.features.load_state_dict({k[len("features."):]: v for k, v in alexnet_state.items()
                                       if k.startswith("features.")})
        self.heads = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in _WIDTHS)
        for i, head in enumerate(self.heads):
            head.weight.data.copy_(heads_state[f"lin{i}.model.1.weight"])
        self.eval().requires_grad_(False)

    def _taps(self, x):
        x = ((x * 2 - 1) - _SHIFT) / _SCALE
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in _TAPS:
                out.append(x / (x.pow(2).sum(1, keepdim=True).sqrt() + 1e-10))
        return out

    @torch.no_grad()
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-image distance between images in [0, 1], shape (N, 3, H, W)."""
        return sum(h((a - b) ** 2).mean((1, 2, 3)) for h, a, b in zip(self.heads, self._taps(x), self._taps(y)))

    def __call__(self, x, y) -> np.ndarray:
        as_tensor = lambda a: torch.from_numpy(np.ascontiguousarray(a, np.float32))
        return super().__call__(as_tensor(x), as_tensor(y)).numpy()


def load(verbose: bool = True) -> LPIPS | None:
    """The LPIPS metric, or None (with a one-line notice) when its weights are not on this machine."""
    alex, heads = _find(ALEXNET_FILE), _find(HEADS_FILE)
    if alex is None or heads is None:
        if verbose:
            missing = " and ".join(n for n, p in ((ALEXNET_FILE, alex), (HEADS_FILE, heads)) if p is None)
            print(f"LPIPS unavailable: {missing} not found in {', '.join(map(str, search_dirs()))}; "
                  "reporting lpips as null", file=sys.stderr)
        return None
    return LPIPS(torch.load(alex, map_location="cpu"), torch.load(heads, map_location="cpu"))
