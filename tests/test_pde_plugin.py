"""A fourth PDE registered from one file outside the package (tests/plugins/heat_equation.py) runs through the
whole pipeline: generate -> check-data passes -> the weak physics loss vanishes on its own data -> one
training step. Also: the registry's refusals."""

import importlib
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from fem import InputError
from fem.pde import PDE, get_pde, pde_names, register_pde, unregister_pde

PLUGINS = str(Path(__file__).resolve().parent / "plugins")


@pytest.fixture(scope="module")
def heat():
    """Import the plugin module (it registers "heat" as a side effect, like any plugin would); undo it after."""
    sys.path.insert(0, PLUGINS)  # importable, also in the spawned workers of generate
    module = importlib.import_module("heat_equation")
    yield module
    unregister_pde("heat")
    sys.modules.pop("heat_equation", None)
    sys.path.remove(PLUGINS)
    assert "heat" not in pde_names()


@pytest.fixture(scope="module")
def dataset(heat, tmp_path_factory):
    from fem.schemes import preset
    from pihamno.data import DatasetSpec, generate

    spec = DatasetSpec(params=preset("heat"), n=8, frames=6, trajectories=4, seed=3)
    path = generate(spec, tmp_path_factory.mktemp("heat") / "heat.h5", workers=2, progress=False)  # plugin in workers
    return spec, path


def train_one_step(data_path, out: Path, monkeypatch) -> dict:
    """One optimiser step of a tiny linear model with the heat PDE's physics loss in the objective.

    The config is built in Python; :func:`pihamno.training.build_trainer` turns it into the trainer.
    """
    from test_training import LinearStep, register_test_model

    from pihamno.config import from_dict
    from pihamno.training import build_trainer

    register_test_model(monkeypatch)
    cfg = from_dict({
        "data": {"path": str(data_path), "n_train": 3, "n_val": 1, "n_test": 1, "T_in": 2},
        "model": {"name": "linear_step"},
        "optim": {"epochs": 1, "steps_per_epoch": 1, "batch_size": 2, "lr": 1e-2},
        "physics": {"lam": 0.5, "w_strong": 1.0, "w_weak": 1.0},
        "run": {"out": str(out), "device": "cpu", "tensorboard": False},
    })
    model = LinearStep(cfg.data.T_in)
    before = [p.detach().clone() for p in model.parameters()]
    trainer = build_trainer(cfg, model=model, quiet=True)
    assert trainer.objective.physics.params.pde == "heat"
    parts = trainer.train_step()
    changed = any(not torch.equal(a, b.detach()) for a, b in zip(before, model.parameters(), strict=True))
    return {k: float(v) for k, v in parts.items()} | {"changed": changed}


def test_the_plugin_registers_a_fourth_pde(heat):
    assert pde_names()[:3] == ("ac", "ch", "sh") and "heat" in pde_names()
    pde = get_pde("heat")
    assert isinstance(pde, heat.HeatEquation) and pde.conserves_mass and pde.title == "heat equation"
    from fem.schemes import PDES, PRESETS, preset

    p = preset("heat", dt=0.05)
    assert p.equation is pde and p.S == 0.0 and p.scheme == "imex-stab-v1/heat/lumped"
    assert "heat" in PDES and PRESETS["heat"] == dict(pde="heat", eps=0.1, L=2.0, dt=1e-2)


def test_the_scheme_is_the_heat_equation(heat):
    """Written out with dense matrices; the step matrix is SPD with the documented diagonal and symbol."""
    from fem import assemble, cube_mesh
    from fem.energy import energy_gradient
    from fem.schemes import SchemeOperators, explicit_residual, preset, residual, stability_bound, step_diagonal, step_operator

    p = preset("heat", dt=0.2, substeps=2, S=0.3)
    fops = assemble(cube_mesh(4, p.L))
    ops = SchemeOperators.from_fem(fops)
    rng = np.random.default_rng(0)
    u0, u1 = rng.standard_normal((64, 2)), rng.standard_normal((64, 2))
    ML, K = np.diag(fops.lumped), fops.K.toarray()
    expected = ML @ (u1 - u0) * (1 / 0.1 + 0.3) + p.eps * K @ u1
    np.testing.assert_allclose(residual(p, ops, u0, u1), expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max())
    A = step_operator(p, ops, np.eye(64))
    assert np.linalg.eigvalsh(A).min() > 0
    np.testing.assert_allclose(step_diagonal(p, fops), np.diag(A), rtol=1e-13)
    np.testing.assert_allclose(explicit_residual(p, ops, u0), energy_gradient(p, ops, u0), rtol=1e-13)
    assert stability_bound(p) == math.inf


def test_generate_check_physics_and_train(heat, dataset, tmp_path, monkeypatch):
    from fem.assembly import assemble
    from fem.schemes import PDEParams
    from fem.solvers import simulate
    from pihamno.data import load_trajectories, read_description, read_metadata
    from pihamno.data.checks import check_dataset
    from pihamno.data.initial_conditions import sample, trajectory_rng
    from pihamno.physics import PhysicsLoss

    spec, path = dataset
    meta = read_metadata(path)
    assert meta["pde"] == "heat" and meta["ic_family"] == "grf" and meta["split"] == "kuhn"

    # check-data: every check passes, the mass check included (the heat scheme conserves int u)
    report = check_dataset(path)
    status = {c["name"]: c["status"] for c in report["checks"]}
    print({c["name"]: (c["status"], c["value"]) for c in report["checks"]})
    assert report["ok"] and status == {"metadata": "ok", "finite": "ok", "residual": "ok", "mass drift": "ok",
                                       "energy": "ok", "solver": "ok"}

    # the weak physics loss vanishes on the PDE's own data (float64): the stored float32 frames give the
    # float32 rounding floor; trajectory 0 recomputed in float64 gives the solver tolerance
    params = PDEParams.from_dict(meta)
    phys = PhysicsLoss.for_data(read_description(path), device="cpu", dtype=torch.float64)
    u = torch.as_tensor(load_trajectories(path), dtype=torch.float64)  # (4, 6, 8, 8, 8)
    u0, u1 = u[:, :-1].reshape(-1, 8, 8, 8), u[:, 1:].reshape(-1, 8, 8, 8)
    still = phys(u0, u0, reduce=False)["weak"]
    stored = torch.sqrt(phys(u0, u1, reduce=False)["weak"] / still).max().item()
    ic = sample(spec.ic_family, trajectory_rng(spec.seed, 0), spec.n, params.L, spec.ic_params)
    exact = torch.as_tensor(simulate(params, assemble(spec.mesh()), ic, spec.frames, rtol=spec.rtol).u)
    np.testing.assert_allclose(exact.numpy(), u[0].numpy(), rtol=0, atol=1e-6)  # the same data, before rounding
    f64 = torch.sqrt(phys(exact[:-1], exact[1:], reduce=False)["weak"] / phys(exact[:-1], exact[:-1], reduce=False)["weak"])
    print(f"heat: relative weak residual on stored float32 frames {stored:.2e}, on float64 frames {f64.max():.2e}")
    assert stored < 1e-4 and f64.max().item() < 10 * spec.rtol  # float32 floor ~1e-6; solver rtol 1e-10
    noisy = phys(u0, u1 + 1e-3 * torch.randn_like(u1))["weak"]
    assert (noisy > 1e6 * phys(exact[:-1], exact[1:], reduce=False)["weak"].max()).all()

    # one training step of a tiny model with the heat physics in the objective
    parts = train_one_step(path, tmp_path / "run", monkeypatch)
    print(f"heat: one training step {parts}")
    assert parts["changed"] and all(math.isfinite(v) for k, v in parts.items() if k != "changed")
    assert parts["weak"] > 0 and parts["strong"] > 0


def test_registry_refusals(heat):
    with pytest.raises(InputError, match=r"unknown PDE 'kdv'; expected one of ac, ch, sh, heat"):
        get_pde("kdv")
    with pytest.raises(InputError, match="already registered"):

        @register_pde
        class OtherHeat(heat.HeatEquation):
            pass

    class Incomplete(PDE):
        name, title = "incomplete", "incomplete"
        preset = {"eps": 1.0, "L": 1.0, "dt": 1.0}
        initial_condition = {"family": "grf"}

    with pytest.raises(InputError, match="does not define explicit_residual, potential"):
        register_pde(Incomplete)
    with pytest.raises(InputError, match="preset\\['dt'\\] must be a positive number"):
        register_pde(type("NoDt", (heat.HeatEquation,), {"name": "nodt", "preset": {"eps": 1.0, "L": 1.0}}))
    with pytest.raises(InputError, match="lower-case identifier"):
        register_pde(type("Bad", (heat.HeatEquation,), {"name": "Bad Name"}))
    assert "incomplete" not in pde_names() and "nodt" not in pde_names()
    register_pde(heat.HeatEquation)  # the same class again (a reload) replaces it
    assert isinstance(get_pde("heat"), heat.HeatEquation)


def test_workers_need_an_importable_plugin(heat, tmp_path):
    """A PDE class defined where spawned workers cannot import it is refused with one sentence."""
    from fem.schemes import preset
    from pihamno.data import DatasetSpec, generate

    spec = importlib.util.spec_from_file_location("not_importable_heat", Path(PLUGINS) / "heat_equation.py")
    module = importlib.util.module_from_spec(spec)
    unregister_pde("heat")
    try:
        spec.loader.exec_module(module)  # registers "heat" from a module no other process can import
        data = DatasetSpec(params=preset("heat"), n=6, frames=2, trajectories=2)
        with pytest.raises(InputError, match="which worker processes cannot import"):
            generate(data, tmp_path / "d.h5", workers=2, progress=False)
        assert not list(tmp_path.iterdir())  # refused before any file is written
        generate(data, tmp_path / "d.h5", workers=1, progress=False)  # in-process: fine
        # a worker whose setup fails reports it with its first task (a raising pool initializer would hang)
        from pihamno.data import compute

        compute.init_worker(data, (), ("no_such_plugin_module",))
        with pytest.raises(ModuleNotFoundError, match="no_such_plugin_module"):
            compute.compute_trajectory(0)
        compute.clear_worker()
    finally:
        unregister_pde("heat")
        register_pde(heat.HeatEquation)  # back to the module fixture's plugin
