"""Spectral convolutions: the global operator of FNO-type layers, in a Fourier or a cosine basis.

``SpectralConv3d`` (FNO, HAMNO, U-NO, U-FNO)::

    y = T^-1( W . T(x) ),   (W . X)[b, o, k] = sum_i X[b, i, k] W[i, o, k]   for the kept modes k, 0 elsewhere

``x`` is ``(B, C_in, n0, n1, n2)``, ``y`` is ``(B, C_out, *out_size)`` (``out_size`` defaults to the input grid;
U-NO maps between resolutions with it). The transform pair ``T`` is chosen by ``basis``:

* ``"fft"`` -- real FFT (periodic), the four low-frequency corners of the half spectrum, ``modes`` per corner and
  axis, complex weights stored as real pairs: a weight of shape ``(4, C_in, C_out, m0, m1, m2, 2)``,
  ``8 C_in C_out m0 m1 m2`` real scalars (the paper counts the complex ones once: half that).
* ``"dct"`` -- DCT-I of the node grid (Neumann, no wrap-around; see :mod:`.transforms`), real weights of shape
  ``(C_in, C_out, 2 m0, 2 m1, 2 m2)``: ``2m`` cosines ``cos(pi k x/L)`` span the same band of wavenumbers as
  the ``m`` Fourier modes ``exp(+-2 pi i k x/L)``, so both bases have the same band limit and the same real
  parameter count ``8 C_in C_out m0 m1 m2``.

Modes are a band limit, not a grid size: on a grid too small for them the layer keeps what the grid holds
(``n//2`` per full FFT axis, ``n//2 + 1`` on the half-spectrum axis, ``n`` cosines) and uses the matching
weights, so a layer built for one grid runs on coarser and finer ones. (``truncation="leading"`` instead takes
the first weight slots of every fft corner, as the HAMNO authors' code does: see
:func:`.transforms.fft_modes`; it differs from the default only on grids with fewer than ``2 m`` nodes per
axis.) The transforms always run in float32
with autocast disabled (half-precision FFTs fail on sizes that are not powers of two and lose accuracy); the
output is float32.

``FactorizedSpectralConv3d`` (F-FNO, Tran et al. 2023)::

    y = sum_{d in x,y,z} T_d^-1( W_d . T_d(x) )       (1D transforms along one axis each, weights (C_in, C_out, m))
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
from torch import nn

from pihamno.errors import InputError

from .transforms import TRUNCATIONS, Truncation, dct1_matrices, dct3, dct_mode_caps, fft_mode_caps, fft_modes, idct3

#: Basis of a spectral convolution (a model option; see the module docstring).
Basis = Literal["fft", "dct"]
BASES: tuple[str, ...] = get_args(Basis)


def as_modes(modes) -> tuple[int, int, int]:
    """An int or a 3-sequence of positive ints -> a 3-tuple."""
    m = (modes,) * 3 if isinstance(modes, int) else tuple(modes)
    if len(m) != 3 or not all(isinstance(v, int) and v >= 1 for v in m):
        raise InputError(f"modes must be a positive int or three positive ints, got {modes!r}")
    return m


def check_basis(basis: str) -> str:
    if basis not in BASES:
        raise InputError(f"spectral basis must be one of {BASES}, got {basis!r}")
    return basis


def _float32(x: torch.Tensor) -> torch.Tensor:
    return x if x.dtype == torch.float32 else x.float()


class SpectralConv3d(nn.Module):
    """Global convolution ``(B, C_in, *grid) -> (B, C_out, *out_size)`` in the ``basis`` (see module docstring)."""

    def __init__(self, in_channels: int, out_channels: int, modes, basis: str = "fft", truncation: Truncation = "band"):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.modes = as_modes(modes)
        self.basis = check_basis(basis)
        if truncation not in TRUNCATIONS:
            raise InputError(f"truncation must be one of {TRUNCATIONS}, got {truncation!r}")
        self.truncation = truncation
        scale = 1.0 / (in_channels * out_channels)
        if basis == "fft":
            shape = (4, in_channels, out_channels, *self.modes, 2)
            self.complex_weights = ("weight",)  # stored as (re, im) pairs: count_parameters(complex_once=True) halves it
        else:
            shape = (in_channels, out_channels, *(2 * m for m in self.modes))
            self.complex_weights = ()
        self.weight = nn.Parameter(scale * torch.rand(shape))

    def extra_repr(self) -> str:
        extra = f", truncation={self.truncation!r}" if self.truncation != "band" else ""
        return f"{self.in_channels}, {self.out_channels}, modes={self.modes}, basis={self.basis!r}{extra}"

    def forward(self, x: torch.Tensor, out_size: tuple[int, int, int] | None = None) -> torch.Tensor:
        size_in = tuple(x.shape[-3:])
        size_out = tuple(out_size) if out_size is not None else size_in
        with torch.autocast(device_type=x.device.type, enabled=False):
            x = _float32(x)
            if self.basis == "dct":
                return self._dct(x, size_in, size_out)
            return self._fft(x, size_in, size_out)

    def _fft(self, x, size_in, size_out):
        caps = fft_mode_caps(size_in, size_out)
        modes = tuple(min(m, c) for m, c in zip(self.modes, caps))
        kept = fft_modes(size_in, size_out, modes, self.modes, self.truncation, x.device)
        B, C_out = x.shape[0], self.out_channels
        X = torch.fft.rfftn(x, dim=(-3, -2, -1), norm="forward")
        corner, s0, s1, s2 = kept.weight
        W = torch.view_as_complex(_float32(self.weight))[corner, :, :, s0, s1, s2]  # (K, C_in, C_out)
        # gather / scatter the kept modes by flat index: backward then holds one spectrum-sized gradient (of X)
        # instead of a zero-filled full-size buffer per corner slice and per corner copy
        Xk = X.flatten(-3).permute(2, 0, 1).index_select(0, kept.source)  # (K, B, C_in), K = k0 k1 m2 kept modes
        Yk = torch.bmm(Xk, W)  # (K, B, C_out)
        half = (size_out[0], size_out[1], size_out[2] // 2 + 1)
        Y = X.new_zeros(half[0] * half[1] * half[2], B, C_out)  # no grad: autograd keeps no copy of it
        Y.index_copy_(0, kept.target, Yk)
        Y = Y.permute(1, 2, 0).unflatten(-1, half)
        return torch.fft.irfftn(Y, s=size_out, dim=(-3, -2, -1), norm="forward")

    def _dct(self, x, size_in, size_out):
        caps = dct_mode_caps(size_in, size_out)
        modes = tuple(min(2 * m, c) for m, c in zip(self.modes, caps))
        W = _float32(self.weight)[..., : modes[0], : modes[1], : modes[2]]
        X = dct3(x, modes)
        return idct3(torch.einsum("bixyz,ioxyz->boxyz", X, W), size_out)


class FactorizedSpectralConv3d(nn.Module):
    """F-FNO's separable global convolution ``(B, C_in, *grid) -> (B, C_out, *grid)``: one 1D spectral
    convolution per axis, summed. Weights per axis: ``(C_in, C_out, m, 2)`` complex pairs (fft) or
    ``(C_in, C_out, 2m)`` real (dct): ``6 C_in C_out m`` real scalars in all, either way."""

    def __init__(self, in_channels: int, out_channels: int, modes: int, basis: str = "fft"):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.modes = int(modes)
        self.basis = check_basis(basis)
        scale = 1.0 / (in_channels * out_channels)
        shape = (3, in_channels, out_channels, self.modes, 2) if basis == "fft" else (3, in_channels, out_channels, 2 * self.modes)
        self.complex_weights = ("weight",) if basis == "fft" else ()
        self.weight = nn.Parameter(scale * torch.rand(shape))

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, modes={self.modes}, basis={self.basis!r}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=x.device.type, enabled=False):
            x = _float32(x)
            w = _float32(self.weight)
            out = 0
            for d in range(3):
                axis = x.dim() - 3 + d
                xd = x.movedim(axis, -1)  # (B, C_in, ..., n)
                n = xd.shape[-1]
                if self.basis == "fft":
                    m = min(self.modes, n // 2 + 1)
                    X = torch.fft.rfft(xd, dim=-1, norm="forward")[..., :m]
                    Y = torch.einsum("bi...k,iok->bo...k", X, torch.view_as_complex(w[d])[..., :m])
                    yd = torch.fft.irfft(Y, n=n, dim=-1, norm="forward")
                else:
                    m = min(2 * self.modes, n)
                    F, G = dct1_matrices(n, m, x.device, torch.float32)
                    Y = torch.einsum("bi...k,iok->bo...k", xd @ F.T, w[d][..., :m])
                    yd = Y @ G.T
                out = out + yd.movedim(-1, axis)
            return out
