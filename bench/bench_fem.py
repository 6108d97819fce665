"""FEM layer benchmark: assembly time, and sparse products with torch against scipy, measured side by side.

    python bench/bench_fem.py                 # n = 33 and 65, 8 fields, CPU (+ CUDA when present)
    python bench/bench_fem.py --n 33 --device cpu

For each n it prints: the assembly time of M, M_L, K (scikit-fem, P1, Kuhn split); the time of applying
K and M to 8 fields with scipy CSR (the baseline), torch CSR, torch COO; and forward+backward through
torch's built-in CSR autograd against :class:`fem.torch_bridge.SparseOperator` (which uses A^T = A).
Every time is the median of ``--repeats`` runs and every ratio is against the baseline of the same run.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import torch

from fem.assembly import assemble, clear_cache
from fem.mesh import cube_mesh
from fem.torch_bridge import SparseOperator, to_torch_csr


def timeit(fn, repeats: int, sync=None) -> float:
    fn()
    if sync:
        sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_n(n: int, batch: int, repeats: int, devices: list[str]) -> None:
    clear_cache()
    t0 = time.perf_counter()
    mesh = cube_mesh(n, 2.0, "kuhn")
    t1 = time.perf_counter()
    ops = assemble(mesh, "P1")
    t2 = time.perf_counter()
    print(f"\n== n = {n}: {ops.ndofs} nodes, {mesh.t.shape[1]} tets ==")
    print(f"mesh {t1 - t0:.2f} s, P1 assembly of M, M_L, K {t2 - t1:.2f} s (floor at 65^3: <= 10 s)")

    X = np.random.default_rng(0).standard_normal((ops.ndofs, batch)).astype(np.float32)
    for name, A in (("K", ops.K), ("M", ops.M)):
        A32 = A.astype(np.float32)
        base = timeit(lambda: A32 @ X, repeats)  # noqa: B023 - called at once, inside the loop
        print(f"{name} @ ({ops.ndofs}, {batch}) float32: scipy {base * 1e3:.2f} ms (baseline)")
        for dev in devices:
            sync = torch.cuda.synchronize if dev == "cuda" else None
            Xt = torch.as_tensor(X, device=dev)
            op = SparseOperator(A, device=dev)
            t_csr = timeit(lambda: op @ Xt, repeats, sync)  # noqa: B023 - called at once
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                coo = op.A.to_sparse_coo()
            t_coo = timeit(lambda: torch.sparse.mm(coo, Xt), max(1, repeats // 4), sync)  # noqa: B023 - called at once
            # forward + backward: built-in CSR autograd vs the symmetric custom function
            Xg = Xt.clone().requires_grad_(True)
            Ab = to_torch_csr(A, dev)

            def builtin():
                (Ab @ Xg).square().sum().backward()  # noqa: B023 - called at once, inside the loop

            def custom():
                (op @ Xg).square().sum().backward()  # noqa: B023 - called at once, inside the loop

            t_bi = timeit(builtin, max(1, repeats // 4), sync)
            t_cu = timeit(custom, repeats, sync)
            print(
                f"  torch {dev}: CSR {t_csr * 1e3:.2f} ms ({t_csr / base:.2f}x scipy), "
                f"COO {t_coo * 1e3:.2f} ms ({t_coo / base:.2f}x), "
                f"fwd+bwd built-in {t_bi * 1e3:.1f} ms vs SparseOperator {t_cu * 1e3:.1f} ms "
                f"({t_bi / t_cu:.1f}x faster)"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[33, 65], help="nodes per side (default 33 65)")
    ap.add_argument("--batch", type=int, default=8, help="fields per product (default 8)")
    ap.add_argument("--repeats", type=int, default=20, help="timed repeats per figure (default 20)")
    ap.add_argument("--device", choices=["cpu", "cuda", "all"], default="all")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    devices = [d for d in devices if d == "cpu" or torch.cuda.is_available()]
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, devices {devices}")
    for n in args.n:
        bench_n(n, args.batch, args.repeats, devices)


if __name__ == "__main__":
    main()
