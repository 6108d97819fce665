"""The frame around an example's stages: its output folder, console, timing, errors and summary.

The recipe of the examples (:func:`pihamno.workflows.recipe.run_example`) reads::

    opts = parse_options(example, argv)
    with Session(example, opts) as run:
        with run.stage("data", "reference trajectories"):
            data = make_data(spec, run.out / "data.h5")
        ...
        run.summary(spec, data, checkpoints, metrics, vtk, pngs)
    return run.exit_code

:class:`Session` prints the header and each stage's title (numbered), sends the ``pihamno.workflows`` log to
the console, sets torch's CPU threads for the scale, times every stage, and turns a user error
(:class:`~pihamno.errors.InputError`) into one line on stderr and exit status 2, an interruption into a note
that the same command continues where it stopped (status 130).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pihamno.errors import InputError
from pihamno.workflows.presets import MODEL_RUNS, SCALES, Example, Options

log = logging.getLogger("pihamno.workflows")


class Session:
    """Context manager around one run of an example (module docstring); ``run.out`` is the output folder."""

    def __init__(self, example: Example, opts: Options, stages: int = 7, prog: str | None = None):
        self.example, self.opts, self.total = example, opts, stages
        self.out: Path = opts.out_dir(example)
        self.prog = prog or Path(sys.argv[0]).name
        self.times: dict[str, float] = {}
        self.exit_code = 0
        self._t0 = time.perf_counter()

    def __enter__(self) -> "Session":
        import torch

        from pihamno.device import resolve_device

        self._handler = logging.StreamHandler(sys.stdout)
        self._handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(self._handler)
        self._level = log.level
        log.setLevel(logging.INFO)
        log.propagate = False
        self._threads = torch.get_num_threads()
        if SCALES[self.opts.scale].threads:
            torch.set_num_threads(SCALES[self.opts.scale].threads)
        try:
            self.device = resolve_device(self.opts.device)
        except InputError:
            self.__exit__(*sys.exc_info())
            raise
        log.info(f"{self.example.title} ({self.example.pde}), scale {self.opts.scale}, device {self.device}, out {self.out}")
        return self

    @contextlib.contextmanager
    def stage(self, name: str, title: str):
        """Print ``[k/N] name: title`` and time the block as stage ``name``."""
        log.info(f"[{len(self.times) + 1}/{self.total}] {name}: {title}")
        t0 = time.perf_counter()
        self.times[name] = 0.0
        try:
            yield
        finally:
            self.times[name] = time.perf_counter() - t0

    def __exit__(self, kind, exc, tb) -> bool:
        import torch

        torch.set_num_threads(self._threads)
        log.removeHandler(self._handler)
        log.setLevel(self._level)
        log.propagate = True
        if isinstance(exc, InputError):
            print(f"{self.prog}: error: {exc}", file=sys.stderr)
            self.exit_code = 2
            return True
        if isinstance(exc, KeyboardInterrupt):
            print(f"{self.prog}: interrupted; run the same command again to continue where it stopped", file=sys.stderr)
            self.exit_code = 130
            return True
        return False

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self._t0

    def summary(self, spec, data: Path, checkpoints: dict, metrics: dict, vtk: list, pngs: list,
                rendering_note: str | None = None) -> dict:
        """Write ``summary.json`` and print the table (:func:`format_summary`); returns the summary.

        ``checkpoints`` / ``metrics``: per model folder (:data:`~pihamno.workflows.presets.MODEL_RUNS`);
        ``vtk``, ``pngs``: the files of the export and render stages."""
        from pihamno.evaluation.report import write_json

        out = self.out
        files = {"data": str(data), "check": str(out / "check.json"),
                 **{f"{m.folder}_checkpoint": str(checkpoints[m.folder]) for m in MODEL_RUNS},
                 **{f"{m.folder}_metrics": str(out / m.folder / "eval" / "metrics.json") for m in MODEL_RUNS},
                 **{f"{m.folder}_rollout": str(out / m.folder / "eval" / "rollout.h5") for m in MODEL_RUNS},
                 "vtk": [str(p) for p in vtk], "png": [str(p) for p in pngs]}

        rows = []
        for m in MODEL_RUNS:
            r = metrics[m.folder]
            rows.append({"model": m.label, "lambda": m.lam, "checkpoint": str(checkpoints[m.folder]),
                         "rel_l2_final": r["rollout"]["rel_l2_final"], "rel_l2_mean": r["rollout"]["rel_l2_mean"],
                         "one_step": r["one_step"]["rel_l2_mean"], "test_trajectories": len(r["trajectories"]),
                         **conservation(r, "pred")})
        reference = conservation(metrics[MODEL_RUNS[0].folder], "ref")
        held = metrics[MODEL_RUNS[0].folder].get("persistence")  # the same test trajectories for every model
        summary = {"example": self.example.pde, "title": self.example.title, "scale": self.opts.scale,
                   "device": str(self.device),
                   "dataset": {"n": spec.n, "frames": spec.frames, "trajectories": spec.trajectories,
                               **spec.params.to_dict(), "ic": spec.ic_family, "split": spec.split or None,
                               "mesh": spec.mesh_file},
                   "physics": {"element": self.opts.element, "weak": self.opts.weak}, "models": rows,
                   "reference": reference,
                   "persistence": None if held is None else {"rel_l2_final": held["rel_l2_final"],
                                                             "rel_l2_mean": held["rel_l2_mean"]},
                   "files": files,
                   "rendering_note": rendering_note, "stage_seconds": dict(self.times),
                   "total_seconds": self.seconds}
        write_json(self.out / "summary.json", summary)
        log.info(format_summary(summary))
        return summary


def conservation(metrics: dict, tag: str) -> dict:
    """The physics of the rollouts (``tag`` ``"pred"``) or the reference (``"ref"``) from an evaluation's metrics:
    the mean over trajectories of max_f |m(f) - m(0)| and of the number of steps where the free energy grows,
    the largest relative growth, the largest max|u| over the predicted frames, and the residual indicator of the
    predicted steps (mean, and the mean fraction of steps above 1) (None where not computed)."""
    mass, energy = metrics.get("mass") or {}, metrics.get("energy") or {}
    bounds, indicator = metrics.get("bounds") or {}, metrics.get("indicator") or {}
    pick = lambda d, k, stat: d[k][stat] if k in d else None  # noqa: E731
    return {"mass_drift": pick(mass, f"max_drift_{tag}", "mean"),
            "energy_increases": pick(energy, f"increase_count_{tag}", "mean"),
            "energy_increase_max_rel": pick(energy, f"increase_max_rel_{tag}", "max"),
            "max_abs": pick(bounds, f"max_abs_{tag}", "max"),
            "indicator_mean": pick(indicator, f"mean_{tag}", "mean"),
            "indicator_above_one": pick(indicator, f"above_one_{tag}", "mean")}


@dataclass(frozen=True)
class Column:
    """One column of the summary table: ``title`` in ``width`` characters after ``sep``, aligned ``align``
    (``">"`` right, ``"<"`` left); ``cell(row)`` is the text of a row (a model's, ``persistence`` or
    ``reference``; ``"-"`` where the row has no value). A cell wider than its column uses the padding of the next."""

    title: str
    width: int
    cell: Callable[[dict], str]
    sep: str = "  "
    align: str = ">"


def value(key: str, fmt: str, stat: str | None = None) -> Callable[[dict], str]:
    """A cell of ``row[key]`` (or of its statistic ``stat``, e.g. ``"mean"``) formatted with ``fmt``, ``-`` when absent."""
    def cell(row: dict) -> str:
        v = row.get(key)
        v = v.get(stat) if stat is not None and v is not None else v
        return "-" if v is None else format(v, fmt)
    return cell


def _mean_std(key: str) -> Callable[[dict], str]:
    def cell(row: dict) -> str:
        v = row.get(key)
        return "-" if v is None else f"{v['mean']:.4f} +- {v['std']:<6.4f}"
    return cell


#: The columns of the printed summary, left to right: a new metric is one more :class:`Column` here (its value in
#: the rows that :meth:`Session.summary` builds) and, if it needs words, a line of :data:`SUMMARY_NOTES`.
SUMMARY_COLUMNS: list[Column] = [
    Column("model", 9, value("model", ""), align="<"),
    Column("lambda", 6, lambda r: "" if r.get("lambda") is None else f"{r['lambda']:g}", sep=" "),
    Column("last frame", 18, _mean_std("rel_l2_final")),
    Column("mean over frames", 16, value("rel_l2_mean", ".4f", "mean")),
    Column("one-step", 8, value("one_step", ".4f", "mean")),
    Column("mass drift", 10, value("mass_drift", ".2e")),
    Column("E grows", 7, value("energy_increases", ".1f")),
    Column("max rel", 9, value("energy_increase_max_rel", ".1e"), sep=" "),
    Column("max|u|", 6, value("max_abs", ".3f")),
    Column("indicator", 9, value("indicator_mean", ".3g")),
    Column("> 1", 4, value("indicator_above_one", ".0%"), sep=" "),
]
#: The lines under the table that explain its columns and rows.
SUMMARY_NOTES: list[str] = [
    "mass drift: max over frames of |m(t) - m(0)|; E grows: steps where the free energy increases (mean per "
    "trajectory) and the largest relative increase; max|u|: over the predicted frames",
    "indicator: the scheme's residual of each predicted step relative to standing still (0 = the scheme's step, "
    "1 = doing nothing), mean and share of steps above 1; persistence: the last given frame held (docs/evaluation.md)",
]


def format_table(rows: list[dict], columns: list[Column] | None = None, notes: list[str] | None = None) -> list[str]:
    """The header, one line per row (each cell ends at its column's edge) and the notes, indented by two."""
    columns = SUMMARY_COLUMNS if columns is None else columns
    lines = ["".join(f"{c.sep}{c.title:{c.align}{c.width}}" for c in columns)]
    for row in rows:
        line, edge = "", 0
        for c in columns:
            edge += len(c.sep) + c.width
            text = c.cell(row)
            line += c.sep + f"{text:{c.align}{max(0, edge - len(line) - len(c.sep))}}"
        lines.append(line)
    return lines + [f"  {note}" for note in (SUMMARY_NOTES if notes is None else notes)]


def format_summary(s: dict) -> str:
    """The printed table (:data:`SUMMARY_COLUMNS`): rel-L2 of both models on the test trajectories, persistence,
    the physics of their rollouts and of the reference, and the files written."""
    d = s["dataset"]
    lines = [f"{s['title']}, {s['scale']} scale: n = {d['n']}, {d['trajectories']} trajectories x {d['frames']} frames, "
             f"dt = {d['dt']:g}; rollout rel-L2 on {s['models'][0]['test_trajectories']} test trajectories"]
    rows = list(s["models"])
    if s.get("persistence"):  # the last given frame held: its residual indicator is 1 by definition
        rows.append({"model": "persistence", **s["persistence"], "indicator_mean": 1.0, "indicator_above_one": 0.0})
    if s.get("reference"):
        rows.append({"model": "reference", **s["reference"]})
    lines += format_table(rows)
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
