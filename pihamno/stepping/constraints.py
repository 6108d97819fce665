"""Hard constraints on a predicted step: exact mass conservation by projection of the increment.

For a step ``u_prev -> u_next`` of grid fields and the lumped mass ``m`` of the data's mesh on the node
grid (``m_i = int phi_i``, so the mass of a field is ``m^T u``), the projected prediction is

    d = u_next - u_prev,        u_next' = u_prev + d - (m^T d / m^T 1) 1

the m-orthogonal projection of the increment onto zero mass: ``m^T u_next' = m^T u_prev`` exactly (in
float64; the result is cast back, so float32 rounding of the nodal values is the only mass error left), and
a prediction that already conserves mass is unchanged. It is the same constraint the reference solver
imposes on a mass-conserving PDE (``fem.pde.PDE.conserves_mass``: Cahn-Hilliard). The projection is linear,
so gradients flow through it. ``m`` is built for the field's own n (a model can run on a finer grid than
it was trained on): :func:`lumped_mass` of the ``split`` (``"kuhn"`` / ``"five"``) mesh of the n^3 grid of
side L; data made on a mesh file use ``"kuhn"``, the node grid the data live on.

Example (a random increment on a 4^3 grid keeps the mass of u_prev):

>>> import torch
>>> c = MassProjection("kuhn", 2.0)
>>> u0, u1 = torch.rand(2, 4, 4, 4, dtype=torch.float64), torch.rand(2, 4, 4, 4, dtype=torch.float64)
>>> m = lumped_mass(4, 2.0, "kuhn")
>>> bool(torch.allclose((m * c(u0, u1)).sum((1, 2, 3)), (m * u0).sum((1, 2, 3)), rtol=1e-14))
True
"""

from __future__ import annotations

import functools

import torch

from pihamno.errors import InputError


@functools.lru_cache(maxsize=8)
def _lumped(n: int, L: float, split: str) -> torch.Tensor:
    from fem.assembly import assemble
    from fem.mesh import cube_mesh

    return torch.as_tensor(assemble(cube_mesh(int(n), float(L), split)).lumped.reshape(n, n, n), dtype=torch.float64)


def lumped_mass(n: int, L: float, split: str = "kuhn") -> torch.Tensor:
    """P1 lumped mass of the ``split`` mesh of the n^3 grid of side L on the nodes, (n, n, n) float64, C order."""
    return _lumped(int(n), float(L), str(split)).clone()


class MassProjection:
    """``constraint(u_prev, u_next) -> u_next'`` with ``m^T u_next' = m^T u_prev`` (module docstring).

    u_prev, u_next: (..., n, n, n); the result has u_next's dtype and device.
    """

    kind = "mass"

    def __init__(self, split: str = "kuhn", L: float = 1.0):
        from fem.choices import SPLITS

        if split not in SPLITS:
            raise InputError(f"mass projection: unknown split {split!r}; expected one of {', '.join(SPLITS)}")
        if not float(L) > 0:
            raise InputError(f"mass projection: the cube side L must be positive, got {L!r}")
        self.split, self.L = str(split), float(L)
        self._cache: dict = {}

    def _mass(self, n: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        """``(m, m.sum())`` on ``device``, cached per (n, device)."""
        key = (int(n), str(device))
        if key not in self._cache:
            m = _lumped(int(n), self.L, self.split).to(device)
            self._cache[key] = (m, m.sum())
        return self._cache[key]

    def weights(self, n: int, device) -> torch.Tensor:
        """The lumped mass m, (n, n, n) float64 on ``device`` (cached)."""
        return self._mass(n, device)[0]

    def __call__(self, u_prev: torch.Tensor, u_next: torch.Tensor) -> torch.Tensor:
        if u_prev.shape != u_next.shape or u_next.ndim < 3:
            raise InputError(f"mass projection: u_prev {tuple(u_prev.shape)} and u_next {tuple(u_next.shape)} "
                             "must be fields (..., n, n, n) of one shape")
        m, total = self._mass(u_next.shape[-1], u_next.device)
        un = u_next.double()
        c = (m * (un - u_prev.double())).sum(dim=(-3, -2, -1), keepdim=True) / total
        return (un - c).to(u_next.dtype)

    def state_dict(self) -> dict:
        return {"kind": self.kind, "split": self.split, "L": self.L}

    @classmethod
    def from_state(cls, state: dict) -> "MassProjection":
        if state.get("kind") != cls.kind:
            raise InputError(f"unknown constraint {state.get('kind')!r} in the checkpoint; expected 'mass'")
        return cls(state["split"], state["L"])

    def __repr__(self) -> str:
        return f"MassProjection(split={self.split!r}, L={self.L:g})"
