"""The consistency contract (docs/design.md section 5.6): every physics term training can use vanishes on reference
data made with the same settings.

For AC, CH and SH on the ``kuhn`` and ``five`` splits with P1 and P2 elements, and on gmsh mesh files, tiny reference
data are made the way ``pihamno generate`` makes them (``DatasetSpec``: its mesh, element and initial condition;
``substeps = 1``) but kept in float64, and the losses of :class:`pihamno.physics.PhysicsLoss` built from the data's
own description (``PhysicsLoss.for_data``, float64) are compared on the true step and on standing still (``u_next = u_prev``):

    L(true frames) <= 1e-8 L(standing still)        for the strong and the weak (assembled) term

The paper's element-local residual is the exception, documented as inconsistent: it is asserted NOT to vanish.
``pytest -s tests/test_consistency.py`` prints the matrix of ratios at the end of the module.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

from fem.schemes import preset
from fem.solvers import simulate
from pihamno.data import DataDescription, DatasetSpec
from pihamno.physics import PhysicsLoss

MESHES = Path(__file__).resolve().parents[1] / "meshes"
DT = {"ac": 1e-3, "ch": 1e-3, "sh": 5e-2}
CONTRACT = 1e-8
F64 = dict(device="cpu", dtype=torch.float64)

# (pde, mesh, element, n): structured splits (P1 at even n, P2 on the vertex grid at odd n) and gmsh files of
# [0, 2]^3 (SH then runs with L = 2); n is large enough that the grid samples determine the mesh's dofs.
GMSH_COARSE, GMSH_FINE = "cube_gmsh_h0.5_L2.msh", "cube_gmsh_h0.25_L2.msh"
CASES = [(pde, split, el, 8 if el == "P1" else 9) for pde in DT for split in ("kuhn", "five") for el in ("P1", "P2")]
CASES += [(pde, GMSH_COARSE, "P1", 9) for pde in DT] + [(pde, GMSH_COARSE, "P2", 16) for pde in DT]
CASES += [(pde, GMSH_FINE, "P1", 16) for pde in DT]
# P2 on the finer gmsh mesh (4702 dofs) needs n = 32 to be determined by the grid samples; its dense Cholesky takes
# ~7 s here, so one PDE runs in the suite (AC and SH gave 7.5e-22 / 8.9e-21 in the same setting, docs/physics.md)
CASES += [pytest.param("ch", GMSH_FINE, "P2", 32, marks=pytest.mark.slow)]


@pytest.fixture(scope="module")
def matrix():
    """Collects one row per case; prints the table when the module is done (``pytest -s`` shows it)."""
    rows = {}
    yield rows
    if rows:
        lines = ["", "consistency contract: L(true frames) / L(standing still), float64, substeps = 1, worst of 2 steps",
                 f"{'pde':<4} {'mesh':<24} {'element':<7} {'n':>3}  {'dofs map':<13} {'strong':>8} {'weak':>8}   "
                 f"{'element_local (inconsistent)':>28}"]
        for (pde, mesh, el, n), r in sorted(rows.items(), key=lambda kv: (list(DT).index(kv[0][0]), kv[0][1:])):
            lines.append(f"{pde:<4} {mesh:<24} {el:<7} {n:>3}  {r['map']:<13} {r['strong']:>8.1e} {r['weak']:>8.1e}   "
                         f"{r['element_local']:>28.2e}")
        lines.append(f"contract: strong and weak <= {CONTRACT:.0e}; element_local is excluded (asserted > 1e-2)")
        print("\n".join(lines))


def reference_data(pde, mesh, element, n):
    """(dataset attributes, float64 frames (3, n, n, n)) of one trajectory made as ``pihamno generate`` makes it."""
    structured = mesh in ("kuhn", "five")
    params = preset(pde, dt=DT[pde], L=None if structured else 2.0)
    spec = DatasetSpec(params, n, frames=3, split=mesh if structured else None,
                       mesh_file=None if structured else str(MESHES / mesh), element=element, rtol=1e-12)
    # SH with P2 on a mesh file: Jacobi-preconditioned CG needs ~600 (h0.5) to ~2000 (h0.25) iterations, more than
    # the default cap, and stalls near 1e-12; rtol 1e-10 still puts the ratios near 1e-20
    rtol, maxiter = (1e-10, 5000) if element == "P2" and not structured else (1e-12, None)
    traj = simulate(params, spec.operators(), spec.initial_condition(0), spec.frames, rtol=rtol, maxiter=maxiter)
    return spec.attrs(""), torch.as_tensor(traj.u)


def ratios(phys, u):
    """Worst ratio L(true step) / L(standing still) over the steps of the frames u (F, n, n, n), per term."""
    on = phys(u[:-1], u[1:], reduce=False)
    still = phys(u[:-1], u[:-1], reduce=False)
    return {k: float((on[k] / still[k]).max()) for k in on}


@pytest.mark.parametrize("pde, mesh, element, n", CASES)
def test_every_term_vanishes_on_reference_data_made_with_the_same_settings(matrix, pde, mesh, element, n):
    meta, u = reference_data(pde, mesh, element, n)
    phys = PhysicsLoss.for_data(DataDescription.from_attrs(meta), **F64)
    assert phys.exact == {"strong": True, "weak": True}
    r = ratios(phys, u)
    local = ratios(PhysicsLoss.for_data(DataDescription.from_attrs(meta), weak="element_local", **F64), u)["weak"]
    matrix[(pde, mesh, element, n)] = dict(r, element_local=local, map=phys.data_disc.inverse.kind)
    assert r["strong"] <= CONTRACT and r["weak"] <= CONTRACT, r
    # the paper's element-local residual is documented as inconsistent: the truth scores O(1) of standing still
    assert local > 1e-2


def test_a_perturbation_is_not_consistent():
    """The contract can fail: 1e-3 noise on the true frame raises both terms far above the truth's."""
    meta, u = reference_data("ch", "kuhn", "P1", 8)
    phys = PhysicsLoss.for_data(DataDescription.from_attrs(meta), **F64)
    noisy = u.clone()
    noisy[1:] += 1e-3 * torch.randn(noisy[1:].shape, generator=torch.Generator().manual_seed(0), dtype=u.dtype)
    r = ratios(phys, noisy)
    assert r["strong"] > 1e-6 and r["weak"] > 1e-6


@pytest.mark.parametrize("pde", list(DT))
def test_settings_that_differ_from_the_data_have_a_floor(pde):
    """Not the same settings, so not in the contract, and measurably so: P2 test functions on P1 frames, P1 on P2
    frames (the strong term stays on the data's element and still vanishes), frames 2 scheme steps apart."""
    meta, u = reference_data(pde, "kuhn", "P1", 9)
    cross = ratios(PhysicsLoss.for_data(DataDescription.from_attrs(meta), element="P2", **F64), u)
    assert cross["strong"] <= CONTRACT and cross["weak"] > 1e-2
    meta2, u2 = reference_data(pde, "kuhn", "P2", 9)
    cross2 = ratios(PhysicsLoss.for_data(DataDescription.from_attrs(meta2), element="P1", **F64), u2)
    assert cross2["strong"] <= CONTRACT and cross2["weak"] > 1e-2
    sub = DatasetSpec(preset(pde, dt=DT[pde], substeps=2), 8, frames=3, rtol=1e-12)
    traj = simulate(sub.params, sub.operators(), sub.initial_condition(0), 3, rtol=1e-12)
    r = ratios(PhysicsLoss.for_data(DataDescription.from_attrs(sub.attrs("")), **F64), torch.as_tensor(traj.u))
    assert min(r.values()) > 1e-5  # measured 7e-5 (SH) to 6e-2 (CH) at n = 8
    print(f"{pde}: P2 weak on P1 frames {cross['weak']:.2e}, P1 weak on P2 frames {cross2['weak']:.2e}, "
          f"substeps = 2: strong {r['strong']:.2e} weak {r['weak']:.2e}")


def test_p2_on_a_split_needs_an_odd_n():
    with pytest.raises(Exception, match="odd n"):
        DatasetSpec(preset("ac"), 8, element="P2")
    assert DatasetSpec(preset("ac"), 8, element="P2", mesh_file=str(MESHES / GMSH_COARSE)).element == "P2"
    # the loss accepts P2 at even n on the grid mesh, with an interpolation floor it says it has
    phys = PhysicsLoss(preset("ac"), 8, element="P2", data_element="P1", **F64)
    assert phys.exact == {"strong": True, "weak": False} and phys.weak_disc.inverse.kind == "interpolation"
    assert np.isfinite(phys(torch.zeros(1, 8, 8, 8), torch.ones(1, 8, 8, 8))["weak"].item())
