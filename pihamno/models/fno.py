"""FNO baseline (Li et al. 2021), 3D spatial spectral convolutions on the ``T_in`` frames as channels.

Shapes ``(B, T_in, n0, n1, n2) -> (B, 1, n0, n1, n2)``, any grid size (modes are clipped to what a grid holds)::

    x = conv1(T_in + 3 -> w)([frames, x, y, z])
    x = GELU(SpectralConv(x) + conv1(x))        n_layers times (no GELU after the last)
    y = conv1(w -> width_q) - GELU - conv1(width_q -> 1)

Defaults (``width=12, modes=8, n_layers=2, width_q=48``) give 1,180,741 real scalars = 590,917 with complex weights
counted once, against 1,180,861 for the HAMNO paper's FNO4d (its spectral part, 8 x 12^2 x 8^3 x 2 = 1,179,648, is
the same; see docs/models.md).
"""

from __future__ import annotations

import torch
from torch import nn

from .base import OperatorModel
from .layers.blocks import PointwiseMLP, conv1
from .layers.spectral import Basis, SpectralConv3d
from .options import Modes, PositiveInt
from .registry import register_model


@register_model("fno")
class FNO(OperatorModel):
    """Fourier neural operator ``(B, T_in, n, n, n) -> (B, 1, n, n, n)``, any grid (see :mod:`pihamno.models.fno`).

    Parameters
    ----------
    T_in : input frames (channels of ``u``), positive.
    width : channels ``w`` of the Fourier layers, positive.
    modes : spectral modes kept per axis: one positive int for all three, or three (a list is fine).
    n_layers : Fourier layers, positive.
    width_q : hidden width of the head ``w -> width_q -> 1``, positive.
    spectral : basis of the spectral convolutions: ``"fft"`` (default, periodic) or ``"dct"`` (Neumann).
    """


    def __init__(
        self,
        *,
        T_in: PositiveInt = 5,
        width: PositiveInt = 12,
        modes: Modes = 8,
        n_layers: PositiveInt = 2,
        width_q: PositiveInt = 48,
        spectral: Basis = "fft",
    ):
        super().__init__()
        w = width
        self.lift = conv1(T_in + 3, w)
        self.spectral = nn.ModuleList(SpectralConv3d(w, w, modes, spectral) for _ in range(n_layers))
        self.pointwise = nn.ModuleList(conv1(w, w) for _ in range(n_layers))
        self.head = PointwiseMLP(w, [width_q], 1)
        self.act = nn.GELU()

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        self.check_input(u)
        x = self.lift(self.with_coordinates(u))
        for i, (spec, point) in enumerate(zip(self.spectral, self.pointwise)):
            x = spec(x).to(x.dtype) + point(x)
            if i < len(self.spectral) - 1:
                x = self.act(x)
        return self.head(x)
