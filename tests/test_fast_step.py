"""The solver step's fast paths give the same numbers as the plain formulas: diagonal storage of the grid
matrices (fem.banded), the block-diagonal capacitance solve (fem.cube_symmetry) and the fused residual of a
step and the next step's explicit residual (fem.pde.PDE.residual_and_next, fem.solvers.Stepper.advance)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
import torch

from fem import assemble, cube_mesh
from fem.banded import DiagonalMatrix, fast_products
from fem.capacitance import edge_correction
from fem.cube_symmetry import band_permutations, factor_blocks, solve_blocks
from fem.pde import PDE
from fem.schemes import SchemeOperators, explicit_residual, preset, residual, step_operator
from fem.schemes_torch import TorchSchemeOperators
from fem.solvers import Stepper, simulate

PDES = ("ac", "ch", "sh")


def fields(N, B=2, seed=0, amp=0.7):
    return amp * np.random.default_rng(seed).normal(size=(N, B))


# ----------------------------------------------------------------------------------------- fem.banded
@pytest.mark.parametrize("element", ["P1", "P2"])
@pytest.mark.parametrize("split", ["kuhn", "five"])
def test_diagonal_storage_gives_csr_products_bit_for_bit(split, element):
    ops = assemble(cube_mesh(7, 2.0, split), element)
    for A in (ops.M, ops.K):
        F = fast_products(A)
        for X in (fields(A.shape[0], 1), fields(A.shape[0], 3), fields(A.shape[0], 1)[:, 0]):
            np.testing.assert_array_equal(F @ X, A @ X)
        X32 = fields(A.shape[0], 2).astype(np.float32)  # promoted to float64 as CSR does
        assert (F @ X32).dtype == np.float64 and np.array_equal(F @ X32, A @ X32)
    stored_by_diagonals = isinstance(fast_products(ops.K), DiagonalMatrix)
    assert stored_by_diagonals == (split == "kuhn" and element == "P1")  # the 7-point stencil; else CSR
    if stored_by_diagonals:
        assert list(fast_products(ops.K).offsets) == [-49, -7, -1, 0, 1, 7, 49]


def test_scheme_operators_convert_once_per_assembled_operators():
    fops = assemble(cube_mesh(6, 2.0))
    a, b = SchemeOperators.from_fem(fops), SchemeOperators.from_fem(fops)
    assert a.K is b.K and a.M is b.M and isinstance(a.K, DiagonalMatrix)


def test_diagonal_storage_leaves_scattered_and_non_square_matrices_alone():
    rng = np.random.default_rng(1)
    A = sp.random(200, 200, density=0.05, random_state=2, format="csr")
    assert isinstance(fast_products(A), sp.csr_matrix)
    assert isinstance(fast_products(sp.random(20, 30, density=0.2, format="csr")), sp.csr_matrix)
    T = sp.diags([rng.normal(size=199), rng.normal(size=200), rng.normal(size=199)], [-1, 0, 1]).tocsr()
    F = fast_products(T)
    assert isinstance(F, DiagonalMatrix) and len(F.offsets) == 3
    x = rng.normal(size=(200, 2))
    np.testing.assert_array_equal(F @ x, T @ x)
    assert abs(F.tocsr() - T).max() == 0


# ----------------------------------------------------------------------------------------- fem.cube_symmetry
@pytest.mark.parametrize("pde", PDES)
def test_capacitance_matrix_splits_into_symmetry_blocks_and_solves_as_the_whole(pde):
    p, n = preset(pde), 12
    ec = edge_correction(p, assemble(cube_mesh(n, p.L)), n, p.L)
    assert len(ec.lu.blocks) == 1  # a band this small is factored whole (MIN_BLOCKED)
    bf = factor_blocks(ec.C, ec.R, n, min_size=0)
    assert len(band_permutations(ec.R, n)) == 12  # the band keeps all 12 maps of the Kuhn diagonal
    assert len(bf.blocks) == 8 and sum(bf.sizes) == ec.k
    assert sum(s * s for s in bf.sizes) < ec.k**2 / 6  # what an LU solve reads
    np.testing.assert_allclose((bf.QT @ bf.Q).toarray(), np.eye(ec.k), atol=1e-13)  # Q orthogonal
    b = fields(ec.k, 3, seed=3)
    x_blocks = solve_blocks(bf, b, lambda shape, like: np.zeros(shape), lambda f, r: scipy.linalg.lu_solve(f, r))
    x_whole = np.linalg.solve(ec.C, b)
    assert np.abs(x_blocks - x_whole).max() < 1e-12 * np.abs(x_whole).max()


def test_a_matrix_without_the_symmetry_is_factored_whole():
    p, n = preset("ch"), 10
    ec = edge_correction(p, assemble(cube_mesh(n, p.L)), n, p.L)
    C = ec.C + 1e-3 * np.diag(np.arange(ec.k))  # breaks the symmetry of the band ordering
    bf = factor_blocks(C, ec.R, n)
    assert len(bf.blocks) == 1 and bf.sizes == [ec.k]
    b = fields(ec.k, 2)
    x = solve_blocks(bf, b, lambda shape, like: np.zeros(shape), lambda f, r: scipy.linalg.lu_solve(f, r))
    np.testing.assert_allclose(C @ x, b, atol=1e-10)
    assert band_permutations(np.array([1, 6]), 4) is None  # (0,0,1) and (0,1,2): only the identity keeps them


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_steps_with_the_blocked_solve_match_the_whole_lu(backend, monkeypatch):
    from fem.solvers_torch import TorchStepper

    p, n = preset("sh"), 10
    fops = assemble(cube_mesh(n, p.L))
    make = Stepper if backend == "numpy" else TorchStepper
    whole = make(p, fops)
    monkeypatch.setattr("fem.cube_symmetry.MIN_BLOCKED", 0)
    blocked = make(p, fops)
    assert len(whole.exact.lu.blocks) == 1 and len(blocked.exact.lu.blocks) == 8
    u0 = fields(n**3, 2, seed=7, amp=0.3)
    a = simulate(p, fops, u0.T.reshape(2, n, n, n), 4, stepper=whole)
    b = simulate(p, fops, u0.T.reshape(2, n, n, n), 4, stepper=blocked)
    assert np.abs(a.u - b.u).max() < 1e-12 * np.abs(a.u).max()
    assert b.iterations.max() == 1 and b.residual.max() < 1e-13


# ----------------------------------------------------------------------------------------- residual_and_next
@pytest.mark.parametrize("mass", ["lumped", "consistent"])
@pytest.mark.parametrize("pde", PDES)
def test_fused_residual_and_next_explicit_residual_equal_the_plain_formulas(pde, mass):
    p = preset(pde, dt=0.02, mass=mass)
    fops = assemble(cube_mesh(6, p.L))
    u0, u1 = fields(216, 2, seed=1), fields(216, 2, seed=2)
    for ops, cast in ((SchemeOperators.from_fem(fops), np.asarray),
                      (TorchSchemeOperators.from_fem(fops, dtype=torch.float64), torch.tensor)):
        a, b = cast(u0), cast(u1)
        g0 = explicit_residual(p, ops, a)
        r, g1 = p.equation.residual_and_next(p, ops, a, b, g0)
        want_r, want_g1 = residual(p, ops, a, b), explicit_residual(p, ops, b)
        for got, want in ((r, want_r), (g1, want_g1)):
            got, want = np.asarray(got), np.asarray(want)
            assert np.abs(got - want).max() < 1e-12 * np.abs(want).max()
        default_r, default_g1 = PDE.residual_and_next(p.equation, p, ops, a, b, g0)  # the base class's
        assert np.abs(np.asarray(default_r) - np.asarray(want_r)).max() < 1e-12 * np.abs(np.asarray(want_r)).max()
        assert np.array_equal(np.asarray(default_g1), np.asarray(want_g1))


@pytest.mark.parametrize("pde", PDES)
def test_advance_carries_the_explicit_residual_and_matches_fresh_steps(pde):
    p, n = preset(pde), 9
    fops = assemble(cube_mesh(n, p.L))
    st = Stepper(p, fops)
    u = fields(n**3, 2, seed=4, amp=0.3)
    g = None
    v = u
    for _ in range(3):
        u1, its, rel, g = st.advance(u, g)
        v1, its_fresh, rel_fresh = st.step(v)
        assert np.abs(u1 - v1).max() <= 1e-13 * np.abs(v1).max()
        assert its.tolist() == its_fresh.tolist() == [1, 1] and (rel <= st.rtol).all()
        g_fresh = explicit_residual(p, st.sops, u1)
        assert np.abs(g - g_fresh).max() <= 1e-12 * np.abs(g_fresh).max()  # computed afresh: nothing drifts
        np.testing.assert_allclose(rel, np.sqrt(((residual(p, st.sops, u, u1) ** 2) / st.sops.lumped).sum(0))
                                   / np.sqrt(((explicit_residual(p, st.sops, u) ** 2) / st.sops.lumped).sum(0)),
                                   rtol=0, atol=1e-15)  # both the true residual, at round-off
        u, v = u1, v1
    assert st.rechecks == st.cg_fallbacks == 0  # in the dynamics the fused check alone decides


@pytest.mark.parametrize("pde, dt", [("ac", 1e-3), ("ch", 1e-2)])
def test_near_a_steady_state_the_solve_is_checked_in_increment_form(pde, dt):
    """A planar front relaxes to a steady state: |g(u0)| falls until the fused check (the stored state's
    residual, round-off ~eps |K u1| / |g(u0)|) exceeds rtol; the increment-form check then accepts the exact
    solve without CG, and every frame still meets rtol."""
    p, n = preset(pde, dt=dt), 12
    st = Stepper(p, assemble(cube_mesh(n, p.L)))
    x = np.linspace(0, p.L, n)
    u = np.tanh((np.meshgrid(x, x, x, indexing="ij")[0] - p.L / 2) / (np.sqrt(2) * p.eps))
    tr = simulate(p, st.ops, u, 300, stepper=st)
    assert st.rechecks > 50 and st.cg_fallbacks == 0
    assert tr.iterations.max() == 1 and tr.residual.max() <= st.rtol
    g = explicit_residual(p, st.sops, tr.u[-1].reshape(-1, 1))
    g0 = explicit_residual(p, st.sops, tr.u[0].reshape(-1, 1))
    assert np.abs(g).max() < 1e-6 * np.abs(g0).max()  # it did reach the steady state


def test_a_failed_exact_check_falls_back_to_cg():
    p, n = preset("ch"), 8
    st = Stepper(p, assemble(cube_mesh(n, p.L)))
    exact = st.exact.solve
    st.exact.solve = lambda b: exact(b) * (1 + 1e-4)  # a solve 1e-4 off: the check must catch it
    u = fields(n**3, 1, seed=5, amp=0.3)
    u1, its, rel, g1 = st.advance(u)
    assert its[0] >= 2 and rel[0] <= st.rtol and st.rechecks == st.cg_fallbacks == 1
    r = residual(p, st.sops, u, u1)
    assert np.sqrt((r * r / st.sops.lumped).sum()) <= 2 * st.rtol * np.sqrt((explicit_residual(p, st.sops, u) ** 2 / st.sops.lumped).sum())
    np.testing.assert_allclose(g1, explicit_residual(p, st.sops, u1), rtol=1e-12, atol=1e-12 * np.abs(g1).max())
    assert abs((st.sops.lumped * (u1 - u)).sum()) < 1e-12  # CH: the projection still applies


def test_simulate_frames_with_the_fast_step_satisfy_the_scheme():
    p, n = preset("sh"), 10
    fops = assemble(cube_mesh(n, p.L))
    tr = simulate(p, fops, fields(n**3, 1, seed=6, amp=0.2)[:, 0].reshape(n, n, n), 6)
    ops = SchemeOperators.from_fem(fops)
    U = tr.u.reshape(6, -1).T
    for f in range(5):
        r = residual(p, ops, U[:, f:f + 1], U[:, f + 1:f + 2])
        g = explicit_residual(p, ops, U[:, f:f + 1])
        assert np.sqrt((r * r / ops.lumped).sum()) <= 1e-10 * np.sqrt((g * g / ops.lumped).sum())
    assert tr.iterations.tolist() == [1] * 5
    assert step_operator(p, ops, U[:, :1]).shape == (n**3, 1)
