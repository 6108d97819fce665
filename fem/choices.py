"""The named choices of the finite-element layer, each defined once (as a ``Literal`` type and its tuple).

Imported by the modules that implement them (:mod:`fem.mesh`, :mod:`fem.assembly`, :mod:`fem.schemes`,
:mod:`fem.solvers`) and by everything that offers them to a user (configs, command-line ``choices=``).
This module imports nothing heavy, so a command line can list the choices without loading scikit-fem.

>>> SPLITS, ELEMENTS, MASS_KINDS, PRECONDITIONERS
(('kuhn', 'five'), ('P1', 'P2'), ('lumped', 'consistent'), ('auto', 'dct', 'jacobi'))
"""

from __future__ import annotations

from typing import Literal, get_args

#: structured splits of each grid cell into tetrahedra (:func:`fem.mesh.cube_mesh`)
Split = Literal["kuhn", "five"]
SPLITS: tuple[str, ...] = get_args(Split)

#: Lagrange elements (:func:`fem.assembly.assemble`)
Element = Literal["P1", "P2"]
ELEMENTS: tuple[str, ...] = get_args(Element)

#: mass of the time derivative and of the explicit load (:class:`fem.schemes.PDEParams`)
MassKind = Literal["lumped", "consistent"]
MASS_KINDS: tuple[str, ...] = get_args(MassKind)

#: preconditioners of the reference solver's CG (:class:`fem.solvers.Stepper`)
Preconditioner = Literal["auto", "dct", "jacobi"]
PRECONDITIONERS: tuple[str, ...] = get_args(Preconditioner)
