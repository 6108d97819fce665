"""Spectral layers: the DCT-I pair is exact and diagonalises the mirror-ghost Laplacian; spectral convolutions
place their modes correctly and give the same field at every resolution for band-limited inputs."""

import math

import pytest
import torch
import torch.nn.functional as F

from pihamno.models.layers.spectral import FactorizedSpectralConv3d, SpectralConv3d
from pihamno.models.layers.transforms import dct1_matrices, dct3, idct3

D = torch.float64

# torch runs on one thread in every test (tests/conftest.py).



@pytest.mark.parametrize("n", [2, 3, 5, 8, 17])
def test_dct1_pair_is_exact_with_all_modes(n):
    Fm, G = dct1_matrices(n, n, dtype=D)
    assert torch.allclose(G @ Fm, torch.eye(n, dtype=D), atol=1e-13)
    assert torch.allclose(Fm @ G, torch.eye(n, dtype=D), atol=1e-13)


def test_dct3_roundtrip_3d():
    x = torch.randn(2, 3, 5, 6, 7, dtype=D)
    assert torch.allclose(idct3(dct3(x, (5, 6, 7)), (5, 6, 7)), x, atol=1e-12)


def mirror_laplacian(u, h):
    """7-point Laplacian with mirror ghosts u[-1] = u[1] (torch 'reflect' padding) on (B, C, n, n, n)."""
    p = F.pad(u, (1, 1, 1, 1, 1, 1), mode="reflect")
    c = p[..., 1:-1, 1:-1, 1:-1]
    lap = -6 * c
    lap = lap + p[..., 2:, 1:-1, 1:-1] + p[..., :-2, 1:-1, 1:-1]
    lap = lap + p[..., 1:-1, 2:, 1:-1] + p[..., 1:-1, :-2, 1:-1]
    lap = lap + p[..., 1:-1, 1:-1, 2:] + p[..., 1:-1, 1:-1, :-2]
    return lap / h**2


def test_dct_diagonalises_mirror_ghost_laplacian():
    n, L = 9, 2.0
    h = L / (n - 1)
    u = torch.randn(1, 1, n, n, n, dtype=D)
    k = torch.arange(n, dtype=D)
    lam1 = -(4 / h**2) * torch.sin(math.pi * k / (2 * (n - 1))) ** 2
    lam = lam1[:, None, None] + lam1[None, :, None] + lam1[None, None, :]
    lhs = dct3(mirror_laplacian(u, h), (n, n, n))
    rhs = lam * dct3(u, (n, n, n))
    assert torch.allclose(lhs, rhs, atol=1e-10 * rhs.abs().max())


def test_dct_coefficients_do_not_depend_on_resolution():
    """cos(pi k x) on [0, 1] sampled at 9 and 17 nodes: coefficient 1/2 at k, 0 elsewhere, on both grids."""
    for n in (9, 17):
        x = torch.linspace(0, 1, n, dtype=D)
        u = torch.cos(3 * math.pi * x)[:, None, None] * torch.cos(math.pi * x)[None, :, None] * torch.ones(1, 1, n, dtype=D)
        c = dct3(u, (6, 6, 6))
        expect = torch.zeros(6, 6, 6, dtype=D)
        expect[3, 1, 0] = 0.25
        assert torch.allclose(c, expect, atol=1e-13)


def identity_weights(layer):
    """Set a spectral layer's weights to the identity map between channels on every kept mode."""
    with torch.no_grad():
        layer.weight.zero_()
        eye = torch.eye(layer.in_channels)
        if layer.basis == "fft":
            layer.weight[..., 0] += eye.view(*eye.shape, *(1,) * (layer.weight.dim() - 4))
        else:
            layer.weight += eye.view(*eye.shape, *(1,) * (layer.weight.dim() - 2))
    return layer


def periodic_field(n, ks=((1, 2, 3), (-3, 0, 1))):
    x = torch.arange(n) / n
    X, Y, Z = torch.meshgrid(x, x, x, indexing="ij")
    u = sum(torch.cos(2 * math.pi * (a * X + b * Y + c * Z) + 0.3 * a) for a, b, c in ks)
    v = sum(torch.sin(2 * math.pi * (c * X + a * Y + b * Z)) for a, b, c in ks)
    return torch.stack([u, v])[None]  # (1, 2, n, n, n), periodic, band-limited


def test_fft_corners_pass_band_limited_fields_through():
    """Identity weights with 4 modes keep every frequency |k| <= 3 (all four corners and the half axis)."""
    layer = identity_weights(SpectralConv3d(2, 2, 4, "fft"))
    u = periodic_field(12)
    assert torch.allclose(layer(u), u, atol=1e-5)


def test_dct_identity_with_all_modes_is_exact():
    layer = identity_weights(SpectralConv3d(2, 2, 4, "dct"))  # 8 cosines = all of an 8-node axis
    u = torch.randn(1, 2, 8, 8, 8)
    assert torch.allclose(layer(u), u, atol=1e-5)


@pytest.mark.parametrize("basis", ["fft", "dct"])
def test_spectral_conv_is_resolution_consistent(basis):
    """A band-limited input on a grid and on its 2x refinement: the outputs agree at the shared nodes."""
    layer = SpectralConv3d(2, 3, 3, basis)
    if basis == "fft":  # periodic samples j/n: n = 8 -> 16, shared nodes [::2]
        coarse, fine = periodic_field(8, ((1, 2, 0), (-2, 1, 2))), periodic_field(16, ((1, 2, 0), (-2, 1, 2)))
    else:  # node grid j/(n-1): n = 9 -> 17, shared nodes [::2]
        def field(n):
            x = torch.linspace(0, 1, n)
            X, Y, Z = torch.meshgrid(x, x, x, indexing="ij")
            u = torch.cos(math.pi * X) * torch.cos(2 * math.pi * Z) + torch.cos(3 * math.pi * Y)
            return torch.stack([u, u * 0.5 + 1])[None]
        coarse, fine = field(9), field(17)
    y_c, y_f = layer(coarse), layer(fine)
    assert torch.allclose(y_f[..., ::2, ::2, ::2], y_c, atol=1e-5)


@pytest.mark.parametrize("basis", ["fft", "dct"])
def test_spectral_conv_resamples_to_another_grid(basis):
    """out_size: evaluating on the refined grid equals transforming the refined input (band-limited fields)."""
    layer = SpectralConv3d(2, 2, 2, basis)
    n, m = (8, 16) if basis == "fft" else (9, 17)
    if basis == "fft":
        u_c, u_f = periodic_field(n, ((1, 0, 1),)), periodic_field(m, ((1, 0, 1),))
    else:
        u_c, u_f = (torch.cos(math.pi * torch.linspace(0, 1, k)).expand(1, 2, k, k, k).clone() for k in (n, m))
    assert torch.allclose(layer(u_c, out_size=(m, m, m)), layer(u_f), atol=1e-5)


@pytest.mark.parametrize("basis", ["fft", "dct"])
def test_spectral_conv_runs_on_grids_smaller_than_its_modes(basis):
    layer = SpectralConv3d(2, 2, 8, basis)
    for n in (1, 2, 3, 4):
        assert layer(torch.randn(1, 2, n, n, n)).shape == (1, 2, n, n, n)


def test_spectral_conv_computes_in_float32_under_autocast():
    layer = SpectralConv3d(2, 2, 3, "fft")
    u = torch.randn(1, 2, 9, 9, 9)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = layer(u.bfloat16())
    assert y.dtype == torch.float32
    assert torch.allclose(y, layer(u.bfloat16().float()), atol=1e-6)


@pytest.mark.parametrize("basis", ["fft", "dct"])
def test_factorized_identity_sums_the_three_axes(basis):
    layer = FactorizedSpectralConv3d(2, 2, 4, basis)
    with torch.no_grad():
        layer.weight.zero_()
        eye = torch.eye(2)
        if basis == "fft":
            layer.weight[..., 0] += eye[None, :, :, None]
        else:
            layer.weight += eye[None, :, :, None]
    u = periodic_field(8, ((1, 2, 3),)) if basis == "fft" else torch.randn(1, 2, 8, 8, 8)
    assert torch.allclose(layer(u), 3 * u, atol=1e-5)
