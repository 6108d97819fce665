"""U-FNO baseline (Wen et al. 2022): Fourier layers, then U-Fourier layers that add a U-Net path.

Shapes ``(B, T_in, n0, n1, n2) -> (B, 1, n0, n1, n2)``, each n a multiple of ``2**unet_depth``::

    x = conv1(T_in + 3 -> w)([frames, x, y, z])
    x = GELU(SpectralConv(x) + conv1(x))                    n_fourier times
    x = GELU(SpectralConv(x) + conv1(x) + UNetCore(x))      n_ufourier times (UNetCore w -> w, width w)
    y = conv1(w -> width_q) - GELU - conv1(width_q -> 1)

Defaults (``width=12, modes=6, 3 + 3 layers, unet_depth=2, width_q=48``): 2,080,213 real parameters (the paper's
UFNO3d: 1,992,701).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .base import OperatorModel
from .layers.blocks import PointwiseMLP, check_padding, conv1
from .layers.spectral import SpectralConv3d, check_basis
from .layers.unet import UNetCore


@dataclass
class UFNOConfig:
    T_in: int = 5
    width: int = 12
    modes: int | list[int] = 6
    n_fourier: int = 3
    n_ufourier: int = 3
    unet_depth: int = 2
    width_q: int = 48
    spectral: str = "fft"
    padding_mode: str = "replicate"
    may_be_zero = ("n_fourier", "n_ufourier")


class UFNO(OperatorModel):
    """U-Net enhanced Fourier neural operator ``(B, T_in, n, n, n) -> (B, 1, n, n, n)``."""

    name = "ufno"
    Config = UFNOConfig

    def __init__(self, **options):
        super().__init__(**options)
        cfg = self.cfg
        w, basis = cfg.width, check_basis(cfg.spectral)
        n_total = cfg.n_fourier + cfg.n_ufourier
        self.grid_multiple = 2**cfg.unet_depth if cfg.n_ufourier else 1
        self.min_grid = 2 ** (cfg.unet_depth + 1) if cfg.n_ufourier else 1
        self.lift = conv1(cfg.T_in + 3, w)
        self.spectral = nn.ModuleList(SpectralConv3d(w, w, cfg.modes, basis) for _ in range(n_total))
        self.pointwise = nn.ModuleList(conv1(w, w) for _ in range(n_total))
        self.unets = nn.ModuleList(
            UNetCore(w, w, w, cfg.unet_depth, check_padding(cfg.padding_mode)) for _ in range(cfg.n_ufourier)
        )
        self.head = PointwiseMLP(w, [cfg.width_q], 1)
        self.act = nn.GELU()

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        self.check_input(u)
        x = self.lift(self.with_coordinates(u))
        for i, (spec, point) in enumerate(zip(self.spectral, self.pointwise)):
            y = spec(x).to(x.dtype) + point(x)
            if i >= self.cfg.n_fourier:
                y = y + self.unets[i - self.cfg.n_fourier](x)
            x = self.act(y)
        return self.head(x)
