"""Assembled P1/P2 operators: exact integration, stiffness properties, the Kuhn mesh's 7-point Laplacian,
and interpolation convergence rates."""

from pathlib import Path

import numpy as np
import pytest
import skfem
from skfem import Functional

from fem.assembly import assemble
from fem.mesh import cube_mesh, load_mesh

MESHES = Path(__file__).resolve().parent.parent / "meshes"
L = 2.0


def _meshes():
    return {
        "kuhn": cube_mesh(5, L, "kuhn"),
        "five": cube_mesh(5, L, "five"),
        "gmsh": load_mesh(MESHES / "cube_gmsh_h0.5_L2.msh"),
    }


MESH_NAMES = ["kuhn", "five", "gmsh"]


@pytest.fixture(scope="module")
def meshes():
    return _meshes()


def _nodal(ops, f):
    x, y, z = ops.doflocs
    return f(x, y, z)


@pytest.mark.parametrize("name", MESH_NAMES)
@pytest.mark.parametrize("element", ["P1", "P2"])
def test_mass_integrates_polynomials_exactly(meshes, name, element):
    """u^T M v = int u v exactly when u, v are in the finite-element space."""
    ops = assemble(meshes[name], element)
    one = np.ones(ops.ndofs)
    x = _nodal(ops, lambda x, y, z: x)
    y = _nodal(ops, lambda x, y, z: y)
    assert one @ ops.M @ one == pytest.approx(L**3, rel=1e-12)
    assert one @ ops.M @ x == pytest.approx(L**4 / 2, rel=1e-12)
    assert x @ ops.M @ x == pytest.approx(L**5 / 3, rel=1e-12)  # int x^2
    assert x @ ops.M @ y == pytest.approx(L**5 / 4, rel=1e-12)
    assert ops.lumped.sum() == pytest.approx(L**3, rel=1e-12)
    assert np.all(ops.lumped > 0)
    if element == "P2":  # x^2 and y^2 are in P2: int x^2 y^2 = L^7 / 9
        x2, y2 = x**2, y**2
        assert x2 @ ops.M @ y2 == pytest.approx(L**7 / 9, rel=1e-12)


@pytest.mark.parametrize("name", MESH_NAMES)
@pytest.mark.parametrize("element", ["P1", "P2"])
def test_stiffness_symmetric_psd_annihilates_constants(meshes, name, element):
    ops = assemble(meshes[name], element)
    K = ops.K
    assert abs(K - K.T).max() == 0.0
    assert np.abs(K @ np.ones(ops.ndofs)).max() < 1e-12
    x = _nodal(ops, lambda x, y, z: x + 2 * y - z)
    assert x @ K @ x == pytest.approx(6 * L**3, rel=1e-12)  # int |grad u|^2 = |(1, 2, -1)|^2 L^3
    evals = np.linalg.eigvalsh(K.toarray()) if ops.ndofs <= 800 else None
    if evals is not None:
        assert evals.min() > -1e-12 * evals.max()
        assert np.sum(evals < 1e-10 * evals.max()) == 1  # only the constants are in the kernel


def test_assembly_is_cached_per_mesh_and_element():
    m = cube_mesh(4, 1.0)
    a, b = assemble(m), assemble(cube_mesh(4, 1.0))
    assert a is b  # same content -> same cached operators
    assert assemble(m, "P2") is not a
    assert assemble(m, "P2").ndofs == 4**3 + len(m.edges.T)


def _lap7_mirror(u, h):
    up = np.pad(u, 1, mode="reflect")  # mirror ghosts u[-1] = u[1]
    c = up[1:-1, 1:-1, 1:-1]
    return (
        up[2:, 1:-1, 1:-1] + up[:-2, 1:-1, 1:-1] + up[1:-1, 2:, 1:-1]
        + up[1:-1, :-2, 1:-1] + up[1:-1, 1:-1, 2:] + up[1:-1, 1:-1, :-2] - 6 * c
    ) / h**2


def _boundary_count(n):
    i = np.arange(n)
    on = ((i == 0) | (i == n - 1)).astype(int)
    return on[:, None, None] + on[None, :, None] + on[None, None, :]


def test_kuhn_lumped_stiffness_is_the_7_point_laplacian_at_interior_and_face_nodes():
    n, h = 9, L / 8
    ops = assemble(cube_mesh(n, L, "kuhn"))
    u = np.random.default_rng(0).standard_normal((n, n, n))
    fem_lap = -(ops.K @ u.ravel() / ops.lumped).reshape(n, n, n)
    fd_lap = _lap7_mirror(u, h)
    b = _boundary_count(n)
    scale = np.abs(fd_lap).max()
    assert np.abs(fem_lap - fd_lap)[b <= 1].max() < 1e-13 * scale
    # At cube edges and corners the 6-tet split is not symmetric: the stencils differ there.
    assert np.abs(fem_lap - fd_lap)[b >= 2].max() > 1e-2 * scale


def test_kuhn_edges_and_corners_tangential_exact_normal_weighted():
    """At edge nodes M_L^-1 K is the exact 3-point Laplacian along the edge (tangential direction); in the
    normal directions it weights the second derivative of a Neumann-compatible field by 3/4 or 3/2
    depending on the edge, and at corners by 2/3, 1 or 2 -- an O(1) local inconsistency on a set of
    vanishing measure, measured here for cos(pi x / L) and unchanged under refinement."""
    ratios = {}
    for n in (9, 17):
        h = L / (n - 1)
        ops = assemble(cube_mesh(n, L, "kuhn"))
        x = np.linspace(0, L, n)
        X = np.stack(np.meshgrid(x, x, x, indexing="ij"))
        b = _boundary_count(n)
        for axis in range(3):
            # a field varying along one axis only, with arbitrary values
            g = np.random.default_rng(axis).standard_normal(n)
            u = np.moveaxis(np.broadcast_to(g, (n, n, n)), -1, axis)
            fem = (ops.K @ u.ravel() / ops.lumped).reshape(n, n, n)
            fd = -_lap7_mirror(u, h)
            # edges parallel to `axis` (both other coordinates on the boundary, this one interior)
            inner = (np.arange(n) > 0) & (np.arange(n) < n - 1)
            along = np.moveaxis(np.broadcast_to(inner, (n, n, n)), -1, axis)
            edge = (b == 2) & along
            assert np.abs(fem - fd)[edge].max() < 1e-12 * np.abs(fd).max()
            # normal weighting on the other edges/corners, for a smooth Neumann field
            c = np.cos(np.pi * X[axis] / L)
            ratio = (ops.K @ c.ravel() / ops.lumped).reshape(n, n, n) / ((np.pi / L) ** 2 * c)
            for count in (2, 3):
                sel = (b == count) & (np.abs(c) > 1e-8) & ~along
                ratios.setdefault((n, count), []).extend(ratio[sel].tolist())
    for count, expected in ((2, {0.75, 1.5}), (3, {2 / 3, 1.0, 2.0})):
        for n in (9, 17):
            r = np.array(ratios[(n, count)])
            # every normal weight is close to one of the documented constants (O(h^2) consistency error)
            dist = np.min([np.abs(r - e) / e for e in expected], axis=0)
            assert dist.max() < (0.04 if n == 9 else 0.01), (n, count, sorted(set(np.round(r, 3))))


def _l2_interp_error(mesh, element, f):
    ops = assemble(mesh, element)
    uh = ops.basis.interpolate(f(*ops.doflocs))

    @Functional
    def err(w):
        return (w["uh"] - f(*w.x)) ** 2

    return np.sqrt(err.assemble(ops.basis, uh=uh))


@pytest.mark.parametrize("element, order", [("P1", 2.0), ("P2", 3.0)])
def test_interpolation_error_converges_at_expected_order(element, order):
    f = lambda x, y, z: np.sin(1.3 * x) * np.cos(0.7 * y) * np.exp(0.4 * z)  # noqa: E731
    ns = (5, 9, 17)
    errs = [_l2_interp_error(cube_mesh(n, L, "kuhn"), element, f) for n in ns]
    rates = [np.log2(errs[i] / errs[i + 1]) for i in range(len(ns) - 1)]
    print(f"{element} L2 interpolation errors {errs}, rates {rates}")
    assert rates[-1] == pytest.approx(order, abs=0.15)


def test_p1_basis_is_skfem_lagrange():
    ops = assemble(cube_mesh(3, 1.0), "P1")
    assert isinstance(ops.basis.elem, skfem.ElementTetP1)
    np.testing.assert_allclose(ops.doflocs, ops.mesh.p)
