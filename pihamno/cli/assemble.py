"""``pihamno assemble``: build a cube mesh (or read one), assemble its FEM operators, print what was built."""

from __future__ import annotations

import argparse

from fem.choices import ELEMENTS, SPLITS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "assemble",
        help="build/read a tetrahedral mesh of the cube and assemble M, M_L, K (the quick demo)",
        description="Build the structured cube mesh on the n^3 node grid (or read a mesh file with meshio), "
        "assemble the P1/P2 mass, lumped mass and stiffness with scikit-fem, turn them into torch sparse "
        "operators, and print sizes, timings and sanity checks (volume, K 1 = 0, symmetry).",
    )
    p.add_argument("--n", type=int, default=17, help="nodes per side of the structured mesh (default 17)")
    p.add_argument("--L", type=float, default=2.0, help="side of the cube [0, L]^3 (default 2.0)")
    p.add_argument("--split", choices=SPLITS, default="kuhn", help="tets per grid cell (default kuhn)")
    p.add_argument("--mesh", default=None, help="read this tetrahedral mesh file instead (.msh, .vtu, .xdmf)")
    p.add_argument("--element", choices=ELEMENTS, default="P1", help="Lagrange element (default P1)")
    p.add_argument("--device", default="auto", help="torch device for the sparse operators (default: cuda if present)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    import numpy as np
    import torch

    from fem.assembly import assemble
    from fem.mesh import MeshChoice, cube_side, load_mesh
    from fem.torch_bridge import SparseOperator
    from pihamno.device import resolve_device

    device = resolve_device(args.device)
    t0 = time.perf_counter()
    if args.mesh:
        mesh = load_mesh(args.mesh)  # any cube: its side is read from the file
        what = MeshChoice(file=args.mesh).describe()
    else:
        from pihamno.data.estimate import check_assembly_memory

        check_assembly_memory(args.n, args.element)  # --n 100000: refused before numpy tries 7 PB
        mesh = MeshChoice(args.split).build(args.n, args.L)
        what = f"structured {args.split} mesh, n={args.n}, h={args.L / (args.n - 1):.4g}"
    t1 = time.perf_counter()
    ops = assemble(mesh, args.element)
    t2 = time.perf_counter()
    M, K = SparseOperator(ops.M, device), SparseOperator(ops.K, device)
    x = torch.randn(ops.ndofs, 8, device=device)
    y = K @ x
    if device.type == "cuda":
        torch.cuda.synchronize()
    t3 = time.perf_counter()
    L = cube_side(mesh)
    ones = np.ones(ops.ndofs)
    print(f"{what}: cube [0, {L:g}]^3")
    print(f"  mesh      {mesh.p.shape[1]} nodes, {mesh.t.shape[1]} tetrahedra ({t1 - t0:.2f} s)")
    print(f"  assembled {ops.summary()} ({t2 - t1:.2f} s)")
    print(f"  checks    sum(M_L) - L^3 = {ops.lumped.sum() - L**3:.2e}, |K 1|_max = {np.abs(ops.K @ ones).max():.2e}, "
          f"|K - K^T|_max = {abs(ops.K - ops.K.T).max():.2e}")
    print(f"  torch     {M!r}")
    print(f"            K @ (N, 8) on {device}: output {tuple(y.shape)} ({(t3 - t2) * 1e3:.1f} ms incl. transfer)")
    return 0
