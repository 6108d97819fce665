"""The whole pipeline for one PDE, stage by stage: what the runnable examples (``examples/*.py``) call.

An example script describes its PDE with an :class:`Example` and calls :func:`main`; everything else is
here, once. The stages and what each writes under ``OUT`` (``--out``, default ``runs/<pde>``):

=========  =======================================  ==================================================
stage      writes                                   what it is
=========  =======================================  ==================================================
data       ``data.h5``                              reference trajectories (:func:`pihamno.data.generate`)
check      ``check.json``                           ``pihamno check-data`` report; a failed check stops the run
train      ``hamno/``, ``pihamno/``                 HAMNO (lambda = 0) and PI-HAMNO (lambda = 0.25):
                                                    ``config.toml``, ``last.pt``, ``best.pt``, ``metrics.csv``
evaluate   ``<model>/eval/``                        autoregressive rollouts of the test trajectories:
                                                    ``rollout.h5``, ``metrics.json``, ``per_frame.csv``
export     ``vtk/rollout.pvd`` + one file per frame PI-HAMNO rollout of test trajectory 0 for ParaView
render     ``figures/<model>/traj0_*.png``          u = 0 interfaces (needs OpenGL; skipped with a note
                                                    when there is none), central slices, error/energy/mass curves
summary    ``summary.json``                         the table printed at the end (rel-L2, files, stage times)
=========  =======================================  ==================================================

**Resuming.** Every stage first looks for its finished output and reuses it: a dataset made with the same
settings (an interrupted one, ``data.h5.partial``, is completed), a training run whose ``last.pt`` reached
its last epoch (an unfinished one continues from ``last.pt``), and evaluations, exports and pictures newer
than what they were made from. Outputs made with *different* settings are never silently mixed: the run
stops with one line naming the difference; ``--overwrite`` redoes every stage.

**Scales** (:data:`SCALES`). ``default``: n = 16, a small HAMNO, a few minutes on a 2-core CPU, with the
example's own PDE settings (chosen so that the dynamics is visible in a few dozen frames). ``paper``: the
HAMNO paper's setting (n = 32, 101 frames, PDE parameters of :data:`fem.schemes.PRESETS`, the full-scale
``examples/configs/<pde>_{hamno,pihamno}.toml``), for a GPU. ``smoke`` (``--smoke``): n = 8, a few frames,
a 2-channel model and one short epoch -- the whole pipeline in seconds, for CI.

**Discretisation flags.** ``--split kuhn|five`` / ``--mesh FILE`` choose the tetrahedral mesh of both the
reference solver and the physics loss's weak form (the data stay on the n^3 node grid; on a mesh file the
solver's solution is sampled there, and the VTK export is written on that mesh). ``--element P1|P2`` and
``--weak assembled|element_local`` choose the physics loss's test functions; the reference solver is P1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from fem.errors import InputError

#: The repository's shipped training configs (``<pde>_small.toml``, ``<pde>_hamno.toml``, ``<pde>_pihamno.toml``).
CONFIGS = Path(__file__).resolve().parents[1] / "examples" / "configs"


@dataclass(frozen=True)
class Example:
    """One PDE's settings at the ``default`` and ``smoke`` scales (``paper`` uses the paper's preset).

    pde: ``"ac"``, ``"ch"`` or ``"sh"``; title: its name for the printout.
    params: PDE parameters for :func:`fem.schemes.preset` (``eps``, ``L``, ``dt``: time between frames;
        one scheme step per frame, so the physics loss vanishes on the data).
    frames: frames per trajectory at the default scale (incl. the initial one).
    ic, ic_params: initial-condition family (None: the PDE's default) and parameter overrides.
    train: extra training-config overrides (``"section.key=value"``) at the default and smoke scales.
    """

    pde: str
    title: str
    params: dict = field(default_factory=dict)
    frames: int = 41
    ic: str | None = None
    ic_params: dict = field(default_factory=dict)
    train: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scale:
    """Sizes of one scale. ``frames=None``: the example's. ``configs``: ``"small"`` (``<pde>_small.toml`` with
    ``train`` overrides) or ``"paper"`` (``<pde>_hamno.toml`` / ``<pde>_pihamno.toml`` as shipped)."""

    n: int
    frames: int | None
    configs: str
    train: tuple[str, ...] = ()
    check_trajectories: int | None = None  # None: check every trajectory
    workers: int = 1                        # processes generating the data
    threads: int | None = None              # torch CPU threads (None: torch's default)


# The small scales run torch on one CPU thread. Measured at the default size (HAMNO width 8, n = 16, batch 8):
# 0.21 s per training step on one thread against 0.16 s on two of an idle 2-core machine, but 0.2-8 s on two
# as soon as another process competes for the cores (OpenMP threads waiting on each other); smoke runs took
# 3-30x longer on two threads under load.
_SMALL = ("model.n_layers=1", "model.expansion=2")
SCALES = {
    "smoke": Scale(8, 8, "small", _SMALL + (
        "data.n_train=2", "data.n_val=1", "data.n_test=1", "model.width=2", "model.modes=2", "model.width_q=4",
        "optim.epochs=1", "optim.steps_per_epoch=2", "optim.batch_size=2"), threads=1),
    "default": Scale(16, None, "small", _SMALL + (
        "data.n_train=12", "data.n_val=2", "data.n_test=4", "model.width=8", "model.modes=6", "model.width_q=8",
        "optim.epochs=20", "optim.steps_per_epoch=20", "optim.batch_size=8"), threads=1),
    "paper": Scale(32, 101, "paper", check_trajectories=8, workers=max(1, os.cpu_count() or 1)),
}

#: The two models every example trains: (folder, label, lambda).
MODELS = (("hamno", "HAMNO", 0.0), ("pihamno", "PI-HAMNO", 0.25))


@dataclass(frozen=True)
class Options:
    """The command-line choices (see :func:`build_parser`)."""

    scale: str = "default"
    out: str | None = None
    seed: int = 0
    device: str = "auto"
    split: str = "kuhn"
    mesh: str | None = None
    element: str = "P1"
    weak: str = "assembled"
    overwrite: bool = False
    quiet: bool = False


def log(msg: str = "") -> None:
    print(msg, flush=True)


def _newer(path: Path, *than: Path) -> bool:
    """``path`` exists and is at least as new as every existing file in ``than``."""
    return path.is_file() and all(not t.exists() or path.stat().st_mtime >= t.stat().st_mtime for t in than)


# ----------------------------------------------------------------------------------------------- settings
def train_config(ex: Example, opts: Options, folder: str, lam: float, out: Path):
    """The :class:`~pihamno.training.config.TrainConfig` of one model: shipped TOML <- scale <- example <- flags."""
    from pihamno.training.config import load_config

    scale = SCALES[opts.scale]
    name = f"{ex.pde}_small.toml" if scale.configs == "small" else f"{ex.pde}_{folder}.toml"
    path = CONFIGS / name
    if not path.is_file():
        raise InputError(f"training config {str(path)!r} not found (the examples need the repository's examples/configs)")
    physics = []  # the physics options matter only with lambda > 0 (a HAMNO run never builds the loss)
    if lam > 0:
        physics = [f"physics.mesh={json.dumps(opts.mesh)}" if opts.mesh else f"physics.split={json.dumps(opts.split)}",
                   f"physics.element={json.dumps(opts.element)}", f"physics.weak={json.dumps(opts.weak)}"]
    overrides = [
        *scale.train, *(ex.train if scale.configs == "small" else ()),
        f"data.path={json.dumps(str(out / 'data.h5'))}", f"run.out={json.dumps(str(out / folder))}",
        f"run.device={json.dumps(opts.device)}", f"run.seed={opts.seed}", f"physics.lam={lam}", *physics,
    ]
    return load_config(path, overrides)


def dataset_spec(ex: Example, opts: Options, trajectories: int):
    """The :class:`~pihamno.data.DatasetSpec` of the scale: the example's PDE settings, or the paper's preset."""
    from fem.schemes import preset
    from pihamno.data import DatasetSpec

    scale = SCALES[opts.scale]
    paper = scale.configs == "paper"
    return DatasetSpec(
        params=preset(ex.pde) if paper else preset(ex.pde, **ex.params), n=scale.n,
        frames=scale.frames or ex.frames, trajectories=trajectories, ic_family=None if paper else ex.ic,
        ic_params={} if paper else dict(ex.ic_params), seed=opts.seed, split=opts.split, mesh_file=opts.mesh,
    )


# ----------------------------------------------------------------------------------------------- stages
def stage_data(spec, path: Path, opts: Options) -> Path:
    """``data.h5``: reuse a finished file made with ``spec``, else generate (resuming ``data.h5.partial``)."""
    from fem.assembly import mesh_key
    from pihamno.data import generate, read_metadata

    new = spec.attrs(mesh_key(spec.mesh()))  # also checks a mesh file against L
    if path.is_file() and not opts.overwrite:
        old = read_metadata(path)
        new_plain = new | {"ic_params": json.loads(new["ic_params"]), "split": new["split"] or None,
                           "mesh_file": new["mesh_file"] or None}
        diff = [k for k in new_plain if k not in ("created", "pihamno_version") and old.get(k) != new_plain[k]]
        if diff:
            what = ", ".join(f"{k} {old.get(k)!r} there, {new_plain[k]!r} now" for k in diff[:3])
            raise InputError(f"{path} was made with other settings ({what}); pass --overwrite or choose another --out")
        log(f"  reusing {path} ({spec.trajectories} x {spec.frames} frames, same settings)")
        return path
    p = spec.params
    log(f"  {spec.trajectories} trajectories x {spec.frames} frames on the {spec.n}^3 grid: {p.pde} eps={p.eps:g} "
        f"L={p.L:g} dt={p.dt:g} (one scheme step per frame), ic {spec.ic_family}, "
        f"{'mesh ' + spec.mesh_file if spec.mesh_file else spec.split + ' mesh'}")
    return generate(spec, path, workers=min(SCALES[opts.scale].workers, spec.trajectories), overwrite=opts.overwrite,
                    progress=not opts.quiet)


def stage_check(data: Path, out: Path, opts: Options) -> dict:
    """``check.json``: the ``check-data`` report of ``data`` (reused when newer than it); stops on failure."""
    from pihamno.cli.check_data import format_report
    from pihamno.data.checks import check_dataset
    from pihamno.evaluation.report import write_json

    path = out / "check.json"
    limit = SCALES[opts.scale].check_trajectories
    if _newer(path, data) and not opts.overwrite:
        report = json.loads(path.read_text())
        if report.get("ok"):
            log(f"  reusing {path}: all checks passed on {report.get('checked_trajectories')} trajectories")
            return report
    report = check_dataset(data, limit, progress=not opts.quiet)
    log(format_report(report))
    write_json(path, report)
    if not report["ok"]:
        failed = ", ".join(c["name"] for c in report["checks"] if c["status"] == "FAIL")
        raise InputError(f"the reference data {data} failed check-data ({failed}); see the table above and {path}")
    return report


def stage_train(cfg, opts: Options, label: str) -> Path:
    """``<model>/``: train to ``optim.epochs`` (continuing ``last.pt``; reusing a finished run). Returns the
    checkpoint to evaluate: ``best.pt`` (validation) when there is one, else ``last.pt``."""
    from pihamno.training.checkpoint import load_training_checkpoint
    from pihamno.training.config import diff_configs, from_dict
    from pihamno.training.trainer import Trainer, TrainingDiverged

    run = Path(cfg.run.out)
    last = run / "last.pt"
    resume = None
    if last.is_file() and not opts.overwrite:
        state = load_training_checkpoint(last)
        saved = from_dict(state["config"], f"the config of {last}")
        changed = [k for k in diff_configs(saved.to_dict(), cfg.to_dict()) if k not in Trainer.RESUME_FREE]
        if changed:
            raise InputError(f"{run} holds a {label} run with other settings ({', '.join(changed[:4])}); "
                             "pass --overwrite or choose another --out")
        if int(state["epoch"]) >= cfg.optim.epochs:
            log(f"  reusing {run} ({state['epoch']} epochs done)")
            return run / "best.pt" if (run / "best.pt").is_file() else last
        resume = last
        log(f"  continuing {run} from epoch {state['epoch']} of {cfg.optim.epochs}")
    o, m = cfg.optim, cfg.model
    log(f"  {label}: lambda = {cfg.physics.lam:g}, {m.name} {m.options}, {o.epochs} epochs x {o.steps_per_epoch} "
        f"steps, batch {o.batch_size}, lr {o.lr:g} -> {run}")
    try:
        trainer = Trainer(cfg, resume=resume, overwrite=opts.overwrite, quiet=opts.quiet)
        result = trainer.fit()
    except TrainingDiverged as exc:
        raise InputError(f"{label} training diverged: {exc}") from None
    best = result["best"]
    log(f"  {label}: {result['epoch']} epochs / {result['step']} steps, last loss "
        f"{result['last'].get('loss', float('nan')):.4g}, best validation rel-L2 {best['score']:.4g} (epoch {best['epoch']})")
    return run / "best.pt" if (run / "best.pt").is_file() else last


def stage_evaluate(ckpt: Path, data: Path, out: Path, opts: Options) -> dict:
    """``<model>/eval/``: rollouts of the test trajectories (reused when newer than the checkpoint)."""
    from pihamno.evaluation.evaluate import evaluate

    metrics = out / "metrics.json"
    if _newer(metrics, ckpt, data) and _newer(out / "rollout.h5", ckpt) and not opts.overwrite:
        log(f"  reusing {out}")
        return json.loads(metrics.read_text())
    m = evaluate(ckpt, data, out, trajectories="test", device=opts.device, quiet=opts.quiet)
    log(f"  {ckpt} on {len(m['trajectories'])} test trajectories: rel-L2 at the last frame "
        f"{m['rollout']['rel_l2_final']['mean']:.4g} -> {out}")
    return m


def stage_export(rollout: Path, out: Path, opts: Options) -> list[Path]:
    """``vtk/``: trajectory 0 of ``rollout`` as a ParaView series (on the ``--mesh`` file if one was given)."""
    from pihamno.export import export_series, mesh_target, rollout_series

    pvd = out / "rollout.pvd"
    if not (_newer(pvd, rollout) and not opts.overwrite):
        series = rollout_series(rollout, 0)
        target = mesh_target(series.n, series.L, mesh_path=opts.mesh) if opts.mesh else None
        export_series(series, out, target=target, overwrite=True, progress=not opts.quiet)
        log(f"  wrote {len(series.frames)} frames of {series.description} -> {pvd} (open it in ParaView)")
    else:
        log(f"  reusing {pvd}")
    return [pvd, *sorted(p for p in out.iterdir() if p.suffix in (".vti", ".vtu"))]


def stage_render(rollout: Path, out: Path, opts: Options) -> tuple[list[Path], str | None]:
    """``figures/<model>/``: PNGs of trajectory 0 at the first (given), middle and last frame.
    Returns (files, note): without OpenGL the 3D interfaces are skipped and ``note`` says why."""
    from pihamno.evaluation.rollout_io import read_rollout, rollout_size
    from pihamno.rendering import WHAT, render_rollout, rendering_problem

    problem = rendering_problem()
    what = [w for w in WHAT if not (problem and w == "interfaces")]
    note = f"3D interface rendering skipped: {problem}" if problem else None
    if note:
        log(f"  {note}")
    existing = sorted(out.glob("traj0_*.png"))
    wanted = {f"traj0_{w}.png" for w in what if w != "curves"} | {"traj0_rel_l2.png"}
    if not opts.overwrite and wanted <= {p.name for p in existing} and all(_newer(p, rollout) for p in existing):
        log(f"  reusing {out}")
        return existing, note
    r = read_rollout(rollout, trajectories=list(range(min(rollout_size(rollout), 8))))  # others: grey curves
    files = render_rollout(r, out, trajectory=0, what=what, overwrite=True, log=lambda s: log(f"  {s}"))
    return files, note


# ----------------------------------------------------------------------------------------------- driver
def run(ex: Example, opts: Options) -> dict:
    """Run every stage for ``ex`` with ``opts``; returns the summary (also written to ``OUT/summary.json``).

    torch uses the scale's number of CPU threads (:attr:`Scale.threads`) during the run, then the previous one.
    """
    import torch

    threads = torch.get_num_threads()
    if SCALES[opts.scale].threads:
        torch.set_num_threads(SCALES[opts.scale].threads)
    try:
        return _run(ex, opts)
    finally:
        torch.set_num_threads(threads)


def _run(ex: Example, opts: Options) -> dict:
    from pihamno.device import resolve_device
    from pihamno.evaluation.report import write_json

    device = resolve_device(opts.device)
    out = Path(opts.out or f"runs/{ex.pde}")
    t_start, times = time.perf_counter(), {}

    def stage(name: str, title: str):
        times[name] = time.perf_counter()
        log(f"[{len(times)}/7] {title}")

    def done(name: str):
        times[name] = time.perf_counter() - times[name]

    log(f"{ex.title} ({ex.pde}), scale {opts.scale}, device {device}, out {out}")
    configs = {folder: train_config(ex, opts, folder, lam, out) for folder, _, lam in MODELS}
    d = configs["hamno"].data
    spec = dataset_spec(ex, opts, d.n_train + d.n_test)

    stage("data", "data: reference trajectories")
    data = stage_data(spec, out / "data.h5", opts); done("data")
    stage("check", "check: pihamno check-data")
    stage_check(data, out, opts); done("check")

    stage("train", "train: HAMNO (lambda = 0) and PI-HAMNO (lambda = 0.25)")
    ckpts = {folder: stage_train(configs[folder], opts, label) for folder, label, _ in MODELS}; done("train")
    stage("evaluate", "evaluate: autoregressive rollouts of the test trajectories")
    metrics = {f: stage_evaluate(ckpts[f], data, out / f / "eval", opts) for f, _, _ in MODELS}; done("evaluate")
    stage("export", "export: PI-HAMNO rollout of test trajectory 0 for ParaView")
    vtk = stage_export(out / "pihamno" / "eval" / "rollout.h5", out / "vtk", opts); done("export")
    stage("render", "render: PNGs of test trajectory 0")
    pngs, note = [], None
    for f, _, _ in MODELS:
        files, note = stage_render(out / f / "eval" / "rollout.h5", out / "figures" / f, opts)
        pngs += files
    done("render")
    stage("summary", "summary")

    rows = []
    for folder, label, lam in MODELS:
        m = metrics[folder]
        rows.append({"model": label, "lambda": lam, "checkpoint": str(ckpts[folder]),
                     "rel_l2_final": m["rollout"]["rel_l2_final"], "rel_l2_mean": m["rollout"]["rel_l2_mean"],
                     "one_step": m["one_step"]["rel_l2_mean"], "test_trajectories": len(m["trajectories"])})
    files = {"data": str(data), "check": str(out / "check.json"),
             **{f"{f}_checkpoint": str(ckpts[f]) for f, _, _ in MODELS},
             **{f"{f}_metrics": str(out / f / "eval" / "metrics.json") for f, _, _ in MODELS},
             **{f"{f}_rollout": str(out / f / "eval" / "rollout.h5") for f, _, _ in MODELS},
             "vtk": [str(p) for p in vtk], "png": [str(p) for p in pngs]}
    done("summary")
    summary = {"example": ex.pde, "title": ex.title, "scale": opts.scale, "device": str(device),
               "dataset": {"n": spec.n, "frames": spec.frames, "trajectories": spec.trajectories,
                           **spec.params.to_dict(), "ic": spec.ic_family, "split": spec.split or None,
                           "mesh": spec.mesh_file},
               "physics": {"element": opts.element, "weak": opts.weak}, "models": rows, "files": files,
               "rendering_note": note, "stage_seconds": times, "total_seconds": time.perf_counter() - t_start}
    write_json(out / "summary.json", summary)
    log(format_summary(summary))
    return summary


def format_summary(s: dict) -> str:
    """The printed table: rel-L2 of both models on the test trajectories, and the files written."""
    d = s["dataset"]
    lines = [f"{s['title']}, {s['scale']} scale: n = {d['n']}, {d['trajectories']} trajectories x {d['frames']} frames, "
             f"dt = {d['dt']:g}; rollout rel-L2 on {s['models'][0]['test_trajectories']} test trajectories",
             f"  {'model':<9} {'lambda':>6}  {'last frame':>17}  {'mean over frames':>16}  {'one-step':>8}"]
    for r in s["models"]:
        f, m = r["rel_l2_final"], r["rel_l2_mean"]
        lines.append(f"  {r['model']:<9} {r['lambda']:>6g}  {f['mean']:>8.4f} +- {f['std']:<6.4f}  "
                     f"{m['mean']:>16.4f}  {r['one_step']['mean']:>8.4f}")
    fl = s["files"]
    vtk, png = fl["vtk"], fl["png"]
    lines += ["  files:",
              f"    data       {fl['data']}, {fl['check']}",
              f"    models     {fl['hamno_checkpoint']}, {fl['pihamno_checkpoint']}",
              f"    metrics    {fl['hamno_metrics']}, {fl['pihamno_metrics']} (+ rollout.h5, per_frame.csv)",
              f"    ParaView   {vtk[0]} + {len(vtk) - 1} frame files",
              f"    pictures   {len(png)} PNGs in {Path(png[0]).parent.parent if png else '-'}"]
    if s.get("rendering_note"):
        lines.append(f"  note: {s['rendering_note']}")
    t = s["stage_seconds"]
    lines.append("  time: " + ", ".join(f"{k} {v:.1f} s" for k, v in t.items()) + f"; total {s['total_seconds']:.1f} s")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------- command line
class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not the usage block
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser(ex: Example, prog: str | None = None) -> argparse.ArgumentParser:
    """The flags every example takes."""
    import textwrap

    settings = ", ".join(f"{k} = {v:g}" for k, v in ex.params.items())
    family = ex.ic or "the PDE's default family"
    ic = f", initial conditions: {family}" + (
        " with " + ", ".join(f"{k} = {v:g}" for k, v in ex.ic_params.items()) if ex.ic_params else "")
    description = (
        f"{ex.title}: the whole pihamno pipeline -- reference data (checked with check-data), HAMNO (lambda = 0) "
        "and PI-HAMNO (lambda = 0.25) trained on it, autoregressive rollouts on held-out test trajectories, a "
        "ParaView export and PNG pictures -- then a summary table.\n\n"
        f"PDE settings at the default and smoke scales: {settings}, {ex.frames} frames at the default scale{ic} "
        "(the script's docstring says why); --scale paper uses the paper's."
    )
    p = _Parser(
        prog=prog, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="\n\n".join(textwrap.fill(part, 100) for part in description.split("\n\n")),
        epilog=f"""output folder (--out, default runs/{ex.pde}):
  data.h5, check.json             reference data and its check-data report
  hamno/, pihamno/                training runs (config.toml, last.pt, best.pt, metrics.csv)
  hamno/eval/, pihamno/eval/      rollout.h5, metrics.json, per_frame.csv (test trajectories)
  vtk/rollout.pvd + rollout_*.vti PI-HAMNO rollout of test trajectory 0 (open the .pvd in ParaView)
  figures/{{hamno,pihamno}}/*.png  interfaces (needs OpenGL), slices, rel-L2/energy/mass curves
  summary.json                    the printed summary

resuming: rerunning the same command reuses every finished stage (dataset, checkpoints, evaluations,
export, pictures) and continues an interrupted one (data.h5.partial, last.pt); outputs made with other
settings stop the run with one line; --overwrite redoes everything.""")
    p.add_argument("--scale", choices=("default", "paper"), default="default",
                   help="default: n = 16, a few minutes on a 2-core CPU; paper: the HAMNO paper's n = 32, 101 "
                   "frames, width-12 HAMNO and PDE parameters (examples/configs/*_{hamno,pihamno}.toml), for a GPU")
    p.add_argument("--smoke", action="store_true",
                   help="tiny sizes (n = 8, 8 frames, 3 trajectories, width 2, one short epoch): the whole pipeline in seconds")
    p.add_argument("--out", metavar="DIR", default=None, help=f"output folder (default runs/{ex.pde})")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial conditions and of training (default 0)")
    p.add_argument("--device", default="auto", help="'auto' (cuda when present, default), 'cpu', 'cuda', 'cuda:N'")
    mesh = p.add_mutually_exclusive_group()
    mesh.add_argument("--split", choices=("kuhn", "five"), default="kuhn",
                      help="structured tetrahedral mesh of the grid for the reference solver and the physics loss (default kuhn)")
    mesh.add_argument("--mesh", metavar="FILE", default=None,
                      help="a tetrahedral mesh file of the cube instead (e.g. meshes/cube_gmsh_h0.25_L2.msh; its side must be the PDE's L)")
    p.add_argument("--element", choices=("P1", "P2"), default="P1", help="test functions of the physics loss's weak form (default P1)")
    p.add_argument("--weak", choices=("assembled", "element_local"), default="assembled",
                   help="weak residual: assembled (consistent, default) or the paper's element_local (for comparison)")
    p.add_argument("--overwrite", action="store_true", help="redo every stage instead of reusing finished outputs")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def parse_options(ex: Example, argv: list[str] | None = None, prog: str | None = None) -> Options:
    """Flags -> :class:`Options`; a bad combination is one line and exit status 2."""
    p = build_parser(ex, prog)
    a = p.parse_args(argv)
    if a.smoke and a.scale == "paper":
        p.error("--smoke and --scale paper exclude each other")
    if a.seed < 0:
        p.error(f"--seed must be a non-negative integer, got {a.seed}")
    if a.mesh and not Path(a.mesh).is_file():
        p.error(f"--mesh {a.mesh!r} does not exist")
    return Options(scale="smoke" if a.smoke else a.scale, out=a.out, seed=a.seed, device=a.device, split=a.split,
                   mesh=a.mesh, element=a.element, weak=a.weak, overwrite=a.overwrite, quiet=a.quiet)


def main(ex: Example, argv: list[str] | None = None) -> int:
    """Entry point of an example script: parse the flags, run the pipeline; 0 on success, 2 on a user error."""
    prog = Path(sys.argv[0]).name if argv is None else f"{ex.pde} example"
    opts = parse_options(ex, argv, prog)
    try:
        run(ex, opts)
    except InputError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; run the same command again to continue where it stopped", file=sys.stderr)
        return 130
    return 0
