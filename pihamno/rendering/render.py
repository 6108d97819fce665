"""Render one rollout trajectory into PNGs: interfaces (3D), central slices (2D) and time curves.

Files written into ``out`` for trajectory K (each atomically):

==============================  =========================================================================
``trajK_interfaces.png``        u = 0 isosurfaces, reference beside prediction, one row per chosen frame
``trajK_slices.png``            central slice z = L/2: reference | prediction | |error|, one row per frame
``trajK_rel_l2.png``            relative L2 error vs time (from the file, or recomputed)
``trajK_energy.png``            free energy vs time, reference and prediction (only if the file has it)
``trajK_mass.png``              mass int u vs time, reference and prediction (only if the file has it)
``training_curves.png``         the run's training curves from its metrics.csv (:mod:`.training`; when the
                                rollout names its checkpoint, whose folder holds metrics.csv, or one is given)
==============================  =========================================================================

Every picture names the model and its lambda (:func:`model_label`, from the rollout's attributes written by
``pihamno evaluate``), and frames given to the model (the first ``n_given``) are titled "given input", not
"prediction".
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from pihamno.errors import InputError
from pihamno.evaluation.rollout_io import Rollout
from pihamno.export.source import check_trajectory
from pihamno.selection import select

_log = logging.getLogger(__name__)

WHAT = ("interfaces", "slices", "curves", "training")
#: Most frames one interfaces/slices picture holds (one row each).
MAX_ROWS = 8


def parse_what(spec: str) -> list[str]:
    """The picture kinds in a comma-separated ``spec`` (subset of :data:`WHAT`), in the order given."""
    kinds = [w.strip() for w in spec.split(",") if w.strip()]
    bad = [w for w in kinds if w not in WHAT]
    if bad or not kinds:
        raise InputError(f"bad --what {spec!r}: expected a comma-separated subset of {','.join(WHAT)}")
    return list(dict.fromkeys(kinds))


def model_label(attrs: dict) -> str:
    """The model of a rollout in words: ``"PI-HAMNO (hamno, lambda = 0.25)"``, ``"fno (lambda = 0)"``, or the
    registry name alone when lambda is not recorded ('' when nothing is).

    >>> model_label({"model": "hamno", "lam": "0.25"}), model_label({"model": "fno", "lam": 0.0})
    ('PI-HAMNO (hamno, lambda = 0.25)', 'fno (lambda = 0)')
    """
    name = str(attrs.get("model") or "")
    try:
        lam = float(attrs.get("lam"))
    except (TypeError, ValueError):
        return name
    if name == "hamno":
        return f"{'PI-HAMNO' if lam > 0 else 'HAMNO'} (hamno, lambda = {lam:g})"
    return f"{name} (lambda = {lam:g})" if name else ""


def training_log(attrs: dict) -> Path | None:
    """The metrics.csv of the run a rollout was made from (beside its checkpoint), if it is there."""
    checkpoint = attrs.get("checkpoint")
    path = Path(str(checkpoint)).parent / "metrics.csv" if checkpoint else None
    return path if path is not None and path.is_file() else None


def default_frames(nframes: int) -> np.ndarray:
    """First, middle and last frame (fewer if the rollout is shorter), shape (<= 3,)."""
    return np.unique([0, (nframes - 1) // 2, nframes - 1])


def render_rollout(
    rollout: Rollout,
    out: str | Path,
    trajectory: int = 0,
    frames: str | None = None,
    what: list[str] | tuple[str, ...] = WHAT,
    overwrite: bool = False,
    panel_size: tuple[int, int] = (400, 400),
    log=None,
    metrics: str | Path | None = None,
    label: str | None = None,
) -> list[Path]:
    """Write the PNGs of ``what`` for one trajectory of ``rollout`` into the folder ``out``; returns their paths.

    ``frames`` selects the rows of the interfaces/slices pictures (:func:`pihamno.selection.select`; default first,
    middle and last frame, at most :data:`MAX_ROWS`); curves always cover every frame. ``metrics`` is the run's
    metrics.csv for the training curves (default: :func:`training_log`), ``label`` the model's name in the
    titles (default: :func:`model_label`). Every output is checked before any work: an existing one without
    ``overwrite`` is an :class:`InputError`. ``log`` (default: this module's logger at INFO) receives one line
    per file written and notes (e.g. a curve absent from the file).
    """
    log = log or _log.info
    T, F = rollout.reference.shape[:2]
    k = check_trajectory(trajectory, T, "the rollout")
    chosen = default_frames(F) if frames is None else select(frames, F, "frame")
    if len(chosen) > MAX_ROWS and ("interfaces" in what or "slices" in what):
        raise InputError(f"{len(chosen)} frames selected; interfaces and slices pictures hold at most {MAX_ROWS} "
                         f"(one row each), e.g. --frames 0:{F}:{max(1, F // 4)}")
    out = Path(out)
    curves = rollout.curves
    names = {"interfaces": ["interfaces"], "slices": ["slices"], "curves": ["rel_l2"], "training": []}
    if "curves" in what:
        for q in ("energy", "mass"):
            if f"{q}_ref" in curves or f"{q}_pred" in curves:
                names["curves"].append(q)
            else:
                log(f"note: the rollout has no {q} curves ({q}_ref, {q}_pred); no {q} plot")
    metrics = Path(metrics) if metrics is not None else training_log(rollout.attrs)
    targets = {name: out / f"traj{k}_{name}.png" for w in what for name in names[w]}
    if "training" in what:
        if metrics is None:
            log("note: the rollout names no run folder with a metrics.csv; no training curves")
        else:
            targets["training"] = out / "training_curves.png"
    existing = [str(p) for p in targets.values() if p.exists()]
    if existing and not overwrite:
        raise InputError(f"output {existing[0]!r} already exists; pass --overwrite to replace it")

    L, times, n_given = float(rollout.attrs["L"]), rollout.times, int(rollout.attrs.get("n_given", 0))
    ref, pred = rollout.reference[k, chosen], rollout.prediction[k, chosen]
    label = model_label(rollout.attrs) if label is None else label
    given = np.asarray(chosen) < n_given
    written = []

    def wrote(path: Path) -> None:
        written.append(path)
        log(f"wrote {path}")

    if "interfaces" in targets:
        from pihamno.rendering.isosurface import render_interfaces

        wrote(render_interfaces(ref, pred, times[chosen], L, targets["interfaces"], panel_size=panel_size, given=given,
                                label=label))
    if "slices" in targets:
        from pihamno.rendering.slices import plot_slices

        wrote(plot_slices(ref, pred, times[chosen], L, targets["slices"], given=given, label=label))
    if "rel_l2" in targets:
        from pihamno.rendering.curves import plot_rel_l2, relative_l2

        computed = "rel_l2" not in curves
        rel = relative_l2(rollout.reference, rollout.prediction, L) if computed else curves["rel_l2"]
        wrote(plot_rel_l2(times, rel, k, n_given, targets["rel_l2"], computed=computed, label=label))
    for q, text in (("energy", "free energy"), ("mass", r"mass $\int u\,dx$")):
        if q in targets:
            from pihamno.rendering.curves import plot_pair

            pair = [curves[f"{q}_{s}"][k] if f"{q}_{s}" in curves else None for s in ("ref", "pred")]
            wrote(plot_pair(times, *pair, text, k, n_given, targets[q], label=label))
    if "training" in targets:
        from pihamno.rendering.training import plot_training

        wrote(plot_training(metrics, targets["training"], label=label))
    return written
