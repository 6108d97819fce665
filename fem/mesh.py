"""Tetrahedral meshes of the cube [0, L]^3: structured splits of the node grid, and files read with meshio.

Grid convention (docs/design.md section 2): a field is sampled on the n x n x n node grid with spacing
h = L / (n - 1); index (i, j, k) is the point (i h, j h, k h). The structured meshes below use exactly
these nodes, numbered in C order of (i, j, k)::

    node(i, j, k) = (i * n + j) * n + k

so a field tensor ``u`` of shape ``(B, n, n, n)`` is the nodal matrix ``u.reshape(B, -1).T`` of shape
``(n**3, B)`` with no permutation. (scikit-fem's own ``MeshTet.init_tensor`` numbers nodes y-fastest,
which is why the connectivity is built here.)

Splits of each grid cell:

* ``kuhn`` -- 6 tetrahedra around the main diagonal (0,0,0)-(1,1,1), the same in every cell (Kuhn /
  Freudenthal triangulation). With the row-sum lumped mass, ``M_L^-1 K`` is the 7-point mirror-ghost
  Laplacian at interior and face nodes (not at the cube's edges and corners).
* ``five`` -- 5 tetrahedra (a central one and four corners), mirrored in alternate cells
  (parity of i + j + k) so that the faces between cells match.

P2 elements on a split use the vertex grid of half the resolution at odd n (:func:`structured_vertices`), so
that their quadratic dofs are grid nodes and grid samples carry them exactly.

All cells are returned positively oriented (det[x1-x0, x2-x0, x3-x0] > 0).

Example:

>>> m = cube_mesh(3, L=2.0, split="kuhn")
>>> m.p.shape, m.t.shape
((3, 27), (4, 48))
>>> round(float(cell_volumes(m.p, m.t).sum()), 12)  # the cube's volume L^3
8.0

"Structured split or mesh file" has one owner, :class:`MeshChoice` (what datasets record as ``split`` /
``mesh_file``); a mesh file must cover the cube [0, L]^3 to the relative tolerance :data:`SIDE_RTOL`:

>>> MeshChoice().describe(), MeshChoice("five").to_attrs()
('kuhn mesh', {'split': 'five', 'mesh_file': ''})
>>> MeshChoice.from_attrs({"split": "", "mesh_file": "meshes/x.msh"})
MeshChoice(split=None, file='meshes/x.msh')
>>> MeshChoice("five").build(3, 2.0).t.shape
(4, 40)
"""

from __future__ import annotations

import contextlib
import io
import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import skfem

from fem.choices import SPLITS, Split  # noqa: F401 - re-exported: the choices are owned by fem.choices
from fem.errors import InputError, MeshError, input_file

#: Structured splits of the grid cells into tetrahedra (module docstring).
#: Relative tolerance on the side L of a mesh file's cube against the data's L (the one used everywhere).
SIDE_RTOL = 1e-9

# Corner offsets (di, dj, dk) of the tetrahedra of one cell.
_KUHN = [
    [(0, 0, 0), tuple(np.eye(3, dtype=int)[a]), tuple(np.eye(3, dtype=int)[a] + np.eye(3, dtype=int)[b]), (1, 1, 1)]
    for a, b, _ in itertools.permutations(range(3))
]
_FIVE_EVEN = [
    [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 1)],
    [(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1)],
    [(1, 1, 0), (1, 0, 0), (0, 1, 0), (1, 1, 1)],
    [(1, 0, 1), (1, 0, 0), (0, 0, 1), (1, 1, 1)],
    [(0, 1, 1), (0, 1, 0), (0, 0, 1), (1, 1, 1)],
]
_FIVE_ODD = [
    [(0, 0, 0), (1, 1, 0), (1, 0, 1), (0, 1, 1)],
    [(1, 0, 0), (0, 0, 0), (1, 1, 0), (1, 0, 1)],
    [(0, 1, 0), (0, 0, 0), (1, 1, 0), (0, 1, 1)],
    [(0, 0, 1), (0, 0, 0), (1, 0, 1), (0, 1, 1)],
    [(1, 1, 1), (1, 1, 0), (1, 0, 1), (0, 1, 1)],
]


def grid_points(n: int, L: float) -> np.ndarray:
    """Coordinates of the n^3 grid nodes in C order of (i, j, k): array of shape ``(3, n**3)``."""
    x = np.linspace(0.0, L, n)
    X, Y, Z = np.meshgrid(x, x, x, indexing="ij")
    return np.stack([X.ravel(), Y.ravel(), Z.ravel()])


def _check_grid_args(n: int, L: float, split: str) -> None:
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise InputError(f"n must be an integer >= 2 nodes per side, got {n!r}")
    if not np.isfinite(L) or L <= 0:
        raise InputError(f"the cube side L must be a positive number, got {L!r}")
    if split not in SPLITS:
        raise InputError(f"unknown mesh split {split!r}; expected one of {', '.join(SPLITS)}")


def cell_volumes(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Signed volumes det[x1-x0, x2-x0, x3-x0] / 6 of tetrahedra ``t`` (4, nt) over points ``p`` (3, np)."""
    x0 = p[:, t[0]]
    d = np.stack([p[:, t[1]] - x0, p[:, t[2]] - x0, p[:, t[3]] - x0])  # (3 edges, 3 coords, nt)
    return np.einsum("ik,ik->k", d[0], np.cross(d[1], d[2], axis=0)) / 6.0


def _orient(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Swap the last two vertices of negatively oriented cells."""
    t = t.copy()
    neg = cell_volumes(p, t) < 0
    t[2, neg], t[3, neg] = t[3, neg], t[2, neg].copy()
    return t


def cube_mesh(n: int, L: float = 1.0, split: str = "kuhn") -> skfem.MeshTet:
    """Structured tetrahedral mesh of [0, L]^3 on the n^3 node grid, nodes in C order of (i, j, k).

    Parameters
    ----------
    n : nodes per side (>= 2); spacing h = L / (n - 1).
    L : side of the cube.
    split : ``"kuhn"`` (6 tets per cell, 6 (n-1)^3 cells) or ``"five"`` (5 tets per cell, alternating).
    """
    _check_grid_args(n, L, split)
    p = grid_points(n, L)
    c = np.arange(n - 1)
    ci, cj, ck = (a.ravel() for a in np.meshgrid(c, c, c, indexing="ij"))  # cell (ci, cj, ck): lowest corner

    def tets(template, mask=None):
        ii, jj, kk = (ci, cj, ck) if mask is None else (ci[mask], cj[mask], ck[mask])
        blocks = []
        for tet in template:
            blocks.append(np.stack([((ii + a) * n + (jj + b)) * n + (kk + d) for a, b, d in tet]))
        return np.concatenate(blocks, axis=1)

    if split == "kuhn":
        t = tets(_KUHN)
    else:
        even = (ci + cj + ck) % 2 == 0
        t = np.concatenate([tets(_FIVE_EVEN, even), tets(_FIVE_ODD, ~even)], axis=1)
    return skfem.MeshTet(p, _orient(p, t).astype(np.int64))


def structured_vertices(n: int, element: str = "P1") -> int:
    """Nodes per side of the structured mesh that carries ``element`` on the n^3 node grid.

    P1: ``n`` (the mesh nodes are the grid). P2 at odd n: ``(n + 1) / 2``, the vertex grid of spacing 2h, whose
    quadratic dofs (vertices and edge midpoints) are grid nodes: all n^3 of them for ``kuhn`` (every face
    and cell diagonal of the split has its midpoint on the grid: a bijection), all but the (n - 1)^3 / 8 cell
    centres for ``five`` (no cell diagonal). So grid samples of a P2 solution carry its dofs exactly.
    P2 at even n has no such mesh: it is then ``n`` (P2 on the grid mesh, whose edge midpoints lie between
    grid nodes; datasets refuse it, the physics loss accepts it with an interpolation floor).

    >>> structured_vertices(9), structured_vertices(9, "P2"), structured_vertices(8, "P2")
    (9, 5, 8)
    """
    return (n + 1) // 2 if element == "P2" and n % 2 == 1 else n


def check_tetrahedra(p: np.ndarray, t: np.ndarray, source: str = "mesh", rel_tol: float = 1e-10) -> None:
    """Raise :class:`MeshError` if a cell is inverted (negative volume) or degenerate.

    A cell is degenerate when |vol| <= rel_tol * median(|vol|) (flat or collapsed tetrahedron).
    """
    vol = cell_volumes(p, t)
    scale = float(np.median(np.abs(vol))) if vol.size else 0.0
    bad = np.flatnonzero(np.abs(vol) <= rel_tol * max(scale, np.finfo(float).tiny))
    if bad.size:
        raise MeshError(
            f"{source}: {bad.size} degenerate tetrahedra (zero volume), first is cell {bad[0]}; "
            "expected cells with positive volume"
        )
    neg = np.flatnonzero(vol < 0)
    if neg.size:
        raise MeshError(
            f"{source}: {neg.size} inverted tetrahedra (negative volume), first is cell {neg[0]}; "
            "expected positively oriented cells"
        )


def load_mesh(path: str | Path) -> skfem.MeshTet:
    """Read a tetrahedral mesh file with meshio (.msh, .vtu, .xdmf, ...) and validate it.

    Only ``tetra`` cells are used; lower-dimensional cells (boundary triangles, lines, vertices that
    generators such as gmsh write for physical groups) are ignored, and nodes no tetrahedron uses are
    dropped (renumbering the rest in their file order). Refused with :class:`MeshError`: a missing or
    unreadable file, a file with no tetrahedra or with other volume cells (hexahedra, wedges, quadratic
    tetra10), points that are not 3D, and inverted or degenerate cells.
    """
    import meshio

    path = input_file(path, "mesh file", MeshError)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # meshio prints blank lines/notes while reading .msh
            mio = meshio.read(path)
    except (Exception, SystemExit) as exc:  # meshio raises many types, and sys.exit()s on bad .msh
        why = "meshio could not parse it" if isinstance(exc, SystemExit) else f"{type(exc).__name__}: {exc}"
        raise MeshError(f"mesh file {str(path)!r} could not be read ({why})") from None
    volume_types = {"hexahedron", "wedge", "pyramid", "tetra10", "hexahedron20", "hexahedron27", "wedge15"}
    others = sorted({b.type for b in mio.cells if b.type in volume_types})
    if others:
        raise MeshError(f"mesh file {str(path)!r} has {', '.join(others)} cells; expected linear tetrahedra only")
    tets = [b.data for b in mio.cells if b.type == "tetra"]
    if not tets:
        found = ", ".join(sorted({b.type for b in mio.cells})) or "no cells"
        raise MeshError(f"mesh file {str(path)!r} is not tetrahedral (found {found}); expected 'tetra' cells")
    points = np.asarray(mio.points, dtype=float)
    if points.ndim != 2 or points.shape[1] != 3:
        raise MeshError(f"mesh file {str(path)!r} has {points.shape[-1]}-D points; expected 3-D points")
    t = np.ascontiguousarray(np.concatenate(tets).T, dtype=np.int64)  # scikit-fem logs about copying F-ordered cells
    used = np.unique(t)
    if used.size < points.shape[0]:
        renum = -np.ones(points.shape[0], dtype=np.int64)
        renum[used] = np.arange(used.size)
        points, t = points[used], renum[t]
    p = points.T.copy()
    check_tetrahedra(p, t, source=f"mesh file {str(path)!r}")
    return skfem.MeshTet(p, t)


def save_mesh(mesh: skfem.MeshTet, path: str | Path) -> None:
    """Write a tetrahedral mesh with meshio (format from the file suffix)."""
    import meshio

    meshio.write(path, meshio.Mesh(np.ascontiguousarray(mesh.p.T), [("tetra", np.ascontiguousarray(mesh.t.T))]))


def cube_side(mesh: skfem.MeshTet, rel_tol: float = 1e-9) -> float:
    """Side L of a mesh of the cube [0, L]^3; :class:`MeshError` if its bounding box is not such a cube."""
    lo, hi = mesh.p.min(axis=1), mesh.p.max(axis=1)
    L = float(hi.max())
    if L <= 0 or np.any(np.abs(lo) > rel_tol * L) or np.any(np.abs(hi - L) > rel_tol * L):
        raise MeshError(
            f"mesh bounding box {lo.tolist()} - {hi.tolist()} is not a cube [0, L]^3 with a corner at the origin"
        )
    return L


def is_grid_mesh(mesh: skfem.MeshTet, n: int, L: float, rtol: float = 1e-12) -> bool:
    """True when the mesh nodes are exactly the n^3 node grid of side L in C order (no interpolation needed)."""
    if mesh.p.shape[1] != n**3:
        return False
    return bool(np.allclose(mesh.p, grid_points(n, L), rtol=0.0, atol=rtol * L))


def grid_size_of(mesh: skfem.MeshTet) -> int | None:
    """n if the mesh nodes are a C-ordered n^3 node grid of its bounding cube, else None."""
    n = round(mesh.p.shape[1] ** (1.0 / 3.0))
    if n**3 != mesh.p.shape[1] or n < 2:
        return None
    try:
        L = cube_side(mesh)
    except MeshError:
        return None
    return n if is_grid_mesh(mesh, n, L) else None


def check_cube_side(mesh: skfem.MeshTet, L: float, source: str = "the mesh") -> float:
    """:func:`cube_side` of ``mesh``, refused with :class:`InputError` unless it equals ``L`` to :data:`SIDE_RTOL`."""
    side = cube_side(mesh)
    if not math.isclose(side, L, rel_tol=SIDE_RTOL):
        raise InputError(f"{source} covers [0, {side:g}]^3 but L = {L:g}")
    return side


@dataclass(frozen=True)
class MeshChoice:
    """The tetrahedral mesh of the cube: a structured ``split`` of the n^3 node grid, or a mesh ``file``.

    Give one of them: ``MeshChoice()`` is the Kuhn split, ``MeshChoice("five")`` the five-tetrahedra one,
    ``MeshChoice(file="cube.msh")`` a meshio file (any tetrahedral mesh of [0, L]^3; ``split`` is then None).
    Invalid choices raise :class:`InputError`. Datasets record it as the attributes ``split`` and
    ``mesh_file`` (:meth:`to_attrs` / :meth:`from_attrs`, empty strings for "absent").
    """

    split: Split | None = None
    file: str | None = None

    def __post_init__(self):
        file = None if self.file is None or str(self.file) == "" else str(self.file)
        split = self.split or None
        if file is not None and split is not None:
            raise InputError(f"give either a mesh split ({split!r}) or a mesh file ({file!r}), not both")
        if file is None and split is None:
            split = "kuhn"
        if split is not None and split not in SPLITS:
            raise InputError(f"unknown mesh split {split!r}; expected one of {', '.join(SPLITS)}")
        object.__setattr__(self, "split", split)
        object.__setattr__(self, "file", file)

    @property
    def is_file(self) -> bool:
        """True for a mesh file, False for a structured split."""
        return self.file is not None

    def build(self, n: int, L: float, element: str = "P1") -> skfem.MeshTet:
        """The mesh that carries ``element`` on the n^3 grid: the file (its cube side checked against L), or the
        structured split of :func:`structured_vertices` ``(n, element)`` nodes per side (the n^3 grid itself
        for P1; the ((n + 1)/2)^3 vertex grid for P2 at odd n, whose P2 dofs are grid nodes)."""
        if self.file is None:
            return cube_mesh(structured_vertices(n, element), L, self.split)
        mesh = load_mesh(self.file)
        check_cube_side(mesh, L, f"mesh file {self.file!r}")
        return mesh

    @classmethod
    def from_attrs(cls, meta: dict) -> "MeshChoice":
        """From dataset attributes ``split`` / ``mesh_file`` (raw, with empty strings, or as read with None)."""
        file = meta.get("mesh_file") or None
        return cls(file=file) if file else cls(split=meta.get("split") or None)

    def to_attrs(self) -> dict:
        """``{"split": ..., "mesh_file": ...}`` for HDF5 attributes (an absent one is the empty string)."""
        return {"split": self.split or "", "mesh_file": self.file or ""}

    def describe(self) -> str:
        """``"kuhn mesh"`` or ``"mesh file PATH"``."""
        return f"mesh file {self.file}" if self.file else f"{self.split} mesh"
