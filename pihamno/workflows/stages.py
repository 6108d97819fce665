"""The stages of an example, each a function of objects that reuses its finished output.

=========  =======================================  ==================================================
stage      writes (under the example's ``OUT``)      what it is
=========  =======================================  ==================================================
data       ``data.h5``                              reference trajectories (:func:`pihamno.data.generate`)
check      ``check.json``                           ``pihamno check-data`` report; a failed check stops the run
train      ``hamno/``, ``pihamno/``                 one training run per model (:func:`pihamno.training.train`)
evaluate   ``<model>/eval/``                        autoregressive rollouts of the test trajectories
export     ``vtk/rollout.pvd`` + one file per frame a rollout for ParaView
render     ``figures/<model>/*.png``                interfaces (needs OpenGL), slices, error/energy/mass curves of
                                                    test trajectory 0; the run's training curves
summary    ``summary.json``                         the table printed at the end
=========  =======================================  ==================================================

**Reusing.** Every stage first looks for its finished output: a dataset made with the same settings (an
interrupted one, ``data.h5.partial``, is completed), a training run (continued from ``last.pt`` or reused when
finished: the one resume mechanism of :func:`pihamno.training.train`), and evaluations, exports and pictures
newer than what they were made from. Outputs made with *different* settings are never silently mixed: the
stage stops with one line naming the difference; ``overwrite`` redoes it.

Progress goes to the ``pihamno.workflows`` logger (the example scripts print it; see :mod:`.session`).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from pihamno.errors import InputError

log = logging.getLogger("pihamno.workflows")


def _newer(path: Path, *than: Path) -> bool:
    """``path`` exists and is at least as new as every existing file in ``than``."""
    return path.is_file() and all(not t.exists() or path.stat().st_mtime >= t.stat().st_mtime for t in than)


def make_data(spec, path: Path, *, workers: int = 1, overwrite: bool = False, quiet: bool = False) -> Path:
    """``data.h5``: reuse a finished file made with ``spec``, else generate it (resuming ``data.h5.partial``)."""
    from pihamno.data import generate, settings_differences

    if path.is_file() and not overwrite:
        diff = settings_differences(path, spec)
        if diff:
            raise InputError(f"{path} was made with other settings ({', '.join(diff[:3])}); "
                             "pass --overwrite or choose another --out")
        log.info(f"  reusing {path} ({spec.trajectories} x {spec.frames} frames, same settings)")
        return path
    p = spec.params
    log.info(f"  {spec.trajectories} trajectories x {spec.frames} frames on the {spec.n}^3 grid: {p.pde} eps={p.eps:g} "
             f"L={p.L:g} dt={p.dt:g} (one scheme step per frame), ic {spec.ic_family}, "
             f"{'mesh ' + spec.mesh_file if spec.mesh_file else spec.split + ' mesh'}")
    return generate(spec, path, workers=min(workers, spec.trajectories), overwrite=overwrite, progress=not quiet)


def check_data(data: Path, out: Path, *, max_trajectories: int | None = None, overwrite: bool = False,
               quiet: bool = False) -> dict:
    """``check.json``: the ``check-data`` report of ``data`` (reused when newer than it); stops on a failure."""
    from pihamno.data.checks import check_dataset, format_report
    from pihamno.evaluation.report import write_json

    path = out / "check.json"
    if _newer(path, data) and not overwrite:
        report = json.loads(path.read_text())
        if report.get("ok"):
            log.info(f"  reusing {path}: all checks passed on {report.get('checked_trajectories')} trajectories")
            return report
    report = check_dataset(data, max_trajectories, progress=not quiet)
    log.info(format_report(report))
    write_json(path, report)
    if not report["ok"]:
        failed = ", ".join(c["name"] for c in report["checks"] if c["status"] == "FAIL")
        raise InputError(f"the reference data {data} failed check-data ({failed}); see the table above and {path}")
    return report


def train_model(cfg, label: str, *, overwrite: bool = False, quiet: bool = False) -> Path:
    """One model's run folder: train to ``optim.epochs`` (continuing ``last.pt``, reusing a finished run).
    Returns the checkpoint to evaluate: ``best.pt`` (validation) when there is one, else ``last.pt``."""
    from pihamno.config import describe_physics
    from pihamno.data import read_description
    from pihamno.errors import TrainingDiverged
    from pihamno.training import train

    o, m, d = cfg.optim, cfg.model, cfg.data
    try:
        result = train(cfg, resume="auto", overwrite=overwrite, quiet=quiet)
    except TrainingDiverged as exc:
        raise InputError(f"{label} training diverged: {exc}") from None
    if result.status == "reused":
        log.info(f"  reusing {result.out} ({result.epoch} epochs done)")
        return result.checkpoint
    if result.status == "resumed":
        log.info(f"  continued {result.out} from epoch {result.start_epoch} of {o.epochs}")
    best = result.best
    log.info(f"  {label}: {m.name} {m.options}, {o.epochs} epochs x {o.steps_per_epoch} steps, batch {o.batch_size}, "
             f"lr {o.lr:g}, on {d.n_train - d.n_val} training trajectories (n_train = {d.n_train}, of which "
             f"{d.n_val} validate and select best.pt) -> {result.out}")
    log.info(f"  {label}: {describe_physics(cfg, read_description(d.path))}")
    loss = result.last.get("loss")
    done = f"{result.epoch} epochs / {result.step} steps" + (f", last epoch's loss {loss:.4g}" if loss is not None else "")
    score = (f"best validation rel-L2 {best['score']:.4g} (epoch {best['epoch']})" if best["epoch"] > 0
             else "no validation")
    log.info(f"  {label}: {done}, {score}")
    return result.checkpoint


def evaluate(checkpoint: Path, data: Path, out: Path, *, device: str = "auto", overwrite: bool = False,
             quiet: bool = False, trajectories: str | None = "test") -> dict:
    """``<model>/eval/``: rollouts of the test trajectories (reused when newer than the checkpoint);
    ``trajectories=None`` scores every trajectory of another file (e.g. an out-of-distribution set)."""
    from pihamno.evaluation import evaluate_checkpoint

    metrics = out / "metrics.json"
    if _newer(metrics, checkpoint, data) and _newer(out / "rollout.h5", checkpoint) and not overwrite:
        log.info(f"  reusing {out}")
        return json.loads(metrics.read_text())
    # this stage owns <model>/eval: an evaluation older than its checkpoint or data is redone
    m = evaluate_checkpoint(checkpoint, data, out, trajectories=trajectories, device=device, quiet=quiet, overwrite=True)
    what = "held-out test" if trajectories == "test" else "scored"
    log.info(f"  {checkpoint} on {len(m['trajectories'])} {what} trajectories: rel-L2 at the last frame "
             f"{m['rollout']['rel_l2_final']['mean']:.4g} -> {out}")
    return m


def export(rollout: Path, out: Path, *, mesh: str | None = None, overwrite: bool = False,
           quiet: bool = False) -> list[Path]:
    """``vtk/``: trajectory 0 of ``rollout`` as a ParaView series (on the ``mesh`` file if one is given)."""
    from fem.mesh import MeshChoice
    from pihamno.export import export_series, mesh_target, rollout_series

    pvd = out / "rollout.pvd"
    if not (_newer(pvd, rollout) and not overwrite):
        series = rollout_series(rollout, 0)
        target = mesh_target(series.n, series.L, MeshChoice(file=mesh)) if mesh else None
        export_series(series, out, target=target, overwrite=True, progress=not quiet)
        log.info(f"  wrote {len(series.frames)} frames of {series.description} -> {pvd} (open it in ParaView)")
    else:
        log.info(f"  reusing {pvd}")
    return [pvd, *sorted(p for p in out.iterdir() if p.suffix in (".vti", ".vtu"))]


def render(rollout: Path, out: Path, *, overwrite: bool = False) -> tuple[list[Path], str | None]:
    """``figures/<model>/``: PNGs of trajectory 0 at the first (given), middle and last frame, and the training
    curves of the run the rollout was made from. Returns (files, note): without OpenGL the 3D interfaces are
    skipped and ``note`` says why."""
    import pihamno.rendering as rendering
    from pihamno.evaluation.rollout_io import read_rollout, rollout_attrs, rollout_size
    from pihamno.rendering.render import training_log

    problem = rendering.rendering_problem()
    what = [w for w in rendering.WHAT if not (problem and w == "interfaces")]
    note = f"3D interface rendering skipped: {problem}" if problem else None
    if note:
        log.info(f"  {note}")
    existing = sorted([*out.glob("traj0_*.png"), *out.glob("training_curves.png")])
    wanted = {f"traj0_{w}.png" for w in what if w not in ("curves", "training")} | {"traj0_rel_l2.png"}
    if training_log(rollout_attrs(rollout)) is not None:
        wanted.add("training_curves.png")
    if not overwrite and wanted <= {p.name for p in existing} and all(_newer(p, rollout) for p in existing):
        log.info(f"  reusing {out}")
        return existing, note
    r = read_rollout(rollout, trajectories=list(range(min(rollout_size(rollout), 8))))  # others: grey curves
    files = rendering.render_rollout(r, out, trajectory=0, what=what, overwrite=True, log=lambda s: log.info(f"  {s}"))
    return files, note
