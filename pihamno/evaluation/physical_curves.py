"""The physical curves of grid fields: free energy, mass, max|u| and the residual indicator per frame.

The fields live on the n^3 node grid, which is the node set of the structured cube mesh; the energy
``E_h`` and the mass ``int u = sum_i m_i u_i`` (P1 lumped mass) are those of that mesh and of the
dataset's PDE parameters (``pde``, ``eps``, ``L``, ``dt``, ``S``, ``mass`` of its :class:`~pihamno.data.DataDescription`),
i.e. the energy the reference scheme dissipates. The mesh split is the data's
:attr:`~pihamno.data.DataDescription.grid_split` (its own structured split; ``kuhn`` for mesh-file data). The
residual indicator (:class:`pihamno.physics.ResidualIndicator`) is taken on the data's own discretisation (its
mesh file and element included): frame f holds the indicator of the step f - 1 -> f.

:meth:`FieldCurves.curves` is the one entry point every evaluation uses, for any fields (a model's rollout,
the reference, a guarded rollout): ``{"energy_<tag>", "mass_<tag>", "max_abs_<tag>", "indicator_<tag>"}``,
(T, F) float64 arrays; :meth:`FieldCurves.bounds` the pointwise bounds of the PDE they are judged against.
"""

from __future__ import annotations

import numpy as np
import torch

from fem.schemes import SchemeOperators
from pihamno.data import DataDescription
from pihamno.errors import InputError


class FieldCurves:
    """``energy(u)``, ``mass(u)``, ``max_abs(u)`` for fields ``u`` of shape (..., n, n, n) -> (...), float64 numpy;
    ``indicator(u, start)`` for trajectories (T, F, n, n, n) -> (T, F). ``device``: where the indicator runs."""

    def __init__(self, data: DataDescription, n: int, device=None):
        from fem.assembly import assemble
        from fem.mesh import MeshChoice
        from fem.schemes import PDEParams

        pde = data.equation.name
        for key in ("eps", "L"):
            if getattr(data, key) is None:
                raise InputError(f"dataset attribute {key!r} is missing; it is needed for the free energy")
        self.params = PDEParams.from_dict({"dt": 1.0, **data.attrs, "pde": pde})
        self.n, self.split = int(n), data.grid_split
        self.ops = SchemeOperators.from_fem(assemble(MeshChoice(self.split).build(self.n, data.L)))
        self._data, self._device, self._indicator = data, device, None

    def energy(self, u) -> np.ndarray:
        from fem.energy import free_energy

        return free_energy(self.params, self.ops, np.asarray(u, dtype=np.float64))

    def mass(self, u) -> np.ndarray:
        from fem.energy import mass

        return mass(self.ops, np.asarray(u, dtype=np.float64))

    @staticmethod
    def max_abs(u) -> np.ndarray:
        """max_i |u_i| per field."""
        u = np.asarray(u)
        return np.abs(u.reshape(*u.shape[:-3], -1)).max(axis=-1).astype(np.float64)

    @property
    def indicator_of(self):
        """The :class:`pihamno.physics.ResidualIndicator` of the data (built on first use)."""
        if self._indicator is None:
            from pihamno.physics import ResidualIndicator

            self._indicator = ResidualIndicator.for_data(self._data, self.n, device=self._device)
        return self._indicator

    def indicator(self, u, start: int = 0) -> np.ndarray:
        """The residual indicator of the steps f - 1 -> f of trajectories ``u`` (T, F, n, n, n), as (T, F):
        NaN for frames ``f <= start``. ``start = n_given - 1`` scores the predicted steps of a rollout."""
        u = torch.as_tensor(np.asarray(u))
        out = np.full(tuple(u.shape[:2]), np.nan)
        if u.shape[1] > start + 1:
            out[:, start + 1:] = self.indicator_of.trajectory(u, start).cpu().numpy()
        return out

    def bounds(self) -> dict:
        """``{"maximum_principle": B or None, "stability_bound": U or None}`` of the PDE at these parameters
        (:meth:`fem.pde.PDE.maximum_principle`, :func:`fem.schemes.stability_bound`)."""
        from fem.schemes import stability_bound

        return {"maximum_principle": self.params.equation.maximum_principle(self.params),
                "stability_bound": stability_bound(self.params)}

    def curves(self, u, tag: str, n_given: int) -> dict:
        """Every physical curve of trajectories ``u`` (T, F, n, n, n), named ``<quantity>_<tag>`` ((T, F) each)."""
        u = np.asarray(u)
        return {f"energy_{tag}": self.energy(u), f"mass_{tag}": self.mass(u), f"max_abs_{tag}": self.max_abs(u),
                f"indicator_{tag}": self.indicator(u, max(n_given - 1, 0))}
