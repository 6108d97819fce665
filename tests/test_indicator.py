"""The residual indicator (pihamno.physics.indicator): 0 on the scheme's step, 1 standing still, and the local error
relative to the step's size, ``I = |A e|_* / |A d*|_*``, within the spectrum of ``tau M_L^-1 A``.

Reference steps are made by the solver (``fem.solvers.simulate``, rtol 1e-12, kept in float64) from the datasets'
own initial conditions (``DatasetSpec``), as in tests/test_consistency.py.
"""

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse.linalg as sla
import torch

from fem.assembly import assemble
from fem.mesh import cube_mesh
from fem.schemes import SchemeOperators, dual_norm, preset, step_operator
from fem.solvers import simulate
from pihamno.data import DataDescription, DatasetSpec
from pihamno.physics import ResidualIndicator

MESHES = Path(__file__).resolve().parents[1] / "meshes"
# the examples' settings (examples/*.py): AC eps 0.1 dt 1e-3, CH eps 0.1 dt 5e-3, SH eps 0.15 L 15 dt 0.3
EXAMPLES = {"ac": dict(eps=0.1, L=2.0, dt=1e-3), "ch": dict(eps=0.1, L=2.0, dt=5e-3), "sh": dict(eps=0.15, L=15.0, dt=0.3)}


def reference(pde, n=8, frames=3, mesh=None, element="P1", params=None, seed=0):
    """(attributes, float64 frames (frames, n, n, n), the spec) of one solver trajectory from the data's own IC."""
    params = params or preset(pde, **EXAMPLES.get(pde, {}))
    spec = DatasetSpec(params, n, frames=frames, split=None if mesh else "kuhn", mesh_file=mesh, element=element,
                       rtol=1e-12, seed=seed)
    traj = simulate(params, spec.operators(), spec.initial_condition(0), frames, rtol=1e-12)
    return spec.attrs(""), torch.as_tensor(traj.u), spec


def step_spectrum(params, ops: SchemeOperators, which=("SA", "LA")) -> tuple[float, ...]:
    """Extreme eigenvalues of ``tau M_L^-1 A`` (similar to the symmetric ``M_L^-1/2 A M_L^-1/2``; lumped time mass),
    by Lanczos: the smallest (``"SA"``) and the largest (``"LA"``)."""
    s = np.sqrt(ops.lumped)
    N = ops.ndofs
    op = sla.LinearOperator((N, N), matvec=lambda x: params.tau * step_operator(params, ops, x.reshape(-1, 1) / s).ravel()
                            / s.ravel(), dtype=float)
    return tuple(float(sla.eigsh(op, k=1, which=w, tol=1e-10, return_eigenvectors=False)[0]) for w in which)


@pytest.mark.parametrize("pde, top", [("ac", 1.6993), ("ch", 32.445), ("sh", 40.208)])
def test_the_top_of_the_step_spectrum_at_n16_is_the_documented_one(pde, top):
    """docs/physics.md's table: tau M_L^-1 A at the examples' settings, n = 16, kuhn (AC and CH: the bottom is 1)."""
    params = preset(pde, **EXAMPLES[pde])
    ops = SchemeOperators.from_fem(assemble(cube_mesh(16, params.L, "kuhn")))
    assert step_spectrum(params, ops, ("LA",))[0] == pytest.approx(top, rel=1e-4)
    if pde != "sh":
        assert step_spectrum(params, ops, ("SA",))[0] == pytest.approx(1.0, rel=1e-8)


@pytest.mark.parametrize("pde", ["ac", "ch", "sh"])
def test_zero_on_reference_steps_and_exactly_one_standing_still(pde):
    meta, u, _ = reference(pde)
    ind = ResidualIndicator.for_data(DataDescription.from_attrs(meta), device="cpu")
    assert ind.exact
    on = ind(u[:-1], u[1:])
    assert on.dtype == torch.float64 and on.shape == (2,)
    assert float(on.max()) < 1e-9, on  # float64 solver steps: round-off (measured 1e-13..1e-11)
    still = ind(u[:-1], u[:-1])
    assert torch.equal(still, torch.ones(2, dtype=torch.float64))
    # float32 storage, as datasets hold the frames: the rounding floor ~1e-6..1e-5, far below any model's steps
    floor = ind(u[:-1].float(), u[1:].float())
    assert float(floor.max()) < 1e-4, floor
    assert float(floor.min()) > 0.0


@pytest.mark.parametrize("pde", ["ac", "ch", "sh"])
def test_the_indicator_is_the_local_error_A_e_over_the_scheme_increment(pde):
    """r(u0, S(u0) + e) = A e, so I = |A e|_* / |A d*|_*, d* = S(u0) - u0, computed directly with numpy/scipy."""
    meta, u, spec = reference(pde, frames=2)
    params, ops = spec.params, SchemeOperators.from_fem(spec.operators())
    ind = ResidualIndicator.for_data(DataDescription.from_attrs(meta), device="cpu")
    u0, s0 = u[0].reshape(-1, 1).numpy(), u[1].reshape(-1, 1).numpy()
    d_star = s0 - u0
    rng = np.random.default_rng(1)
    for scale in (1e-3, 0.1, 1.0, 10.0):
        e = scale * np.linalg.norm(d_star) / np.sqrt(d_star.size) * rng.standard_normal(d_star.shape)
        direct = dual_norm(ops, step_operator(params, ops, e)) / dual_norm(ops, step_operator(params, ops, d_star))
        got = ind(u[:1], torch.as_tensor((s0 + e).reshape(1, *u.shape[1:])))
        assert float(got[0]) == pytest.approx(float(direct[0]), rel=1e-8)


@pytest.mark.parametrize("pde", ["ac", "ch", "sh"])
def test_the_indicator_is_bounded_by_the_spectrum_and_attains_it(pde):
    """|e|_ML / (kappa |d*|_ML) <= I <= kappa |e|_ML / |d*|_ML with kappa the condition number of tau M_L^-1 A,
    and on an eigenvector e of M_L^-1 A with eigenvalue lam, I = lam |e|_ML / |A d*|_* exactly."""
    meta, u, spec = reference(pde, frames=2)
    params, ops = spec.params, SchemeOperators.from_fem(spec.operators())
    ind = ResidualIndicator.for_data(DataDescription.from_attrs(meta), device="cpu")
    m = ops.lumped
    # dense M_L^-1/2 A M_L^-1/2 at n = 8 (512 dofs)
    A = step_operator(params, ops, np.eye(ops.ndofs))
    sym = A / np.sqrt(m) / np.sqrt(m).T
    lam, vec = np.linalg.eigh((sym + sym.T) / 2)
    kappa = lam[-1] / lam[0]
    lo, hi = step_spectrum(params, ops)
    assert lo == pytest.approx(params.tau * lam[0], rel=1e-6) and hi == pytest.approx(params.tau * lam[-1], rel=1e-6)
    u0, s0 = u[0].reshape(-1, 1).numpy(), u[1].reshape(-1, 1).numpy()
    d_star = s0 - u0
    norm_ml = lambda x: float(np.sqrt((m * x * x).sum()))  # noqa: E731
    ad_star = float(dual_norm(ops, step_operator(params, ops, d_star))[0])
    rng = np.random.default_rng(2)
    for k in (0, len(lam) // 2, len(lam) - 1, None):
        e = rng.standard_normal(d_star.shape) if k is None else vec[:, k : k + 1] / np.sqrt(m)
        e *= 0.3 * norm_ml(d_star) / norm_ml(e)
        got = float(ind(u[:1], torch.as_tensor((s0 + e).reshape(1, *u.shape[1:])))[0])
        ratio = norm_ml(e) / norm_ml(d_star)
        assert ratio / kappa * (1 - 1e-9) <= got <= kappa * ratio * (1 + 1e-9)
        if k is not None:
            assert got == pytest.approx(lam[k] * norm_ml(e) / ad_star, rel=1e-7)


def test_samples_are_independent_in_a_batch():
    meta, u, _ = reference("ac", frames=4)
    ind = ResidualIndicator.for_data(DataDescription.from_attrs(meta), device="cpu")
    prev = torch.stack([u[0], u[1], u[2], u[0]])
    nxt = torch.stack([u[1] + 0.01 * torch.sin(u[1] * 7), u[1], 0.9 * u[3], u[0]])
    batch = ind(prev, nxt)
    single = torch.cat([ind(prev[i : i + 1], nxt[i : i + 1]) for i in range(4)])
    torch.testing.assert_close(batch, single, rtol=1e-12, atol=0)
    assert batch[1] > 1e-3 and batch[3] == 1.0 and batch[0] > 1e-3
    steps = ind.trajectory(u[None], start=1)
    assert steps.shape == (1, 2) and float(steps.max()) < 1e-9


def test_a_state_the_scheme_keeps_exactly_is_one_standing_still_and_infinite_moved():
    ind = ResidualIndicator(preset("ac", dt=1e-3), 5, device="cpu")
    zero = torch.zeros(1, 5, 5, 5)  # g(0) = K 0 + M_L f(0) / eps^2 = 0 exactly
    assert float(ind(zero, zero)[0]) == 1.0 and float(ind(zero, zero + 0.1)[0]) == float("inf")


@pytest.mark.parametrize("element, n", [("P1", 10), ("P2", 16)])
def test_a_mesh_file_dataset(element, n):
    meta, u, _ = reference("ch", n=n, mesh=str(MESHES / "cube_gmsh_h0.5_L2.msh"), element=element)
    ind = ResidualIndicator.for_data(DataDescription.from_attrs(meta), device="cpu")
    assert ind.exact and ind.disc.inverse.kind == "least_squares"
    assert float(ind(u[:-1], u[1:]).max()) < 1e-9
    assert torch.equal(ind(u[:-1], u[:-1]), torch.ones(2, dtype=torch.float64))


def test_a_plugin_pde():
    sys.path.insert(0, str(Path(__file__).parent / "plugins"))
    import importlib

    from fem.pde import unregister_pde

    importlib.import_module("heat_equation")
    try:
        meta, u, _ = reference("heat", params=preset("heat"))
        ind = ResidualIndicator.for_data(DataDescription.from_attrs(meta), device="cpu")
        assert float(ind(u[:-1], u[1:]).max()) < 1e-9
        assert torch.equal(ind(u[:-1], u[:-1]), torch.ones(2, dtype=torch.float64))
        assert float(ind(u[:-1], 1.1 * u[1:]).min()) > 1e-3
    finally:
        unregister_pde("heat")
        sys.modules.pop("heat_equation", None)
        sys.path.remove(str(Path(__file__).parent / "plugins"))


def test_runs_on_the_device(device):
    meta, u, _ = reference("sh")
    ind = ResidualIndicator.for_data(DataDescription.from_attrs(meta), device=device)
    got = ind(u[:-1].to(device, torch.float32), u[1:].to(device, torch.float32))
    assert got.device.type == device.type and got.dtype == torch.float64 and float(got.max()) < 1e-4


def test_wrong_shapes_are_refused():
    ind = ResidualIndicator(preset("ac", dt=1e-3), 5, device="cpu")
    with pytest.raises(Exception, match=r"u_next must have shape \(B, 5, 5, 5\)"):
        ind(torch.zeros(1, 5, 5, 5), torch.zeros(1, 4, 4, 4))
