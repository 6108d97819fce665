"""DDP on CPU (gloo): two processes train the run one process would, and a run continues under another
world size.

* ``torchrun`` itself (``python -m torch.distributed.run --standalone --nproc_per_node 2 -m pihamno train``,
  a subprocess) trains a tiny HAMNO with the physics loss on 2 ranks; its ``metrics.csv`` (written by rank 0
  only) is the loss curve of one process with the same global batch, and its checkpoint, continued by one
  process, goes on like the single-process run's.
* In-process groups (``torch.multiprocessing.spawn``, the environment torchrun sets): a one-process checkpoint
  resumed by 2 ranks; rank 0's decisions reach every rank (:func:`pihamno.training.distributed.on_main`).
"""

import csv
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from test_training import LinearStep, decay_data, make_config, register_test_model, write_dataset

from pihamno.config import load_config
from pihamno.errors import InputError
from pihamno.training import train

ROOT = Path(__file__).resolve().parents[1]
CURVE = ("step", "lr", "loss", "data", "strong", "weak", "grad_norm", "val_score", "best")


def rows(run) -> list[dict]:
    with open(Path(run) / "metrics.csv") as f:
        return list(csv.DictReader(f))


def assert_same_curve(a: list[dict], b: list[dict]) -> None:
    """Equal epochs and, column by column, values equal to float tolerance (the CSV keeps 6 digits)."""
    assert [r["epoch"] for r in a] == [r["epoch"] for r in b]
    for ra, rb in zip(a, b):
        for k in CURVE:
            if ra[k] == "" or rb[k] == "":
                assert ra[k] == rb[k], (ra["epoch"], k)
            else:
                assert float(ra[k]) == pytest.approx(float(rb[k]), rel=2e-5, abs=1e-7), (ra["epoch"], k)


# --------------------------------------------------------------------------------------------- torchrun
TINY = """
[data]
path = "{data}"
n_train = 6
n_val = 2
n_test = 2
T_in = 2
[model]
name = "hamno"
width = 2
modes = 2
n_layers = 1
expansion = 1
width_q = 4
[optim]
lr = 1e-2
epochs = 3
steps_per_epoch = 3
batch_size = 4
[physics]
lam = 0.25
[run]
device = "cpu"
tensorboard = false
seed = 1
"""


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_torchrun_two_ranks_follow_one_process_and_resume_on_one(tmp_path):
    from fem.schemes import preset
    from pihamno.data import DatasetSpec, generate

    data = generate(DatasetSpec(params=preset("ac"), n=8, frames=8, trajectories=10, seed=2),
                    tmp_path / "ac.h5", progress=False)
    config = tmp_path / "tiny.toml"
    config.write_text(TINY.format(data=data))

    # one process, 3 epochs
    one = tmp_path / "one"
    train(load_config(config, [f'run.out="{one}"']), quiet=True)

    # torchrun: 2 ranks, the same run
    two = tmp_path / "two"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "pihamno", "train", "--config", str(config), "--out", str(two)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "on cpu (x2)" in proc.stderr and proc.stdout.count("pihamno train: done, 3 epochs / 9 steps") == 1
    assert sorted(p.name for p in two.iterdir()) == ["best.pt", "config.toml", "last.pt", "metrics.csv", "steps.csv"]
    assert "world size 2" in (two / "config.toml").read_text().splitlines()[0]
    assert torch.load(two / "last.pt", weights_only=True)["world_size"] == 2
    assert_same_curve(rows(two), rows(one))  # rank 0 wrote one row per epoch, the single process's curve

    # both continued by one process for a fourth epoch: the 2-rank checkpoint resumes like the 1-rank one
    for run in (one, two):
        res = train(load_config(config, [f'run.out="{run}"', "optim.epochs=4"]), resume="auto", quiet=True)
        assert res.status == "resumed" and res.start_epoch == 3 and res.epoch == 4
    assert_same_curve(rows(two), rows(one))
    a = torch.load(one / "last.pt", weights_only=True)["state_dict"]
    b = torch.load(two / "last.pt", weights_only=True)["state_dict"]
    for k, v in a.items():
        torch.testing.assert_close(b[k], v, rtol=1e-4, atol=1e-5)  # 12 AdamW steps of float32 sums


# --------------------------------------------------------------------------------------------- in-process groups
# pushforward with gradients through the unroll: several DDP forwards before one backward
OVER = {"optim.epochs": 2, "optim.steps_per_epoch": 3, "optim.batch_size": 4, "data.n_val": 2,
        "run.pushforward": 1, "run.pushforward_detach": "false"}


def _worker(rank: int, world: int, port: int, tmp_path, data: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    register_test_model()
    from pihamno.training.distributed import init_distributed, on_main, shutdown
    from pihamno.training.run import load_training_data

    env = init_distributed("cpu")
    try:
        assert (env.rank, env.world) == (rank, world)
        with pytest.raises(ZeroDivisionError):  # rank 0's exception, raised on every rank
            on_main(lambda: 1 / (rank - 0), env)
        assert on_main(lambda: rank + 7, env) == 7  # rank 0's value on every rank
        cfg = make_config(tmp_path / "ddp", data, **OVER)
        assert load_training_data(cfg, rank, world).val.shape[0] == 1  # validation sharded
        with pytest.raises(InputError, match="already holds last.pt"):  # every rank refuses, none hangs
            train(cfg, env=env, model=LinearStep(), quiet=True)
        model = LinearStep()
        res = train(cfg, resume="auto", env=env, model=model, quiet=True)  # the 1-process checkpoint, on 2 ranks
        assert res.status == "resumed" and res.start_epoch == 1
        torch.save({"state": model.state_dict(), "best": res.best["score"]}, tmp_path / f"rank{rank}.pt")
    finally:
        shutdown(env)


def fresh_model(seed: int = 3) -> LinearStep:
    """The same random initial weights every time."""
    torch.manual_seed(seed)
    return LinearStep()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_ddp_gloo_two_ranks_continue_a_one_process_run(tmp_path, monkeypatch):
    register_test_model(monkeypatch)
    data = write_dataset(tmp_path / "d.h5", decay_data())
    first = train(make_config(tmp_path / "ddp", data, **(OVER | {"optim.epochs": 1})), model=fresh_model(), quiet=True)
    assert first.epoch == 1
    shutil.copytree(tmp_path / "ddp", tmp_path / "one")  # the same 1-process checkpoint, to continue on 1 process
    mp.spawn(_worker, args=(2, _free_port(), tmp_path, data), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    for k, v in r0["state"].items():
        assert torch.equal(v, r1["state"][k]), k  # ranks agree exactly
    assert r0["best"] == r1["best"]  # the all-reduced validation score
    # continued by one process instead: the same curve, the same weights up to reduction order
    model = fresh_model()
    single = train(make_config(tmp_path / "one", data, **OVER), resume="auto", model=model, quiet=True)
    assert_same_curve(rows(tmp_path / "ddp" / "run"), rows(tmp_path / "one" / "run"))  # rank 0 wrote each row once
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, r0["state"][k], rtol=1e-5, atol=1e-6)
    assert single.best["score"] == pytest.approx(r0["best"], rel=1e-5)
