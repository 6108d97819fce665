"""The model, physics, stepping, training and solver paths on every available device (the ``device`` fixture).

On the CPU these run the same code as on CUDA (what ``bench/gpu_suite.py --device cpu --tiny`` relies on); on
a GPU machine the ``cuda`` runs compare against the CPU. Small sizes throughout.
"""

import math

import numpy as np
import pytest
import torch
from test_training import LinearStep, decay_data, make_config, make_trainer, register_test_model, write_dataset

from pihamno.models import build_model
from pihamno.stepping import FieldProcessor, inference_model, rollout, stream_rollout


@pytest.fixture(autouse=True)
def _linear_model(monkeypatch):
    register_test_model(monkeypatch)


def tiny_hamno():
    return build_model("hamno", width=4, modes=2, width_q=4)


def test_hamno_forward_backward_matches_cpu(device):
    torch.manual_seed(0)
    model = tiny_hamno()
    u = torch.randn(2, 5, 8, 8, 8)
    ref = model(u)
    ref.square().mean().backward()
    g_ref = {k: p.grad.clone() for k, p in model.named_parameters()}
    model.zero_grad()
    m = model.to(device)
    out = m(u.to(device))
    out.square().mean().backward()
    assert out.shape == (2, 1, 8, 8, 8) and out.device.type == device.type
    torch.testing.assert_close(out.cpu(), ref, rtol=1e-4, atol=1e-5)
    for k, p in m.named_parameters():
        torch.testing.assert_close(p.grad.cpu(), g_ref[k], rtol=1e-3, atol=1e-5)
    with torch.autocast(device.type, dtype=torch.bfloat16):  # bf16: spectral parts stay float32, output close
        out16 = m(u.to(device))
    assert out16.dtype in (torch.bfloat16, torch.float32) and (out16.float().cpu() - ref).abs().max() < 0.1


def test_channels_last_gives_the_same_model(device):
    torch.manual_seed(0)
    model = tiny_hamno().to(device)
    u = torch.randn(2, 5, 8, 8, 8, device=device)
    ref = model(u)
    cl = model.to(memory_format=torch.channels_last_3d)
    torch.testing.assert_close(cl(u.contiguous(memory_format=torch.channels_last_3d)), ref, rtol=1e-4, atol=1e-5)


def test_physics_loss_vanishes_on_reference_data(device):
    from fem import assemble, cube_mesh
    from fem.schemes import preset
    from fem.solvers import simulate
    from pihamno.physics import PhysicsLoss

    p, n = preset("ch", dt=1e-2), 9
    rng = np.random.default_rng(0)
    tr = simulate(p, assemble(cube_mesh(n, p.L)), rng.uniform(-0.5, 0.5, (2, n, n, n)), 2, rtol=1e-13)
    u0, u1 = (torch.tensor(tr.u[:, f], device=device) for f in (0, 1))
    phys = PhysicsLoss(p, n, device=device, dtype=torch.float64)
    still = phys(u0, u0)["weak"]
    moved = phys(u0, u1)["weak"]
    assert float(moved) < 1e-16 * float(still)
    u = u1.clone().requires_grad_(True)
    phys(u0, u)["weak"].backward()
    assert torch.isfinite(u.grad).all()


def test_stream_rollout_equals_rollout_and_keeps_the_window(device):
    torch.manual_seed(0)
    model = inference_model(tiny_hamno().to(device))
    given = torch.randn(3, 5, 8, 8, 8, device=device)
    full = rollout(model, FieldProcessor(), given, 9)
    frames = [(f, fr.clone()) for f, fr in stream_rollout(model, FieldProcessor(), given, 9)]
    assert [f for f, _ in frames] == [5, 6, 7, 8]
    for f, fr in frames:
        torch.testing.assert_close(fr, full[:, f])
    assert torch.is_grad_enabled()  # the generator's inference mode does not leak to the caller


def test_training_on_device_with_validation_schedule(tmp_path, device):
    data = write_dataset(tmp_path / "d.h5", decay_data(n_traj=10))
    over = {"run.device": f'"{device.type}"', "optim.epochs": 4, "run.val_rollout_every": 2, "data.n_val": 2,
            "data.n_train": 8}
    tr = make_trainer(make_config(tmp_path, data, **over), model=LinearStep())
    calls = []
    real = tr.validate
    tr.validate = lambda kind=None: calls.append(kind) or real(kind)
    result = tr.fit()
    assert calls == ["one_step", "rollout", "one_step", "rollout"]  # rollouts every 2nd validation and at the end
    assert result["best"]["epoch"] in (2, 4) and math.isfinite(result["best"]["score"])
    assert tr.train_trajs.device.type == device.type


def test_torch_solver_matches_numpy(device):
    from fem import assemble, cube_mesh
    from fem.schemes import preset
    from fem.solvers import simulate
    from fem.solvers_torch import TorchStepper

    for pde in ("ac", "ch", "sh"):
        p = preset(pde, dt=10 * preset(pde).dt)
        ops = assemble(cube_mesh(10, p.L))
        u0 = np.random.default_rng(1).uniform(-1, 1, (2, 10, 10, 10))
        a = simulate(p, ops, u0, 3)
        b = simulate(p, ops, u0, 3, stepper=TorchStepper(p, ops, device=device))
        assert np.abs(a.u - b.u).max() < 1e-10 * np.abs(a.u).max(), pde
        assert b.iterations.max() == 1 and b.residual.max() < 1e-12


@pytest.mark.slow
def test_compiled_models_have_no_graph_breaks():
    """Dynamo traces HAMNO's and FNO's forwards as one graph each (input checks are skipped while compiling; the
    other models traced clean too when this was written, ~2 s each)."""
    for name in ("hamno", "fno"):
        model = build_model(name)
        torch._dynamo.reset()
        explained = torch._dynamo.explain(model)(torch.randn(1, model.T_in, 8, 8, 8))
        assert explained.graph_break_count == 0 and explained.graph_count == 1, (name, explained.break_reasons)


def test_generate_on_device_agrees_with_numpy_and_passes_check_data(tmp_path, device):
    from fem.schemes import preset
    from pihamno.data import DatasetSpec, generate, load_trajectories
    from pihamno.data.checks import check_dataset

    for pde in ("ac", "ch", "sh"):
        spec = DatasetSpec(params=preset(pde), n=10, frames=5, trajectories=3, seed=4)
        ref = load_trajectories(generate(spec, tmp_path / f"np_{pde}.h5", progress=False))
        path = generate(spec, tmp_path / f"{device.type}_{pde}.h5", progress=False, device=device, batch=2)
        got = load_trajectories(path)
        # the same scheme to the solver tolerance: float32 frames within a few ulps of |u|
        assert np.abs(got - ref).max() <= 4 * 2.0**-24 * max(1.0, np.abs(ref).max()), pde
        report = check_dataset(path)
        assert report["ok"], [c for c in report["checks"] if c["status"] == "FAIL"]


def test_nan_guard_waits_for_a_log_step_and_names_the_first_bad_step(tmp_path, device):
    from pihamno.errors import TrainingDiverged

    data = write_dataset(tmp_path / "d.h5", decay_data())
    tr = make_trainer(make_config(tmp_path, data, **{"run.device": f'"{device.type}"'}), model=LinearStep())
    tr.train_step()
    with torch.no_grad():
        tr.model.b.fill_(float("nan"))
    tr.train_step()
    tr.train_step()  # no host sync in a step: nothing is raised yet
    with pytest.raises(TrainingDiverged, match=r"non-finite loss \(nan.*epoch 1, step 2;"):
        tr._flush_guard()
