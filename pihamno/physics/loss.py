"""Physics losses of PI-HAMNO: strong (finite-difference) and weak (assembled FEM) residuals on torch.

For a predicted step ``u_prev -> u_next`` (grid fields, (B, n, n, n)) of a PDE with parameters ``p``
(:class:`fem.schemes.PDEParams`, one scheme step per frame: ``tau = dt``):

* **weak** (default ``"assembled"``): the assembled Galerkin residual of the reference solver's own scheme,
  ``r = fem.schemes.residual(p, ops, P u_prev, P u_next)`` (N, B), on a tetrahedral mesh of the cube
  (structured ``kuhn``/``five`` or any mesh file) with P1 or P2 test functions; ``P`` interpolates grid
  fields to the mesh dofs (identity on the P1 grid mesh). Measured in the discrete dual norm and
  normalised to a mean square over the domain::

      L_weak = tau^2 r^T M_L^-1 r / |Omega|          (per sample, then averaged over the batch)

  ``tau r`` has the units of u and ``r^T M_L^-1 r`` approximates ``int (u_t - F(u))^2``, so L_weak is on
  the scale of an MSE and does not depend on n. It is zero (to solver tolerance) on reference data made
  with ``substeps = 1``, the consistency contract of docs/design.md sections 4.5 and 5.6.
  ``"element_local"`` is the paper's unassembled residual (:mod:`pihamno.physics.element_local`), measured
  the same way with the local lumped masses; it is inconsistent and kept for comparison only.
* **strong**: the same scheme with the finite-difference operators of the node grid
  (:mod:`pihamno.physics.finite_difference`), ``R`` (n^3, B), integrated with the P1 mass of the Kuhn grid
  mesh: ``L_strong = tau^2 R^T M R / |Omega|``.

The bare ``|r|^2`` is never used: it is ill-conditioned and scales with h^6.
Products run in float32 (or the dtype asked for) with autocast disabled: sparse kernels do not take bf16.
"""

from __future__ import annotations

from pathlib import Path

import torch

from fem.assembly import Element, assemble
from fem.interpolation import grid_to_dofs
from fem.mesh import MeshChoice, Split, cube_mesh
from fem.schemes import PDEParams, residual
from fem.schemes_torch import TorchSchemeOperators
from fem.torch_bridge import SparseOperator, diagonal_tensor
from pihamno.choices import WEAK_KINDS, WeakKind  # noqa: F401 - re-exported
from pihamno.errors import InputError
from pihamno.physics.element_local import element_matrices, scheme_terms
from pihamno.physics.finite_difference import FiniteDifferenceOperators

#: The weak residuals (module docstring).


class PhysicsLoss:
    """Strong and weak residual losses of one PDE on one grid; call it as ``phys(u_prev, u_next)``.

    Parameters
    ----------
    params : PDE and scheme parameters; the loss uses one step per frame (``params.frame_level()``).
    n : nodes per side of the grid the fields live on.
    mesh : the mesh of the weak form, a :class:`fem.mesh.MeshChoice` (structured split or mesh file, its
        cube side checked against L), or the path of a tetrahedral mesh file of the cube [0, L]^3 (meshio).
    split : structured mesh for the weak form (``"kuhn"`` or ``"five"``) when ``mesh`` is None (default kuhn).
    element : ``"P1"`` or ``"P2"`` test functions.
    weak : ``"assembled"`` (consistent, default) or ``"element_local"`` (the paper's, inconsistent).
    device, dtype : where the sparse products run (default: CUDA when present; float32).
    """

    def __init__(self, params: PDEParams, n: int, *, split: Split | None = None,
                 mesh: MeshChoice | str | Path | None = None, element: Element = "P1",
                 weak: WeakKind = "assembled", device=None, dtype: torch.dtype = torch.float32):
        if weak not in WEAK_KINDS:
            raise InputError(f"unknown weak residual {weak!r}; expected one of {', '.join(WEAK_KINDS)}")
        from pihamno.device import resolve_device

        device = resolve_device(device) if not isinstance(device, torch.device) else device
        self.params = params.frame_level()
        self.n, self.L, self.weak_kind = int(n), params.L, weak
        self.device, self.dtype = device, dtype
        self.volume = self.L**3

        # strong form: FD operators on the grid, integrated with the P1 mass of the Kuhn grid mesh
        self.fd = FiniteDifferenceOperators(self.n, self.L, device, dtype)
        self.grid_mass = SparseOperator(assemble(cube_mesh(self.n, self.L, "kuhn")).M, device, dtype, symmetric=True)

        # weak form: the scheme on the chosen mesh and element
        if mesh is None:
            mesh = MeshChoice(split=split)
        elif not isinstance(mesh, MeshChoice):
            mesh = MeshChoice(file=mesh)
        self.mesh = mesh
        self.fem = assemble(mesh.build(self.n, self.L), element)
        self.ops = TorchSchemeOperators.from_fem(self.fem, device=device, dtype=dtype)
        P = grid_to_dofs(self.fem, self.n)
        self.to_dofs = None if P is None else SparseOperator(P, device, dtype, symmetric=False)
        if weak == "element_local":
            Me, Ml, Ke, m_rows = element_matrices(self.fem)
            self.local_Mt = SparseOperator(Ml if self.params.mass == "lumped" else Me, device, dtype, symmetric=False)
            self.local_ML = SparseOperator(Ml, device, dtype, symmetric=False)
            self.local_K = SparseOperator(Ke, device, dtype, symmetric=False)
            self.local_mass = diagonal_tensor(m_rows, device, dtype)

    @classmethod
    def from_metadata(cls, meta: dict, n: int | None = None, **kwargs) -> "PhysicsLoss":
        """From a dataset's metadata (``pihamno.data.dataset.read_metadata``): pde, eps, L, dt, S, mass.

        The mesh is given in ``kwargs`` (``mesh`` / ``split``); ``mesh=MeshChoice.from_attrs(meta)`` is the
        dataset's own, on which the weak residual vanishes.
        """
        params = PDEParams.from_dict(meta)
        n = int(meta["n"]) if n is None else n
        return cls(params, n, **kwargs)

    def _check(self, u: torch.Tensor, name: str) -> torch.Tensor:
        n = self.n
        if u.dim() != 4 or tuple(u.shape[1:]) != (n, n, n):
            raise InputError(f"{name} must have shape (B, {n}, {n}, {n}), got {tuple(u.shape)}")
        return u.to(device=self.device, dtype=self.dtype)

    def _nodal(self, u: torch.Tensor) -> torch.Tensor:
        X = u.reshape(u.shape[0], -1).T  # (n^3, B), C order = the grid mesh numbering
        return X if self.to_dofs is None else self.to_dofs @ X

    def strong(self, u_prev: torch.Tensor, u_next: torch.Tensor) -> torch.Tensor:
        """Per-sample strong loss ``tau^2 R^T M R / |Omega|``, shape (B,)."""
        X0, X1 = (u.reshape(u.shape[0], -1).T for u in (u_prev, u_next))
        R = residual(self.params, self.fd, X0, X1) * self.params.tau
        return (R * (self.grid_mass @ R)).sum(0) / self.volume

    def weak(self, u_prev: torch.Tensor, u_next: torch.Tensor) -> torch.Tensor:
        """Per-sample weak loss ``tau^2 r^T M_L^-1 r / |Omega|`` (or its element-local analogue), shape (B,)."""
        X0, X1 = self._nodal(u_prev), self._nodal(u_next)
        if self.weak_kind == "assembled":
            r = residual(self.params, self.ops, X0, X1) * self.params.tau
            return (r * r / self.ops.lumped).sum(0) / self.volume
        a, b, c = scheme_terms(self.params, self.ops, X0, X1)
        r = self.local_Mt @ a + self.local_K @ b
        if c is not None:
            r = r + self.local_ML @ c
        r = r * self.params.tau
        return (r * r / self.local_mass).sum(0) / self.volume

    def __call__(self, u_prev: torch.Tensor, u_next: torch.Tensor, reduce: bool = True) -> dict[str, torch.Tensor]:
        """``{"strong": ..., "weak": ...}`` for grid fields ``u_prev``, ``u_next`` of shape (B, n, n, n).

        Scalars (batch means) by default; per-sample (B,) tensors with ``reduce=False``.
        """
        u_prev, u_next = self._check(u_prev, "u_prev"), self._check(u_next, "u_next")
        with torch.autocast(device_type=self.device.type, enabled=False):
            out = {"strong": self.strong(u_prev, u_next), "weak": self.weak(u_prev, u_next)}
        return {k: v.mean() for k, v in out.items()} if reduce else out

    def __repr__(self) -> str:
        p = self.params
        return (f"PhysicsLoss(pde={p.pde}, eps={p.eps:g}, dt={p.dt:g}, n={self.n}, weak={self.weak_kind}, "
                f"{self.mesh.describe()}, element={self.fem.element}, dofs={self.fem.ndofs}, device={self.device})")


def combine_losses(data: torch.Tensor, physics: dict[str, torch.Tensor] | None, lam: float,
                   w_strong: float = 1.0, w_weak: float = 1.0) -> torch.Tensor:
    """``(1 - lam) L_data + lam (w_strong L_strong + w_weak L_weak)`` (docs/design.md section 5.5).

    ``lam = 0`` is HAMNO (``physics`` may be None), ``0.25`` the paper's hybrid PI-HAMNO, ``1`` pure physics.
    """
    if not 0.0 <= lam <= 1.0:
        raise InputError(f"lambda must lie in [0, 1], got {lam}")
    if lam == 0.0:
        return data
    if physics is None:
        raise InputError("lambda > 0 needs the physics losses")
    return (1.0 - lam) * data + lam * (w_strong * physics["strong"] + w_weak * physics["weak"])
