"""The fields of one trajectory at selected frames, read from a rollout file or a dataset file.

Grid convention (docs/design.md section 2): every field is sampled on the n x n x n node grid of [0, L]^3 with
spacing h = L / (n - 1), stored in C order, so ``u[i, j, k]`` is the value at the point (i h, j h, k h).

* a rollout file (:mod:`pihamno.evaluation.rollout_io`) gives three fields per frame: ``reference``,
  ``prediction`` and ``error`` = prediction - reference;
* a dataset file (HDF5 with ``u`` of shape (trajectories, frames, n, n, n) and attributes ``L`` and ``dt``)
  gives one field, ``u``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pihamno.errors import InputError
from pihamno.selection import select


@dataclass
class FieldSeries:
    """Scalar fields of one trajectory at S selected frames.

    ``fields`` maps a name to an array of shape (S, n, n, n) (C order (i, j, k) -> point (i h, j h, k h));
    ``frames`` (S,) are the frame indices in the file and ``times`` (S,) their physical times frame * dt.
    """

    fields: dict[str, np.ndarray]
    frames: np.ndarray
    times: np.ndarray
    L: float
    description: str

    @property
    def n(self) -> int:
        """Grid nodes per side."""
        return next(iter(self.fields.values())).shape[-1]

    @property
    def spacing(self) -> float:
        """Grid spacing h = L / (n - 1)."""
        return self.L / (self.n - 1)

    def frame(self, s: int) -> dict[str, np.ndarray]:
        """The fields at the s-th selected frame, each of shape (n, n, n)."""
        return {name: values[s] for name, values in self.fields.items()}


def check_trajectory(k: int, count: int, source: str) -> int:
    """``k`` if it indexes one of ``count`` trajectories (0 to count - 1), else InputError."""
    if not 0 <= k < count:
        raise InputError(f"trajectory {k} is out of range; {source} holds {count} trajectories (0 to {count - 1})")
    return k


def rollout_series(path: str | Path, trajectory: int = 0, frames: str | None = None) -> FieldSeries:
    """Reference, prediction and error (prediction - reference) of one rollout trajectory, (S, n, n, n) each."""
    from pihamno.evaluation.rollout_io import read_rollout, rollout_size

    k = check_trajectory(trajectory, rollout_size(path), f"rollout {str(path)!r}")
    rollout = read_rollout(path, trajectories=[k])  # only this trajectory's fields
    chosen = select(frames, rollout.reference.shape[1], "frame")
    ref = rollout.reference[0, chosen].astype(np.float32)
    pred = rollout.prediction[0, chosen].astype(np.float32)
    source_traj = int(rollout.trajectory[0])
    return FieldSeries(
        fields={"reference": ref, "prediction": pred, "error": pred - ref},
        frames=chosen,
        times=rollout.times[chosen],
        L=float(rollout.attrs["L"]),
        description=f"rollout trajectory {k} (dataset trajectory {source_traj}, pde {rollout.attrs.get('pde', '?')})",
    )


def dataset_series(path: str | Path, trajectory: int = 0, frames: str | None = None) -> FieldSeries:
    """The field ``u`` of one trajectory of a dataset (:mod:`pihamno.data.dataset`), shape (S, n, n, n)."""
    from pihamno.data import load_trajectories, read_description

    data = read_description(path)
    trajectory = check_trajectory(trajectory, data.trajectories, f"dataset {str(path)!r}")
    missing = [key for key in ("L", "dt") if getattr(data, key) is None]
    if missing:
        raise InputError(f"dataset {str(path)!r} lacks the attribute(s) {', '.join(missing)}")
    u = load_trajectories(path, [trajectory])  # (1, frames, n, n, n); refuses unwritten trajectories
    if u.ndim != 5 or len(set(u.shape[2:])) != 1:
        raise InputError(f"dataset 'u' in {str(path)!r} has trajectories of shape {u.shape[1:]}; "
                         "expected (frames, n, n, n)")
    chosen = select(frames, u.shape[1], "frame")
    return FieldSeries(
        fields={"u": u[0, chosen]}, frames=chosen, times=chosen * data.dt, L=data.L,
        description=f"dataset trajectory {trajectory}",
    )
