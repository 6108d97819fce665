"""U-Net baseline: :class:`~.layers.unet.UNetCore` from the frames and coordinates straight to the next frame.

Shapes ``(B, T_in, n0, n1, n2) -> (B, 1, n0, n1, n2)``, each n a multiple of ``2**depth``::

    y = UNetCore(T_in + 3 -> 1, width, depth)([frames, x, y, z])

Defaults (``width=50, depth=2``, widths 50/100/200): 3,319,001 real scalars, no complex weights (the paper's
UNet3d: 3,275,065).
"""

from __future__ import annotations

import torch

from .base import OperatorModel
from .layers.blocks import PaddingMode
from .layers.unet import UNetCore
from .options import PositiveInt
from .registry import register_model


@register_model("unet")
class UNet(OperatorModel):
    """Convolutional U-Net ``(B, T_in, n, n, n) -> (B, 1, n, n, n)``, n a multiple of ``2**depth`` (at least
    ``2**(depth + 1)``).

    Parameters
    ----------
    T_in : input frames (channels of ``u``), positive.
    width : channels of the finest level (``width 2**l`` on level ``l``), positive.
    depth : levels below the finest (each halves the grid), positive.
    padding_mode : ghost layer of the 3x3x3 convolutions: ``"replicate"`` (default) or ``"reflect"``.
    """


    def __init__(
        self,
        *,
        T_in: PositiveInt = 5,
        width: PositiveInt = 50,
        depth: PositiveInt = 2,
        padding_mode: PaddingMode = "replicate",
    ):
        super().__init__()
        self.grid_multiple = 2**depth
        self.min_grid = 2 ** (depth + 1)
        self.core = UNetCore(T_in + 3, 1, width, depth, padding_mode)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        self.check_input(u)
        return self.core(self.with_coordinates(u))
