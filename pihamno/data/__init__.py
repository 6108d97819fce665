"""Reference data: initial conditions, HDF5 datasets of solver trajectories, and their checks.

* :mod:`pihamno.data.initial_conditions` -- named, seeded families of initial conditions on the node grid.
* :mod:`pihamno.data.dataset` -- resumable, atomic generation (:func:`generate`) and the reader API
  (:func:`read_metadata`, :func:`load_trajectories`, :func:`dataset_info`).
* :mod:`pihamno.data.checks` -- the discrete-residual, mass, energy and consistency checks of ``check-data``.
"""

from pihamno.data.dataset import (
    DatasetSpec,
    dataset_info,
    dataset_shape,
    generate,
    load_trajectories,
    partial_path,
    read_metadata,
    settings_differences,
)

__all__ = ["DatasetSpec", "dataset_info", "dataset_shape", "generate", "load_trajectories", "partial_path",
           "read_metadata", "settings_differences"]
