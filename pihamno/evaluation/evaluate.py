"""``evaluate``: roll a trained model out over whole trajectories of a dataset and write the report.

For each selected trajectory (batched, no grad, on the chosen device) the first ``T_in`` frames are given
and the model predicts every later frame from its own outputs (:func:`pihamno.stepping.rollout`); the
teacher-forced one-step predictions (:func:`pihamno.stepping.one_step`) are scored too. Written to the folder
``out`` atomically (built beside it, renamed into place; an existing ``out`` is refused unless ``overwrite``,
and even then replaced only when it holds an earlier evaluation):

* ``rollout.h5``   :mod:`~.rollout_io` format: reference, prediction, trajectory, rel_l2, the persistence
  baseline's rel_l2 (the last given frame held) and the physical curves of the rollout and of the reference
  (:class:`~.physical_curves.FieldCurves`: energy, mass, max|u|, the residual indicator of every predicted step; when
  the dataset names its PDE);
* ``metrics.json`` statistics over the trajectories (:mod:`~.report`);
* ``per_frame.csv`` per-frame statistics.

Any dataset works: an out-of-distribution set is just another file. Trajectory selection: a split of the
checkpoint (``"test"``, ``"val"``, ``"train"``), ``"all"`` or a selection such as ``"0,3,10:20"``
(:mod:`pihamno.selection`). Which one is the default, and whether trajectories seen in training may be scored,
is decided from the checkpoint's run record by :func:`pihamno.evaluation.evaluate_checkpoint`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch

from pihamno.errors import InputError
from pihamno.evaluation import report
from pihamno.evaluation.rollout_io import Rollout, write_rollout
from pihamno.selection import select
from pihamno.stepping import FieldProcessor, grid_weights, one_step, persistence, rel_l2, rollout

log = logging.getLogger(__name__)


#: The trajectory subsets of a training run, by the name ``--trajectories`` takes.
SUBSETS = {"test": "test", "val": "validation", "train": "training"}
#: What an evaluation folder holds (an existing one is replaced only with ``overwrite``).
MARKER, WHAT = "metrics.json", "an earlier evaluation"


def parse_trajectories(spec: str, n_total: int, subsets: dict | None = None) -> np.ndarray:
    """A subset name (``"test"``, ``"val"``, ``"train"``: that subset of the run's ``subsets``, trajectory indices by
    name) or a selection of :func:`pihamno.selection.select` (``"all"``, ``"0,3,10:20"``) -> sorted unique indices in
    ``range(n_total)``."""
    spec = str(spec).strip()
    if spec not in SUBSETS:
        return select(spec, n_total, "trajectory")
    chosen = (subsets or {}).get(spec)
    if chosen is None or len(chosen) == 0:
        raise InputError(f"--trajectories {spec} needs a training checkpoint with a {SUBSETS[spec]} split; "
                         "give indices or 'all'")
    idx = np.unique(np.asarray(chosen, dtype=np.int64))
    bad = idx[(idx < 0) | (idx >= n_total)]
    if bad.size:
        raise InputError(f"trajectory {int(bad[0])} of the {SUBSETS[spec]} split does not exist: there are {n_total} "
                         "trajectories")
    return idx


def evaluate_model(model: torch.nn.Module, processor: FieldProcessor, T_in: int, data: str | Path,
                   out: str | Path, trajectories: str = "all", *, subsets: dict | None = None,
                   device=None, batch_size: int = 8, quiet: bool = False, overwrite: bool = False,
                   info: dict | None = None, guard=None) -> dict:
    """Roll ``model`` out over trajectories of ``data`` and write the report to ``out`` (module docstring).

    ``processor`` is the model's normalisation and ``T_in`` its number of input frames (both from its
    checkpoint: :func:`pihamno.evaluation.load_trained`); ``trajectories`` selects what is scored (``splits`` are
    the checkpoint's trajectory subsets, for a subset name); ``info`` is added to the outputs; ``guard`` (a
    :class:`pihamno.stepping.GuardSettings`, or None) adds the guarded rollout beside the raw one
    (:mod:`pihamno.evaluation.guarded`). Returns the metrics dict (as written to ``metrics.json``).
    """
    from pihamno.data import read_description
    from pihamno.device import resolve_device
    from pihamno.io import atomic_dir

    if batch_size < 1:
        raise InputError(f"--batch-size must be positive, got {batch_size}")
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    model = model.to(dev).eval()
    info = dict(info or {})
    description = read_description(str(data))
    n_total, F = description.trajectories, description.frames
    if F <= T_in:
        raise InputError(f"{str(data)!r} has {F} frames per trajectory; more than T_in = {T_in} are needed")
    idx = parse_trajectories(trajectories, n_total, subsets)
    L, dt = description.L or 1.0, description.dt or 1.0
    with atomic_dir(out, overwrite, MARKER, WHAT) as tmp:
        metrics = _evaluate(model, processor, T_in, data, description, idx, str(trajectories), F, L, dt, dev, batch_size,
                            quiet, info, tmp, guard)
        report.write_json(tmp / "metrics.json", metrics)
    return metrics


def _attr(value):
    """An ``info`` value as an HDF5 attribute: numbers and strings as they are, anything else as JSON."""
    return value if isinstance(value, (str, int, float)) and not isinstance(value, bool) else json.dumps(value)


def _evaluate(model, processor, T_in, data, description, idx, selection, F, L, dt, dev, batch_size, quiet, info,
              out: Path, guard=None) -> dict:
    """The rollouts and the files but ``metrics.json`` (returned), written into the folder ``out``."""
    import time

    from tqdm.auto import tqdm

    from pihamno.data import load_trajectories
    from pihamno.evaluation.guarded import GuardedEvaluation
    from pihamno.evaluation.physical_curves import FieldCurves

    curves = guarded = None
    weights = None
    raw_seconds = 0.0
    refs, preds, rels, rels1, held = [], [], [], [], []
    acc: dict[str, list] = {}
    bar = tqdm(total=len(idx), disable=quiet, desc="evaluate", unit="traj", dynamic_ncols=True)
    for i in range(0, len(idx), batch_size):
        ref_np = np.asarray(load_trajectories(str(data), idx[i : i + batch_size]), dtype=np.float32)
        if weights is None:
            n = ref_np.shape[-1]
            weights = grid_weights(n, L).to(dev)
            try:
                curves = FieldCurves(description, n, device=dev)
            except InputError as exc:
                log.warning(f"no energy/mass/bound/indicator curves: {exc}")
            if guard is not None:
                guarded = GuardedEvaluation(guard, description, n, dev, curves)
        ref = torch.from_numpy(ref_np).to(dev)
        t0 = time.perf_counter()
        pred = rollout(model, processor, ref[:, :T_in], F)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        raw_seconds += time.perf_counter() - t0
        if guarded is not None:
            guarded.add(model, processor, ref, T_in, weights)
        pred1 = one_step(model, processor, ref, T_in)
        rels.append(rel_l2(pred, ref, weights).cpu().numpy())
        rels1.append(rel_l2(pred1, ref, weights).cpu().numpy())
        held.append(rel_l2(persistence(ref, T_in), ref, weights).cpu().numpy())
        pred_np = pred.cpu().numpy()
        refs.append(ref_np)
        preds.append(pred_np)
        if curves is not None:
            for tag, u in (("ref", ref_np), ("pred", pred_np)):
                for k, v in curves.curves(u, tag, T_in).items():
                    acc.setdefault(k, []).append(v)
        bar.update(len(ref_np))
    bar.close()

    rel, rel1 = np.concatenate(rels), np.concatenate(rels1)
    curve_arrays = {k: np.concatenate(v) for k, v in acc.items() if v} | {"rel_l2_persistence": np.concatenate(held)}
    attrs = {"pde": description.pde or "", "L": L, "dt": dt, "n_given": T_in,
             "eps": np.nan if description.eps is None else description.eps,
             "model": info.get("model", ""), "source": str(data)} | {k: _attr(v) for k, v in info.items()}
    extra = {} if guarded is None else guarded.curves()
    write_rollout(out / "rollout.h5", Rollout(np.concatenate(refs), np.concatenate(preds), idx, attrs,
                                              {"rel_l2": rel} | curve_arrays | extra))
    metrics = info | {"data": str(data), "trajectories": idx.tolist(), "selection": selection, "n_given": T_in,
                      "frames": F, "dt": dt}
    metrics |= report.build_metrics(T_in, rel, rel1, curve_arrays, None if curves is None else curves.bounds())
    if guarded is not None:
        metrics["guard"] = guarded.metrics(T_in, raw_seconds, curve_arrays, None if curves is None else curves.bounds())
    report.write_csv(out / "per_frame.csv", report.per_frame_rows(T_in, dt, rel, rel1, curve_arrays),
                     report.PER_FRAME_COLUMNS)
    return metrics
