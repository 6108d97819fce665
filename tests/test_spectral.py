"""Spectral layers: the DCT-I pair is exact and diagonalises the mirror-ghost Laplacian; spectral convolutions
place their modes correctly and give the same field at every resolution for band-limited inputs."""

import math

import pytest
import torch
import torch.nn.functional as F

from pihamno.errors import InputError
from pihamno.models.layers.spectral import FactorizedSpectralConv3d, SpectralConv3d
from pihamno.models.layers.transforms import dct1_matrices, dct3, fft_mode_caps, fft_modes, idct3

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


def authors_spectral_conv(x, w, modes):
    """The fft convolution of the HAMNO authors' ``SpectralConv3d.forward`` (networks.py of MBamdad/HAMNO at
    b124691, lines 109-157), re-written literally for comparison: modes clipped to ``n//2`` on the two full axes
    and to the half-spectrum length on the last, every corner multiplied by the FIRST ``m`` slots of its weight
    (``weights_k[:, :, :m1, :m2, :m3]``), torch's default (backward) FFT norm. ``w``: their weights1..4, complex
    ``(C_in, C_out, M1, M2, M3)`` for the corners (+x, +y), (-x, +y), (+x, -y), (-x, -y)."""
    X = torch.fft.rfftn(x, dim=[-3, -2, -1])
    m1 = min(modes[0], X.size(-3) // 2, w[0].size(-3))
    m2 = min(modes[1], X.size(-2) // 2, w[0].size(-2))
    m3 = min(modes[2], X.size(-1), w[0].size(-1))
    Y = torch.zeros(x.shape[0], w[0].shape[1], x.size(-3), x.size(-2), x.size(-1) // 2 + 1, dtype=torch.cfloat)
    lo, hi = (slice(None, m1), slice(-m1, None)), (slice(None, m2), slice(-m2, None))
    for k, (a, b) in enumerate([(lo[0], hi[0]), (lo[1], hi[0]), (lo[0], hi[1]), (lo[1], hi[1])]):
        Y[:, :, a, b, :m3] = torch.einsum("bixyz,ioxyz->boxyz", X[:, :, a, b, :m3], w[k][:, :, :m1, :m2, :m3])
    return torch.fft.irfftn(Y, s=(x.size(-3), x.size(-2), x.size(-1)))


def authors_weights(layer):
    """A pihamno fft layer's weight ``(4, C_in, C_out, M, M, M, 2)`` as the authors' four complex tensors."""
    return [torch.view_as_complex(layer.weight[k].detach().contiguous()) for k in range(4)]


def rel(a, b):
    return ((a - b).norm() / b.norm()).item()


@pytest.mark.parametrize("n", [8, 12, 16])
def test_leading_truncation_is_the_authors_slicing(n):
    """On 8^3 (fewer than 2 x 6 nodes per axis) the authors' corners use other weights than pihamno's default:
    ``truncation="leading"`` reproduces theirs; on 12^3 and 16^3 (2 x 6 <= n) all three agree."""
    torch.manual_seed(1)
    layer = SpectralConv3d(3, 4, 6, "fft", truncation="leading")
    x = torch.randn(2, 3, n, n, n)
    theirs = authors_spectral_conv(x, authors_weights(layer), layer.modes)
    assert rel(layer(x), theirs) < 1e-5
    band = SpectralConv3d(3, 4, 6, "fft")
    band.load_state_dict(layer.state_dict())
    if n < 12:
        assert rel(band(x), theirs) > 0.2  # measured 0.56 on 8^3 (seed 1)
    else:
        assert torch.equal(band(x), layer(x))


def test_leading_truncation_on_anisotropic_grids_and_modes():
    torch.manual_seed(2)
    layer = SpectralConv3d(2, 2, (5, 3, 4), "fft", truncation="leading")
    x = torch.randn(1, 2, 6, 10, 4)  # axis 0 clipped to 3 of 5, axis 1 keeps 3, half axis clipped to 3 of 4
    assert rel(layer(x), authors_spectral_conv(x, authors_weights(layer), layer.modes)) < 1e-5


def corner_sliced(layer, x):
    """The fft branch as it was written before the flat-index gather/scatter (band truncation, same grid): each
    corner sliced out of the spectrum and copied into a zero spectrum (bench/bench_models.py ``legacy_fft``)."""
    (m0, m1, m2), (M0, M1, _) = (min(m, c) for m, c in zip(layer.modes, fft_mode_caps(x.shape[-3:], x.shape[-3:]))), \
        layer.modes
    X = torch.fft.rfftn(x, dim=(-3, -2, -1), norm="forward")
    W = torch.view_as_complex(layer.weight)
    Y = X.new_zeros(x.shape[0], layer.out_channels, *X.shape[-3:])
    for k, (neg0, neg1) in enumerate(((0, 0), (1, 0), (0, 1), (1, 1))):
        s = (slice(-m0, None) if neg0 else slice(m0), slice(-m1, None) if neg1 else slice(m1), slice(m2))
        w = W[k][:, :, slice(M0 - m0, M0) if neg0 else slice(m0), slice(M1 - m1, M1) if neg1 else slice(m1), :m2]
        Y[(..., *s)] = torch.einsum("bixyz,ioxyz->boxyz", X[(..., *s)], w)
    return torch.fft.irfftn(Y, s=x.shape[-3:], dim=(-3, -2, -1), norm="forward")


@pytest.mark.parametrize("C,m,n", [(3, 3, 8), (4, 6, 16), (4, 4, 8), (2, 8, 8), (3, 2, 5)])
def test_flat_index_gather_matches_corner_slicing_bit_for_bit(C, m, n):
    layer = SpectralConv3d(C, C, m, "fft")
    x = torch.randn(2, C, n, n, n, requires_grad=True)
    y, ref = layer(x), corner_sliced(layer, x)
    assert torch.equal(y, ref)
    g = torch.randn_like(y)
    for a, b in zip(torch.autograd.grad(y, (x, layer.weight), g), torch.autograd.grad(ref, (x, layer.weight), g)):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-7)


def test_fft_backward_keeps_no_per_corner_slices():
    """The graph holds index gathers/scatters, no slice-of-spectrum or in-place corner-copy nodes (their backward
    allocates a spectrum-sized buffer per corner)."""
    x = torch.randn(1, 2, 8, 8, 8, requires_grad=True)
    y = SpectralConv3d(2, 2, 3, "fft")(x)
    seen, stack = set(), [y.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is not None and fn not in seen:
            seen.add(fn)
            stack.extend(f for f, _ in fn.next_functions)
    names = {type(fn).__name__ for fn in seen}
    assert "IndexSelectBackward0" in names and "IndexCopyBackward0" in names
    assert not names & {"SliceBackward0", "CopySlices", "StackBackward0"}, names


def test_fft_modes_and_truncation_are_checked():
    with pytest.raises(InputError, match="truncation must be one of"):
        SpectralConv3d(2, 2, 3, "fft", truncation="first")
    k = fft_modes((8, 8, 8), (8, 8, 8), (3, 3, 3), (3, 3, 3))
    assert k.shape == (6, 6, 3) and len(set(k.source.tolist())) == 108 and torch.equal(k.source, k.target)
    lead = fft_modes((8, 8, 8), (8, 8, 8), (3, 3, 3), (3, 3, 3), "leading")
    assert all(torch.equal(a, b) for a, b in zip(k.weight, lead.weight))  # all modes kept: no difference


def test_caches_filled_during_inference_serve_training():
    """A rollout under inference_mode fills the mode/DCT caches; a training step on the same sizes must still
    backpropagate (the cached index tensors are ordinary tensors, not inference tensors)."""
    from pihamno.models.layers.transforms import _dct1_cached, _fft_modes_cached

    _dct1_cached.cache_clear()
    _fft_modes_cached.cache_clear()
    for basis in ("fft", "dct"):
        layer = SpectralConv3d(2, 2, 2, basis)
        x = torch.randn(1, 2, 6, 6, 6)
        with torch.inference_mode():
            layer(x)
        layer(x.requires_grad_()).square().sum().backward()
        assert layer.weight.grad is not None and torch.isfinite(layer.weight.grad).all()
