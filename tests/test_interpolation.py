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
