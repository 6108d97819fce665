"""DDP on CPU: two processes with the gloo backend train the same run as one process would.

The workers go through the real torchrun path (RANK / WORLD_SIZE / MASTER_* in the environment ->
``init_distributed`` -> DistributedDataParallel), spawned with torch.multiprocessing.
"""

import csv
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp
from test_training import decay_data, make_config, make_trainer, register_test_model, write_dataset

# pushforward with gradients through the unroll: several DDP forwards before one backward
OVER = {"optim.epochs": 2, "optim.steps_per_epoch": 3, "optim.batch_size": 4, "data.n_val": 2,
        "run.pushforward": 1, "run.pushforward_detach": "false"}


def _worker(rank: int, world: int, port: int, tmp_path, data: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    register_test_model()
    from pihamno.training.distributed import shutdown

    cfg = make_config(tmp_path / "ddp", data, **OVER)
    tr = make_trainer(cfg)
    assert tr.env.world == world and tr.env.rank == rank and tr.val_trajs.shape[0] == 1  # validation sharded
    res = tr.fit()
    torch.save({"state": tr.model.state_dict(), "best": res["best"]["score"]}, tmp_path / f"rank{rank}.pt")
    shutdown(tr.env)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_ddp_gloo_two_ranks_agree_with_one_process(tmp_path, monkeypatch):
    register_test_model(monkeypatch)
    data = write_dataset(tmp_path / "d.h5", decay_data())
    mp.spawn(_worker, args=(2, _free_port(), tmp_path, data), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    for k, v in r0["state"].items():
        assert torch.equal(v, r1["state"][k]), k  # ranks agree exactly
    assert r0["best"] == r1["best"]  # the all-reduced validation score
    rows = list(csv.DictReader(open(tmp_path / "ddp" / "run" / "metrics.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2"]  # only rank 0 wrote
    # the same global batches in one process give the same weights up to reduction order
    single = make_trainer(make_config(tmp_path / "one", data, **OVER))
    res = single.fit()
    for k, v in single.model.state_dict().items():
        torch.testing.assert_close(v, r0["state"][k], rtol=1e-5, atol=1e-6)
    assert res["best"]["score"] == pytest.approx(r0["best"], rel=1e-5)
