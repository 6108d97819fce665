"""The example recipe written once (pihamno.workflows.recipe): the verb ``pihamno example PDE`` for any registered
PDE, thin example scripts, and the summary table they print (its text unchanged; a column is one entry)."""

from __future__ import annotations

import pytest

from pihamno.cli import main
from pihamno.workflows import SUMMARY_COLUMNS, Column, Example, format_summary
from pihamno.workflows.session import SUMMARY_NOTES, format_table, value


def stats(mean: float, std: float) -> dict:
    return {"mean": mean, "std": std, "min": mean - std, "max": mean + std}


SUMMARY = {
    "title": "Allen-Cahn", "scale": "default", "dataset": {"n": 16, "frames": 41, "trajectories": 16, "dt": 1e-3},
    "models": [
        {"model": "HAMNO", "lambda": 0.0, "rel_l2_final": stats(0.1119, 0.0120), "rel_l2_mean": stats(0.0766, 0.01),
         "one_step": stats(0.0208, 0.001), "test_trajectories": 4, "mass_drift": 0.49, "energy_increases": 0.0,
         "energy_increase_max_rel": 0.0, "max_abs": 1.085, "indicator_mean": 0.594, "indicator_above_one": 0.03},
        {"model": "PI-HAMNO", "lambda": 0.25, "rel_l2_final": stats(0.0887, 0.0102), "rel_l2_mean": stats(0.0614, 0.01),
         "one_step": stats(0.0153, 0.001), "test_trajectories": 4, "mass_drift": 0.415, "energy_increases": None,
         "energy_increase_max_rel": None, "max_abs": 1.029, "indicator_mean": 0.456, "indicator_above_one": 0.03},
    ],
    "persistence": {"rel_l2_final": stats(0.3958, 0.0114), "rel_l2_mean": stats(0.2593, 0.01)},
    "reference": {"mass_drift": 0.434, "energy_increases": 0.0, "energy_increase_max_rel": 0.0, "max_abs": 1.0,
                  "indicator_mean": 2.54e-06, "indicator_above_one": 0.0},
    "files": {"data": "runs/ac/data.h5", "check": "runs/ac/check.json", "hamno_checkpoint": "runs/ac/hamno/best.pt",
              "pihamno_checkpoint": "runs/ac/pihamno/best.pt", "hamno_metrics": "runs/ac/hamno/eval/metrics.json",
              "pihamno_metrics": "runs/ac/pihamno/eval/metrics.json", "vtk": ["runs/ac/vtk/rollout.pvd"] + ["f"] * 41,
              "png": ["runs/ac/figures/hamno/a.png"] * 12},
    "rendering_note": None, "stage_seconds": {"data": 0.5, "check": 0.3}, "total_seconds": 152.5,
}

#: format_summary(SUMMARY): the rows as the former hand-written table printed them; its header and reference row
#: were one character left of the rows from "last frame" on, and now align with them
TABLE = """\
Allen-Cahn, default scale: n = 16, 16 trajectories x 41 frames, dt = 0.001; rollout rel-L2 on 4 test trajectories
  model     lambda          last frame  mean over frames  one-step  mass drift  E grows   max rel  max|u|  indicator  > 1
  HAMNO          0    0.1119 +- 0.0120            0.0766    0.0208    4.90e-01      0.0   0.0e+00   1.085      0.594   3%
  PI-HAMNO    0.25    0.0887 +- 0.0102            0.0614    0.0153    4.15e-01        -         -   1.029      0.456   3%
  persistence         0.3958 +- 0.0114            0.2593         -           -        -         -       -          1   0%
  reference                          -                 -         -    4.34e-01      0.0   0.0e+00   1.000   2.54e-06   0%
  mass drift: max over frames of |m(t) - m(0)|; E grows: steps where the free energy increases (mean per trajectory) \
and the largest relative increase; max|u|: over the predicted frames
  indicator: the scheme's residual of each predicted step relative to standing still (0 = the scheme's step, 1 = doing \
nothing), mean and share of steps above 1; persistence: the last given frame held (docs/evaluation.md)
  files:
    data       runs/ac/data.h5, runs/ac/check.json
    models     runs/ac/hamno/best.pt, runs/ac/pihamno/best.pt
    metrics    runs/ac/hamno/eval/metrics.json, runs/ac/pihamno/eval/metrics.json (+ rollout.h5, per_frame.csv)
    ParaView   runs/ac/vtk/rollout.pvd + 41 frame files
    pictures   12 PNGs in runs/ac/figures
  time: data 0.5 s, check 0.3 s; total 152.5 s"""


def test_the_summary_table_prints_as_before():
    assert format_summary(SUMMARY) == TABLE


def test_a_column_is_one_entry():
    """Another metric: one Column (and a note line); every row's cell ends at the column's edge."""
    passed = Column("sphere", 6, value("sphere", ""))
    rows = [{**SUMMARY["models"][0], "sphere": "pass"}, {"model": "reference", **SUMMARY["reference"]}]
    lines = format_table(rows, [*SUMMARY_COLUMNS, passed], [*SUMMARY_NOTES, "sphere: the AC sphere test"])
    assert lines[0].endswith("  sphere") and lines[1].endswith("    pass") and lines[2].endswith("       -")
    assert len({len(line) for line in lines[:3]}) == 1 and lines[-1] == "  sphere: the AC sphere test"


def test_an_example_of_any_registered_pde_takes_the_pdes_settings():
    ex = Example(pde="sh")
    assert ex.title == "Swift-Hohenberg" and ex.params == {} and ex.ic is None
    from fem.schemes import preset
    from pihamno.workflows import Options, dataset_spec

    spec = dataset_spec(ex, Options(scale="smoke"), trajectories=3)
    assert spec.params == preset("sh") and spec.ic_family == "grf" and spec.n == 8
    from pihamno.errors import InputError

    with pytest.raises(InputError, match="unknown PDE 'kdv'"):
        Example(pde="kdv")


def test_the_example_verb_help_and_refusals(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["example", "ac", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: pihamno example ac")
    for word in ("--scale", "--smoke", "--mesh", "--out", "eps = 0.1, L = 2, dt = 0.0001", "the PDE's preset", "runs/ac"):
        assert word in text, word

    assert main(["example", "kdv", "--smoke"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unknown PDE 'kdv'" in err and "--plugin" in err
    with pytest.raises(SystemExit) as exc:
        main(["example", "ac", "--smoke", "--scale", "paper"])
    assert exc.value.code == 2
    assert "pihamno example ac: error: --smoke and --scale paper exclude each other" in capsys.readouterr().err
