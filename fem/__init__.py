"""The finite-element layer of pihamno, on scikit-fem.

meshes (:mod:`fem.mesh`) -> bases and assembled operators (:mod:`fem.assembly`, weak forms in
:mod:`fem.forms`) -> grid <-> mesh maps (:mod:`fem.interpolation`) -> the PDEs as objects (:mod:`fem.pde`)
and their schemes (:mod:`fem.schemes`, energies in :mod:`fem.energy`) -> time steppers (:mod:`fem.solvers`);
and the bridge that turns scipy sparse matrices into torch sparse operators (:mod:`fem.torch_bridge` and
:mod:`fem.schemes_torch`, the only modules that import torch).
"""

from fem.assembly import Operators, assemble
from fem.errors import InputError, MeshError
from fem.mesh import cube_mesh, load_mesh, save_mesh

__all__ = ["Operators", "assemble", "InputError", "MeshError", "cube_mesh", "load_mesh", "save_mesh"]
