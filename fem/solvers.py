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
  split ``P = A`` except in a band of nodes around the cube's 12 edges, and :mod:`fem.capacitance` corrects
  that band exactly (a capacitance-matrix / Woodbury correction, two transforms per solve as before): the
  step is then one exact solve, checked on the true residual -- one "iteration" whatever n and tau (CG
  takes over from there should the check ever fail). Where the correction does not apply (the ``five``
  split, the consistent mass, a symbol that is not a polynomial of degree <= 2) the plain ``P`` is the CG
  preconditioner, in float32 (it only shapes the search directions; iterates and residuals stay float64).
* ``"jacobi"`` -- ``diag(A)`` (:func:`fem.schemes.step_diagonal`); any mesh and element.
* ``"auto"`` -- the PDE's :attr:`fem.pde.PDE.auto_preconditioner` where the DCT applies, else ``"jacobi"``
  (``"dct"`` for AC, CH and SH).

Cost of a step with the exact solve (:meth:`Stepper.advance`, as :func:`simulate` runs it): two DCT-I
transforms of the grid plus O(w n^3) band contractions and the LU solves of the k x k capacitance matrix
(k = 12(n-2)+8 for AC, 36n-88 for CH and SH; by symmetry blocks, :mod:`fem.cube_symmetry`), then one call of
:meth:`fem.pde.PDE.residual_and_next`: the step's residual check and the next step's explicit residual
``g(u1)`` share their sparse products (one product with K for AC, three for CH, two for SH, against two,
four and four for ``g`` and ``A d`` apart), with K stored by diagonals on the grid (:mod:`fem.banded`).
The check is the residual of the returned state ``u1 = u0 + d`` as stored, computed from ``u1`` (round-off
~1e-14 relative to ``g(u0)`` in the dynamics; near a steady state, where it grows as ``|g(u0)| -> 0``, the
solve is checked in increment form instead, :meth:`Stepper.advance`).
``bench/bench_solvers.py`` compares a step with a node-grid DCT-I spectral step of the same PDE
(docs/performance.md section 2).

A PDE whose scheme conserves ``1^T M_t u`` exactly (:attr:`fem.pde.PDE.conserves_mass`: CH) gets its
increment projected onto zero mass after CG (``d -= c 1``, which only removes the residual's component along
``M_t 1``, so it cannot raise the residual), making the mass drift round-off instead of CG tolerance.

Sparse LU is not offered: at 65^3 its factorisation takes minutes and > 10 GB (docs/facts.md section 3).

Fields: initial conditions and saved frames are grid fields ``(n, n, n)`` on the node grid of [0, L]^3. On a
mesh whose dofs are not that grid (a mesh file, P2) the initial condition is interpolated with
``fem.interpolation.grid_to_dofs`` and every saved frame is sampled back with ``dofs_to_grid``.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.fft
from threadpoolctl import threadpool_limits

from fem.assembly import Operators
from fem.choices import PRECONDITIONERS, Preconditioner  # noqa: F401 - re-exported: the choices are owned by fem.choices
from fem.energy import energy_of_columns
from fem.errors import InputError
from fem.grid import grid_eigenvalues, trapezoid_weights
from fem.interpolation import dofs_to_grid, grid_to_dofs
from fem.mesh import check_cube_side, grid_size_of
from fem.schemes import (
    PDEParams,
    SchemeOperators,
    dual_norm,
    explicit_residual,
    stability_bound,
    step_diagonal,
    step_operator,
    symbol,
    time_mass,
)

#: CG preconditioners of :class:`Stepper` (module docstring).



def one_blas_thread(fn):
    """Run ``fn`` with one BLAS thread. The dense products and LU solves of the solver then give the same bits in
    every process (serial, process pool and Dask workers start with other thread settings: datasets are
    bit-identical whoever computes them), and multithreaded OpenBLAS only spins on matrices this small
    (measured up to 100x slower on a loaded machine)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="blas"):
            return fn(*args, **kwargs)

    return wrapper

class ConvergenceError(RuntimeError):
    """CG did not reach the requested tolerance within ``maxiter`` iterations."""


def pcg(apply_A, b: np.ndarray, x0: np.ndarray, precond, weights: np.ndarray, rtol: float, maxiter: int):
    """Preconditioned CG on the columns of ``b`` (N, B) at once; each column has its own scalars.

    Stops a column when ``|b - A x|_w <= rtol |b|_w`` with ``|v|_w^2 = sum_i w_i v_i^2`` (``weights`` (N, 1)),
    checked on the true residual at the end (recomputed, restarting columns whose recursive residual drifted).
    A converged column is frozen, so its result does not depend on the other columns. Returns
    ``(x, iterations (B,), relative residual (B,))``; raises :class:`ConvergenceError` after ``maxiter``.
    """
    x, its, rel, _ = pcg_with_residual(apply_A, b, x0, precond, weights, rtol, maxiter)
    return (x.copy() if x is x0 else x), its, rel


def pcg_with_residual(apply_A, b, x0, precond, weights, rtol, maxiter, where=np.where):
    """:func:`pcg` that also returns the final true residual ``b - A x`` (N, B): ``(x, its, rel, r)``; ``x`` is
    ``x0`` itself when ``x0`` already meets the tolerance.

    Written with operations numpy arrays and torch tensors share; ``where`` is ``np.where`` or ``torch.where``
    (:mod:`fem.solvers_torch` runs it on torch).
    """

    def dot(u, v):
        return (u * v).sum(0)

    def wnorm(v):
        return dot(v, weights * v) ** 0.5

    x = x0
    bnorm = wnorm(b)
    target = rtol * bnorm
    its = 0 * (bnorm > 0)  # integer zeros (B,) on either backend
    for _restart in range(3):
        r = b - apply_A(x)
        rnorm = wnorm(r)
        active = rnorm > target
        if not active.any():
            return x, its, rnorm / where(bnorm > 0, bnorm, 1.0), r
        if x is x0:
            x = x0 + 0.0  # CG updates x in place; the caller's x0 stays as it was
        z = precond(r)
        p = z + 0.0
        rz = dot(r, z)
        while active.any():
            if its.max() >= maxiter:
                rel = wnorm(b - apply_A(x)) / where(bnorm > 0, bnorm, 1.0)
                raise ConvergenceError(
                    f"CG did not converge in {maxiter} iterations (relative residual {float(rel.max()):.2e} > rtol {rtol:.1e})"
                )
            q = apply_A(p)
            pq = dot(p, q)
            alpha = where(active, rz / where(active, pq, 1.0), 0.0)
            x += alpha * p
            r -= alpha * q
            its += active
            active &= wnorm(r) > target
            z = precond(r)
            rz_new = dot(r, z)
            beta = where(active, rz_new / where(rz != 0, rz, 1.0), 0.0)
            p = z + beta * p
            rz = rz_new
    rel = wnorm(b - apply_A(x)) / where(bnorm > 0, bnorm, 1.0)
    raise ConvergenceError(f"CG residual drifted above rtol {rtol:.1e} after restarts (relative residual {float(rel.max()):.2e})")


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
    ``edge_correction``: with ``"dct"``, use the exact edge-corrected solve where it applies (default); False
    keeps the plain DCT preconditioner (comparisons, ``bench/bench_solvers.py``). ``exact`` holds the
    :class:`fem.capacitance.EdgeCorrection` in use, or None.
    """

    @one_blas_thread
    def __init__(self, params: PDEParams, ops: Operators, preconditioner: Preconditioner = "auto", rtol: float = 1e-10,
                 maxiter: int | None = None, edge_correction: bool = True):
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
        self.exact = None  # fem.capacitance.EdgeCorrection: A^-1 exactly
        if preconditioner == "dct":
            if not n_grid:
                raise InputError("the DCT preconditioner needs a P1 mesh whose nodes are the n^3 grid; use 'jacobi'")
            from fem.capacitance import edge_correction as build_edge_correction

            self.exact = build_edge_correction(params, ops, n_grid, L) if edge_correction else None
            self._precond = self.exact.solve if self.exact is not None else DCTPreconditioner(params, n_grid, L)
        else:
            self._inv_diag = 1.0 / step_diagonal(params, ops)[:, None]
            self._precond = lambda R: R * self._inv_diag
        self.preconditioner = preconditioner
        # mass-conserving PDE (CH): M_t 1, for the exact-mass projection of the increment
        self._mt1 = time_mass(params, self.sops, np.ones((ops.ndofs, 1))) if params.equation.conserves_mass else None
        self.rechecks = 0  #: exact steps whose fused check exceeded rtol, checked again in increment form (advance)
        self.cg_fallbacks = 0  #: exact steps that failed both checks and were finished by CG

    def step(self, u0: np.ndarray, guess: np.ndarray | None = None):
        """Solve ``residual(params, ops, u0, u1) = 0``; u0 (N, B). Returns ``(u1, iterations (B,), relres (B,))``.

        ``guess``: initial increment ``u1 - u0`` (default zero, i.e. the previous state); not used by the exact
        solve, which counts as one iteration. A sequence of steps is cheaper with :meth:`advance`, which
        carries ``g(u)`` from one step to the next (:func:`simulate` does).
        """
        u1, its, rel, _ = self.advance(u0, guess=guess)
        return u1, its, rel

    def advance(self, u0, g0=None, guess=None):
        """:meth:`step` carrying the explicit residual from step to step: ``g0 = g(u0)`` (computed when None;
        it must be ``g(u0)``: the solve uses it) in, ``(u1, iterations, relres, g1)`` out with ``g1 = g(u1)``,
        the next step's ``g0``.

        With the exact solve the step's check and the next right-hand side come from one call of
        :meth:`fem.pde.PDE.residual_and_next` (they share sparse products): a step costs the solve plus that
        call. ``g1`` is computed from ``u1`` afresh every step (no recurrence, so nothing drifts). That check is
        the residual of the returned state ``u1 = u0 + d`` computed from ``u1``; its round-off is about
        ``eps |K u1| / |g(u0)|``, far below rtol until the state nears a steady one (``|g(u0)| -> 0``). Where
        it exceeds rtol, the solve itself is checked, ``g(u0) + A d`` in increment form (one product with A
        more; :attr:`rechecks` counts these steps), and only if that fails does CG take over from ``d``
        (:attr:`cg_fallbacks`; its iterations show in the count returned).
        """
        p, s, where = self.params, self.sops, self._where
        if g0 is None:
            g0 = explicit_residual(p, s, u0)
        b = -g0
        bnorm = dual_norm(s, g0)
        bscale = where(bnorm > 0, bnorm, 1.0)  # the relative residual's denominator
        one = 0 * (bnorm > 0) + 1  # integer ones (B,) on either backend
        if self.exact is not None:
            d0 = self._project(self.exact.solve(b))  # exact up to round-off: project first, then check once
            u1 = u0 + d0
            r, g1 = p.equation.residual_and_next(p, s, u0, u1, g0)
            rnorm = dual_norm(s, r)
            if not bool((rnorm > self.rtol * bnorm).any()):
                return u1, one, rnorm / bscale, g1
            self.rechecks += 1
        else:  # CG from the guess
            d0 = u0 * 0.0 if guess is None else guess
        apply_A = lambda X: step_operator(p, s, X)  # noqa: E731
        # checks b - A d0 first and returns d0 itself when it meets rtol
        d, its, rel, r = pcg_with_residual(apply_A, b, d0, self._precond, 1.0 / s.lumped, self.rtol, self.maxiter, where)
        if self.exact is not None:
            if d is d0:  # the solve meets rtol in increment form: u1 and g1 stand
                return u1, one, rel, g1
            self.cg_fallbacks += 1
        if self._mt1 is not None:  # CG moved d: remove its mass again
            d = self._project(d)
            rel = dual_norm(s, b - apply_A(d)) / bscale
        if self.exact is not None:
            its = its + 1
        u1 = u0 + d
        return u1, its, rel, explicit_residual(p, s, u1)

    def _project(self, d):
        """A mass-conserving PDE's increment with its mass removed (``d -= c 1``, c = 1^T M_t d / 1^T M_t 1)."""
        if self._mt1 is None:
            return d
        return d - (self._mt1 * d).sum(0) / self._mt1.sum()

    # The array backend of simulate (fem.solvers_torch.TorchStepper overrides these five).
    _where = staticmethod(np.where)

    def to_backend(self, A: np.ndarray) -> np.ndarray:
        """A host array (N, B) as this stepper's array type (a float64 copy)."""
        return np.array(A, dtype=np.float64)

    def to_host(self, X) -> np.ndarray:
        """A backend array as a numpy array."""
        return X

    def max_abs(self, X) -> np.ndarray:
        """``max |X|`` per column (B,), on the backend."""
        return np.abs(X).max(axis=0)

    def grid_maps(self, n: int):
        """``(to_dofs, to_grid)``: nodal matrices from / to the n^3 grid (identity on a grid mesh)."""
        P, Q = grid_to_dofs(self.ops, n), dofs_to_grid(self.ops, n)
        return (lambda X: X if P is None else P @ X), (lambda X: X if Q is None else Q @ X)


@dataclass
class Trajectory:
    """Result of :func:`simulate`; B = batch (absent when one initial condition was given)."""

    u: np.ndarray  #: (B, frames, n, n, n) saved frames on the node grid, float64 (or simulate's dtype)
    energy: np.ndarray  #: (B, frames) discrete free energy E_h of the frames (on the dofs)
    mass: np.ndarray  #: (B, frames) int u_h of the frames
    iterations: np.ndarray  #: (B, frames - 1) CG iterations per saved frame (summed over substeps)
    residual: np.ndarray  #: (B, frames - 1) largest relative residual over the substeps of each frame
    max_abs: np.ndarray  #: (B,) max |u| over every step (dofs)
    stability_bound: float | None  #: fem.schemes.stability_bound of the scheme


@one_blas_thread
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
    dtype=np.float64,
) -> Trajectory:
    """Run ``frames - 1`` saved steps (each ``params.substeps`` scheme steps) from grid field(s) ``u0``.

    Parameters
    ----------
    u0 : ``(n, n, n)`` or a batch ``(B, n, n, n)`` of initial conditions on the node grid of [0, L]^3.
    frames : number of saved frames including the initial one (>= 2).
    rtol, preconditioner, maxiter : see :class:`Stepper` (or pass a ready ``stepper``).
    progress : show a tqdm bar over frames.
    stepper : a ready :class:`Stepper` for ``params`` and ``ops`` -- or a :class:`fem.solvers_torch.TorchStepper`,
        which runs the same loop on torch tensors (CUDA or CPU); frames come back to the host.
    dtype : of the saved frames ``u`` (float64; float32 halves the host memory, as datasets store them).

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
    to_dofs, to_grid_nodal = stepper.grid_maps(n)
    X = to_dofs(stepper.to_backend(u0.reshape(B, -1).T))
    sops, host, where = stepper.sops, stepper.to_host, stepper._where

    def record(f):
        out[:, f] = host(to_grid_nodal(X)).T.reshape(B, n, n, n)
        energy[:, f], masses[:, f] = host(energy_of_columns(params, sops, X)), host((sops.lumped * X).sum(0))

    out = np.empty((B, frames, n, n, n), dtype=dtype)
    energy, masses = np.empty((B, frames)), np.empty((B, frames))
    iters = np.zeros((B, frames - 1), dtype=np.int64)
    res = np.zeros((B, frames - 1))
    record(0)
    max_abs = stepper.max_abs(X)
    guess = g = None
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=frames - 1, desc=f"{params.pde} n={n}", unit="frame")
    try:
        for f in range(1, frames):
            for _ in range(params.substeps):
                X1, its, rel, g = stepper.advance(X, g, guess)
                guess, X = X1 - X, X1
                iters[:, f - 1] += host(its)
                res[:, f - 1] = np.maximum(res[:, f - 1], host(rel))
                m = stepper.max_abs(X)
                max_abs = where(m > max_abs, m, max_abs)
            record(f)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    max_abs = host(max_abs)
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
