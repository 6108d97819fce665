"""VTK export of grid fields for ParaView: time series (.pvd) of per-frame .vti (grid) or .vtu (mesh) files.

* :mod:`.source` -- the fields of one trajectory from a rollout or a dataset file (:class:`FieldSeries`; frame
  selections with :func:`pihamno.selection.select`);
* :mod:`.grid` -- fields on the node grid as ``pyvista.ImageData`` (.vti);
* :mod:`.mesh` -- fields on a tetrahedral mesh of the cube (.vtu, meshio);
* :mod:`.pvd` -- the .pvd collection;
* :mod:`.series` -- the atomic folder writer tying them together (:func:`export_series`).
"""

from pihamno.export.mesh import MeshTarget, mesh_target
from pihamno.export.series import export_series
from pihamno.export.source import FieldSeries, dataset_series, rollout_series

__all__ = [
    "FieldSeries",
    "MeshTarget",
    "dataset_series",
    "export_series",
    "mesh_target",
    "rollout_series",
]
