"""bench/gpu_suite.py --device cpu --tiny: the device suite's whole code path on the CPU, and its report."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_tiny_suite_on_the_cpu_writes_the_full_report(tmp_path):
    # a generous budget: the suite measures, it must not fail on a loaded runner (idle: well under a minute;
    # a fresh clone's CI beside two training jobs took 23 min for the whole test suite and timed out at 40 s)
    out = tmp_path / "suite"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu_suite.py"), "--device", "cpu", "--tiny", "--out",
                           str(out), "--budget", "400", "--plot"], cwd=ROOT, capture_output=True, text=True, timeout=800)
    assert done.returncode == 0, done.stderr[-2000:]
    rep = json.loads((out / "report.json").read_text())
    assert set(rep) >= {"environment", "tiny", "budget", "sections", "seconds"} and rep["tiny"] is True
    assert list(rep["sections"]) == ["tests", "train", "rollout", "solver", "accuracy", "scaling"]
    sec = rep["sections"]
    assert sec["tests"]["rows"][0]["exit"] == 0 and sec["tests"]["rows"][0]["passed"] > 0
    assert {r["variant"] for r in sec["train"]["rows"]} == {"fp32"} and sec["train"]["rows"][0]["step_ms"] > 0
    assert 0 < sec["train"]["rows"][0]["physics_share"] < 1
    assert {r["variant"] for r in sec["rollout"]["rows"]} == {"fp32", "compiled"}
    assert all(r["frames_per_s"] > 0 for r in sec["rollout"]["rows"])
    assert {r["pde"] for r in sec["rollout"]["vs_solver"]} == {"ac", "ch", "sh"}
    assert all(r["frames_per_s"] > 0 and r["rel_l2_last"] >= 0 for r in sec["accuracy"]["rows"])
    assert {r["pde"] for r in sec["solver"]["rows"]} == {"ac", "ch", "sh"} and all("error" not in r for r in sec["solver"]["rows"])
    assert any("step_ms" in r for r in sec["scaling"]["rows"])
    assert "## rollout" in (out / "report.md").read_text() and (out / "speed_accuracy.png").is_file()
