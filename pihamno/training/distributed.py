"""Multi-process training with ``torchrun`` (DistributedDataParallel) -- and the single-process default.

``torchrun --nproc_per_node=G -m pihamno train --config ...`` (one node) or ``torchrun --nnodes=N
--nproc_per_node=G --rdzv-backend=c10d --rdzv-endpoint=HOST:PORT ...`` (N nodes, docs/scaling.md) sets
``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; :func:`init_distributed` then starts the process group
(``nccl`` on CUDA, ``gloo`` on CPU) and puts rank r on ``cuda:LOCAL_RANK``. Without those variables
everything runs in one process and the helpers below are no-ops. Only rank 0 (:attr:`DistEnv.is_main`)
writes files or prints; decisions that read files are rank 0's, broadcast (:func:`on_main`).

What a run does not depend on: the world size. Every rank draws the same global batch of
``[optim] batch_size`` windows and trains on its share ``rank::world`` (the batch must be divisible by
the world size); DDP averages the gradients, so a step is the one a single process takes on the whole
batch, up to the order of floating-point sums. Hence a checkpoint continues under any world size
(``tests/test_ddp.py`` trains with torchrun on 2 ranks and resumes on 1, and the reverse).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from pihamno.device import resolve_device


@dataclass
class DistEnv:
    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def init_distributed(device_name: str | None) -> DistEnv:
    """Resolve the device and, under ``torchrun`` (``WORLD_SIZE`` > 1), join the process group."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = resolve_device(device_name)
    if world <= 1:
        return DistEnv(0, 1, device)
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return DistEnv(rank, world, device)


def all_reduce_sum(t: torch.Tensor, env: DistEnv) -> torch.Tensor:
    """Sum of ``t`` over ranks (in place; returned for chaining). A no-op in one process."""
    if env.enabled:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def broadcast_object(obj, env: DistEnv):
    """Rank 0's ``obj`` on every rank."""
    if not env.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def on_main(fn, env: DistEnv | None):
    """``fn()`` run on rank 0 only; its value -- or the exception it raised -- on every rank.

    For decisions that read files (resume or not, which checkpoint): every rank takes rank 0's, so ranks
    never part ways (one raising while the others wait in a collective), and only rank 0 reads the file.
    """
    if env is None or not env.enabled:
        return fn()
    box = None
    if env.is_main:
        try:
            box = ("value", fn())
        except Exception as exc:  # handed to every rank, raised there
            box = ("error", exc)
    kind, value = broadcast_object(box, env)
    if kind == "error":
        raise value
    return value


def barrier(env: DistEnv) -> None:
    if env.enabled:
        dist.barrier()


def shutdown(env: DistEnv) -> None:
    """Leave the process group (call it once every rank has passed its last collective, e.g. a :func:`barrier`).

    Objects that still hold the group (a DDP model kept alive by a reference cycle, e.g. the loss balance's
    all-reduce hook) are collected first, so none is torn down after the group it talks to.
    """
    if env.enabled and dist.is_initialized():
        import gc

        gc.collect()
        dist.destroy_process_group()
