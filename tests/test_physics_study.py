"""examples/studies/physics_study.py: its statistics (paired t-interval, persistence baseline) and a tiny
end-to-end pass (data -> runs -> evaluation -> tables, JSON and plot)."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from example_scripts import load_script

ps = load_script("examples/studies/physics_study.py", "physics_study")


def test_paired_difference_has_the_student_t_interval():
    # differences 1, 2, 3: mean 2, sample std 1, half-width t_{0.975, 2} / sqrt(3)
    p = ps.paired([1.5, 2.5, 3.5], [0.5, 0.5, 0.5])
    half = 4.3027 / math.sqrt(3)  # t_{0.975, 2 degrees of freedom} = 4.3027
    assert p["mean"] == pytest.approx(2.0) and p["std"] == pytest.approx(1.0) and p["n"] == 3
    assert p["ci95"] == pytest.approx([2.0 - half, 2.0 + half], rel=1e-4)
    assert math.isnan(ps.paired([1.0], [0.0])["ci95"][0])  # one seed: no interval, not a zero-width one


def test_plan_covers_every_run_once_and_shards_partition_it():
    sizes = {"ac": [4, 16], "ch": [4]}
    todo = ps.plan(["ac", "ch"], sizes, ["HAMNO", "FNO"], [0, 1, 2])
    assert len(todo) == len(set(todo)) == (2 + 1) * 2 * 3
    shards = [[t for i, t in enumerate(todo) if i % 3 == k] for k in range(3)]
    assert sorted(sum(shards, [])) == sorted(todo)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_quick_study_runs_end_to_end(tmp_path, monkeypatch):
    monkeypatch.setattr(ps, "N_TEST", 2)
    monkeypatch.setattr(ps, "N_OOD", 2)
    monkeypatch.setattr(ps, "N_POOL", 4)
    monkeypatch.setitem(ps.CASES, "ac", dataclasses.replace(ps.CASES["ac"], max_labeled=2))
    out = tmp_path / "study"
    argv = ["--out", str(out), "--quick", "--pdes", "ac", "--sizes", "2", "--seeds", "0", "1",
            "--arms", "HAMNO", "PI-HAMNO + pool"]
    assert ps.main(argv) == 0
    blob = json.loads((out / "results.json").read_text())
    assert [r["arm"] for r in blob["rows"]] == ["HAMNO", "PI-HAMNO + pool"]
    pool = blob["rows"][1]
    assert pool["test_last"]["n"] == 2 and len(pool["vs_hamno_test"]["ci95"]) == 2
    assert pool["diagnostics"] and 0.0 < pool["diagnostics"][0]["share_physics"] < 1.0
    pers = np.asarray(blob["persistence"]["ac"]["test"])
    assert pers.shape == (ps.CASES["ac"].frames,)
    assert pers[ps.T_IN - 1] == 0.0 and np.all(pers[ps.T_IN:] > 0.0)  # the held frame is exact, then drifts
    pooled = {g["group"]: g for g in blob["pooled"]}
    ratios = np.asarray(pool["test_last"]["values"]) / np.asarray(blob["rows"][0]["test_last"]["values"])
    assert pooled["2 labeled"]["test"]["ratio"] == pytest.approx(np.exp(np.log(ratios).mean()))
    lo, hi = pooled["2 labeled"]["test"]["ci95"]
    assert lo < pooled["2 labeled"]["test"]["ratio"] < hi
    text = (out / "results.md").read_text()
    assert "Persistence baseline" in text and "| PI-HAMNO + pool |" in text
    assert (out / "curves_ac.png").stat().st_size > 0
    # a rerun reuses every run and evaluation and reports the same numbers
    assert ps.main(argv + ["--report-only"]) == 0
    assert json.loads((out / "results.json").read_text())["rows"] == blob["rows"]
