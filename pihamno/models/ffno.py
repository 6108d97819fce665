"""F-FNO baseline (Tran et al. 2023): factorised (per-axis) spectral convolutions in residual blocks.

Shapes ``(B, T_in, n0, n1, n2) -> (B, 1, n0, n1, n2)``, any grid size::

    x = conv1(T_in + 3 -> w)([frames, x, y, z])
    x = x + conv1(GELU(conv1(K(x))))            n_layers times; K = FactorizedSpectralConv (w -> w),
                                                feed-forward w -> expansion w -> w
    y = conv1(w -> width_q) - GELU - conv1(width_q -> 1)

Defaults (``width=48, modes=8, n_layers=4, expansion=3, width_q=192``): 508,465 real scalars = 287,281 with
complex weights counted once (the paper's F-FNO for AC/CH: 288,773, counted once).
"""

from __future__ import annotations

import torch
from torch import nn

from .base import OperatorModel
from .layers.blocks import PointwiseMLP, conv1
from .layers.spectral import Basis, FactorizedSpectralConv3d
from .options import PositiveInt
from .registry import register_model


@register_model("ffno")
class FFNO(OperatorModel):
    """Factorised Fourier neural operator ``(B, T_in, n, n, n) -> (B, 1, n, n, n)``, any grid (see
    :mod:`pihamno.models.ffno`).

    Parameters
    ----------
    T_in : input frames (channels of ``u``), positive.
    width : channels ``w`` of the layers, positive.
    modes : spectral modes kept along each axis by the 1D transforms, positive.
    n_layers : residual F-FNO layers, positive.
    expansion : hidden-width factor of each layer's feed-forward ``w -> expansion w -> w``, positive.
    width_q : hidden width of the head ``w -> width_q -> 1``, positive.
    spectral : basis of the 1D spectral convolutions: ``"fft"`` (default, periodic) or ``"dct"`` (Neumann).
    """


    def __init__(
        self,
        *,
        T_in: PositiveInt = 5,
        width: PositiveInt = 48,
        modes: PositiveInt = 8,
        n_layers: PositiveInt = 4,
        expansion: PositiveInt = 3,
        width_q: PositiveInt = 192,
        spectral: Basis = "fft",
    ):
        super().__init__()
        w = width
        self.lift = conv1(T_in + 3, w)
        self.spectral = nn.ModuleList(FactorizedSpectralConv3d(w, w, modes, spectral) for _ in range(n_layers))
        self.feedforward = nn.ModuleList(PointwiseMLP(w, [expansion * w], w) for _ in range(n_layers))
        self.head = PointwiseMLP(w, [width_q], 1)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        self.check_input(u)
        x = self.lift(self.with_coordinates(u))
        for spec, ff in zip(self.spectral, self.feedforward):
            x = x + ff(spec(x).to(x.dtype))
        return self.head(x)
