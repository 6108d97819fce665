"""Discrete transforms of the global (spectral) branch: the real FFT and the DCT-I of the node grid.

Both are written as a pair ``forward`` (field -> truncated coefficients) / ``inverse`` (coefficients -> field on a
possibly different grid), with coefficients normalised by the number of grid intervals, so a band-limited field
has the same coefficients at every resolution and ``inverse(forward(u), out_size)`` resamples it.

DCT-I on the node grid
----------------------
A field sampled at the n nodes ``x_j = j h``, ``h = L/(n-1)``, of a Neumann (mirror-ghost) grid is expanded in
the cosines ``phi_k(x_j) = cos(pi k j / (n-1))``, ``k = 0..n-1`` -- the eigenvectors of the 1D three-point
Laplacian with mirror ghosts ``u[-1] = u[1]``, ``u[n] = u[n-2]``::

    (u[j-1] - 2 u[j] + u[j+1]) / h^2  on phi_k  =  -(4/h^2) sin^2(pi k / (2(n-1))) phi_k,

so in 3D it diagonalises the 7-point mirror-ghost Laplacian (eigenvalue = sum over axes). The pair is::

    forward   c_k = 1/(n-1) * sum_j w_j u_j cos(pi k j/(n-1)),   w_0 = w_{n-1} = 1/2, else 1  (trapezoid rule)
    inverse   u_j = sum_k  v_k c_k cos(pi k j/(n-1)),           v_0 = v_{n-1} = 1,   else 2

which is exact (``inverse(forward(u)) == u``) when all n modes are kept; ``c_k`` approximates the cosine-series
coefficient ``(1/L) int_0^L u cos(pi k x/L) dx``. With ``m < n`` modes both are dense ``(m, n)`` / ``(n, m)``
matrices applied along each axis -- at the sizes of these models (n <= 128, m <= 32) three small matmuls are
cheaper than an FFT of the even extension (length 2(n-1)) and exact to rounding, so that is what is used. The
matrices are built in float64, cast once, and cached per (n, m, device, dtype).

Real FFT
--------
``torch.fft.rfftn`` over the last three axes with ``norm="forward"`` (the 1/N on the forward transform): the same
composite operator as the default ``"backward"`` norm on one grid, and amplitude-correct when the inverse is
taken on another grid (U-NO resampling). Kept modes are the usual four low-frequency corners
``[:m or -m:, :m or -m:, :m]`` of the half spectrum, gathered and scattered with flat indices
(:func:`fft_modes`), so that autograd keeps no full-size buffer per corner.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Literal, get_args

import torch


def _dct1_build(n: int, m: int, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    if n == 1:  # a single node: the constant mode only
        one = torch.ones(1, 1, dtype=dtype, device=device)
        return one, one
    k = torch.arange(m, dtype=torch.float64)
    j = torch.arange(n, dtype=torch.float64)
    cos = torch.cos(math.pi * k[:, None] * j[None, :] / (n - 1))  # (m, n)
    w = torch.ones(n, dtype=torch.float64)
    w[0] = w[-1] = 0.5
    v = torch.full((m,), 2.0, dtype=torch.float64)
    v[0] = 1.0
    if m == n:
        v[-1] = 1.0
    fwd = cos * w[None, :] / (n - 1)  # (m, n)
    inv = (cos * v[:, None]).T  # (n, m)
    return fwd.to(device=device, dtype=dtype).contiguous(), inv.to(device=device, dtype=dtype).contiguous()


def _outside_inference(build):
    """``build`` run with inference mode off: the cached tensors are ordinary ones, so a cache filled during an
    ``inference_mode`` rollout can still serve a training step (inference tensors cannot be saved for backward)."""

    @functools.wraps(build)
    def wrapper(*args):
        with torch.inference_mode(False):
            return build(*args)

    return wrapper


_dct1_cached = functools.lru_cache(maxsize=128)(_outside_inference(_dct1_build))


def dct1_matrices(n: int, m: int, device=None, dtype=torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """The truncated DCT-I pair of an n-node axis: ``forward`` of shape (m, n) and ``inverse`` of shape (n, m).

    >>> F, G = dct1_matrices(5, 5, dtype=torch.float64)
    >>> torch.allclose(G @ F, torch.eye(5, dtype=torch.float64))
    True
    """
    if not 1 <= m <= n:
        raise ValueError(f"DCT-I of {n} nodes keeps 1..{n} modes, got {m}")
    args = (int(n), int(m), torch.device(device or "cpu"), dtype)
    # under torch.compile the matrices are built in the graph (constants); eagerly they come from a cache
    return _dct1_build(*args) if torch.compiler.is_compiling() else _dct1_cached(*args)


def _along(x: torch.Tensor, mats: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Apply ``mats[d]`` (out_d, in_d) along spatial axis d of ``x`` (..., in_0, in_1, in_2)."""
    x = torch.einsum("...xyz,cz->...xyc", x, mats[2])
    x = torch.einsum("...xyz,by->...xbz", x, mats[1])
    return torch.einsum("...xyz,ax->...ayz", x, mats[0])


def dct3(x: torch.Tensor, modes: tuple[int, int, int]) -> torch.Tensor:
    """Truncated 3D DCT-I: ``(..., n0, n1, n2)`` -> coefficients ``(..., m0, m1, m2)`` (see module docstring)."""
    mats = tuple(dct1_matrices(n, m, x.device, x.dtype)[0] for n, m in zip(x.shape[-3:], modes))
    return _along(x, mats)


def idct3(c: torch.Tensor, size: tuple[int, int, int]) -> torch.Tensor:
    """Inverse of :func:`dct3` onto an ``size`` node grid: ``(..., m0, m1, m2)`` -> ``(..., n0, n1, n2)``."""
    mats = tuple(dct1_matrices(n, m, c.device, c.dtype)[1] for n, m in zip(size, c.shape[-3:]))
    return _along(c, mats)


#: Weights a negative-frequency corner uses when a grid keeps fewer modes ``m`` than the ``M`` stored (see
#: :func:`fft_modes`): ``"band"`` (pihamno) or ``"leading"`` (the HAMNO authors' release).
Truncation = Literal["band", "leading"]
TRUNCATIONS: tuple[str, ...] = get_args(Truncation)


@dataclass(frozen=True)
class FFTModes:
    """The kept modes of an ``rfftn`` half spectrum, as flat indices (built by :func:`fft_modes`).

    ``shape = (k0, k1, m2)`` is the block of kept modes: along each full axis the ``m`` non-negative
    frequencies ``0..m-1`` followed (when the axis holds more than one node) by the ``m`` negative ones
    ``-m..-1``, so ``k = 2m`` (or ``m``); along the half axis ``0..m2-1``. ``source`` (``K = k0 k1 m2`` longs)
    indexes the flattened input spectrum ``(n0, n1, n2//2 + 1)``, ``target`` the flattened output spectrum, and
    ``weight`` = (corner, slot0, slot1, slot2), four ``(K,)`` index tensors into the weight's axes
    ``(4, ., ., M0, M1, M2)`` (corners (+x, +y), (-x, +y), (+x, -y), (-x, -y) = 0..3).
    """

    shape: tuple[int, int, int]
    source: torch.Tensor
    target: torch.Tensor
    weight: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def _axis(n_in: int, n_out: int, m: int, M: int, negative: bool, truncation: str):
    """One full axis: (input positions, output positions, corner sign 0/1, weight slots) of its kept modes."""
    pos = list(range(m))
    src, dst, sign, slot = pos[:], pos[:], [0] * m, pos[:]
    if negative:
        src += [n_in - m + j for j in pos]
        dst += [n_out - m + j for j in pos]
        sign += [1] * m
        slot += [M - m + j for j in pos] if truncation == "band" else pos
    return src, dst, sign, slot


def _fft_modes_build(size_in: tuple, size_out: tuple, modes: tuple, stored: tuple, truncation: str, device):
    small = tuple(min(i, o) for i, o in zip(size_in, size_out))
    (s0, d0, c0, w0), (s1, d1, c1, w1) = (
        _axis(size_in[a], size_out[a], modes[a], stored[a], small[a] > 1, truncation) for a in (0, 1))
    m2 = modes[2]
    h_in, h_out = size_in[2] // 2 + 1, size_out[2] // 2 + 1
    a0, a1, a2 = torch.meshgrid(torch.arange(len(s0)), torch.arange(len(s1)), torch.arange(m2), indexing="ij")

    def flat(i0, i1, n1, n2):  # (k0,), (k1,) -> flat indices of the block into an (., n1, n2) spectrum
        return ((torch.tensor(i0)[a0] * n1 + torch.tensor(i1)[a1]) * n2 + a2).reshape(-1)

    corner = torch.tensor(c0)[a0] + 2 * torch.tensor(c1)[a1]
    weight = tuple(i.reshape(-1).to(device) for i in (corner, torch.tensor(w0)[a0], torch.tensor(w1)[a1], a2))
    return FFTModes((len(s0), len(s1), m2), flat(s0, s1, size_in[1], h_in).to(device),
                    flat(d0, d1, size_out[1], h_out).to(device), weight)


_fft_modes_cached = functools.lru_cache(maxsize=256)(_outside_inference(_fft_modes_build))


def fft_modes(size_in: tuple, size_out: tuple, modes: tuple, stored: tuple, truncation: str = "band",
              device=None) -> FFTModes:
    """The kept modes of an ``rfftn`` spectral convolution from an ``size_in`` to an ``size_out`` grid.

    ``modes <= stored`` are the modes kept now (capped by :func:`fft_mode_caps`) and ``stored`` those the weights
    were built with. The four low-frequency corners ``[:m | -m:, :m | -m:, :m2]`` of the half spectrum are kept;
    on an axis of length 1 (of the smaller grid) the + and - corners are the same single mode, so the - corner
    is left out there. A - corner stores frequencies ``-M..-1`` in its ``M`` weight slots; when fewer modes are
    kept (a coarse grid) ``truncation`` says which slots frequency ``-m + j`` uses:

    * ``"band"`` -- slot ``M - m + j``: every slot keeps its frequency, so a layer gives the same field on a
      grid and on its refinement (pihamno's default);
    * ``"leading"`` -- slot ``j``: the first ``m`` slots of every corner, as the HAMNO authors' ``SpectralConv3d``
      slices ``weights[:, :, :m1, :m2, :m3]`` (networks.py of MBamdad/HAMNO; docs/paper.md section 4). It equals
      ``"band"`` whenever ``m == M``, i.e. on grids of at least ``2M`` nodes per full axis.

    >>> k = fft_modes((4, 4, 4), (4, 4, 4), (2, 2, 2), (3, 3, 3))
    >>> k.shape, k.source[:3].tolist(), k.source[-1].item()   # modes 0, 1, -2, -1 along the full axes
    ((4, 4, 2), [0, 1, 3], 46)
    >>> lead = fft_modes((4,) * 3, (4,) * 3, (2,) * 3, (3,) * 3, "leading")
    >>> [i[-1].item() for i in k.weight], [i[-1].item() for i in lead.weight]
    ([3, 2, 2, 1], [3, 1, 1, 1])
    """
    if truncation not in TRUNCATIONS:
        raise ValueError(f"truncation must be one of {TRUNCATIONS}, got {truncation!r}")
    args = (tuple(map(int, size_in)), tuple(map(int, size_out)), tuple(map(int, modes)), tuple(map(int, stored)),
            truncation, torch.device(device or "cpu"))
    return _fft_modes_build(*args) if torch.compiler.is_compiling() else _fft_modes_cached(*args)


def fft_mode_caps(n_in: tuple[int, ...], n_out: tuple[int, ...]) -> tuple[int, int, int]:
    """Most modes per axis an rfft corner can keep without the + and - corners overlapping: ``n//2`` (at least 1)
    on the two full axes and ``n//2 + 1`` on the half-spectrum axis, for the smaller of the input and output
    grids."""
    a, b, c = (min(i, o) for i, o in zip(n_in, n_out))
    return max(a // 2, 1), max(b // 2, 1), c // 2 + 1


def dct_mode_caps(n_in: tuple[int, ...], n_out: tuple[int, ...]) -> tuple[int, int, int]:
    """Most cosine modes per axis: the node count of the smaller of the input and output grids."""
    return tuple(min(i, o) for i, o in zip(n_in, n_out))
