"""U-FNO baseline (Wen et al. 2022): Fourier layers, then U-Fourier layers that add a U-Net path.

Shapes ``(B, T_in, n0, n1, n2) -> (B, 1, n0, n1, n2)``, each n a multiple of ``2**unet_depth``::

    x = conv1(T_in + 3 -> w)([frames, x, y, z])
    x = GELU(SpectralConv(x) + conv1(x))                    n_fourier times
    x = GELU(SpectralConv(x) + conv1(x) + UNetCore(x))      n_ufourier times (UNetCore w -> w, width w)
    y = conv1(w -> width_q) - GELU - conv1(width_q -> 1)

Defaults (``width=12, modes=6, 3 + 3 layers, unet_depth=2, width_q=48``): 2,080,213 real scalars = 1,333,717 with
complex weights counted once (the paper's UFNO3d: 1,992,701).
"""

from __future__ import annotations

import torch
from torch import nn

from .base import OperatorModel
from .layers.blocks import PaddingMode, PointwiseMLP, conv1
from .layers.spectral import Basis, SpectralConv3d
from .layers.unet import UNetCore
from .options import Modes, NonNegativeInt, PositiveInt
from .registry import register_model


@register_model("ufno")
class UFNO(OperatorModel):
    """U-Net enhanced Fourier neural operator ``(B, T_in, n, n, n) -> (B, 1, n, n, n)``, n a multiple of
    ``2**unet_depth`` when there are U-Fourier layers (see :mod:`pihamno.models.ufno`).

    Parameters
    ----------
    T_in : input frames (channels of ``u``), positive.
    width : channels ``w`` of the layers (and of the inner U-Nets' finest level), positive.
    modes : spectral modes kept per axis: one positive int for all three, or three (a list is fine).
    n_fourier : Fourier layers, 0 or more.
    n_ufourier : U-Fourier layers after them, 0 or more.
    unet_depth : levels below the finest of each inner U-Net, positive.
    width_q : hidden width of the head ``w -> width_q -> 1``, positive.
    spectral : basis of the spectral convolutions: ``"fft"`` (default, periodic) or ``"dct"`` (Neumann).
    padding_mode : ghost layer of the inner U-Nets' 3x3x3 convolutions: ``"replicate"`` (default) or ``"reflect"``.
    """


    def __init__(
        self,
        *,
        T_in: PositiveInt = 5,
        width: PositiveInt = 12,
        modes: Modes = 6,
        n_fourier: NonNegativeInt = 3,
        n_ufourier: NonNegativeInt = 3,
        unet_depth: PositiveInt = 2,
        width_q: PositiveInt = 48,
        spectral: Basis = "fft",
        padding_mode: PaddingMode = "replicate",
    ):
        super().__init__()
        w = width
        n_total = n_fourier + n_ufourier
        self.n_fourier = n_fourier
        self.grid_multiple = 2**unet_depth if n_ufourier else 1
        self.min_grid = 2 ** (unet_depth + 1) if n_ufourier else 1
        self.lift = conv1(T_in + 3, w)
        self.spectral = nn.ModuleList(SpectralConv3d(w, w, modes, spectral) for _ in range(n_total))
        self.pointwise = nn.ModuleList(conv1(w, w) for _ in range(n_total))
        self.unets = nn.ModuleList(UNetCore(w, w, w, unet_depth, padding_mode) for _ in range(n_ufourier))
        self.head = PointwiseMLP(w, [width_q], 1)
        self.act = nn.GELU()

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        self.check_input(u)
        x = self.lift(self.with_coordinates(u))
        for i, (spec, point) in enumerate(zip(self.spectral, self.pointwise)):
            y = spec(x).to(x.dtype) + point(x)
            if i >= self.n_fourier:
                y = y + self.unets[i - self.n_fourier](x)
            x = self.act(y)
        return self.head(x)
