"""Grid fields on a tetrahedral mesh of the cube, written as VTK unstructured grids (.vtu) by meshio.

Two kinds of target mesh:

* the structured ``kuhn`` or ``five`` split of the n^3 node grid itself (:func:`fem.mesh.cube_mesh`): its
  nodes are the grid nodes in C order (node (i n + j) n + k is the point (i h, j h, k h)), so a grid
  field ``u`` (n, n, n) is written as ``u.ravel()`` with no interpolation;
* any tetrahedral mesh of [0, L]^3 read with meshio (:func:`fem.mesh.load_mesh`): values at its nodes are
  the trilinear interpolant of the grid field, ``P @ u.ravel()`` with ``P`` from
  :func:`fem.interpolation.grid_to_points` (built once per export).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from pihamno.errors import InputError

if TYPE_CHECKING:
    from fem.mesh import MeshChoice


@dataclass
class MeshTarget:
    """A tetrahedral mesh to write fields on: ``points`` (N, 3), ``cells`` (C, 4) and the grid -> node map.

    ``interpolation`` is ``None`` when the nodes are the grid nodes in C order, else a sparse (N, n^3)
    trilinear interpolation matrix.
    """

    points: np.ndarray
    cells: np.ndarray
    interpolation: sp.csr_matrix | None
    description: str

    def values(self, u: np.ndarray) -> np.ndarray:
        """Nodal values (N,) of the grid field ``u`` (n, n, n)."""
        flat = np.asarray(u).ravel()
        if self.interpolation is None:
            if flat.size != self.points.shape[0]:
                raise InputError(f"a field of {flat.size} grid values does not fit a mesh of {self.points.shape[0]} nodes")
            return flat
        return self.interpolation @ flat


def mesh_target(n: int, L: float, mesh: MeshChoice | None = None) -> MeshTarget:
    """The mesh for fields on the n^3 grid of [0, L]^3, a :class:`fem.mesh.MeshChoice` (default the Kuhn split).

    A mesh file must be a tetrahedral mesh of the same cube [0, L]^3 (:meth:`fem.mesh.MeshChoice.build`).
    """
    from fem.interpolation import grid_to_points
    from fem.mesh import MeshChoice, is_grid_mesh

    choice = MeshChoice() if mesh is None else mesh
    built = choice.build(n, L)
    if not choice.is_file:
        return MeshTarget(built.p.T.copy(), built.t.T.copy(), None, f"structured {choice.split} mesh of the {n}^3 grid")
    P = None if is_grid_mesh(built, n, L) else grid_to_points(built.p, n, L)
    what = f"mesh {Path(choice.file).name} ({built.p.shape[1]} nodes, {built.t.shape[1]} tetrahedra)"
    return MeshTarget(built.p.T.copy(), built.t.T.copy(), P, what)


def write_vtu(path: str | Path, target: MeshTarget, fields: dict[str, np.ndarray]) -> None:
    """Write the grid fields (each (n, n, n), C order) at the nodes of ``target`` as a binary .vtu file."""
    import meshio

    point_data = {name: target.values(u).astype(np.float32) for name, u in fields.items()}
    mesh = meshio.Mesh(target.points, [("tetra", target.cells)], point_data=point_data)
    meshio.write(str(path), mesh, file_format="vtu", binary=True, compression="zlib")
