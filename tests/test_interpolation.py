"""Grid <-> mesh maps: exactness on trilinear functions, identity on grid meshes, convergence elsewhere."""

from pathlib import Path

import numpy as np
import pytest

from fem.assembly import assemble
from fem.interpolation import dofs_to_grid, grid_to_dofs, grid_to_points
from fem.mesh import cube_mesh, grid_points, load_mesh
from pihamno.errors import InputError

MESHES = Path(__file__).resolve().parent.parent / "meshes"
L = 2.0


def trilinear(x, y, z):
    return 1 + x - 2 * y + 0.5 * z + x * y - y * z + 0.3 * x * y * z


def smooth(x, y, z):
    return np.cos(np.pi * x / L) * np.cos(2 * np.pi * y / L) * np.cos(np.pi * z / L)


def test_trilinear_interpolation_is_exact_for_trilinear_functions():
    n = 5
    g = trilinear(*grid_points(n, L))
    pts = np.random.default_rng(1).uniform(0, L, (3, 200))
    pts[:, :3] = [[0, L, L / 2], [L, 0, L], [L, L, 0]]  # include faces and corners
    P = grid_to_points(pts, n, L)
    np.testing.assert_allclose(P @ g, trilinear(*pts), atol=1e-12)
    np.testing.assert_allclose(np.asarray(P.sum(axis=1)).ravel(), 1.0, atol=1e-14)


def test_trilinear_interpolation_at_grid_nodes_is_identity():
    n = 4
    P = grid_to_points(grid_points(n, L), n, L)
    assert abs(P - np.eye(n**3)).max() < 1e-14


def test_points_outside_are_refused():
    with pytest.raises(InputError, match="outside"):
        grid_to_points(np.array([[0.5], [0.5], [L + 0.1]]), 5, L)


@pytest.mark.parametrize("split", ["kuhn", "five"])
def test_p1_on_grid_mesh_needs_no_map(split):
    ops = assemble(cube_mesh(5, L, split))
    assert grid_to_dofs(ops, 5) is None and dofs_to_grid(ops, 5) is None
    # but a different grid size does need one
    assert grid_to_dofs(ops, 9).shape == (ops.ndofs, 9**3)


def test_p2_round_trip_on_grid_mesh_is_exact():
    """P2 dofs include the vertices, so grid -> P2 -> grid returns the grid values."""
    n = 5
    ops = assemble(cube_mesh(n, L), "P2")
    P, Q = grid_to_dofs(ops, n), dofs_to_grid(ops, n)
    g = np.random.default_rng(2).standard_normal(n**3)
    np.testing.assert_allclose(Q @ (P @ g), g, atol=1e-12)


def test_unstructured_mesh_round_trip_converges_at_second_order():
    """Grid -> gmsh mesh (trilinear) -> grid (P1 probes) of a smooth field: error O(H^2) in the mesh size."""
    errs, hs = [], []
    for name in ("cube_gmsh_h0.5_L2.msh", "cube_gmsh_h0.25_L2.msh"):
        ops = assemble(load_mesh(MESHES / name))
        hs.append((L**3 / ops.ndofs) ** (1 / 3))  # effective mesh size: gmsh's nominal size is not it
        n = 25
        g = smooth(*grid_points(n, L))
        back = dofs_to_grid(ops, n) @ (grid_to_dofs(ops, n) @ g)
        errs.append(np.sqrt(np.mean((back - g) ** 2)))
    rate = np.log(errs[0] / errs[1]) / np.log(hs[0] / hs[1])
    print(f"round-trip RMS errors {errs} at effective h {hs}, rate {rate:.2f}")
    assert 1.7 < rate < 2.5


def test_grid_to_mesh_converges_at_second_order_in_grid_spacing():
    ops = assemble(load_mesh(MESHES / "cube_gmsh_h0.25_L2.msh"))
    exact = smooth(*ops.doflocs)
    errs = [np.abs(grid_to_dofs(ops, n) @ smooth(*grid_points(n, L)) - exact).max() for n in (9, 17, 33)]
    rates = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    print(f"grid -> mesh max errors {errs}, rates {rates}")
    assert np.all(np.abs(rates - 2.0) < 0.25)


@pytest.mark.parametrize("name, element, n", [("cube_gmsh_h0.5_L2.msh", "P1", 9), ("cube_gmsh_h0.5_L2.msh", "P2", 16),
                                              ("cube_gmsh_h0.25_L2.msh", "P1", 17)])
def test_probes_match_scikit_fem_and_the_sampling_has_a_least_squares_left_inverse(name, element, n):
    """fem.interpolation.probes is scikit-fem's Basis.probes with a bounded-memory cell search (equal to
    round-off: a grid point on a shared face may be evaluated in either cell), and samples_to_dofs inverts it."""
    from fem.interpolation import probes, samples_to_dofs

    ops = assemble(load_mesh(MESHES / name), element)
    Q = probes(ops, grid_points(n, L))
    ref = ops.basis.probes(grid_points(n, L))
    assert abs(Q - ref).max() < 1e-13
    inv = samples_to_dofs(ops, n)
    assert inv.kind == "least_squares" and inv.exact and samples_to_dofs(ops, n) is inv  # cached
    x = np.random.default_rng(0).standard_normal((ops.ndofs, 3))
    np.testing.assert_allclose(inv @ (Q @ x), x, atol=1e-11)
    # and a smooth grid field goes to the best mesh function in the grid's norm: its residual is orthogonal to Q
    g = smooth(*grid_points(n, L))
    from fem.grid import trapezoid_weights

    assert np.abs(Q.T @ (trapezoid_weights(n, L).ravel() * (Q @ (inv @ g) - g))).max() < 1e-12


def test_samples_to_dofs_kinds_and_fallbacks():
    from fem.interpolation import samples_to_dofs

    assert samples_to_dofs(assemble(cube_mesh(5, L)), 5).kind == "identity"
    for split in ("kuhn", "five"):  # P2 on the vertex grid: the dofs are grid nodes
        ops = assemble(cube_mesh(5, L, split), "P2")
        inv = samples_to_dofs(ops, 9)
        assert inv.kind == "selection" and inv.exact
        Q = dofs_to_grid(ops, 9)
        x = np.random.default_rng(1).standard_normal(ops.ndofs)
        np.testing.assert_array_equal(inv @ (Q @ x), x)  # exactly: the samples at the dofs are the dofs
    gmsh = assemble(load_mesh(MESHES / "cube_gmsh_h0.25_L2.msh"))  # 718 nodes
    few = samples_to_dofs(gmsh, 8)  # 512 grid nodes cannot determine 718 dofs
    assert few.kind == "interpolation" and not few.exact and "more than the 512 grid nodes" in few.reason
    rank = samples_to_dofs(gmsh, 9)  # 729 >= 718, but some dofs see too few grid nodes: rank deficient
    assert rank.kind == "interpolation" and "determine" in rank.reason


def test_locate_cells_refuses_points_outside_the_mesh():
    from fem.interpolation import locate_cells

    ops = assemble(load_mesh(MESHES / "cube_gmsh_h0.5_L2.msh"))
    assert locate_cells(ops, np.array([[1.0], [1.0], [1.0]]))[0] >= 0
    with pytest.raises(InputError, match="outside the mesh"):
        locate_cells(ops, np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 2.5]]))
