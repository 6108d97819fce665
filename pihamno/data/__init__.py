"""Reference data: initial conditions, HDF5 datasets of solver trajectories, and their checks.

* :mod:`pihamno.data.initial_conditions` -- named, seeded families of initial conditions on the node grid.
* :mod:`pihamno.data.spec` -- :class:`DatasetSpec`, what a dataset is made of, and the attributes that record it.
* :mod:`pihamno.data.dataset` -- resumable, atomic generation (:func:`generate`) and the reader API
  (:func:`read_description`, :func:`load_trajectories`, :func:`dataset_info`, :func:`read_metadata`).
* :mod:`pihamno.data.description` -- :class:`DataDescription`, what a dataset holds, typed: PDE, parameters,
  mesh, element, grid, and the discretisation defaults decided once.
* :mod:`pihamno.data.compute`, :mod:`pihamno.data.scheduling` -- computing trajectories, and where (this
  process, a process pool, Dask).
* :mod:`pihamno.data.checks` -- the discrete-residual, mass, energy and consistency checks of ``check-data``.
"""

from pihamno.data.dataset import (
    dataset_info,
    generate,
    load_trajectories,
    partial_path,
    read_description,
    read_metadata,
    settings_differences,
)
from pihamno.data.description import DataDescription
from pihamno.data.spec import DatasetSpec

__all__ = ["DataDescription", "DatasetSpec", "dataset_info", "generate", "load_trajectories", "partial_path",
           "read_description", "read_metadata", "settings_differences"]
