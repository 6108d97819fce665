"""fem.schemes / fem.schemes_torch / fem.energy: the residual is the documented scheme, its step matrix is SPD,
numpy and torch agree, the schemes are discrete gradient flows of fem.energy, and one step cannot raise
the energy where the stability bound says so (and does raise it without stabilisation)."""

import math

import numpy as np
import pytest
import torch

from fem import InputError, assemble, cube_mesh
from fem.energy import as_columns, energy_gradient, free_energy, mass
from fem.grid import grid_eigenvalues, trapezoid_weights
from fem.schemes import (
    PDEParams,
    SchemeOperators,
    dual_norm,
    explicit_residual,
    preset,
    relative_residual,
    residual,
    stability_bound,
    step_diagonal,
    step_operator,
    symbol,
)
from fem.schemes_torch import TorchSchemeOperators
from fem.solvers import Stepper

PDES = ["ac", "ch", "sh"]
MASSES = ["lumped", "consistent"]


def setup(pde, n=5, split="kuhn", **kw):
    p = preset(pde, **kw)
    fops = assemble(cube_mesh(n, p.L, split))
    return p, fops, SchemeOperators.from_fem(fops)


def fields(N, B=3, seed=0, amp=1.2):
    return np.random.default_rng(seed).uniform(-amp, amp, (N, B))


@pytest.mark.parametrize("mass_kind", MASSES)
@pytest.mark.parametrize("pde", PDES)
def test_residual_is_the_documented_scheme(pde, mass_kind):
    """Written out with dense matrices, independently of the library's increment form."""
    p, fops, ops = setup(pde, n=4, dt=0.3, substeps=2, S=0.7, mass=mass_kind)
    M, K, ML = fops.M.toarray(), fops.K.toarray(), np.diag(fops.lumped)
    Mt = ML if mass_kind == "lumped" else M
    u0, u1 = fields(64, seed=1), fields(64, seed=2)
    tau, eps, S, d = 0.15, p.eps, 0.7, u1 - u0
    assert p.tau == tau
    if pde == "ac":
        expected = Mt @ d / tau + K @ u1 + Mt @ (u0**3 - u0 + S * d) / eps**2
    elif pde == "ch":
        mu1 = np.linalg.solve(ML, eps**2 * K @ u1) + u0**3 - u0 + S * d
        expected = Mt @ d / tau + K @ mu1
    else:
        B = ML - K
        expected = Mt @ d / tau + B @ np.linalg.solve(ML, B @ u1) + Mt @ (u0**3 - eps * u0 + S * d)
    r = residual(p, ops, u0, u1)
    assert r.shape == (64, 3)
    np.testing.assert_allclose(r, expected, rtol=1e-11, atol=1e-11 * np.abs(expected).max())


@pytest.mark.parametrize("mass_kind", MASSES)
@pytest.mark.parametrize("pde", PDES)
def test_step_matrix_is_spd_and_its_diagonal_is_exact(pde, mass_kind):
    p, fops, ops = setup(pde, n=4, dt=0.05, mass=mass_kind)
    A = step_operator(p, ops, np.eye(64))
    np.testing.assert_allclose(A, A.T, rtol=0, atol=1e-12 * np.abs(A).max())
    assert np.linalg.eigvalsh(A).min() > 0
    np.testing.assert_allclose(step_diagonal(p, fops), np.diag(A), rtol=1e-13)
    # r(u0, u1) = g(u0) + A (u1 - u0): the solver's linear system is the residual's
    u0, u1 = fields(64), fields(64, seed=3)
    np.testing.assert_allclose(residual(p, ops, u0, u1), explicit_residual(p, ops, u0) + A @ (u1 - u0), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("mass_kind", MASSES)
@pytest.mark.parametrize("pde", PDES)
def test_torch_residual_equals_numpy_and_backpropagates(pde, mass_kind):
    p, fops, ops = setup(pde, n=5, dt=1e-2, mass=mass_kind)
    u0, u1 = fields(125, seed=4), fields(125, seed=5)
    r_np = residual(p, ops, u0, u1)
    tops = TorchSchemeOperators.from_fem(fops, dtype=torch.float64)
    t0 = torch.tensor(u0)
    t1 = torch.tensor(u1, requires_grad=True)
    r_t = residual(p, tops, t0, t1)
    np.testing.assert_allclose(r_t.detach().numpy(), r_np, rtol=1e-12, atol=1e-12 * np.abs(r_np).max())
    # d/du1 of |r|^2 / 2 is A^T r = A r (A symmetric)
    (0.5 * (r_t**2).sum()).backward()
    np.testing.assert_allclose(t1.grad.numpy(), step_operator(p, ops, r_np), rtol=1e-10, atol=1e-10 * np.abs(r_np).max())
    # float32 copy: same residual to single precision (relative to the size of the terms)
    r32 = residual(p, tops.to(dtype=torch.float32), t0.float(), t1.detach().float())
    scale = np.abs(explicit_residual(p, ops, u0)).max() + np.abs(step_operator(p, ops, u1 - u0)).max()
    assert np.abs(r32.numpy() - r_np).max() < 1e-5 * scale
    np.testing.assert_allclose(dual_norm(tops, r_t).detach().numpy(), dual_norm(ops, r_np), rtol=1e-12)


@pytest.mark.parametrize("pde", PDES)
def test_schemes_are_gradient_flows_of_the_energy(pde):
    """g(u) = dE/du for AC and SH, g(u) = K M_L^-1 dE/du for CH (H^-1 flow); dE/du matches finite differences."""
    p, fops, ops = setup(pde, n=5)
    u, v = fields(125, B=2, seed=6), fields(125, B=2, seed=7)
    grad = energy_gradient(p, ops, u)
    g = explicit_residual(p, ops, u)
    expected = ops.K @ (grad / ops.lumped) if pde == "ch" else grad
    np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-12 * np.abs(g).max())
    h = 1e-5
    fd = (free_energy(p, ops, u + h * v) - free_energy(p, ops, u - h * v)) / (2 * h)
    np.testing.assert_allclose(fd, (v * grad).sum(0), rtol=1e-7)


@pytest.mark.parametrize("pde", PDES)
def test_the_fast_energy_forms_are_the_energy(pde):
    """quadratic_form is u^T Q u (SH: |w|_ML^2, one product with K) and the potentials are the textbook ones (SH's
    written with products instead of U**4), on numpy and torch."""
    p, fops, ops = setup(pde, n=5)
    eq, u = p.equation, fields(125, B=3, seed=8)
    np.testing.assert_allclose(eq.quadratic_form(p, ops, u), (u * eq.quadratic(p, ops, u)).sum(0), rtol=1e-12)
    textbook = {"ac": (u**2 - 1) ** 2 / 4 / p.eps**2, "ch": (u**2 - 1) ** 2 / 4, "sh": u**4 / 4 - p.eps * u**2 / 2}
    np.testing.assert_allclose(eq.potential(p, u), textbook[pde], rtol=1e-13, atol=1e-15)
    tops = TorchSchemeOperators.from_fem(fops, dtype=torch.float64)
    ut = torch.from_numpy(u)
    np.testing.assert_allclose(eq.quadratic_form(p, tops, ut).numpy(), eq.quadratic_form(p, ops, u), rtol=1e-12)


@pytest.mark.parametrize("pde", PDES)
def test_symbol_is_the_eigenvalue_of_the_step_matrix_on_the_kuhn_grid(pde):
    """A phi = symbol(lam) W phi for a cosine mode at interior and face nodes (Kuhn: M_L^-1 K = 7-point Laplacian
    there), not at the cube's edges -- which is why the DCT preconditioner needs a few CG iterations."""
    n = 9
    p, fops, ops = setup(pde, n=n, dt=1e-2)
    L = p.L
    x = np.linspace(0, L, n)
    k = (2, 1, 3)
    phi = np.einsum("i,j,k->ijk", *(np.cos(np.pi * kk * x / L) for kk in k)).reshape(-1, 1)
    lam = grid_eigenvalues(n, L)[k]
    Aphi = step_operator(p, ops, phi).reshape(n, n, n)
    expected = (symbol(p, lam) * trapezoid_weights(n, L) * phi).reshape(n, n, n)
    on = np.zeros(n, int)
    on[[0, -1]] = 1
    boundary_count = on[:, None, None] + on[None, :, None] + on[None, None, :]
    depth = 1 if pde == "ac" else 2  # CH and SH nest two Laplacians: edge effects reach one node further
    far = np.ones((n, n, n), bool)
    for a in range(3):  # exclude the band of width `depth` around the 12 edges
        for b in range(a + 1, 3):
            idx = np.arange(n)
            band = [(idx < depth) | (idx >= n - depth) if ax in (a, b) else np.ones(n, bool) for ax in range(3)]
            far &= ~(band[0][:, None, None] & band[1][None, :, None] & band[2][None, None, :])
    scale = np.abs(expected).max()
    np.testing.assert_allclose(Aphi[far], expected[far], rtol=0, atol=1e-11 * scale)
    assert np.abs(Aphi - expected)[boundary_count >= 2].max() > 1e-3 * scale


def test_params_validation_presets_and_round_trip():
    for bad in [dict(pde="xx"), dict(eps=0.0), dict(dt=-1.0), dict(dt=float("nan")), dict(L=0.0),
                dict(substeps=0), dict(substeps=1.5), dict(S=-1.0), dict(mass="diagonal")]:
        with pytest.raises(InputError):
            PDEParams(**{**dict(pde="ac", eps=0.1, L=2.0, dt=1e-4), **bad})
    with pytest.raises(InputError, match="unknown PDE parameter"):
        preset("ac", frames=3)
    with pytest.raises(InputError, match="unknown PDE"):
        preset("kdv")
    ac, ch, sh = preset("ac"), preset("ch"), preset("sh")
    assert (ac.eps, ac.L, ac.dt, ch.eps, ch.dt, sh.eps, sh.L, sh.dt) == (0.1, 2.0, 1e-4, 0.05, 1e-3, 0.15, 15.0, 5e-2)
    # default S: AC max(0, 2 - eps^2/tau), CH 2, SH max(0, (6.75 - eps)/2 - 1/tau)
    assert (ac.S, ch.S, sh.S) == (0.0, 2.0, 0.0)
    assert preset("ac", dt=1e-2).S == pytest.approx(1.0)
    assert preset("sh", dt=1.0).S == pytest.approx(2.3)
    assert stability_bound(preset("sh", dt=1.0)) == pytest.approx(1.5)
    q = preset("ch", substeps=4, S=0.5, mass="consistent")
    assert PDEParams.from_dict(q.to_dict()) == q
    assert q.frame_level() == preset("ch", S=0.5, mass="consistent") and q.frame_level().S == 0.5
    assert q.tau == pytest.approx(2.5e-4) and q.scheme == "imex-stab-v1/ch/consistent"


def test_stability_bounds():
    assert stability_bound(preset("ac")) == pytest.approx(math.sqrt((2 * 100 + 1) / 3))
    assert stability_bound(preset("ch")) == pytest.approx(math.sqrt(5 / 3))
    assert stability_bound(preset("sh")) == pytest.approx(math.sqrt((40 + 0.15) / 3))
    assert stability_bound(preset("ac", mass="consistent")) is None


@pytest.mark.parametrize("pde,tau", [("ac", 1.0), ("ch", 1.0), ("sh", 10.0)])
def test_one_large_step_cannot_raise_the_energy_but_does_without_stabilisation(pde, tau):
    """The stability theorem of fem.schemes at steps 1e4 (AC), 1e3 (CH), 200 (SH) times the paper's dt,
    from rough initial data |u| <= 1; with S = 0 the same steps raise the energy (the test can fail)."""
    rng = np.random.default_rng(8)
    increases = {}
    for S in (None, 0.0):
        p = preset(pde, dt=tau, S=S)
        fops = assemble(cube_mesh(6, p.L))
        stepper = Stepper(p, fops, "jacobi", rtol=1e-12)
        u0 = rng.uniform(-1, 1, (fops.ndofs, 4))
        u1, _, rel = stepper.step(u0)
        assert rel.max() <= 1e-12
        increases[S] = (free_energy(p, fops, u1) - free_energy(p, fops, u0)).max()
        if S is None:
            assert np.abs(u1).max() <= stability_bound(p)
    assert increases[None] < 0 < increases[0.0]


def test_energy_and_mass_accept_every_documented_shape():
    p, fops, ops = setup("ch", n=4)
    traj = fields(64, B=5).T.reshape(5, 4, 4, 4)  # (frames, n, n, n)
    E = free_energy(p, fops, traj)
    assert E.shape == (5,)
    np.testing.assert_allclose(free_energy(p, ops, traj.reshape(5, 64)), E, rtol=1e-14)
    np.testing.assert_allclose(free_energy(p, ops, traj.reshape(5, 64).T), E, rtol=1e-14)
    assert free_energy(p, ops, traj[0]).shape == ()
    np.testing.assert_allclose(mass(ops, traj), traj.reshape(5, 64) @ fops.lumped, rtol=1e-13)
    assert float(mass(fops, np.ones(64))) == pytest.approx(p.L**3, rel=1e-13)  # = 1^T M 1
    with pytest.raises(InputError, match="do not match"):
        as_columns(np.ones((3, 7)), 64)


def test_relative_residual_is_one_when_standing_still():
    p, fops, ops = setup("sh", n=5)
    u = fields(125, B=2, amp=0.5)
    np.testing.assert_allclose(relative_residual(p, ops, u, u), 1.0, rtol=1e-14)
    assert ops.lumped.shape == (125, 1)
    np.testing.assert_array_equal(ops.K @ u, fops.K @ u)  # stored by diagonals, the same products


def test_the_pde_objects_own_what_differs():
    """Every PDE-specific choice is read from the registered PDE object (fem.pde), not from string switches."""
    from fem.pde import AllenCahn, CahnHilliard, SwiftHohenberg, get_pde, pde_names
    from fem.schemes import MASS_KINDS, PDES, PRESETS

    assert pde_names()[:3] == ("ac", "ch", "sh") and tuple(PDES)[:3] == ("ac", "ch", "sh")
    assert MASS_KINDS == ("lumped", "consistent")
    for cls in (AllenCahn, CahnHilliard, SwiftHohenberg):
        pde = get_pde(cls.name)
        assert type(pde) is cls and preset(cls.name).equation is pde
        assert PRESETS[cls.name] == dict(pde=cls.name, **cls.preset)
    assert PDEParams(get_pde("sh"), 0.15, 15.0, 0.05).pde == "sh"  # an object is stored by its name
    assert [get_pde(n).conserves_mass for n in ("ac", "ch", "sh")] == [False, True, False]
    assert [get_pde(n).auto_preconditioner for n in ("ac", "ch", "sh")] == ["dct", "dct", "dct"]
    assert [get_pde(n).initial_condition["family"] for n in ("ac", "ch", "sh")] == ["phase", "phase", "grf"]
    with pytest.raises(InputError, match="unknown PDE 'kdv'; expected one of ac, ch, sh"):
        get_pde("kdv")
