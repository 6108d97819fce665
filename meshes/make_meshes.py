"""Regenerate the mesh files shipped in this folder (run from the repository root).

    pip install gmsh   # only needed for the unstructured meshes; not a pihamno dependency
    python meshes/make_meshes.py

Structured meshes come from :func:`fem.mesh.cube_mesh` and are written with meshio; unstructured ones
are made with gmsh's Delaunay 3D mesher on the box [0, L]^3 (mesh size ``h``), then checked with
:func:`fem.mesh.load_mesh` (orientation, degenerate cells). Output is deterministic for a given gmsh
version.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from fem.mesh import cube_mesh, load_mesh, save_mesh  # noqa: E402


def gmsh_cube(path: Path, L: float, h: float) -> None:
    import gmsh

    gmsh.initialize(["-noenv"])
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.option.setNumber("Mesh.Algorithm3D", 1)  # Delaunay
        gmsh.option.setNumber("Mesh.MeshSizeMin", h)
        gmsh.option.setNumber("Mesh.MeshSizeMax", h)
        gmsh.option.setNumber("Mesh.RandomSeed", 1.0)
        gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
        gmsh.option.setNumber("Mesh.Binary", 0)
        gmsh.model.add("cube")
        gmsh.model.occ.addBox(0, 0, 0, L, L, L)
        gmsh.model.occ.synchronize()
        gmsh.model.addPhysicalGroup(3, [1], name="cube")
        gmsh.model.mesh.generate(3)
        gmsh.write(str(path))
    finally:
        gmsh.finalize()


def main() -> None:
    save_mesh(cube_mesh(9, L=2.0, split="kuhn"), HERE / "cube_kuhn_n9_L2.vtu")
    save_mesh(cube_mesh(9, L=2.0, split="five"), HERE / "cube_five_n9_L2.msh")
    gmsh_cube(HERE / "cube_gmsh_h0.25_L2.msh", L=2.0, h=0.25)
    gmsh_cube(HERE / "cube_gmsh_h0.5_L2.msh", L=2.0, h=0.5)
    for f in sorted(HERE.glob("cube_*")):
        m = load_mesh(f)
        print(f"{f.name}: {m.p.shape[1]} nodes, {m.t.shape[1]} tetrahedra, {f.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
