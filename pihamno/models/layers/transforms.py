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
``[:m or -m:, :m or -m:, :m]`` of the half spectrum.
"""

from __future__ import annotations

import functools
import math

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


_dct1_cached = functools.lru_cache(maxsize=128)(_dct1_build)


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


def fft_corners(sizes: tuple[int, int], modes: tuple[int, int, int], stored: tuple[int, int, int]):
    """The low-frequency corners of an ``rfftn`` half spectrum: a list of ``(weight_index, spectrum_slices,
    weight_slices)``.

    ``sizes`` are the lengths of the two full axes (the smaller of input and output grid), ``modes`` the modes
    kept now and ``stored`` the modes the weights were built with (``modes <= stored``). Corners are stored as
    (+x, +y), (-x, +y), (+x, -y), (-x, -y) (weight indices 0..3); the half-spectrum axis is always ``[:m2]``. A
    - corner holds frequencies -M..-1 in its M weight slots, so when fewer modes are kept it uses the last ones.
    On an axis of length 1 the + and - corners are the same single mode, so the - corner is left out there.
    """
    m0, m1, m2 = modes
    M0, M1, _ = stored
    out = []
    for idx, (neg0, neg1) in enumerate(((False, False), (True, False), (False, True), (True, True))):
        if (neg0 and sizes[0] == 1) or (neg1 and sizes[1] == 1):
            continue
        spec = (slice(-m0, None) if neg0 else slice(0, m0), slice(-m1, None) if neg1 else slice(0, m1), slice(0, m2))
        wts = (slice(M0 - m0, M0) if neg0 else slice(0, m0), slice(M1 - m1, M1) if neg1 else slice(0, m1), slice(0, m2))
        out.append((idx, spec, wts))
    return out


def fft_mode_caps(n_in: tuple[int, ...], n_out: tuple[int, ...]) -> tuple[int, int, int]:
    """Most modes per axis an rfft corner can keep without the + and - corners overlapping: ``n//2`` (at least 1)
    on the two full axes and ``n//2 + 1`` on the half-spectrum axis, for the smaller of the input and output
    grids."""
    a, b, c = (min(i, o) for i, o in zip(n_in, n_out))
    return max(a // 2, 1), max(b // 2, 1), c // 2 + 1


def dct_mode_caps(n_in: tuple[int, ...], n_out: tuple[int, ...]) -> tuple[int, int, int]:
    """Most cosine modes per axis: the node count of the smaller of the input and output grids."""
    return tuple(min(i, o) for i, o in zip(n_in, n_out))
