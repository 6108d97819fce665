"""F-FNO baseline (Tran et al. 2023): factorised (per-axis) spectral convolutions in residual blocks.

Shapes ``(B, T_in, n0, n1, n2) -> (B, 1, n0, n1, n2)``, any grid size::

    x = conv1(T_in + 3 -> w)([frames, x, y, z])
    x = x + conv1(GELU(conv1(K(x))))            n_layers times; K = FactorizedSpectralConv (w -> w),
                                                feed-forward w -> expansion w -> w
    y = conv1(w -> width_q) - GELU - conv1(width_q -> 1)

Defaults (``width=48, modes=8, n_layers=4, expansion=3, width_q=192``): 287,281 parameters counting complex
weights once (the paper's F-FNO for AC/CH: 288,773), 508,465 real scalars.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .base import OperatorModel
from .layers.blocks import PointwiseMLP, conv1
from .layers.spectral import FactorizedSpectralConv3d, check_basis


@dataclass
class FFNOConfig:
    T_in: int = 5
    width: int = 48
    modes: int = 8
    n_layers: int = 4
    expansion: int = 3
    width_q: int = 192
    spectral: str = "fft"


class FFNO(OperatorModel):
    """Factorised Fourier neural operator ``(B, T_in, n, n, n) -> (B, 1, n, n, n)``."""

    name = "ffno"
    Config = FFNOConfig

    def __init__(self, **options):
        super().__init__(**options)
        cfg = self.cfg
        w = cfg.width
        self.lift = conv1(cfg.T_in + 3, w)
        self.spectral = nn.ModuleList(
            FactorizedSpectralConv3d(w, w, cfg.modes, check_basis(cfg.spectral)) for _ in range(cfg.n_layers)
        )
        self.feedforward = nn.ModuleList(PointwiseMLP(w, [cfg.expansion * w], w) for _ in range(cfg.n_layers))
        self.head = PointwiseMLP(w, [cfg.width_q], 1)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        self.check_input(u)
        x = self.lift(self.with_coordinates(u))
        for spec, ff in zip(self.spectral, self.feedforward):
            x = x + ff(spec(x).to(x.dtype))
        return self.head(x)
