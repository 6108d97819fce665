"""Training: splits and windows, the objective, overfitting, exact resume, the NaN guard, checkpoints.

Synthetic data: "decay" trajectories u_{f+1} = A u_f of smooth random fields (n = 6, 12 frames), learnt by
a linear model over the T_in input frames (exact when its last weight is A and the others 0).
"""

import csv
import math

import h5py
import numpy as np
import pytest
import torch
from tiny_runs import tiny_run_toml

from pihamno.config import load_config
from pihamno.errors import InputError
from pihamno.training.windows import WindowSampler, gather_windows, split_trajectories

A = 0.9
T_IN = 5


# ----------------------------------------------------------------------------- stand-ins and helpers
class LinearStep(torch.nn.Module):
    """u_next = sum_t w_t u_t + b: (B, T_in, n, n, n) -> (B, 1, n, n, n). Exact for the decay data.

    Carries ``name`` and ``config`` like the registered models (see :func:`register_test_model`).
    """

    name = "linear_step"

    def __init__(self, T_in: int = T_IN, init: str = "random"):
        super().__init__()
        self.config = {"T_in": int(T_in)}
        self.w = torch.nn.Parameter(torch.zeros(T_in) if init == "exact" else 0.3 * torch.randn(T_in))
        self.b = torch.nn.Parameter(torch.zeros(()))
        if init == "exact":
            with torch.no_grad():
                self.w[-1] = A

    def forward(self, x):
        return torch.einsum("btijk,t->bijk", x, self.w)[:, None] + self.b


def write_dataset(path, u: np.ndarray, **attrs) -> str:
    """Synthetic dataset in the pihamno.data layout: ``u`` (trajectories, frames, n, n, n) + attributes."""
    meta = dict(pde="ac", eps=0.1, L=2.0, n=u.shape[-1], dt=1e-4, substeps=1, split="kuhn") | attrs
    with h5py.File(path, "w") as f:
        f.create_dataset("u", data=u.astype(np.float32), chunks=(1,) + u.shape[1:])
        f.attrs.update(meta)
    return str(path)


def decay_data(n_traj=8, frames=12, n=6, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.linspace(0, np.pi, n)
    X, Y, Z = np.meshgrid(x, x, x, indexing="ij")
    u0 = np.stack([np.cos(rng.integers(0, 3) * X) * np.cos(rng.integers(0, 3) * Y) + rng.normal() * np.cos(Z)
                   + 0.5 for _ in range(n_traj)])
    return np.stack([u0 * A**f for f in range(frames)], axis=1)


def register_test_model(monkeypatch=None):
    """Put :class:`LinearStep` into the model registry, so checkpoints of it save and rebuild like any model
    (until the test ends when ``monkeypatch`` is given, else for the whole process, e.g. in a spawned DDP worker)."""
    from pihamno.models import register_model, registry

    if monkeypatch is None:
        register_model(LinearStep)
    else:  # checked like any model, then put into the registry's dict so that the test's teardown removes it
        registry._check_class(LinearStep, LinearStep.name)
        monkeypatch.setitem(registry._MODELS, LinearStep.name, LinearStep)


@pytest.fixture(autouse=True)
def _test_model(monkeypatch):
    register_test_model(monkeypatch)


def make_config(tmp_path, data, **over):
    """A tiny CPU config; ``over`` maps "section.key" -> TOML literal text."""
    base = {"data.path": f'"{data}"', "data.n_train": 6, "data.n_val": 1, "data.n_test": 2,
            "optim.epochs": 3, "optim.steps_per_epoch": 4, "optim.batch_size": 4, "optim.lr": 5e-2,
            "run.out": f'"{tmp_path / "run"}"', "run.device": '"cpu"', "run.tensorboard": "false",
            "run.seed": 3, "model.name": '"linear_step"'}
    base |= over
    return load_config(overrides=[f"{k}={v}" for k, v in base.items()])


def make_trainer(cfg, model=None, resume=None, quiet=True, **kw):
    """The trainer :func:`pihamno.training.train` would run (continuing the checkpoint ``resume``), config.toml written."""
    from pihamno.training.run import build_trainer, write_run_config
    from pihamno.training.run_state import load_training_checkpoint

    torch.manual_seed(cfg.run.seed)
    state = load_training_checkpoint(resume) if resume is not None else None
    model = model if model is not None else LinearStep(cfg.data.T_in)
    trainer = build_trainer(cfg, state=state, checkpoint=resume, model=model, quiet=quiet, **kw)
    write_run_config(trainer, cfg)
    return trainer


# ----------------------------------------------------------------------------- splits and windows
def test_split_is_by_trajectory_and_stable():
    s = split_trajectories(20, 8, 2, 5, seed=1)
    assert [len(s[k]) for k in ("train", "val", "test")] == [6, 2, 5]
    allidx = np.concatenate(list(s.values()))
    assert len(set(allidx.tolist())) == 13 and allidx.max() < 20
    again = split_trajectories(20, 12, 4, 5, seed=1)
    assert np.array_equal(again["test"], s["test"])  # the test split does not depend on n_train / n_val
    assert set(again["val"]) | set(again["train"]) >= set(s["val"]) | set(s["train"])
    with pytest.raises(InputError, match="has 20 trajectories but n_train \\+ n_test = 18 \\+ 5"):
        split_trajectories(20, 18, 2, 5, seed=1)


def test_windows_stay_in_training_trajectories_and_frame_cap(tmp_path):
    n_traj, frames = 10, 15
    # every value encodes (trajectory, frame): u[t, f] = 100 t + f
    u = (100.0 * np.arange(n_traj)[:, None] + np.arange(frames)[None, :])[:, :, None, None, None] * np.ones((1, 1, 2, 2, 2))
    data = write_dataset(tmp_path / "code.h5", u)
    cfg = make_config(tmp_path, data, **{"data.n_train": 6, "data.n_val": 2, "data.n_test": 3,
                                         "data.train_frames": 9, "run.pushforward": 1})
    tr = make_trainer(cfg)
    train_ids = set(tr.subsets["train"].tolist())
    assert not train_ids & set(tr.subsets["val"].tolist()) and not train_ids & set(tr.subsets["test"].tolist())
    seen = set()
    for _ in range(200):
        traj, start = tr.sampler.draw(8)
        win = gather_windows(tr.train_trajs, traj, start, tr.span)[..., 0, 0, 0].numpy()  # (B, span)
        t_id, f_id = np.round(win // 100).astype(int), np.round(win % 100).astype(int)
        assert set(t_id.ravel()) <= train_ids
        assert (t_id == t_id[:, :1]).all()  # a window never crosses trajectories
        assert (np.diff(f_id, axis=1) == 1).all() and f_id.max() < 9  # consecutive, inside the cap
        seen |= {(a, b) for a, b in zip(t_id[:, 0], f_id[:, 0])}
    assert tr.span == T_IN + 2
    assert seen == {(t, s) for t in train_ids for s in range(9 - tr.span + 1)}  # every window is drawn


def test_sampler_shards_the_global_batch():
    full = WindowSampler(5, 10, 6, seed=4).draw(8)
    a, b = WindowSampler(5, 10, 6, seed=4), WindowSampler(5, 10, 6, seed=4)
    for rank, s in enumerate((a, b)):
        t, st = s.draw(8, rank, 2)
        assert torch.equal(t, full[0][rank::2]) and torch.equal(st, full[1][rank::2])


# ----------------------------------------------------------------------------- objective
class StubPhysics:
    """Stands in for pihamno.physics.PhysicsLoss: strong = mean (u_next - A u_prev)^2, weak = 2 strong."""

    def __init__(self):
        self.calls = 0

    def __call__(self, u_prev, u_next):
        self.calls += 1
        s = torch.mean((u_next - A * u_prev) ** 2)
        return {"strong": s, "weak": 2 * s}


def test_objective_weights_the_terms_as_the_design_says():
    """docs/design.md section 5.5 without a balance: (1 - lam) L_data + lam (w_strong L_strong + w_weak L_weak);
    lam = 0 is the data loss itself, lam = 1 the physics terms alone, lam outside [0, 1] is refused."""
    from pihamno.training.losses import Objective

    true = torch.zeros(1, 2, 2, 2)
    pred = true + math.sqrt(2.0)  # L_data = mse = 2
    phys = lambda prev, nxt: {"strong": torch.tensor(4.0), "weak": torch.tensor(8.0)}  # noqa: E731
    assert Objective(0.0, 1.0, 1.0, "mse")(true, pred, true)[0].item() == pytest.approx(2.0, rel=1e-6)
    assert Objective(0.25, 0.5, 0.25, "mse", phys)(true, pred, true)[0].item() == pytest.approx(0.75 * 2 + 0.25 * (2 + 2))
    assert Objective(1.0, 1.0, 1.0, "mse", phys)(true, pred, true)[0].item() == pytest.approx(12.0)
    with pytest.raises(InputError, match="lambda must lie in"):
        Objective(1.5, 1.0, 1.0, "mse", phys)


def test_objective_combination_and_lambda_zero():
    from types import SimpleNamespace

    from pihamno.config import build_physics
    from pihamno.training.losses import Objective

    prev, true = torch.rand(2, 3, 3, 3), torch.rand(2, 3, 3, 3)
    pred = true + 0.1
    phys = StubPhysics()
    loss, parts = Objective(0.25, 0.02, 0.04, "mse", phys)(prev, pred, true)
    strong = torch.mean((pred - A * prev) ** 2)
    expect = 0.75 * 0.01 + 0.25 * (0.02 * strong + 0.04 * 2 * strong)
    assert torch.allclose(loss, expect) and torch.allclose(parts["data"], torch.tensor(0.01))
    # lam = 0: no physics object is built, none is called
    assert build_physics(SimpleNamespace(physics=SimpleNamespace(lam=0.0)), None, 8, torch.device("cpu")) is None
    loss0, parts0 = Objective(0.0, 1.0, 1.0, "mse", None)(prev, pred, true)
    assert torch.allclose(loss0, torch.tensor(0.01)) and parts0["strong"] == 0
    rel = Objective(0.0, 1.0, 1.0, "rel_l2")(prev, pred, true)[0]
    assert torch.allclose(rel, torch.mean(0.1 * math.sqrt(27) / true.flatten(1).norm(dim=1)))
    with pytest.raises(InputError, match="needs a physics loss object"):
        Objective(0.5, 1.0, 1.0)


def test_physics_term_trains_with_stub(tmp_path):
    data = write_dataset(tmp_path / "d.h5", decay_data())
    phys = StubPhysics()
    cfg = make_config(tmp_path, data, **{"physics.lam": 1.0, "physics.w_strong": 1.0, "physics.w_weak": 1.0,
                                         "optim.epochs": 4, "optim.steps_per_epoch": 10})
    res = make_trainer(cfg, physics=phys).fit()
    assert phys.calls == 40
    rows = list(csv.DictReader(open(tmp_path / "run" / "metrics.csv")))
    assert float(rows[-1]["strong"]) < 0.05 * float(rows[0]["strong"]) and res["best"]["epoch"] >= 1


# ----------------------------------------------------------------------------- training runs
def test_tiny_model_overfits(tmp_path):
    data = write_dataset(tmp_path / "d.h5", decay_data())
    cfg = make_config(tmp_path, data, **{"optim.epochs": 8, "optim.steps_per_epoch": 10, "optim.lr": 3e-2,
                                         "run.tensorboard": "true"})
    res = make_trainer(cfg).fit()
    try:
        import torch.utils.tensorboard  # noqa: F401
    except ImportError:  # optional: only metrics.csv then
        pass
    else:
        assert any((tmp_path / "run" / "tensorboard").iterdir())
    rows = list(csv.DictReader(open(tmp_path / "run" / "metrics.csv")))
    first, last = float(rows[0]["loss"]), float(rows[-1]["loss"])
    assert len(rows) == 8 and last < first / 100, (first, last)  # the loss goes down by more than 100x
    assert res["best"]["score"] < 0.05  # validation rollout rel-L2 of the unseen trajectory
    for name in ("last.pt", "best.pt", "config.toml", "metrics.csv"):
        assert (tmp_path / "run" / name).is_file()


def test_checkpoint_loads_weights_only_and_holds_state(tmp_path):
    data = write_dataset(tmp_path / "d.h5", decay_data())
    cfg = make_config(tmp_path, data)
    make_trainer(cfg).fit()
    p = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert p["format"] == "pihamno-train/1" and p["epoch"] == 3 and p["step"] == 12
    assert isinstance(p["rng"]["torch"], torch.Tensor) and isinstance(p["rng"]["sampler"], torch.Tensor)
    assert p["config"]["optim"]["epochs"] == 3 and p["T_in"] == T_IN
    assert sorted(p["split"]) == ["test", "train", "val"] and len(p["split"]["train"]) == 5
    assert p["processor"]["kind"] == "none" and p["data"]["meta"]["pde"] == "ac"
    best = torch.load(tmp_path / "run" / "best.pt", weights_only=True)
    assert best["best"]["epoch"] == best["epoch"] and best["best"]["score"] == p["best"]["score"]
    # the run folder's config.toml reproduces the config
    assert load_config(tmp_path / "run" / "config.toml") == cfg


def test_resume_after_kill_is_exact(tmp_path, monkeypatch):
    from pihamno.training.trainer import Trainer

    data = write_dataset(tmp_path / "d.h5", decay_data())
    over = {"optim.epochs": 4, "optim.warmup_steps": 3, "data.normalize": '"standard"'}
    full = make_trainer(make_config(tmp_path / "a", data, **over))
    full.fit()

    cfg = make_config(tmp_path / "b", data, **over)
    real_save = Trainer._save

    def save_then_die(self, name):
        real_save(self, name)
        if name == "last.pt" and self.epoch == 2:
            raise KeyboardInterrupt  # the job is killed right after epoch 2's checkpoint

    monkeypatch.setattr(Trainer, "_save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        make_trainer(cfg).fit()
    monkeypatch.setattr(Trainer, "_save", real_save)
    resumed = make_trainer(cfg, resume=tmp_path / "b" / "run" / "last.pt")
    assert resumed.epoch == 2 and resumed.step == 8
    resumed.fit()
    for k, v in full.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k
    rows_a = list(csv.DictReader(open(tmp_path / "a" / "run" / "metrics.csv")))
    rows_b = list(csv.DictReader(open(tmp_path / "b" / "run" / "metrics.csv")))
    drop = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert drop(rows_a) == drop(rows_b) and len(rows_b) == 4
    # a resume may not change what is learned
    with pytest.raises(InputError, match="cannot resume with a different optim.lr"):
        bad = make_config(tmp_path / "b", data, **over, **{"optim.lr": 1e-3})
        make_trainer(bad, resume=tmp_path / "b" / "run" / "last.pt")


def test_nan_guard_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    from pihamno.errors import TrainingDiverged
    from pihamno.training.trainer import Trainer

    data = write_dataset(tmp_path / "d.h5", decay_data())
    tr = make_trainer(make_config(tmp_path, data))
    real_step = Trainer.train_step

    def poisoned(self):
        if self.epoch == 1 and self.step == 6:
            with torch.no_grad():
                self.model.b.fill_(float("nan"))
        return real_step(self)

    monkeypatch.setattr(Trainer, "train_step", poisoned)
    with pytest.raises(TrainingDiverged, match=r"non-finite loss \(nan.*epoch 2, step 7.*last good checkpoint is"):
        tr.fit()
    p = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert p["epoch"] == 1 and all(torch.isfinite(v).all() for v in p["state_dict"].values())


def test_pushforward_unrolls_before_the_loss(tmp_path):
    data = write_dataset(tmp_path / "d.h5", decay_data())
    win = torch.from_numpy(decay_data(2, 12)[:, :T_IN + 3]).float()
    for detach in ("true", "false"):
        tr = make_trainer(make_config(tmp_path, data, **{"run.pushforward": 2, "run.pushforward_detach": detach}),
                          model=LinearStep(init="exact"))
        loss, parts = tr.loss_on(win)
        assert float(loss.detach()) < 1e-10  # an exact model stays exact over the unroll
    grads = {}
    for detach in ("true", "false"):
        model = LinearStep(init="exact")
        with torch.no_grad():
            model.w[-1] = 0.8
        tr = make_trainer(make_config(tmp_path, data, **{"run.pushforward": 2, "run.pushforward_detach": detach}),
                          model=model)
        tr.loss_on(win)[0].backward()
        grads[detach] = model.w.grad.clone()
    assert not torch.allclose(grads["true"], grads["false"])  # gradients flow through the unroll only when asked


def test_bf16_and_compile_are_ignored_on_cpu(tmp_path):
    data = write_dataset(tmp_path / "d.h5", decay_data())
    cfg = make_config(tmp_path, data, **{"run.bf16": "true", "run.compile": "true", "optim.epochs": 1})
    with pytest.warns(UserWarning, match="acts on CUDA only"):
        tr = make_trainer(cfg, quiet=False)
    assert tr.bf16 is False and tr.compile is False
    tr.quiet = True
    tr.fit()
    assert "bf16 = false" in (tmp_path / "run" / "config.toml").read_text().splitlines()[0]


def test_bad_inputs_are_one_line_errors(tmp_path):
    data = write_dataset(tmp_path / "d.h5", decay_data(n_traj=4))
    with pytest.raises(InputError, match="has 4 trajectories but n_train \\+ n_test = 6 \\+ 2"):
        make_trainer(make_config(tmp_path, data))
    with pytest.raises(InputError, match="no dataset given"):
        make_trainer(make_config(tmp_path, "", **{"data.path": '""'}))
    with pytest.raises(InputError, match="divisible"):
        from pihamno.training.distributed import DistEnv

        make_trainer(make_config(tmp_path, data, **{"optim.batch_size": 3, "data.n_train": 2, "data.n_test": 1}),
                     env=DistEnv(0, 2, torch.device("cpu")))


# ----------------------------------------------------------------------------- end to end, real components


@pytest.fixture
def one_thread():
    """Tiny 3D convolutions run as fast on one thread as on two on an idle machine, and far faster on a busy one."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
def test_end_to_end_generate_train_resume_evaluate(tmp_path, capsys, one_thread):
    """pihamno.data.generate -> `pihamno train` (tiny HAMNO, real PhysicsLoss) -> `--resume` -> `pihamno evaluate`."""
    import json

    from fem.schemes import preset
    from pihamno.cli import main
    from pihamno.data import DatasetSpec, generate

    data = generate(DatasetSpec(params=preset("ac"), n=8, frames=9, trajectories=7, seed=1), tmp_path / "ac.h5",
                    progress=False)
    run = tmp_path / "run"
    cfg = tmp_path / "c.toml"
    cfg.write_text(tiny_run_toml(data, run, steps_per_epoch=3, lam=0.25))
    assert main(["train", "--config", str(cfg)]) == 0
    assert main(["train", "--resume", str(run), "--epochs", "2"]) == 0
    p = torch.load(run / "last.pt", weights_only=True)
    assert p["epoch"] == 2 and p["step"] == 6 and p["model_name"] == "hamno" and p["config"]["physics"]["lam"] == 0.25
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2"] and all(float(r["weak"]) > 0 for r in rows)
    assert main(["evaluate", "--checkpoint", str(run / "best.pt"), "--data", str(data), "--out", str(run / "eval"),
                 "--device", "cpu"]) == 0
    m = json.loads((run / "eval" / "metrics.json").read_text())
    assert m["selection"] == "test" and m["trajectories"] == p["split"]["test"] and m["model"] == "hamno"
    assert m["frames"] == 9 and math.isfinite(m["rollout"]["rel_l2_final"]["mean"]) and "energy" in m
    # an out-of-distribution set is just another file: all of its trajectories by default
    ood = generate(DatasetSpec(params=preset("ac"), n=8, frames=9, trajectories=2, ic_family="sphere"),
                   tmp_path / "ood.h5", progress=False)
    assert main(["evaluate", "--checkpoint", str(run / "last.pt"), "--data", str(ood), "--out", str(run / "ood")]) == 0
    m = json.loads((run / "ood" / "metrics.json").read_text())
    assert m["selection"] == "all" and m["trajectories"] == [0, 1]
    capsys.readouterr()
    # user errors: one line, exit status 2
    assert main(["train", "--config", str(cfg), "--set", "optim.lrr=1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown key 'lrr' (did you mean 'lr'?) in section [optim]" in err
    assert main(["train", "--resume", str(run), "--set", "optim.lr=0.5"]) == 2
    assert "cannot resume with a different optim.lr" in capsys.readouterr().err
    assert main(["train", "--config", str(cfg)]) == 2  # a fresh run never overwrites another silently
    assert "already holds last.pt; pass --resume" in capsys.readouterr().err
