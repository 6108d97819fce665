"""Structured cube meshes, meshio round trips, and refusal of bad mesh files."""

from pathlib import Path

import meshio
import numpy as np
import pytest

from fem.mesh import (
    SPLITS,
    MeshChoice,
    cell_volumes,
    cube_mesh,
    cube_side,
    grid_size_of,
    is_grid_mesh,
    load_mesh,
    save_mesh,
)
from pihamno.errors import InputError, MeshError

MESHES = Path(__file__).resolve().parent.parent / "meshes"


@pytest.mark.parametrize("split, per_cell", [("kuhn", 6), ("five", 5)])
def test_structured_mesh_counts_volume_orientation(split, per_cell):
    n, L = 5, 2.0
    m = cube_mesh(n, L, split)
    assert m.p.shape == (3, n**3)
    assert m.t.shape == (4, per_cell * (n - 1) ** 3)
    vol = cell_volumes(m.p, m.t)
    assert np.all(vol > 0)
    assert vol.sum() == pytest.approx(L**3, rel=1e-13)


@pytest.mark.parametrize("split", ["kuhn", "five"])
def test_nodes_are_c_ordered_grid(split):
    n, L = 4, 3.0
    h = L / (n - 1)
    m = cube_mesh(n, L, split)
    for i, j, k in [(0, 0, 0), (1, 2, 3), (3, 0, 2), (2, 3, 1)]:
        np.testing.assert_allclose(m.p[:, (i * n + j) * n + k], [i * h, j * h, k * h], atol=1e-15)
    # a field u[i, j, k] reshapes straight into the nodal vector: u = x + 10 y + 100 z
    u = m.p[0] + 10 * m.p[1] + 100 * m.p[2]
    x = np.linspace(0, L, n)
    X, Y, Z = np.meshgrid(x, x, x, indexing="ij")
    np.testing.assert_allclose(u.reshape(n, n, n), X + 10 * Y + 100 * Z, atol=1e-12)
    assert is_grid_mesh(m, n, L) and grid_size_of(m) == n


@pytest.mark.parametrize("split", ["kuhn", "five"])
def test_mesh_is_conforming(split):
    """Every interior triangle is shared by exactly two cells: the boundary has 2 triangles per square."""
    n = 4
    m = cube_mesh(n, 1.0, split)
    assert m.boundary_facets().size == 6 * 2 * (n - 1) ** 2


@pytest.mark.parametrize("suffix", [".vtu", ".msh", ".xdmf"])
def test_meshio_round_trip(tmp_path, suffix):
    m = cube_mesh(4, 2.0, "five")
    path = tmp_path / f"cube{suffix}"
    save_mesh(m, path)
    back = load_mesh(path)
    np.testing.assert_allclose(back.p, m.p, atol=1e-12)
    np.testing.assert_array_equal(back.t, m.t)


@pytest.mark.parametrize("name", sorted(p.name for p in MESHES.glob("cube_*")))
def test_shipped_meshes_load_and_cover_the_cube(name):
    m = load_mesh(MESHES / name)
    L = cube_side(m)
    assert L == pytest.approx(2.0)
    assert cell_volumes(m.p, m.t).sum() == pytest.approx(L**3, rel=1e-9)


def _write(path, points, cells):
    meshio.write(path, meshio.Mesh(points, cells))
    return path


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(MeshError, match="does not exist"):
        load_mesh(tmp_path / "nope.msh")


def test_unreadable_file_is_refused(tmp_path):
    path = tmp_path / "garbage.msh"
    path.write_text("this is not a mesh\n")
    with pytest.raises(MeshError, match="could not be read"):
        load_mesh(path)


def test_triangle_mesh_is_refused(tmp_path):
    pts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], float)
    path = _write(tmp_path / "tri.vtu", pts, [("triangle", np.array([[0, 1, 2]]))])
    with pytest.raises(MeshError, match="not tetrahedral"):
        load_mesh(path)


def test_hexahedral_mesh_is_refused(tmp_path):
    pts = np.array([[i, j, k] for k in (0, 1) for j in (0, 1) for i in (0, 1)], float)
    path = _write(tmp_path / "hex.vtu", pts, [("hexahedron", np.array([[0, 1, 3, 2, 4, 5, 7, 6]]))])
    with pytest.raises(MeshError, match="hexahedron"):
        load_mesh(path)


def test_inverted_cell_is_refused(tmp_path):
    m = cube_mesh(3, 1.0)
    t = m.t.T.copy()
    t[5, [2, 3]] = t[5, [3, 2]]
    path = _write(tmp_path / "inv.vtu", m.p.T, [("tetra", t)])
    with pytest.raises(MeshError, match="1 inverted"):
        load_mesh(path)


def test_degenerate_cell_is_refused(tmp_path):
    m = cube_mesh(3, 1.0)
    t = np.vstack([m.t.T, [[0, 1, 2, 1]]])  # a repeated vertex: zero volume
    path = _write(tmp_path / "flat.vtu", m.p.T, [("tetra", t)])
    with pytest.raises(MeshError, match="degenerate"):
        load_mesh(path)


def test_unused_nodes_and_boundary_cells_are_dropped(tmp_path):
    m = cube_mesh(3, 1.0)
    pts = np.vstack([m.p.T, [[5.0, 5.0, 5.0]]])  # a stray point no cell uses
    path = _write(tmp_path / "extra.vtu", pts, [("triangle", np.array([[0, 1, 3]])), ("tetra", m.t.T)])
    back = load_mesh(path)
    assert back.p.shape[1] == 27 and cube_side(back) == pytest.approx(1.0)


@pytest.mark.parametrize("kwargs", [{"n": 1}, {"n": 4, "L": -1.0}, {"n": 4, "split": "six"}])
def test_bad_structured_arguments(kwargs):
    with pytest.raises(InputError):
        cube_mesh(**kwargs)


def test_cube_side_refuses_a_box():
    m = cube_mesh(3, 1.0)
    m2 = type(m)(m.p * np.array([[1.0], [2.0], [1.0]]), m.t)
    with pytest.raises(MeshError, match="not a cube"):
        cube_side(m2)


def test_loading_prints_nothing(capsys):
    load_mesh(MESHES / "cube_gmsh_h0.5_L2.msh")
    assert capsys.readouterr().out == ""


def test_mesh_choice_attrs_describe_and_refusals():
    assert MeshChoice() == MeshChoice("kuhn") and SPLITS == ("kuhn", "five")
    gmsh = str(MESHES / "cube_gmsh_h0.5_L2.msh")
    for choice, attrs, text in [(MeshChoice(), {"split": "kuhn", "mesh_file": ""}, "kuhn mesh"),
                                (MeshChoice("five"), {"split": "five", "mesh_file": ""}, "five mesh"),
                                (MeshChoice(file=gmsh), {"split": "", "mesh_file": gmsh}, f"mesh file {gmsh}")]:
        assert choice.to_attrs() == attrs and choice.describe() == text
        assert MeshChoice.from_attrs(attrs) == choice  # raw HDF5 attributes (empty strings) ...
        assert MeshChoice.from_attrs({k: v or None for k, v in attrs.items()}) == choice  # ... or read_metadata's
    assert MeshChoice.from_attrs({}) == MeshChoice() and MeshChoice(file=Path(gmsh)).file == gmsh
    with pytest.raises(InputError, match="unknown mesh split 'hex'; expected one of kuhn, five"):
        MeshChoice("hex")
    with pytest.raises(InputError, match="either a mesh split .* or a mesh file"):
        MeshChoice("five", gmsh)


def test_mesh_choice_builds_and_checks_the_side_with_one_tolerance(tmp_path):
    assert MeshChoice("five").build(4, 3.0).t.shape == cube_mesh(4, 3.0, "five").t.shape
    gmsh = MeshChoice(file=str(MESHES / "cube_gmsh_h0.5_L2.msh"))
    assert cube_side(gmsh.build(9, 2.0)) == pytest.approx(2.0)
    with pytest.raises(InputError, match=r"covers \[0, 2\]\^3 but L = 15"):
        gmsh.build(9, 15.0)
    m = cube_mesh(3, 2.0)
    for scale, ok in ((1 + 1e-12, True), (1 + 1e-8, False)):  # SIDE_RTOL = 1e-9, relative
        path = tmp_path / f"scaled{scale}.vtu"
        save_mesh(type(m)(m.p * scale, m.t), path)
        if ok:
            MeshChoice(file=str(path)).build(3, 2.0)
        else:
            with pytest.raises(InputError, match="covers"):
                MeshChoice(file=str(path)).build(3, 2.0)
