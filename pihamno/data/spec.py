"""What a dataset is made of: :class:`DatasetSpec`, the PDE parameters, grid, mesh, element, initial conditions
and solver settings of one file, and the HDF5 attributes that record them (docs/design.md section 7.1).

:func:`pihamno.data.generate` writes a spec to a file; :mod:`pihamno.data.compute` computes its trajectories;
:class:`pihamno.data.DataDescription` reads the attributes back, typed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from fem.choices import Element, Preconditioner, Split
from fem.schemes import PDEParams
from pihamno.errors import InputError

if TYPE_CHECKING:  # imported lazily at run time (keeps the command line's start fast)
    from fem.mesh import MeshChoice

FORMAT, FORMAT_VERSION = "pihamno-dataset", 1
MIN_N = 4


@dataclass(frozen=True)
class DatasetSpec:
    """What to generate. ``ic_params`` are overrides; the complete, resolved set is kept after construction.

    The mesh is the structured ``split`` of the n^3 grid or the tetrahedral ``mesh_file`` (then ``split`` is
    stored as ``""``); :attr:`mesh_choice` is the same as a :class:`fem.mesh.MeshChoice`. P2 on a split runs on
    the ((n + 1)/2)^3 vertex grid, whose P2 dofs are grid nodes, and needs an odd n (:meth:`mesh`).
    """

    params: PDEParams
    n: int
    frames: int = 101
    trajectories: int = 1
    ic_family: str | None = None
    ic_params: dict = field(default_factory=dict)
    seed: int = 0
    split: Split | str | None = "kuhn"
    mesh_file: str | None = None
    element: Element = "P1"
    rtol: float = 1e-10
    preconditioner: Preconditioner = "auto"

    def __post_init__(self):
        from fem.choices import ELEMENTS, PRECONDITIONERS
        from fem.mesh import MeshChoice
        from pihamno.data.initial_conditions import default_family, resolve_params

        for name, lo in (("n", MIN_N), ("frames", 2), ("trajectories", 1)):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < lo:
                raise InputError(f"{name} must be an integer >= {lo}, got {v!r}")
        if not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise InputError(f"seed must be a non-negative integer, got {self.seed!r}")
        choice = MeshChoice(file=self.mesh_file) if self.mesh_file is not None else MeshChoice(split=self.split)
        if self.element not in ELEMENTS:
            raise InputError(f"unknown element {self.element!r}; expected one of {', '.join(ELEMENTS)}")
        if not (isinstance(self.rtol, (int, float)) and 0 < self.rtol < 1):
            raise InputError(f"solver rtol must be a number in (0, 1), got {self.rtol!r}")
        if self.preconditioner not in PRECONDITIONERS:
            raise InputError(f"unknown preconditioner {self.preconditioner!r}; expected one of {', '.join(PRECONDITIONERS)}")
        if self.element == "P2" and not choice.is_file and self.n % 2 == 0:
            raise InputError(f"P2 data on the {choice.split} split need an odd n (the P2 dofs of the ((n + 1)/2)^3 "
                             f"vertex mesh are then the n^3 grid nodes), got n = {self.n}")
        family = self.ic_family or default_family(self.params.pde)
        object.__setattr__(self, "ic_family", family)
        object.__setattr__(self, "ic_params", resolve_params(family, self.params.pde, self.ic_params, eps=self.params.eps))
        object.__setattr__(self, "split", choice.split or "")
        object.__setattr__(self, "mesh_file", choice.file)

    @property
    def mesh_choice(self) -> MeshChoice:
        """The structured split or the mesh file, as a :class:`fem.mesh.MeshChoice`."""
        from fem.mesh import MeshChoice

        return MeshChoice(split=self.split or None, file=self.mesh_file)

    def mesh(self):
        """The tetrahedral mesh the solver runs on: the mesh file (side checked against L), or the structured
        ``split`` of the n^3 grid (P1) or of its ((n + 1)/2)^3 vertex grid (P2, odd n;
        :func:`fem.mesh.structured_vertices`)."""
        return self.mesh_choice.build(self.n, self.params.L, self.element)

    def operators(self):
        """The assembled operators of the solver: ``fem.assembly.assemble(self.mesh(), element)``."""
        from fem.assembly import assemble

        return assemble(self.mesh(), self.element)

    def initial_condition(self, index: int):
        """The initial condition of trajectory ``index`` on the n^3 grid, from ``trajectory_rng(seed, index)``."""
        from pihamno.data.initial_conditions import sample, trajectory_rng

        return sample(self.ic_family, trajectory_rng(self.seed, index), self.n, self.params.L, self.ic_params)

    def attrs(self, mesh_hash: str) -> dict:
        """The HDF5 attributes (all str / int / float)."""
        import pihamno

        p, mesh = self.params, self.mesh_choice.to_attrs()
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "pde": p.pde,
            "eps": p.eps,
            "L": p.L,
            "dt": p.dt,
            "substeps": p.substeps,
            "S": p.S,
            "mass": p.mass,
            "scheme": p.scheme,
            "n": int(self.n),
            "frames": int(self.frames),
            "trajectories": int(self.trajectories),
            "split": mesh["split"],
            "mesh_file": mesh["mesh_file"],
            "mesh_hash": mesh_hash,
            "element": self.element,
            "ic_family": self.ic_family,
            "ic_params": json.dumps(self.ic_params, sort_keys=True),
            "seed": int(self.seed),
            "rtol": float(self.rtol),
            "preconditioner": self.preconditioner,
            "pihamno_version": pihamno.__version__,
        }
