"""Trajectory splits and training windows.

* :func:`split_trajectories` splits a dataset **by trajectory** (never by window): one seeded permutation
  of the trajectory indices gives ``test`` (first ``n_test``), then ``val`` (next ``n_val``), then
  ``train`` (next ``n_train - n_val``). The validation split is carved from the training pool of
  ``n_train``; the test split does not depend on ``n_train`` or ``n_val``.
* :class:`WindowSampler` draws windows afresh at every optimiser step, uniformly over (training
  trajectory, start frame) pairs, with replacement, from its own seeded generator (saved in checkpoints).
  A window of ``span`` frames starting at ``s`` holds frames ``s .. s + span - 1``, all inside the frame
  cap ``[0, n_frames)``. (The HAMNO paper's loader wrapped its DataLoader in ``itertools.cycle``, which
  replays the first pass: one fixed window per trajectory for the whole run. Nothing is cached here.)
* :func:`gather_windows` cuts the drawn windows out of the in-memory trajectories.
* :func:`load_subsets` reads the trajectories of the training and validation subsets with :mod:`pihamno.data`.
* :func:`load_unlabeled` reads the unlabeled inputs of ``[data] unlabeled``: a dataset of the same PDE, parameters and grid whose
  trajectories hold at least ``T_in`` frames (e.g. generated with ``frames = T_in``: the initial condition
  and ``T_in - 1`` solver steps, no full run). Their windows are ``T_in`` frames, the model's inputs only;
  they are scored with physics only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from pihamno.errors import InputError

if TYPE_CHECKING:
    from pihamno.data import DataDescription


def split_trajectories(n_total: int, n_train: int, n_val: int, n_test: int, seed: int) -> dict[str, np.ndarray]:
    """Disjoint sorted index arrays ``{"train", "val", "test"}`` drawn from ``range(n_total)``.

    ``train`` has ``n_train - n_val`` trajectories (the validation split is carved from the pool).
    """
    if n_train + n_test > n_total:
        raise InputError(
            f"the dataset has {n_total} trajectories but n_train + n_test = {n_train} + {n_test} were asked for"
        )
    perm = torch.randperm(n_total, generator=torch.Generator().manual_seed(int(seed))).numpy()
    parts = {
        "test": perm[:n_test],
        "val": perm[n_test : n_test + n_val],
        "train": perm[n_test + n_val : n_test + n_train],
    }
    return {k: np.sort(v).astype(np.int64) for k, v in parts.items()}


class WindowSampler:
    """Uniform random windows over ``n_traj`` trajectories of ``n_frames`` (capped) frames.

    ``draw(batch, rank, world)`` draws the *global* batch of ``batch`` windows and returns this rank's
    share (entries ``rank::world``), so every rank advances the same generator and the union over ranks is
    exactly what a single process would draw.

    Returns ``(traj, start)``: LongTensors of shape ``(batch // world,)``; window frames are
    ``start .. start + span - 1`` with ``start + span <= n_frames``.
    """

    def __init__(self, n_traj: int, n_frames: int, span: int, seed: int):
        if n_traj < 1:
            raise InputError("there are no training trajectories (n_train - n_val must be >= 1)")
        if n_frames < span:
            raise InputError(f"trajectories of {n_frames} frames are too short for windows of {span} frames")
        self.n_traj, self.n_frames, self.span = n_traj, n_frames, span
        self.n_starts = n_frames - span + 1
        self.generator = torch.Generator().manual_seed(int(seed))

    def draw(self, batch: int, rank: int = 0, world: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        flat = torch.randint(self.n_traj * self.n_starts, (batch,), generator=self.generator)
        flat = flat[rank::world]
        return flat // self.n_starts, flat % self.n_starts

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])


def gather_windows(trajs: torch.Tensor, traj: torch.Tensor, start: torch.Tensor, span: int) -> torch.Tensor:
    """Windows ``trajs[traj[b], start[b] : start[b] + span]``.

    trajs: (N, F, n, n, n); traj, start: (B,) long -> (B, span, n, n, n), on ``trajs.device``.
    """
    dev = trajs.device
    frames = start.to(dev)[:, None] + torch.arange(span, device=dev)[None, :]
    return trajs[traj.to(dev)[:, None], frames]


@dataclass
class TrainingData:
    """Trajectories of one run: ``train`` capped to the first ``train_frames`` frames, ``val`` whole.

    ``train``: (N_train, F_cap, n, n, n) float32; ``val``: (N_val, F, n, n, n) (empty when N_val = 0);
    ``subsets``: the trajectory indices of :func:`split_trajectories`; ``description``: the dataset's
    :class:`~pihamno.data.DataDescription`; ``unlabeled``: the
    unlabeled inputs (N_u, F_u, n, n, n) of :func:`load_unlabeled`, or None.
    """

    train: torch.Tensor
    val: torch.Tensor
    subsets: dict
    description: DataDescription
    unlabeled: torch.Tensor | None = None


#: dataset attributes the unlabeled data must share with the labeled data (the physics of both is one loss)
UNLABELED_MUST_MATCH = ("pde", "eps", "L", "dt", "S", "mass", "scheme", "n", "split", "mesh_hash", "element")


def load_unlabeled(path: str, data: DataDescription, T_in: int) -> torch.Tensor:
    """All trajectories of the unlabeled data ``path`` as (N_u, F_u, n, n, n) float32, checked against the
    labeled data's attributes (:data:`UNLABELED_MUST_MATCH`) and ``F_u >= T_in``."""
    from pihamno.data import load_trajectories, read_description

    unlabeled = read_description(path)
    differ = [k for k in UNLABELED_MUST_MATCH if k in data.attrs and unlabeled.attrs.get(k) != data.attrs[k]]
    if differ:
        k = differ[0]
        raise InputError(f"[data] unlabeled {path!r} was made with other settings than the labeled data "
                         f"({k} = {unlabeled.attrs.get(k)!r}, expected {data.attrs[k]!r}); it must share the PDE, "
                         "its parameters and the grid")
    if unlabeled.frames < T_in:
        raise InputError(f"[data] unlabeled {path!r} has {unlabeled.frames} frames per trajectory; the model needs T_in = "
                         f"{T_in} input frames (generate it with --frames {T_in})")
    return torch.from_numpy(np.ascontiguousarray(load_trajectories(path)))


def load_subsets(path: str, n_train: int, n_val: int, n_test: int, split_seed: int,
                 train_frames: int | None, rank_slice: tuple[int, int] = (0, 1)) -> TrainingData:
    """Read the dataset's description and the train/val trajectories (the test ones stay on disk).

    ``rank_slice = (rank, world)`` keeps only this rank's share of the validation trajectories (DDP).
    """
    from pihamno.data import load_trajectories, read_description

    if not path:
        raise InputError("no dataset given: set [data] path in the config or pass --data FILE")
    description = read_description(path)
    idx = split_trajectories(description.trajectories, n_train, n_val, n_test, split_seed)
    cap = description.frames if train_frames is None else min(int(train_frames), description.frames)
    train = torch.from_numpy(np.ascontiguousarray(load_trajectories(path, idx["train"])[:, :cap]))
    rank, world = rank_slice
    val_idx = idx["val"][rank::world]
    if val_idx.size:
        val = torch.from_numpy(load_trajectories(path, val_idx))
    else:
        val = torch.empty((0,) + tuple(train.shape[1:]), dtype=train.dtype)
    return TrainingData(train=train, val=val, subsets=idx, description=description)


def even_batches(total: int, cap: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]``: ``total`` items in ``ceil(total / cap)`` batches whose sizes differ by at most one.

    >>> even_batches(5, 4), even_batches(9, 4), even_batches(0, 4)
    ([(0, 2), (2, 5)], [(0, 3), (3, 6), (6, 9)], [])
    """
    k = -(-total // cap)
    bounds = [i * total // k for i in range(k + 1)] if k else []
    return list(zip(bounds[:-1], bounds[1:]))


def spread_windows(n_traj: int, frames: int, T_in: int, cap: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed evaluation windows ``(traj, start)`` of ``T_in`` inputs + 1 target: about 8 per trajectory, rounded
    up to full batches of ``cap``, evenly spread over the (trajectory, start frame) pairs.

    >>> traj, start = spread_windows(2, 10, 5, 4)
    >>> traj.tolist(), start.tolist()
    ([0, 0, 0, 0, 0, 1, 1, 1, 1, 1], [0, 1, 2, 3, 4, 0, 1, 2, 3, 4])
    """
    starts = frames - T_in
    total = min(n_traj * starts, cap * math.ceil(8 * n_traj / cap))
    flat = torch.linspace(0, n_traj * starts - 1, total, dtype=torch.float64).round().long().unique()
    return flat // starts, flat % starts
