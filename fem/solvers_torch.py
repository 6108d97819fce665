"""The reference solver on torch tensors (CUDA or CPU): the same scheme, CG and edge-corrected DCT solve.

:class:`TorchStepper` is a :class:`fem.solvers.Stepper` whose operators, preconditioner and arrays are torch
tensors in float64 on one device; :func:`fem.solvers.simulate` runs its loop unchanged with it (the
explicit residual and step matrix are :mod:`fem.schemes` on :class:`fem.schemes_torch.TorchSchemeOperators`,
CG is :func:`fem.solvers.pcg_with_residual` with ``torch.where``), batched over trajectories: the columns of
``u0`` are solved together, each frozen at its own convergence. Frames, energies and CG counts come back to the
host after every saved frame.

Preconditioners, as in :class:`fem.solvers.Stepper`: ``"dct"`` is the exact edge-corrected solve of
:mod:`fem.capacitance` where it applies (its data are built once in numpy on the host, then moved to the
device, LU factors included), else the plain DCT preconditioner; ``"jacobi"`` is ``diag(A)``.
The DCT-I runs as a real FFT of the even extension along each axis (torch has no DCT)::

    DCT-I(x)_k = x_0 + (-1)^k x_{n-1} + 2 sum_{j=1}^{n-2} x_j cos(pi j k / (n-1)) = Re rfft([x_0 .. x_{n-1}, x_{n-2} .. x_1])_k

so one transform of an (n, n, n, B) array costs three batched FFTs of length 2(n-1). Everything runs in
float64 (the datasets' solver precision; CUDA cards run float64 at a fraction of their float32 rate, and the
solver is memory-bound anyway).

Example (the CPU runs the torch path too; it agrees with the numpy solver to the solver tolerance):

>>> import numpy as np
>>> from fem import assemble, cube_mesh
>>> from fem.schemes import preset
>>> from fem.solvers import simulate
>>> p = preset("ch", dt=1e-2)
>>> ops = assemble(cube_mesh(8, p.L))
>>> u0 = np.cos(np.linspace(0, 3, 8))[:, None, None] * np.ones((8, 8, 8))
>>> a = simulate(p, ops, u0, 3)
>>> b = simulate(p, ops, u0, 3, stepper=TorchStepper(p, ops, device="cpu"))
>>> bool(np.abs(a.u - b.u).max() < 1e-9), b.iterations.tolist()
(True, [1, 1])
"""

from __future__ import annotations

import numpy as np
import torch

from fem.capacitance import Backend, apply_correction
from fem.cube_symmetry import BlockFactors
from fem.schemes_torch import TorchSchemeOperators
from fem.solvers import DCTPreconditioner, Stepper
from fem.torch_bridge import SparseOperator


def dct1(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Unnormalised DCT-I along ``dim`` (scipy's ``dct(type=1)``), through the rfft of the even extension."""
    n = x.shape[dim]
    ext = torch.cat([x, x.flip(dim).narrow(dim, 1, n - 2)], dim=dim)
    return torch.fft.rfft(ext, dim=dim).real.narrow(dim, 0, n)


def dct3(V: torch.Tensor) -> torch.Tensor:
    """DCT-I over the first three dims of V (n, n, n, ...)."""
    for d in range(3):
        V = dct1(V, d)
    return V


def idct3(V: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`dct3` (``DCT-I / (2 (n - 1))`` per axis)."""
    scale = 1.0
    for d in range(3):
        scale *= 2.0 * (V.shape[d] - 1)
    return dct3(V) / scale


TORCH = Backend(
    dctn=dct3,
    idctn=idct3,
    zeros=lambda shape, like: torch.zeros(shape, dtype=like.dtype, device=like.device),
    lu_solve=lambda lu, b: torch.linalg.lu_solve(lu[0], lu[1], b),
)


class _TorchEdgeCorrection:
    """:class:`fem.capacitance.EdgeCorrection` as float64 tensors on one device; ``solve`` is ``A^-1``."""

    def __init__(self, ec, device):
        def t(a):
            return torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float64, device=device)

        def idx(a):
            return torch.as_tensor(np.asarray(a), dtype=torch.long, device=device)

        self.n, self.k = ec.n, ec.k
        self.W, self.W_R, self.inv_symbol, self.Fm, self.Im = t(ec.W), t(ec.W_R), t(ec.inv_symbol), t(ec.Fm), t(ec.Im)
        self.F, self.lines, self.on_axis = idx(ec.F), idx(ec.lines), [idx(s) for s in ec.on_axis]
        self.ImF, self.FmF = t(ec.ImF), t(ec.FmF)
        self.D = SparseOperator(ec.D, device, torch.float64, symmetric=True)
        bf = ec.lu  # fem.cube_symmetry.BlockFactors: scipy's LAPACK factors; torch counts pivots from 1
        basis = [None if Q is None else SparseOperator(Q, device, torch.float64, symmetric=False) for Q in (bf.Q, bf.QT)]
        self.lu = BlockFactors(*basis, bf.blocks,
                               [(t(lu), torch.as_tensor(piv + 1, dtype=torch.int32, device=device)) for lu, piv in bf.factors])

    def solve(self, R: torch.Tensor) -> torch.Tensor:
        return apply_correction(self, R, TORCH)


class _TorchDCT:
    """The plain DCT preconditioner (:class:`fem.solvers.DCTPreconditioner`) on torch, float64."""

    def __init__(self, pre: DCTPreconditioner, device):
        self.n = pre.n
        self.W = torch.as_tensor(pre.W, dtype=torch.float64, device=device)
        self.inv_symbol = torch.as_tensor(pre.inv_symbol, dtype=torch.float64, device=device)

    def __call__(self, R: torch.Tensor) -> torch.Tensor:
        n = self.n
        return idct3(dct3((R / self.W).reshape(n, n, n, -1)) * self.inv_symbol).reshape(n**3, -1)


class TorchStepper(Stepper):
    """A :class:`fem.solvers.Stepper` on torch tensors (float64) on ``device`` (module docstring).

    Parameters as :class:`fem.solvers.Stepper`, plus ``device`` (``"cuda"``, ``"cpu"``, a torch.device).
    ``step(u0)`` takes and returns torch tensors (N, B); :func:`fem.solvers.simulate` with ``stepper=`` takes
    host arrays and returns a host :class:`fem.solvers.Trajectory`.
    """

    def __init__(self, params, ops, preconditioner="auto", rtol: float = 1e-10, maxiter: int | None = None,
                 edge_correction: bool = True, device=None):
        super().__init__(params, ops, preconditioner, rtol, maxiter, edge_correction)
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        dev = self.device
        self.sops = TorchSchemeOperators.from_fem(ops, dev, torch.float64)
        if self.exact is not None:
            self.exact = _TorchEdgeCorrection(self.exact, dev)
            self._precond = self.exact.solve
        elif isinstance(self._precond, DCTPreconditioner):
            self._precond = _TorchDCT(self._precond, dev)
        else:
            inv_diag = torch.as_tensor(self._inv_diag, dtype=torch.float64, device=dev)
            self._precond = lambda R: R * inv_diag
        if self._mt1 is not None:
            self._mt1 = torch.as_tensor(self._mt1, dtype=torch.float64, device=dev)

    _where = staticmethod(torch.where)

    def to_backend(self, A: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(A), dtype=torch.float64, device=self.device).clone()

    def to_host(self, X) -> np.ndarray:
        return X.detach().cpu().numpy() if isinstance(X, torch.Tensor) else np.asarray(X)

    def max_abs(self, X: torch.Tensor) -> torch.Tensor:
        return X.abs().amax(dim=0)

    def grid_maps(self, n: int):
        from fem.interpolation import dofs_to_grid, grid_to_dofs

        maps = []
        for M in (grid_to_dofs(self.ops, n), dofs_to_grid(self.ops, n)):
            op = None if M is None else SparseOperator(M, self.device, torch.float64, symmetric=False)
            maps.append((lambda X: X) if op is None else (lambda X, op=op: op @ X))
        return tuple(maps)

    def advance(self, u0, g0=None, guess=None):
        with torch.inference_mode():
            return super().advance(u0, g0, guess)
