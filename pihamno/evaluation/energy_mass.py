"""Free-energy and mass curves of grid fields, with the finite-element energies of :mod:`fem.energy`.

The fields live on the n^3 node grid, which is the node set of the structured cube mesh; the energy
``E_h`` and the mass ``int u = sum_i m_i u_i`` (P1 lumped mass) are those of that mesh and of the
dataset's PDE parameters (``pde``, ``eps``, ``L``, ``dt`` of its :class:`~pihamno.data.DataDescription`), i.e.
the energy the reference scheme dissipates. The mesh split is the data's
:attr:`~pihamno.data.DataDescription.grid_split` (its own structured split; ``kuhn`` for mesh-file data).
"""

from __future__ import annotations

import numpy as np

from pihamno.data import DataDescription
from pihamno.errors import InputError


class FieldCurves:
    """``energy(u)`` and ``mass(u)`` for fields ``u`` of shape (..., n, n, n) -> (...), float64 numpy."""

    def __init__(self, data: DataDescription, n: int):
        from fem.assembly import assemble
        from fem.mesh import MeshChoice
        from fem.schemes import SchemeOperators, preset

        pde = data.equation.name
        for key in ("eps", "L"):
            if getattr(data, key) is None:
                raise InputError(f"dataset attribute {key!r} is missing; it is needed for the free energy")
        self.params = preset(pde, eps=data.eps, L=data.L, dt=data.dt or 1.0)
        self.split = data.grid_split
        self.ops = SchemeOperators.from_fem(assemble(MeshChoice(self.split).build(int(n), data.L)))

    def energy(self, u) -> np.ndarray:
        from fem.energy import free_energy

        return free_energy(self.params, self.ops, np.asarray(u, dtype=np.float64))

    def mass(self, u) -> np.ndarray:
        from fem.energy import mass

        return mass(self.ops, np.asarray(u, dtype=np.float64))
