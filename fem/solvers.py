"""Reference time stepping: solve ``fem.schemes.residual(params, ops, u0, u1) = 0`` step after step.

Each step solves the SPD system ``A d = -g(u0)`` for the increment ``d = u1 - u0`` with
``A = fem.schemes.step_operator`` and ``g = fem.schemes.explicit_residual`` (so the solver and the physics
losses share one formula), by preconditioned conjugate gradients on a batch of columns at once (:func:`pcg`).
It stops when ``|r|_* <= rtol |g(u0)|_*`` in the dual norm ``|r|_* = sqrt(r^T M_L^-1 r)``, i.e. exactly when
``fem.schemes.relative_residual <= rtol``; the initial guess is the previous increment (extrapolation).

Preconditioners (chosen by measurement, ``docs/solvers.md``):

* ``"dct"`` -- on a P1 mesh whose nodes are the n^3 grid (kuhn, five): ``P = W p(L_h)``, with ``W`` the
  trapezoidal lumped mass, ``L_h`` the 7-point Neumann Laplacian (mirror ghosts) and ``p`` the
  :func:`fem.schemes.symbol` of the scheme; ``P^-1 r = IDCT-I(DCT-I(r / W) / p(lambda))``. On the Kuhn
  split ``P = A`` except at the cube's 12 edges, so PCG needs a handful of iterations whatever n and tau
  (CH at 64^3: ~11 instead of ~210 with Jacobi). The transforms run in float32: the preconditioner only
  shapes the search directions (iterates and residuals stay float64), iteration counts are unchanged and
  tolerances down to 1e-14 are reached, at half the cost of float64 transforms.
* ``"jacobi"`` -- ``diag(A)`` (:func:`fem.schemes.step_diagonal`); any mesh and element.
* ``"auto"`` -- the PDE's :attr:`fem.pde.PDE.auto_preconditioner` where the DCT applies, else ``"jacobi"``:
  ``"jacobi"`` for AC (its matrix is a well-conditioned mass + tau K: ~8-14 iterations, cheaper than two
  DCTs per iteration), ``"dct"`` for CH and SH.

A PDE whose scheme conserves ``1^T M_t u`` exactly (:attr:`fem.pde.PDE.conserves_mass`: CH) gets its
increment projected onto zero mass after CG (``d -= c 1``, which only removes the residual's component along
``M_t 1``, so it cannot raise the residual), making the mass drift round-off instead of CG tolerance.

Sparse LU is not offered: at 65^3 its factorisation takes minutes and > 10 GB (docs/measurements.md section 3).

Fields: initial conditions and saved frames are grid fields ``(n, n, n)`` on the node grid of [0, L]^3. On a
mesh whose dofs are not that grid (a mesh file, P2) the initial condition is interpolated with
``fem.interpolation.grid_to_dofs`` and every saved frame is sampled back with ``dofs_to_grid``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.fft

from fem.assembly import Operators
from fem.choices import PRECONDITIONERS, Preconditioner  # noqa: F401 - re-exported: the choices are owned by fem.choices
from fem.energy import free_energy, mass
from fem.errors import InputError
from fem.interpolation import dofs_to_grid, grid_to_dofs
from fem.mesh import check_cube_side, grid_size_of
from fem.schemes import (
    PDEParams,
    SchemeOperators,
    explicit_residual,
    stability_bound,
    step_diagonal,
    step_operator,
    symbol,
    time_mass,
)

#: CG preconditioners of :class:`Stepper` (module docstring).


class ConvergenceError(RuntimeError):
    """CG did not reach the requested tolerance within ``maxiter`` iterations."""


def pcg(apply_A, b: np.ndarray, x0: np.ndarray, precond, weights: np.ndarray, rtol: float, maxiter: int):
    """Preconditioned CG on the columns of ``b`` (N, B) at once; each column has its own scalars.

    Stops a column when ``|b - A x|_w <= rtol |b|_w`` with ``|v|_w^2 = sum_i w_i v_i^2`` (``weights`` (N, 1)),
    checked on the true residual at the end (recomputed, restarting columns whose recursive residual drifted).
    A converged column is frozen, so its result does not depend on the other columns. Returns
    ``(x, iterations (B,), relative residual (B,))``; raises :class:`ConvergenceError` after ``maxiter``.
    """

    def wnorm(v):
        return np.sqrt(np.einsum("nb,nb->b", v, weights * v))

    x = x0.copy()
    bnorm = wnorm(b)
    target = rtol * bnorm
    its = np.zeros(b.shape[1], dtype=np.int64)
    for _restart in range(3):
        r = b - apply_A(x)
        active = wnorm(r) > target
        if not active.any():
            return x, its, wnorm(r) / np.where(bnorm > 0, bnorm, 1.0)
        z = precond(r)
        p = z.copy()
        rz = np.einsum("nb,nb->b", r, z)
        while active.any():
            if its.max() >= maxiter:
                rel = wnorm(b - apply_A(x)) / np.where(bnorm > 0, bnorm, 1.0)
                raise ConvergenceError(
                    f"CG did not converge in {maxiter} iterations (relative residual {rel.max():.2e} > rtol {rtol:.1e})"
                )
            q = apply_A(p)
            pq = np.einsum("nb,nb->b", p, q)
            alpha = np.where(active, rz / np.where(active, pq, 1.0), 0.0)
            x += alpha * p
            r -= alpha * q
            its += active
            active &= wnorm(r) > target
            z = precond(r)
            rz_new = np.einsum("nb,nb->b", r, z)
            beta = np.where(active, rz_new / np.where(rz != 0, rz, 1.0), 0.0)
            p = z + beta * p
            rz = rz_new
    rel = wnorm(b - apply_A(x)) / np.where(bnorm > 0, bnorm, 1.0)
    raise ConvergenceError(f"CG residual drifted above rtol {rtol:.1e} after restarts (relative residual {rel.max():.2e})")


def grid_eigenvalues(n: int, L: float) -> np.ndarray:
    """Eigenvalues ``lambda_i + lambda_j + lambda_k`` (n, n, n) of the 7-point Neumann Laplacian ``-L_h``.

    1D: ``lambda_k = (4/h^2) sin^2(pi k / (2 (n-1)))``, eigenvector ``cos(pi k i / (n-1))`` (DCT-I), h = L/(n-1).
    """
    h = L / (n - 1)
    lam = 4.0 / h**2 * np.sin(np.pi * np.arange(n) / (2 * (n - 1))) ** 2
    return lam[:, None, None] + lam[None, :, None] + lam[None, None, :]


def trapezoid_weights(n: int, L: float) -> np.ndarray:
    """Lumped mass of the node grid by the trapezoidal rule, ``h^3 w_i w_j w_k`` (w = 1/2 at the ends), (N, 1)."""
    w = np.ones(n)
    w[0] = w[-1] = 0.5
    h = L / (n - 1)
    return (h**3 * w[:, None, None] * w[None, :, None] * w[None, None, :]).reshape(-1, 1)


class DCTPreconditioner:
    """``P^-1 r = IDCT-I(DCT-I(r / W) / p(lambda))`` on the n^3 grid (module docstring); r: (N, B)."""

    def __init__(self, params: PDEParams, n: int, L: float, dtype=np.float32):
        self.n, self.dtype = n, dtype
        self.W = trapezoid_weights(n, L)
        self.inv_symbol = (1.0 / symbol(params, grid_eigenvalues(n, L))[..., None]).astype(dtype)

    def __call__(self, R: np.ndarray) -> np.ndarray:
        n = self.n
        V = (R / self.W).astype(self.dtype).reshape(n, n, n, -1)
        V = scipy.fft.idctn(scipy.fft.dctn(V, type=1, axes=(0, 1, 2)) * self.inv_symbol, type=1, axes=(0, 1, 2))
        return V.reshape(n**3, -1).astype(np.float64)


class Stepper:
    """One step ``u0 -> u1`` of the scheme of ``params`` on assembled operators ``ops`` (float64).

    ``preconditioner``: ``"auto"``, ``"dct"`` or ``"jacobi"`` (module docstring). ``rtol``: tolerance on
    ``fem.schemes.relative_residual``. ``maxiter``: CG iteration cap (default ``max(500, 10 sqrt(N))``).
    """

    def __init__(self, params: PDEParams, ops: Operators, preconditioner: Preconditioner = "auto", rtol: float = 1e-10,
                 maxiter: int | None = None):
        if preconditioner not in PRECONDITIONERS:
            raise InputError(f"unknown preconditioner {preconditioner!r}; expected one of {', '.join(PRECONDITIONERS)}")
        if not (isinstance(rtol, (int, float)) and 0 < rtol < 1):
            raise InputError(f"solver rtol must be a number in (0, 1), got {rtol!r}")
        L = check_cube_side(ops.mesh, params.L, "the mesh of the operators")
        self.params, self.ops, self.rtol = params, ops, float(rtol)
        self.sops = SchemeOperators.from_fem(ops)
        self.maxiter = maxiter or max(500, int(10 * math.sqrt(ops.ndofs)))
        n_grid = grid_size_of(ops.mesh) if ops.element == "P1" else None
        if preconditioner == "auto":
            preconditioner = params.equation.auto_preconditioner if n_grid else "jacobi"
        if preconditioner == "dct":
            if not n_grid:
                raise InputError("the DCT preconditioner needs a P1 mesh whose nodes are the n^3 grid; use 'jacobi'")
            self._precond = DCTPreconditioner(params, n_grid, L)
        else:
            inv_diag = 1.0 / step_diagonal(params, ops)[:, None]
            self._precond = lambda R: R * inv_diag
        self.preconditioner = preconditioner
        # mass-conserving PDE (CH): M_t 1, for the exact-mass projection of the increment
        self._mt1 = time_mass(params, self.sops, np.ones((ops.ndofs, 1))) if params.equation.conserves_mass else None

    def step(self, u0: np.ndarray, guess: np.ndarray | None = None):
        """Solve ``residual(params, ops, u0, u1) = 0``; u0 (N, B). Returns ``(u1, iterations (B,), relres (B,))``.

        ``guess``: initial increment ``u1 - u0`` (default zero, i.e. the previous state).
        """
        p, s = self.params, self.sops
        b = -explicit_residual(p, s, u0)
        d0 = np.zeros_like(u0) if guess is None else guess
        apply_A = lambda X: step_operator(p, s, X)  # noqa: E731
        d, its, rel = pcg(apply_A, b, d0, self._precond, 1.0 / s.lumped, self.rtol, self.maxiter)
        if self._mt1 is not None:
            d -= (self._mt1 * d).sum(0) / self._mt1.sum()
            rel = np.sqrt(((b - apply_A(d)) ** 2 / s.lumped).sum(0) / np.maximum((b**2 / s.lumped).sum(0), 1e-300))
        return u0 + d, its, rel


@dataclass
class Trajectory:
    """Result of :func:`simulate`; B = batch (absent when one initial condition was given)."""

    u: np.ndarray  #: (B, frames, n, n, n) saved frames on the node grid, float64
    energy: np.ndarray  #: (B, frames) discrete free energy E_h of the frames (on the dofs)
    mass: np.ndarray  #: (B, frames) int u_h of the frames
    iterations: np.ndarray  #: (B, frames - 1) CG iterations per saved frame (summed over substeps)
    residual: np.ndarray  #: (B, frames - 1) largest relative residual over the substeps of each frame
    max_abs: np.ndarray  #: (B,) max |u| over every step (dofs)
    stability_bound: float | None  #: fem.schemes.stability_bound of the scheme


def simulate(
    params: PDEParams,
    ops: Operators,
    u0,
    frames: int,
    *,
    rtol: float = 1e-10,
    preconditioner: Preconditioner = "auto",
    maxiter: int | None = None,
    progress: bool = False,
    stepper: Stepper | None = None,
) -> Trajectory:
    """Run ``frames - 1`` saved steps (each ``params.substeps`` scheme steps) from grid field(s) ``u0``.

    Parameters
    ----------
    u0 : ``(n, n, n)`` or a batch ``(B, n, n, n)`` of initial conditions on the node grid of [0, L]^3.
    frames : number of saved frames including the initial one (>= 2).
    rtol, preconditioner, maxiter : see :class:`Stepper` (or pass a ready ``stepper``).
    progress : show a tqdm bar over frames.

    Returns a :class:`Trajectory`; ``u[..., 0, :, :, :]`` is the initial condition as represented on the mesh.
    Warns when |u| leaves the region where energy decay is proved (:func:`fem.schemes.stability_bound`).
    """
    u0 = np.asarray(u0, dtype=float)
    single = u0.ndim == 3
    if single:
        u0 = u0[None]
    if u0.ndim != 4 or not (u0.shape[1] == u0.shape[2] == u0.shape[3]) or u0.shape[1] < 2:
        raise InputError(f"initial condition of shape {u0.shape}: expected (n, n, n) or (B, n, n, n) grid fields")
    if not np.all(np.isfinite(u0)):
        raise InputError("initial condition contains NaN or Inf")
    if not isinstance(frames, (int, np.integer)) or frames < 2:
        raise InputError(f"frames must be an integer >= 2, got {frames!r}")
    B, n = u0.shape[0], u0.shape[1]
    stepper = stepper or Stepper(params, ops, preconditioner, rtol, maxiter)
    if stepper.params != params or stepper.ops is not ops:
        raise InputError("the stepper passed to simulate was built for other parameters or operators")
    P, Q = grid_to_dofs(ops, n), dofs_to_grid(ops, n)
    X = u0.reshape(B, -1).T
    X = X.copy() if P is None else P @ X

    def to_grid(X):
        return (X if Q is None else Q @ X).T.reshape(B, n, n, n)

    out = np.empty((B, frames, n, n, n))
    energy, masses = np.empty((B, frames)), np.empty((B, frames))
    iters = np.zeros((B, frames - 1), dtype=np.int64)
    res = np.zeros((B, frames - 1))
    out[:, 0], energy[:, 0], masses[:, 0] = to_grid(X), free_energy(params, ops, X), mass(ops, X)
    max_abs = np.abs(X).max(axis=0)
    guess = None
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=frames - 1, desc=f"{params.pde} n={n}", unit="frame")
    try:
        for f in range(1, frames):
            for _ in range(params.substeps):
                X1, its, rel = stepper.step(X, guess)
                guess, X = X1 - X, X1
                iters[:, f - 1] += its
                res[:, f - 1] = np.maximum(res[:, f - 1], rel)
                max_abs = np.maximum(max_abs, np.abs(X).max(axis=0))
            out[:, f], energy[:, f], masses[:, f] = to_grid(X), free_energy(params, ops, X), mass(ops, X)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    bound = stability_bound(params)
    if bound is not None and max_abs.max() > bound:
        warnings.warn(
            f"max |u| = {max_abs.max():.3g} exceeded {bound:.3g}, the bound below which this {params.pde} scheme "
            f"is proved energy stable (increase S or substeps)",
            RuntimeWarning,
            stacklevel=2,
        )
    traj = Trajectory(out, energy, masses, iters, res, max_abs, bound)
    if single:
        for name in ("u", "energy", "mass", "iterations", "residual", "max_abs"):
            setattr(traj, name, getattr(traj, name)[0])
    return traj
