"""An out-of-tree plugin, used the way a user would: through the plain ``pihamno`` command, in subprocesses.

1. The package ``tests/plugins/conserved_ac`` (a conserved Allen-Cahn PDE ``cac``, the initial-condition family
   ``slab`` and the model ``tiny_conv``, declared as entry points in its ``pyproject.toml``) is installed without
   network into a temporary folder (``pip install --no-deps --no-build-isolation --no-index --target``; the
   project's environment is not touched), which the commands see through ``PYTHONPATH``. No flag names it:
   generate --workers 2 (Dask workers, which load the entry points themselves) -> check-data -> train (the
   plugin model on the plugin PDE, lambda > 0: the PDE's physics loss is built) -> evaluate -> export; then the
   package's family, the PDE's composed ``cac_small`` config and ``pihamno example cac`` (the examples' recipe).
2. The same pipeline with ``--plugin FILE`` instead of an installed package: the heat equation of
   ``tests/plugins/heat_equation.py`` and the model file of the package, with a process pool of 2 workers (their
   initialiser loads the files) and once more on Dask (the file shipped to the workers).

Run with ``-s`` to see every command and its output (docs/plugins.md quotes it).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tests" / "plugins" / "conserved_ac"
HEAT_FILE = ROOT / "tests" / "plugins" / "heat_equation.py"
MODEL_FILE = PACKAGE / "conserved_ac" / "model.py"
PIHAMNO = str(Path(sys.executable).parent / "pihamno")  # the console script of this environment

TRAIN_TOML = """
[data]
path = "data.h5"
n_train = 4
n_val = 1
n_test = 2
T_in = 3

[model]
name = "tiny_conv"
width = 4

[optim]
epochs = 2
steps_per_epoch = 3
batch_size = 2
lr = 1e-3

[physics]
lam = 0.25

[run]
out = "run"
device = "cpu"
tensorboard = false
"""

pytestmark = pytest.mark.slow


def pihamno(args: list[str], cwd: Path, pythonpath: str | None = None, expect: int = 0) -> str:
    """Run ``pihamno ARGS`` in ``cwd``; print the command and its output; check the exit status; return stdout+stderr."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIHAMNO_PLUGINS")}
    env |= {"OMP_NUM_THREADS": "1"} | ({"PYTHONPATH": pythonpath} if pythonpath else {})
    proc = subprocess.run([PIHAMNO, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    shown = " ".join(str(Path(a).relative_to(ROOT)) if a.startswith(str(ROOT)) else a for a in args)
    print(f"$ {'PYTHONPATH=SITE ' if pythonpath else ''}pihamno {shown}   [exit {proc.returncode}]")
    shown_lines = [line for line in (proc.stdout + proc.stderr).strip().splitlines() if "step/s" not in line]
    print("\n".join(f"  {line}" for line in shown_lines if line.strip()))  # progress bars left out
    assert proc.returncode == expect, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The plugin package installed into a temporary folder (built from a copy: the build writes into its source)."""
    tmp = tmp_path_factory.mktemp("plugin_package")
    shutil.copytree(PACKAGE, tmp / "src")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(tmp / "site"), str(tmp / "src")],
                   check=True, capture_output=True, timeout=300)
    assert (tmp / "site" / "conserved_ac" / "pde.py").is_file()
    return tmp / "site"


def train_evaluate_export(cwd: Path, pde: str, plugins: list[str], pythonpath: str | None = None) -> None:
    """check-data -> train -> evaluate -> export on ``cwd/data.h5`` with the plugins given (or installed)."""
    out = pihamno([*plugins, "check-data", "data.h5", "--quiet"], cwd, pythonpath)
    assert "=> all checks passed" in out and f" {pde} eps=" in out and "mass drift  ok" in out

    (cwd / "train.toml").write_text(TRAIN_TOML)
    out = pihamno([*plugins, "train", "--config", "train.toml"], cwd, pythonpath)
    assert "tiny_conv on cpu" in out and "physics loss (lambda = 0.25): assembled weak form" in out
    assert "done, 2 epochs / 6 steps" in out
    header, *rows = (cwd / "run" / "metrics.csv").read_text().splitlines()
    columns = dict(zip(header.split(","), rows[-1].split(",")))
    assert float(columns["weak"]) > 0 and float(columns["strong"]) > 0  # the plugin PDE's residuals were trained on

    out = pihamno([*plugins, "evaluate", "--checkpoint", "run/best.pt", "--data", "data.h5", "--out", "run/eval",
                   "--quiet"], cwd, pythonpath)
    assert "scored 2 trajectories" in out
    metrics = json.loads((cwd / "run" / "eval" / "metrics.json").read_text())
    assert math.isfinite(metrics["rollout"]["rel_l2_final"]["mean"])

    out = pihamno([*plugins, "export", "--rollout", "run/eval/rollout.h5", "--trajectory", "0", "--out", "vtk",
                   "--quiet"], cwd, pythonpath)
    assert f"pde {pde}" in out and (cwd / "vtk" / "rollout.pvd").is_file()
    assert len(list((cwd / "vtk").glob("rollout_*.vti"))) == 8


def test_an_installed_plugin_package_works_with_every_verb(site, tmp_path):
    out = pihamno(["generate", "--pde", "cac", "--n", "8", "--frames", "8", "--trajectories", "6", "--workers", "2",
                   "--out", "data.h5", "--quiet"], tmp_path, str(site))
    assert "wrote data.h5: 6 x 8 frames of 8^3 (cac, eps=0.1, L=2, dt=0.001" in out
    train_evaluate_export(tmp_path, "cac", [], str(site))

    # without the package the data and the checkpoint name what is missing and how to load it
    out = pihamno(["check-data", "data.h5", "--quiet"], tmp_path, expect=1)
    assert "unknown PDE 'cac'" in out and "--plugin MODULE_OR_FILE" in out and "install its package" in out
    out = pihamno(["evaluate", "--checkpoint", "run/best.pt", "--data", "data.h5", "--out", "e2"], tmp_path, expect=2)
    assert "unknown model 'tiny_conv'" in out and "--plugin" in out and len(out.strip().splitlines()) == 1

    # the package's initial-condition family, and its PDE's shipped config (composed, no file of its own)
    out = pihamno(["generate", "--pde", "cac", "--n", "8", "--frames", "3", "--ic", "slab", "--out", "slab.h5",
                   "--quiet"], tmp_path, str(site))
    assert "ic=slab" in out
    out = pihamno(["train", "--config", "cac_small", "--data", "data.h5", "--out", "small", "--epochs", "1",
                   "--set", "data.n_train=4", "--set", "data.n_val=1", "--set", "data.n_test=2", "--quiet"],
                  tmp_path, str(site))
    assert "done, 1 epochs / 10 steps" in out and (tmp_path / "small" / "best.pt").is_file()

    # the examples' whole recipe for the plugin PDE, with the PDE's own settings and no file of its own
    out = pihamno(["example", "cac", "--smoke", "--quiet", "--out", "example"], tmp_path, str(site))
    summary = json.loads((tmp_path / "example" / "summary.json").read_text())
    assert summary["title"] == "conserved Allen-Cahn" and summary["dataset"]["pde"] == "cac"
    assert [r["model"] for r in summary["models"]] == ["HAMNO", "PI-HAMNO"] and "PI-HAMNO    0.25" in out


def test_plugin_files_work_with_every_verb(tmp_path):
    plugins = ["--plugin", str(HEAT_FILE), "--plugin", str(MODEL_FILE)]
    out = pihamno([*plugins, "generate", "--pde", "heat", "--n", "8", "--frames", "8", "--trajectories", "6",
                   "--workers", "2", "--backend", "processes", "--out", "data.h5", "--quiet"], tmp_path)
    assert "wrote data.h5: 6 x 8 frames of 8^3 (heat," in out
    train_evaluate_export(tmp_path, "heat", plugins)

    # on Dask the file is shipped to the workers: the same trajectories
    out = pihamno([*plugins, "generate", "--pde", "heat", "--n", "8", "--frames", "8", "--trajectories", "2",
                   "--workers", "2", "--backend", "dask", "--out", "dask.h5", "--quiet"], tmp_path)
    import h5py

    with h5py.File(tmp_path / "data.h5") as a, h5py.File(tmp_path / "dask.h5") as b:
        assert (a["u"][:2] == b["u"][:]).all()

    # a plugin that fails to import: one line naming it, nothing written
    (tmp_path / "broken.py").write_text("import numpy\nraise RuntimeError('this plugin is broken')\n")
    out = pihamno(["--plugin", "broken.py", "generate", "--pde", "heat", "--out", "x.h5"], tmp_path, expect=2)
    assert out.strip() == "pihamno: error: plugin 'broken.py' failed to import: RuntimeError: this plugin is broken"
    assert not (tmp_path / "x.h5").exists()
