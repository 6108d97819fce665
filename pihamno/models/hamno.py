"""HAMNO, the Hierarchical Adaptive Multi-scale Neural Operator (Bamdad et al., HAMNO3d): a U-shaped hierarchy of
gated local/global blocks.

Architecture (``w = width``, ``e = expansion``, levels at n, n/2, n/4; shapes for input ``(B, T_in, n, n, n)``)::

    lift    conv1(T_in + 3 -> w) on [frames, x, y, z]                       (B, w, n)
    stem    x0 = conv1(GELU(conv3(.)))                                      (B, w, n)
    enc 1   s1 = n_layers x Block(w, modes[0])(x0)                          (B, w, n)
    enc 2   s2 = n_layers x Block(2w, modes[1])(down(s1))                   (B, 2w, n/2)   down: conv k2 s2
    enc 3   s3 = n_layers x Block(4w, modes[2])(down(s2))                   (B, 4w, n/4)
    dec 2   d2 = n_refine x Block(2w, modes[1])(GELU(conv1([up(s3), s2])))  (B, 2w, n/2)   up: convT k2 s2
    dec 1   d1 = n_refine x Block(w, modes[0])(GELU(conv1([up(d2), s1])))   (B, w, n)
    fuse    GELU(conv1([d1, x0]))                                           (B, w, n)      late fusion
    head    conv1(w -> width_q) - GELU - conv1(width_q -> width_q) - GELU - conv1(width_q -> 1)   (B, 1, n)

``Block(C, m)`` (:class:`HybridBlock`), with ``h = GroupNorm(x)``::

    h_loc  = conv3(GELU(conv3(h)))                       local branch (padding_mode ghosts)
    h_glob = conv1(GELU(SpectralConv(h)))                global branch (fft or dct basis, m modes)
    [a, b] = sigmoid(conv1(GELU(conv1(h))))              C -> eC -> 2C, per-channel, per-node gates
    x      = x + conv1(a * h_loc + b * h_glob)
    x      = x + conv1(GELU(conv1(GroupNorm(x))))        channel MLP C -> eC -> C

Every convolution has a bias. ``modes``: an int ``m`` gives ``(m, 3m//4, m//2)`` per level (8 -> 8, 6, 4 as in
the paper), or give three ints.

``variant="authors"`` follows the authors' released ``HAMNO3d`` (networks.py of MBamdad/HAMNO, docs/paper.md
section 4) where pihamno's default differs: the lift's weight is Xavier-uniform and its bias zero (drawn after
every other parameter, as their ``reset_parameters`` does; the rest keep torch's default initialisation in
both variants), an int ``m`` gives ``(min(m, 8), min(m, 6), min(m, 4))`` per level, and on a grid with fewer
than ``2 m`` nodes per axis the fft corners take their first weight slots (``truncation="leading"`` of
:class:`~.layers.spectral.SpectralConv3d`). With ``modes=8`` on grids n >= 32 (every level holds twice its
modes, as at the paper's n = 32) both variants compute the same function of the same weights.

At the paper's size (the defaults: ``width=12, modes=8, n_layers=2, expansion=2, width_q=12, n_refine=1,
T_in=5``) the model has 7,593,913 real scalars = 4,036,537 with complex weights counted once (as the paper
prints it), in either variant; the dct basis has the same 7,593,913 real scalars (it keeps 2m cosines per axis
and has no complex weights; see :mod:`.layers.spectral`).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from .base import OperatorModel
from .layers.blocks import ConvBlock, PaddingMode, PointwiseMLP, conv1, conv3, down2, norm, up2
from .layers.spectral import Basis, SpectralConv3d
from .options import Modes, NonNegativeInt, PositiveInt
from .registry import register_model

#: Which HAMNO: pihamno's (default) or the authors' release (lift init, modes per level, coarse-grid corners).
Variant = Literal["pihamno", "authors"]


def level_modes(modes, capped: bool = False) -> tuple[int, int, int]:
    """Modes per level: ``m -> (m, max(1, 3m//4), max(1, m//2))``, or with ``capped`` (the authors' variant)
    ``m -> (min(m, 8), min(m, 6), min(m, 4))``; three given ints are used as they are.

    >>> level_modes(8), level_modes(6), level_modes(1), level_modes([8, 6, 4])
    ((8, 6, 4), (6, 4, 3), (1, 1, 1), (8, 6, 4))
    >>> level_modes(6, capped=True), level_modes(12, capped=True), level_modes(3, capped=True)
    ((6, 6, 4), (8, 6, 4), (3, 3, 3))
    """
    if isinstance(modes, int):
        if capped:
            return min(modes, 8), min(modes, 6), min(modes, 4)
        return modes, max(1, 3 * modes // 4), max(1, modes // 2)
    return tuple(modes)


class HybridBlock(nn.Module):
    """HAMNO's gated local/global residual block, ``(B, C, *grid) -> (B, C, *grid)`` (see module docstring)."""

    def __init__(self, channels: int, modes: int, expansion: int, spectral: str, padding_mode: str,
                 truncation: str = "band"):
        super().__init__()
        C, eC = channels, expansion * channels
        self.norm1 = norm(C)
        self.local = ConvBlock(C, C, padding_mode)
        self.spectral = SpectralConv3d(C, C, modes, spectral, truncation)
        self.global_out = conv1(C, C)
        self.gates = PointwiseMLP(C, [eC], 2 * C)
        self.mix = conv1(C, C)
        self.norm2 = norm(C)
        self.mlp = PointwiseMLP(C, [eC], C)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        h_loc = self.local(h)
        h_glob = self.global_out(self.act(self.spectral(h)).to(h.dtype))
        alpha, beta = torch.sigmoid(self.gates(h)).chunk(2, dim=1)
        x = x + self.mix(alpha * h_loc + beta * h_glob)
        return x + self.mlp(self.norm2(x))


def _stage(count: int, channels: int, modes: int, **block) -> nn.Sequential:
    return nn.Sequential(*(HybridBlock(channels, modes, **block) for _ in range(count)))


@register_model("hamno")
class HAMNO(OperatorModel):
    """Hierarchical Adaptive Multi-scale Neural Operator: ``(B, T_in, n, n, n) -> (B, 1, n, n, n)``, n a multiple of
    4 (at least 8). Architecture and formulas: :mod:`pihamno.models.hamno`.

    Parameters
    ----------
    T_in : input frames (channels of ``u``), positive.
    width : channels ``w`` of the finest level (``2w`` and ``4w`` on the two coarser ones), positive.
    modes : spectral modes ``m`` of the global branch: an int gives ``(m, max(1, 3m//4), max(1, m//2))`` on the
        levels n, n/2, n/4 (``variant="authors"``: ``(min(m, 8), min(m, 6), min(m, 4))``); or three positive ints,
        one per level (a list is fine), used as given by both variants.
    n_layers : blocks per encoder stage, positive.
    expansion : hidden-width factor ``e`` of each block's gates and channel MLP (``C -> eC``), positive.
    width_q : hidden width of the head ``w -> width_q -> width_q -> 1``, positive.
    n_refine : refine blocks per decoder level, 0 or more.
    spectral : basis of the global branch: ``"fft"`` (default, the paper's, periodic) or ``"dct"`` (Neumann).
    padding_mode : ghost layer of the 3x3x3 convolutions: ``"replicate"`` (default, the paper's) or ``"reflect"``.
    variant : ``"pihamno"`` (default) or ``"authors"``: the authors' lift initialisation, modes per level and
        coarse-grid fft corners (module docstring); the parameter count is the same.

    The defaults are the paper's size: 7,593,913 real scalars = 4,036,537 with complex weights counted once.

    >>> from pihamno.models import count_parameters
    >>> model = HAMNO()
    >>> count_parameters(model), count_parameters(model, complex_once=True)
    (7593913, 4036537)
    """

    grid_multiple = 4
    min_grid = 8

    def __init__(
        self,
        *,
        T_in: PositiveInt = 5,
        width: PositiveInt = 12,
        modes: Modes = 8,
        n_layers: PositiveInt = 2,
        expansion: PositiveInt = 2,
        width_q: PositiveInt = 12,
        n_refine: NonNegativeInt = 1,
        spectral: Basis = "fft",
        padding_mode: PaddingMode = "replicate",
        variant: Variant = "pihamno",
    ):
        super().__init__()
        authors = variant == "authors"
        w, (m1, m2, m3) = width, level_modes(modes, capped=authors)
        block = dict(expansion=expansion, spectral=spectral, padding_mode=padding_mode,
                     truncation="leading" if authors else "band")
        self.lift = conv1(T_in + 3, w)
        self.stem = nn.Sequential(conv3(w, w, padding_mode), nn.GELU(), conv1(w, w))
        self.enc1 = _stage(n_layers, w, m1, **block)
        self.down1 = down2(w, 2 * w)
        self.enc2 = _stage(n_layers, 2 * w, m2, **block)
        self.down2 = down2(2 * w, 4 * w)
        self.enc3 = _stage(n_layers, 4 * w, m3, **block)
        self.up2 = up2(4 * w, 2 * w)
        self.merge2 = conv1(4 * w, 2 * w)
        self.dec2 = _stage(n_refine, 2 * w, m2, **block)
        self.up1 = up2(2 * w, w)
        self.merge1 = conv1(2 * w, w)
        self.dec1 = _stage(n_refine, w, m1, **block)
        self.fuse = conv1(2 * w, w)
        self.head = PointwiseMLP(w, [width_q, width_q], 1)
        self.act = nn.GELU()
        if authors:  # after every other parameter, as the authors' reset_parameters()
            nn.init.xavier_uniform_(self.lift.weight)
            nn.init.zeros_(self.lift.bias)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        self.check_input(u)
        x0 = self.stem(self.lift(self.with_coordinates(u)))
        s1 = self.enc1(x0)
        s2 = self.enc2(self.down1(s1))
        s3 = self.enc3(self.down2(s2))
        d2 = self.dec2(self.act(self.merge2(torch.cat([self.up2(s3), s2], dim=1))))
        d1 = self.dec1(self.act(self.merge1(torch.cat([self.up1(d2), s1], dim=1))))
        return self.head(self.act(self.fuse(torch.cat([d1, x0], dim=1))))
