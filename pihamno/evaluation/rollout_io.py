"""The rollout file: what ``pihamno evaluate`` writes and ``pihamno export`` / ``pihamno render`` read.

One HDF5 file (h5py), written atomically, holding for T test trajectories and F frames on the n^3 node grid:

``*_guarded``           (T, F)           optional: ``rel_l2`` and the curves above of the guarded rollout (``evaluate --guard``)
======================  ===============  =============================================================================
Attributes: ``pde``, ``L``, ``dt`` (time between frames), ``n_given`` (frames given to the model), ``eps``,
``model`` (registry name), ``source`` (dataset path), plus whatever the writer adds. Frame f is at time
``f * dt``; the grid spacing is ``h = L / (n - 1)``.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from pihamno.errors import InputError, input_file
from pihamno.io import atomic_path

CURVES = ("rel_l2", "energy_ref", "energy_pred", "mass_ref", "mass_pred", "max_abs_ref", "max_abs_pred", "indicator_ref",
          "indicator_pred", "rel_l2_persistence", "rel_l2_guarded", "energy_guarded", "mass_guarded", "max_abs_guarded",
          "indicator_guarded")


@dataclass
class Rollout:
    """A rollout in memory; arrays as in the module table, ``attrs`` the file attributes."""

    reference: np.ndarray
    prediction: np.ndarray
    trajectory: np.ndarray
    attrs: dict
    curves: dict = field(default_factory=dict)

    @property
    def times(self) -> np.ndarray:
        """Physical time of each frame, shape (F,)."""
        return np.arange(self.reference.shape[1]) * float(self.attrs["dt"])

    @property
    def spacing(self) -> float:
        """Grid spacing h = L / (n - 1)."""
        return float(self.attrs["L"]) / (self.reference.shape[-1] - 1)


def write_rollout(path: str | Path, rollout: Rollout, overwrite: bool = True) -> None:
    """Write ``rollout`` to ``path`` atomically (temporary file, then rename).

    The HDF5 file is built in memory and written by Python: a write the system refuses (disk full, ``ulimit -f``)
    is then one line naming the file, where the HDF5 library, failing half-way through its own write, crashed
    the process (segmentation fault, issue 20)."""
    ref, pred = np.asarray(rollout.reference), np.asarray(rollout.prediction)
    if ref.ndim != 5 or ref.shape != pred.shape:
        raise InputError(
            f"reference {ref.shape} and prediction {pred.shape} must both have shape (T, F, n, n, n)"
        )
    for key in ("pde", "L", "dt", "n_given"):
        if key not in rollout.attrs:
            raise InputError(f"rollout attribute {key!r} is missing")
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        chunks = (1, 1) + ref.shape[2:]
        f.create_dataset("reference", data=ref.astype(np.float32), chunks=chunks)
        f.create_dataset("prediction", data=pred.astype(np.float32), chunks=chunks)
        f.create_dataset("trajectory", data=np.asarray(rollout.trajectory, dtype=np.int64))
        for name, arr in rollout.curves.items():
            if name not in CURVES:
                raise InputError(f"unknown rollout curve {name!r}; expected one of {', '.join(CURVES)}")
            f.create_dataset(name, data=np.asarray(arr, dtype=np.float64))
        for key, value in rollout.attrs.items():
            f.attrs[key] = value
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_bytes(buffer.getbuffer())


def rollout_attrs(path: str | Path) -> dict:
    """The attributes of a rollout file, without reading the fields."""
    with _open(path) as f:
        return {k: (v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()}


def rollout_size(path: str | Path) -> int:
    """Number of trajectories T in a rollout file, without reading the fields."""
    with _open(path) as f:
        return int(f["reference"].shape[0])


@contextlib.contextmanager
def _open(path: str | Path):
    path = input_file(path, "rollout file")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"{str(path)!r} could not be read as HDF5: {exc}") from None
    with f:
        missing = [k for k in ("reference", "prediction") if k not in f]
        if missing:
            raise InputError(f"{str(path)!r} is not a rollout file (no {', '.join(missing)} dataset)")
        yield f


def read_rollout(path: str | Path, trajectories=None) -> Rollout:
    """Read a rollout file written by :func:`write_rollout`.

    ``trajectories``: indices (into the file's T) to read, e.g. ``[k]`` to load one trajectory's fields
    instead of all of them; curves are subset the same way. ``None`` reads everything.
    """
    with _open(path) as f:
        T = f["reference"].shape[0]
        if trajectories is None:
            sel = slice(None)
        else:
            idx = np.atleast_1d(np.asarray(trajectories, dtype=np.int64))
            bad = idx[(idx < 0) | (idx >= T)]
            if bad.size:
                raise InputError(f"trajectory {int(bad[0])} is out of range; {str(path)!r} holds {T} (0 to {T - 1})")
            sel = np.sort(np.unique(idx))
        traj = f["trajectory"][()] if "trajectory" in f else np.arange(T)
        return Rollout(
            reference=f["reference"][sel],
            prediction=f["prediction"][sel],
            trajectory=traj[sel],
            attrs={k: (v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()},
            curves={k: f[k][sel] for k in CURVES if k in f},
        )
