"""Physics losses of PI-HAMNO: the strong (nodal) and weak (Galerkin) residuals of the solver's own scheme.

For a predicted step ``u_prev -> u_next`` (grid fields, (B, n, n, n)) of a PDE with parameters ``p``
(:class:`fem.schemes.PDEParams`, one scheme step per frame: ``tau = dt``), both terms evaluate the residual
of the reference solver, ``r = fem.schemes.residual(p, ops, X_prev, X_next)`` (N, B), the assembled
Galerkin residual on a tetrahedral mesh with P1 or P2 elements, with ``X = P u`` the nodal values of the grid
fields (``P`` = :func:`fem.interpolation.samples_to_dofs`, the left inverse of the solver's dof -> grid
sampling: the identity for P1 on the grid mesh, so grid samples of a finite-element solution give back its dofs).
They differ in what is measured and on which discretisation:

* **strong** -- the *nodal* residual of the scheme on the **data's own discretisation** (``data_mesh``,
  ``data_element``; the weak's by default, the dataset's with :meth:`PhysicsLoss.for_data`)::

      R = M_L^-1 r          (N, B): one value per node, in units of u_t (the PDE's pointwise residual)
      L_strong = tau^2 R^T M R / |Omega|          (M the consistent mass: the L2 norm of the P1/P2 function R)

  ``R`` is the discrete equation the solver solved, node by node: on the Kuhn grid with the lumped mass it
  is the 7-point finite-difference residual at interior and face nodes (more than 1 node (AC) or 2 nodes
  (CH, SH) away from an edge) and the mesh's own stencil at the 12 edges and 8 corners; on ``five`` the
  five-split's lumped operator everywhere; on a mesh file or with P2 the mesh's. So it vanishes on the
  solver's frames by construction (the old 7-point finite-difference residual did not at the Kuhn edges
  and anywhere on ``five``; ``tests/finite_difference.py`` keeps it for the tests that compare the two).
* **weak** (``"assembled"``, default) -- the Galerkin residual tested with the functions of the **loss's
  chosen mesh and element** (``mesh``, ``element``; the data's by default), in the discrete dual
  norm::

      L_weak = tau^2 r^T M_L^-1 r / |Omega|          (per sample, then averaged over the batch)

  ``tau r`` has the units of u and ``r^T M_L^-1 r`` approximates ``int (u_t - F(u))^2``, so both losses
  are on the scale of an MSE and do not depend on n. ``"element_local"`` is the paper's unassembled
  residual (:mod:`pihamno.physics.element_local`), measured the same way with the local lumped masses;
  it is inconsistent and kept for comparison only.

On the same discretisation the two are the same nodal residual in two equivalent norms:
``L_weak = tau^2 R^T M_L R``, and ``R^T M R / R^T M_L R`` lies in [1/5, 1] for P1 (the eigenvalues of the
element matrix (M_L^E)^-1 M^E), so ``L_weak / 5 <= L_strong <= L_weak``: the consistent mass weighs the
checkerboard components of R less. They differ in substance when the weak term uses another element or
mesh than the data (P2 test functions on P1 data): the strong term then still vanishes on the data, the
weak one has a floor.

The consistency contract (docs/design.md section 5.6, ``tests/test_consistency.py``): on reference data made
with the same settings (``substeps = 1``; kuhn, five, or a mesh file whose samples determine its dofs; P1,
or P2 at odd n) both terms are <= 1e-8 of their value on the standing-still prediction ``u_next = u_prev``
in float64. The bare ``|r|^2`` is never used: it is ill-conditioned and scales with h^6. Products run in
float32 (or the dtype asked for) with autocast disabled: sparse kernels do not take bf16.
"""

from __future__ import annotations

import torch

from fem.assembly import Element
from fem.mesh import MeshChoice
from fem.schemes import PDEParams, residual
from fem.torch_bridge import SparseOperator, diagonal_tensor
from pihamno.choices import WEAK_KINDS, WeakKind  # noqa: F401 - re-exported
from pihamno.data.description import DataDescription
from pihamno.errors import InputError
from pihamno.physics.discretisation import Discretisation
from pihamno.physics.element_local import element_matrices, scheme_terms


class PhysicsLoss:
    """Strong and weak residual losses of one PDE on one grid; call it as ``phys(u_prev, u_next)``.

    Parameters
    ----------
    params : PDE and scheme parameters; the loss uses one step per frame (``params.frame_level()``).
    n : nodes per side of the grid the fields live on.
    mesh : the mesh of the weak form, a :class:`fem.mesh.MeshChoice` (a structured split of the n^3 grid, or a
        tetrahedral mesh file of the cube [0, L]^3, its side checked against L); default the Kuhn split.
    element : ``"P1"`` or ``"P2"`` test functions of the weak form (P2 on a split: the vertex grid at odd n,
        :func:`fem.mesh.structured_vertices`).
    weak : ``"assembled"`` (consistent, default) or ``"element_local"`` (the paper's, inconsistent).
    data_mesh, data_element : the discretisation the data were made on, where the strong residual is taken;
        default: the weak form's ``mesh`` and ``element`` (:meth:`for_data` passes the dataset's).
    device, dtype : where the sparse products run (default: CUDA when present; float32).
    """

    def __init__(self, params: PDEParams, n: int, *, mesh: MeshChoice | None = None, element: Element = "P1",
                 weak: WeakKind = "assembled", device=None, dtype: torch.dtype = torch.float32,
                 data_mesh: MeshChoice | None = None, data_element: Element | None = None):
        if weak not in WEAK_KINDS:
            raise InputError(f"unknown weak residual {weak!r}; expected one of {', '.join(WEAK_KINDS)}")
        from pihamno.device import resolve_device

        device = resolve_device(device) if not isinstance(device, torch.device) else device
        self.params = params.frame_level()
        self.n, self.L, self.weak_kind = int(n), params.L, weak
        self.device, self.dtype = device, dtype
        self.volume = self.L**3

        # weak form: the scheme on the chosen mesh and element
        self.mesh = MeshChoice() if mesh is None else mesh
        self.weak_disc = Discretisation(self.mesh, element, self.n, self.L, device=device, dtype=dtype)
        self.fem, self.ops = self.weak_disc.fem, self.weak_disc.ops
        # strong form: the nodal residual on the data's own discretisation (shared when it is the same)
        data_mesh = self.mesh if data_mesh is None else data_mesh
        data_element = element if data_element is None else data_element
        if self.weak_disc.same_as(data_mesh, data_element):
            self.data_disc = self.weak_disc
        else:
            self.data_disc = Discretisation(data_mesh, data_element, self.n, self.L, device=device, dtype=dtype)
        self.data_mass = self.data_disc.ops.M
        if weak == "element_local":
            Me, Ml, Ke, m_rows = element_matrices(self.fem)
            self.local_Mt = SparseOperator(Ml if self.params.mass == "lumped" else Me, device, dtype, symmetric=False)
            self.local_ML = SparseOperator(Ml, device, dtype, symmetric=False)
            self.local_K = SparseOperator(Ke, device, dtype, symmetric=False)
            self.local_mass = diagonal_tensor(m_rows, device, dtype)

    @classmethod
    def for_data(cls, data: DataDescription, n: int | None = None, *, mesh: MeshChoice | None = None,
                 element: Element | None = None, **kwargs) -> "PhysicsLoss":
        """The loss of a dataset (:class:`pihamno.data.DataDescription`): its PDE parameters, its own
        discretisation for the strong residual, and for the weak form ``mesh`` / ``element`` when given, else
        the data's own too, on which the weak residual vanishes (:meth:`DataDescription.loss_discretisation`).
        ``n`` defaults to the data's; ``kwargs`` go to the constructor (``weak``, ``device``, ``dtype``)."""
        weak_mesh, weak_element = data.loss_discretisation(mesh, element)
        return cls(data.params, data.n if n is None else n, mesh=weak_mesh, element=weak_element,
                   data_mesh=data.mesh, data_element=data.element, **kwargs)

    def _check(self, u: torch.Tensor, name: str) -> torch.Tensor:
        n = self.n
        if u.dim() != 4 or tuple(u.shape[1:]) != (n, n, n):
            raise InputError(f"{name} must have shape (B, {n}, {n}, {n}), got {tuple(u.shape)}")
        return u.to(device=self.device, dtype=self.dtype)

    def _residual(self, disc: Discretisation, u_prev: torch.Tensor, u_next: torch.Tensor) -> torch.Tensor:
        """``tau r`` (N, B) of the scheme on ``disc``."""
        return residual(self.params, disc.ops, disc.nodal(u_prev), disc.nodal(u_next)) * self.params.tau

    def _strong_from(self, r: torch.Tensor) -> torch.Tensor:
        R = r / self.data_disc.ops.lumped
        return (R * (self.data_mass @ R)).sum(0) / self.volume

    def _weak_from(self, r: torch.Tensor) -> torch.Tensor:
        return (r * r / self.ops.lumped).sum(0) / self.volume

    def strong(self, u_prev: torch.Tensor, u_next: torch.Tensor) -> torch.Tensor:
        """Per-sample strong loss ``tau^2 R^T M R / |Omega|``, ``R = M_L^-1 r`` on the data's discretisation, (B,)."""
        return self._strong_from(self._residual(self.data_disc, u_prev, u_next))

    def weak(self, u_prev: torch.Tensor, u_next: torch.Tensor) -> torch.Tensor:
        """Per-sample weak loss ``tau^2 r^T M_L^-1 r / |Omega|`` (or its element-local analogue), shape (B,)."""
        if self.weak_kind == "assembled":
            return self._weak_from(self._residual(self.weak_disc, u_prev, u_next))
        X0, X1 = self.weak_disc.nodal(u_prev), self.weak_disc.nodal(u_next)
        a, b, c = scheme_terms(self.params, self.ops, X0, X1)
        r = self.local_Mt @ a + self.local_K @ b
        if c is not None:
            r = r + self.local_ML @ c
        r = r * self.params.tau
        return (r * r / self.local_mass).sum(0) / self.volume

    def __call__(self, u_prev: torch.Tensor, u_next: torch.Tensor, reduce: bool = True) -> dict[str, torch.Tensor]:
        """``{"strong": ..., "weak": ...}`` for grid fields ``u_prev``, ``u_next`` of shape (B, n, n, n).

        Scalars (batch means) by default; per-sample (B,) tensors with ``reduce=False``. When both terms use
        the same discretisation (the default) the residual is computed once.
        """
        u_prev, u_next = self._check(u_prev, "u_prev"), self._check(u_next, "u_next")
        with torch.autocast(device_type=self.device.type, enabled=False):
            if self.weak_kind == "assembled" and self.data_disc is self.weak_disc:
                r = self._residual(self.weak_disc, u_prev, u_next)
                out = {"strong": self._strong_from(r), "weak": self._weak_from(r)}
            else:
                out = {"strong": self.strong(u_prev, u_next), "weak": self.weak(u_prev, u_next)}
        return {k: v.mean() for k, v in out.items()} if reduce else out

    @property
    def exact(self) -> dict[str, bool]:
        """Whether each term's grid -> dof map recovers the solver's dofs from grid samples (``"weak"`` is
        also consistent only when its discretisation is the data's)."""
        return {"strong": self.data_disc.exact, "weak": self.weak_disc.exact and self.data_disc is self.weak_disc}

    def __repr__(self) -> str:
        p = self.params
        strong = "" if self.data_disc is self.weak_disc else f", strong on {self.data_disc.describe()}"
        return (f"PhysicsLoss(pde={p.pde}, eps={p.eps:g}, dt={p.dt:g}, n={self.n}, weak={self.weak_kind}, "
                f"{self.mesh.describe()}, element={self.fem.element}, dofs={self.fem.ndofs}{strong}, device={self.device})")
