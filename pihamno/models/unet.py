"""U-Net baseline: :class:`~.layers.unet.UNetCore` from the frames and coordinates straight to the next frame.

Shapes ``(B, T_in, n0, n1, n2) -> (B, 1, n0, n1, n2)``, each n a multiple of ``2**depth``::

    y = UNetCore(T_in + 3 -> 1, width, depth)([frames, x, y, z])

Defaults (``width=50, depth=2``, widths 50/100/200): 3,319,001 parameters (the paper's UNet3d: 3,275,065).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .base import OperatorModel
from .layers.blocks import check_padding
from .layers.unet import UNetCore


@dataclass
class UNetConfig:
    T_in: int = 5
    width: int = 50
    depth: int = 2
    padding_mode: str = "replicate"


class UNet(OperatorModel):
    """Convolutional U-Net ``(B, T_in, n, n, n) -> (B, 1, n, n, n)``."""

    name = "unet"
    Config = UNetConfig

    def __init__(self, **options):
        super().__init__(**options)
        cfg = self.cfg
        self.grid_multiple = 2**cfg.depth
        self.min_grid = 2 ** (cfg.depth + 1)
        self.core = UNetCore(cfg.T_in + 3, 1, cfg.width, cfg.depth, check_padding(cfg.padding_mode))

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        self.check_input(u)
        return self.core(self.with_coordinates(u))
