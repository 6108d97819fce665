"""The finite-element layer of pihamno, on scikit-fem.

meshes (:mod:`fem.mesh`) -> bases and assembled operators (:mod:`fem.assembly`, weak forms in
:mod:`fem.forms`) -> grid <-> mesh maps (:mod:`fem.interpolation`) -> the PDEs as objects (:mod:`fem.pde`)
and their schemes (:mod:`fem.schemes`, energies in :mod:`fem.energy`) -> time steppers (:mod:`fem.solvers`);
and the bridge that turns scipy sparse matrices into torch sparse operators (:mod:`fem.torch_bridge` and
:mod:`fem.schemes_torch`, the only modules that import torch). The named choices (splits, elements, ...) are
in :mod:`fem.choices`. The names below are imported on first use, so ``import fem.choices`` stays light.
"""

import importlib

_NAMES = {"Operators": "fem.assembly", "assemble": "fem.assembly", "InputError": "fem.errors",
          "MeshError": "fem.errors", "cube_mesh": "fem.mesh", "load_mesh": "fem.mesh", "save_mesh": "fem.mesh"}

__all__ = sorted(_NAMES)


def __getattr__(name: str):
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fem' has no attribute {name!r}")
