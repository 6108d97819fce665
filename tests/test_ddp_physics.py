"""DDP on CPU with the physics loss: the balance's running means are averaged over ranks (so every rank scales
its terms alike and rank 0's checkpoint resumes all of them), the gradient share is measured on the DDP graph,
and unrolled and unlabeled windows are sharded like the labeled ones. Two gloo ranks must agree
exactly and match one process up to reduction order (as tests/test_ddp.py for lambda = 0)."""

import csv
import os

import pytest
import torch
import torch.multiprocessing as mp
from test_ddp import _free_port
from test_training import decay_data, make_config, make_trainer, register_test_model, write_dataset


def _over(unlabeled: str) -> dict:
    return {"optim.epochs": 2, "optim.steps_per_epoch": 3, "optim.batch_size": 4, "data.n_val": 2,
            "physics.lam": 0.25, "physics.unroll": 1, "physics.unroll_detach": "false", "run.log_every": 1,
            "data.unlabeled": f'"{unlabeled}"', "physics.unlabeled_batch": 2}


def _worker(rank: int, world: int, port: int, tmp_path, data: str, unlabeled: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    register_test_model()
    from pihamno.training.distributed import shutdown

    tr = make_trainer(make_config(tmp_path / "ddp", data, **_over(unlabeled)))
    tr.fit()
    torch.save({"state": tr.model.state_dict(), "means": tr.objective.balance.means}, tmp_path / f"rank{rank}.pt")
    shutdown(tr.env)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_ddp_with_balance_unroll_and_pool_agrees_with_one_process(tmp_path, monkeypatch):
    register_test_model(monkeypatch)
    data = write_dataset(tmp_path / "d.h5", decay_data())
    unlabeled = write_dataset(tmp_path / "pool.h5", decay_data(n_traj=4, frames=5, seed=3))
    mp.spawn(_worker, args=(2, _free_port(), tmp_path, data, unlabeled), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    for k, v in r0["state"].items():
        assert torch.equal(v, r1["state"][k]), k
    assert torch.equal(r0["means"], r1["means"])  # one balance for all ranks
    single = make_trainer(make_config(tmp_path / "one", data, **_over(unlabeled)))
    single.fit()
    for k, v in single.model.state_dict().items():
        torch.testing.assert_close(v, r0["state"][k], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(single.objective.balance.means, r0["means"], rtol=1e-5, atol=0)
    ddp = list(csv.DictReader(open(tmp_path / "ddp" / "run" / "steps.csv")))
    one = list(csv.DictReader(open(tmp_path / "one" / "run" / "steps.csv")))
    assert len(ddp) == len(one) == 6
    for a, b in zip(ddp, one):
        for key in ("share_physics", "grad_share", "grad_physics"):
            assert float(a[key]) == pytest.approx(float(b[key]), rel=1e-4), key
