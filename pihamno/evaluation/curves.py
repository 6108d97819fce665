"""Free-energy and mass curves of grid fields, with the finite-element energies of :mod:`fem.energy`.

The fields live on the n^3 node grid, which is the node set of the structured cube mesh; the energy
``E_h`` and the mass ``int u = sum_i m_i u_i`` (P1 lumped mass) are those of that mesh and of the
dataset's PDE parameters (``pde``, ``eps``, ``L``, ``dt`` from the dataset attributes), i.e. the energy the
reference scheme dissipates. The mesh split is the dataset's ``split`` attribute when it names a
structured split (``kuhn`` / ``five``), else ``kuhn``.
"""

from __future__ import annotations

import numpy as np

from pihamno.errors import InputError


class FieldCurves:
    """``energy(u)`` and ``mass(u)`` for fields ``u`` of shape (..., n, n, n) -> (...), float64 numpy."""

    def __init__(self, meta: dict, n: int):
        from fem.assembly import assemble
        from fem.mesh import MeshChoice
        from fem.pde import get_pde
        from fem.schemes import SchemeOperators, preset

        pde = get_pde(str(meta.get("pde", "")).lower()).name
        for key in ("eps", "L"):
            if key not in meta:
                raise InputError(f"dataset attribute {key!r} is missing; it is needed for the free energy")
        self.params = preset(pde, eps=float(meta["eps"]), L=float(meta["L"]), dt=float(meta.get("dt", 1.0)))
        choice = MeshChoice.from_attrs(meta)
        self.split = "kuhn" if choice.is_file else choice.split  # mesh-file data: the energy of the grid nodes
        self.ops = SchemeOperators.from_fem(assemble(MeshChoice(self.split).build(int(n), float(meta["L"]))))

    def energy(self, u) -> np.ndarray:
        from fem.energy import free_energy

        return free_energy(self.params, self.ops, np.asarray(u, dtype=np.float64))

    def mass(self, u) -> np.ndarray:
        from fem.energy import mass

        return mass(self.ops, np.asarray(u, dtype=np.float64))
