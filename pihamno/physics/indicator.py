"""The residual indicator: a label-free measure of the local error of one predicted step.

For a predicted step ``u_prev -> u_next`` of grid fields (B, n, n, n) the indicator is the reference scheme's
own residual (:func:`fem.schemes.residual`, the function the solver drives to zero and the physics losses
evaluate), on the **data's own discretisation** (its mesh and element, the grid fields mapped to the dofs by
:class:`pihamno.physics.discretisation.Discretisation`, the same map as the losses'), in the solver's dual norm,
divided by that of standing still (:func:`fem.schemes.relative_residual`, the quantity the solver stops on)::

    I(u_prev, u_next) = |r(u_prev, u_next)|_* / |g(u_prev)|_*,    |R|_* = sqrt(R^T M_L^-1 R),   g(u) = r(u, u)

per sample, float64, without gradients. ``I = 0`` on the scheme's step (reference data made with the same
settings: float64 round-off; float32 storage adds a floor of ~1e-6..1e-5), ``I = 1`` exactly for standing
still (``u_next = u_prev``).

**What it estimates** (docs/physics.md, "The residual indicator"). The schemes are linearly implicit:
``r(u0, u1) = g(u0) + A (u1 - u0)`` is affine in ``u1`` and vanishes at the scheme's step ``S(u0)``. So with
``e = u_next - S(u_prev)`` (the step's local error, from the model's own previous state) and
``d* = S(u_prev) - u_prev`` (the scheme's increment, ``A d* = -g(u_prev)``)::

    I = |A e|_* / |A d*|_*

and, since ``|A x|_* / |x|_{M_L}`` lies in ``[lam_min, lam_max]`` of ``M_L^-1 A`` (a symmetric matrix in the
``M_L`` inner product with the lumped time mass),

    |e|_{M_L} / (kappa |d*|_{M_L})  <=  I  <=  kappa |e|_{M_L} / |d*|_{M_L},     kappa = lam_max / lam_min:

the local error relative to the step's size, within the spectrum of ``tau M_L^-1 A`` (docs/physics.md states
it per PDE). ``I > 1`` means the step is further from the scheme's than standing still would be.

Example (AC, the Kuhn mesh at n = 5, standing still):

>>> import torch
>>> from fem.schemes import preset
>>> ind = ResidualIndicator(preset("ac", dt=1e-3), 5, device="cpu")
>>> u = torch.rand(2, 5, 5, 5) * 2 - 1
>>> ind(u, u).tolist(), ind(u, u).dtype
([1.0, 1.0], torch.float64)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from fem.assembly import Element
from fem.mesh import MeshChoice
from fem.schemes import PDEParams, relative_residual
from pihamno.errors import InputError
from pihamno.physics.discretisation import Discretisation

if TYPE_CHECKING:
    from pihamno.data import DataDescription


class ResidualIndicator:
    """``indicator(u_prev, u_next)`` -> (B,) float64: the scheme's relative residual of each step (module docstring).

    Parameters
    ----------
    params : PDE and scheme parameters; one scheme step per frame (``params.frame_level()``, tau = dt), as the
        physics losses use. Data saved every ``substeps > 1`` scheme steps give the reference a floor (the
        residual of a frame-level step), which evaluation reports as the reference's indicator.
    n : nodes per side of the grid.
    mesh, element : the discretisation the data were made on (a :class:`fem.mesh.MeshChoice`, default the
        ``kuhn`` split; P1 or P2). :meth:`for_data` takes the dataset's.
    device : where the products run (default: CUDA when present); always float64.
    """

    def __init__(self, params: PDEParams, n: int, *, mesh: MeshChoice | None = None, element: Element = "P1",
                 device=None):
        from pihamno.device import resolve_device

        self.params = params.frame_level()
        self.n = int(n)
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.disc = Discretisation(mesh or MeshChoice("kuhn"), element, self.n, params.L, device=self.device,
                                   dtype=torch.float64)

    @classmethod
    def for_data(cls, data: DataDescription, n: int | None = None, device=None) -> "ResidualIndicator":
        """The indicator of a dataset (:class:`pihamno.data.DataDescription`): its PDE parameters, its own mesh and
        element; ``n`` defaults to the data's."""
        return cls(data.params, data.n if n is None else n, mesh=data.mesh, element=data.element, device=device)

    @property
    def exact(self) -> bool:
        """Whether grid samples map back to the data's dofs (otherwise the reference has an interpolation floor)."""
        return self.disc.exact

    def _nodal(self, u: torch.Tensor, name: str) -> torch.Tensor:
        n = self.n
        if u.dim() != 4 or tuple(u.shape[1:]) != (n, n, n):
            raise InputError(f"{name} must have shape (B, {n}, {n}, {n}), got {tuple(u.shape)}")
        return self.disc.nodal(u.detach().to(device=self.device, dtype=torch.float64))

    def __call__(self, u_prev: torch.Tensor, u_next: torch.Tensor) -> torch.Tensor:
        """``|r(u_prev, u_next)|_* / |g(u_prev)|_*`` per sample: (B, n, n, n) twice -> (B,) float64 on ``device``.

        A state the scheme keeps exactly (``g(u_prev) = 0``, e.g. u = 0 for AC) gives 1 for ``u_next = u_prev`` too
        and inf for any other step.
        """
        with torch.no_grad(), torch.autocast(device_type=self.device.type, enabled=False):
            X0, X1 = self._nodal(u_prev, "u_prev"), self._nodal(u_next, "u_next")
            ratio = relative_residual(self.params, self.disc.ops, X0, X1)
            still = torch.isnan(ratio) & (X0 == X1).all(dim=0)  # 0/0: standing still where the scheme stands still
            return torch.where(still, 1.0, ratio)

    def trajectory(self, u: torch.Tensor, start: int = 0) -> torch.Tensor:
        """The indicator of each step ``f -> f + 1`` of trajectories ``u`` (T, F, n, n, n) for ``f >= start``:
        (T, F - 1 - start) float64. ``start = n_given - 1`` scores exactly the predicted steps of a rollout. One
        frame pair at a time, so the float64 copies stay (T, n, n, n)."""
        T, F = u.shape[:2]
        if F - 1 - start < 1:
            raise InputError(f"trajectories of {F} frames have no step after frame {start}")
        return torch.stack([self(u[:, f], u[:, f + 1]) for f in range(start, F - 1)], dim=1)

    def __repr__(self) -> str:
        p = self.params
        return f"ResidualIndicator(pde={p.pde}, dt={p.dt:g}, n={self.n}, {self.disc.describe()}, device={self.device})"
