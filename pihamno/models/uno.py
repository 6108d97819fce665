"""U-NO baseline (Rahman et al. 2023): a U-shaped stack of operator blocks that change resolution.

Operator block ``(B, C_in, grid_in) -> (B, C_out, grid_out)``::

    OB(x) = GELU( SpectralConv(x, out_size=grid_out) + interp(conv1(x), grid_out) )

the spectral part evaluated directly on the output grid (inverse transform of the kept modes), the pointwise
part resampled trilinearly with the end nodes aligned (node grid). Network (``w = width``)::

    x0 = conv1(T_in + 3 -> w)([frames, x, y, z])                          n
    x1 = OB(w  -> 2w, modes m)(x0)                                        n/2
    x2 = OB(2w -> 4w, modes m/2)(x1)                                      n/4
    x3 = OB(4w -> 4w, modes m/2)(x2)                                      n/4
    x4 = OB(4w -> 2w, modes m/2)(x3)                                      n/2
    x5 = OB(4w -> w,  modes m)([x4, x1])                                  n
    x6 = OB(2w -> w,  modes m)([x5, x0])                                  n
    y  = conv1(w -> width_q) - GELU - conv1(width_q -> 1)

n must be a multiple of 4. ``m = modes`` (at most what the smaller of the two grids of a block holds).
Defaults (``width=7, modes=8, width_q=32``): 2,410,858 real scalars = 1,206,634 with complex weights counted once
(the paper's UNO3d: 2,524,789).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import OperatorModel
from .layers.blocks import PointwiseMLP, conv1
from .layers.spectral import Basis, SpectralConv3d
from .options import PositiveInt
from .registry import register_model


class OperatorBlock(nn.Module):
    """``(B, C_in, grid) -> (B, C_out, out_size)``: spectral conv on the output grid + resampled pointwise conv."""

    def __init__(self, in_channels: int, out_channels: int, modes: int, basis: str):
        super().__init__()
        self.spectral = SpectralConv3d(in_channels, out_channels, modes, basis)
        self.pointwise = conv1(in_channels, out_channels)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor, out_size: tuple[int, int, int]) -> torch.Tensor:
        point = self.pointwise(x)
        if tuple(point.shape[-3:]) != tuple(out_size):
            point = F.interpolate(point, size=out_size, mode="trilinear", align_corners=True)
        return self.act(self.spectral(x, out_size).to(point.dtype) + point)


@register_model("uno")
class UNO(OperatorModel):
    """U-shaped neural operator ``(B, T_in, n, n, n) -> (B, 1, n, n, n)``, n a multiple of 4 (at least 8; see
    :mod:`pihamno.models.uno`).

    Parameters
    ----------
    T_in : input frames (channels of ``u``), positive.
    width : channels ``w`` of the finest level (up to ``4w`` on the coarse ones), positive.
    modes : spectral modes ``m`` per axis of the blocks on the full grid (``max(1, m//2)`` on the coarse ones),
        positive.
    width_q : hidden width of the head ``w -> width_q -> 1``, positive.
    spectral : basis of the spectral convolutions: ``"fft"`` (default, periodic) or ``"dct"`` (Neumann).
    """

    grid_multiple = 4
    min_grid = 8

    def __init__(
        self,
        *,
        T_in: PositiveInt = 5,
        width: PositiveInt = 7,
        modes: PositiveInt = 8,
        width_q: PositiveInt = 32,
        spectral: Basis = "fft",
    ):
        super().__init__()
        w, m, basis = width, modes, spectral
        mc = max(1, m // 2)
        self.lift = conv1(T_in + 3, w)
        self.blocks = nn.ModuleList(
            [
                OperatorBlock(w, 2 * w, m, basis),
                OperatorBlock(2 * w, 4 * w, mc, basis),
                OperatorBlock(4 * w, 4 * w, mc, basis),
                OperatorBlock(4 * w, 2 * w, mc, basis),
                OperatorBlock(4 * w, w, m, basis),
                OperatorBlock(2 * w, w, m, basis),
            ]
        )
        self.head = PointwiseMLP(w, [width_q], 1)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        self.check_input(u)
        n = tuple(u.shape[-3:])
        half, quarter = tuple(s // 2 for s in n), tuple(s // 4 for s in n)
        b = self.blocks
        x0 = self.lift(self.with_coordinates(u))
        x1 = b[0](x0, half)
        x3 = b[2](b[1](x1, quarter), quarter)
        x4 = b[3](x3, half)
        x5 = b[4](torch.cat([x4, x1], dim=1), n)
        x6 = b[5](torch.cat([x5, x0], dim=1), n)
        return self.head(x6)
