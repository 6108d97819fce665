"""The rollout guard (pihamno.stepping.guard): the floor of issue 17 -- with the guard on, an untrained model's
Allen-Cahn and Cahn-Hilliard rollouts never raise the free energy beyond round-off and never leave the bound --
checked with the numpy energies of fem.energy (independent of the guard's torch ones), and the facts the guard
rests on: clipping cannot raise the energy on the non-obtuse meshes, AC's discrete maximum principle, and a
guard that replaces every step reproduces the reference solver."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from fem.assembly import assemble
from fem.energy import free_energy, rounding_tolerance
from fem.mesh import cube_mesh
from fem.schemes import SchemeOperators, preset, stability_bound
from pihamno.errors import InputError
from pihamno.stepping import FieldProcessor, GuardSettings, RolloutGuard, rollout

T_IN, N = 5, 8


class StandStill(torch.nn.Module):
    """Predicts the last input frame (the residual indicator of its steps is 1)."""

    def forward(self, x):
        return x[:, -1:]


def make_data(pde: str, frames: int, tmp_path, substeps: int = 1, **params):
    """Reference trajectories (3, frames, N, N, N) as stored (float32) and the dataset's description."""
    from pihamno.data import DatasetSpec, generate, load_trajectories, read_description

    spec = DatasetSpec(params=preset(pde, substeps=substeps, **params), n=N, frames=frames, trajectories=3, seed=4)
    path = generate(spec, tmp_path / f"{pde}.h5", progress=False)
    return torch.from_numpy(load_trajectories(path)), read_description(path)


def energy_rises(u: np.ndarray, description) -> np.ndarray:
    """E(f+1) - E(f) - (rt(f) + rt(f+1)) over the predicted steps of rollouts (B, F, n, n, n), numpy float64:
    <= 0 where the step does not raise the energy beyond the round-off of two float32 frames."""
    params = description.params
    ops = SchemeOperators.from_fem(assemble(cube_mesh(u.shape[-1], params.L, "kuhn")))
    u = np.asarray(u[:, T_IN - 1 :], dtype=np.float64)
    E, rt = free_energy(params, ops, u), rounding_tolerance(params, ops, u)
    return np.diff(E, axis=1) - (rt[:, 1:] + rt[:, :-1])


@pytest.mark.parametrize("split", ["kuhn", "five"])
def test_clipping_cannot_raise_the_energy_on_non_obtuse_meshes(split):
    ops = assemble(cube_mesh(6, 2.0, split))
    K = ops.K.tocoo()
    assert K.data[K.row != K.col].max() <= 1e-15  # non-obtuse: no positive off-diagonal stiffness
    u = np.random.default_rng(0).uniform(-2.5, 2.5, (20, 6, 6, 6))
    for pde in ("ac", "ch"):
        p = preset(pde)
        assert np.all(free_energy(p, ops, np.clip(u, -1, 1)) <= free_energy(p, ops, u))


def test_allen_cahn_reference_step_keeps_the_maximum_principle():
    from fem.solvers import simulate

    p = preset("ac", dt=1e-2)  # a large step: S = 2 - eps^2/tau > 0 keeps eps^2/tau + S = 2
    assert p.equation.maximum_principle(p) == 1.0 and p.S > 0
    ops = assemble(cube_mesh(N, p.L))
    u0 = np.sign(np.random.default_rng(1).uniform(-1, 1, (4, N, N, N)))  # rough +-1 data: the hardest case
    assert np.abs(simulate(p, ops, u0, 6).u).max() <= 1.0
    # where the proof does not hold, no bound is declared
    assert p.equation.maximum_principle(preset("ac", dt=1e-2, S=0.0)) is None
    assert p.equation.maximum_principle(preset("ac", mass="consistent")) is None
    assert preset("ch").equation.maximum_principle(preset("ch")) is None


@pytest.mark.parametrize("pde", ["ac", "ch"])
@pytest.mark.parametrize("target", ["state", "increment"])
def test_untrained_model_never_raises_the_energy_with_the_guard(pde, target, tmp_path):
    """The floor: a randomly initialised HAMNO (state or increment output) rolled out 30 steps from reference
    data. Raw, its rollout raises the energy (and AC leaves [-1, 1]); guarded, no step raises it beyond the
    round-off of two float32 frames and no frame leaves the bound (AC: 1; CH: the stability bound U)."""
    from pihamno.models import build_model

    ref, desc = make_data(pde, T_IN + 30, tmp_path, **({"dt": 1e-3} if pde == "ac" else {"dt": 5e-3, "eps": 0.1}))
    torch.manual_seed(0)
    model = build_model("hamno", T_in=T_IN, width=4, modes=2, n_layers=1, width_q=4).eval()
    proc = FieldProcessor.fit("none", ref, target, T_IN)
    given, F = ref[:, :T_IN], ref.shape[1]
    raw = rollout(model, proc, given, F).numpy()
    guard = RolloutGuard.for_data(desc, N, GuardSettings())
    guarded = rollout(model, proc, given, F, guard=guard).numpy()
    c = guard.totals()
    assert c["steps"] == [30] * 3
    assert energy_rises(raw, desc).max() > 0  # the test can fail: raw, the model raises the energy
    assert energy_rises(guarded, desc).max() <= 0, c
    bound = 1.0 if pde == "ac" else stability_bound(preset("ch", eps=0.1, dt=5e-3))
    assert np.abs(guarded).max() <= bound
    assert sum(c["replaced"]) > 0 and sum(c["held"]) == 0  # the reference step always passed its check
    assert all(r + h <= s for r, h, s in zip(c["replaced"], c["held"], c["steps"]))


class Overshoot(torch.nn.Module):
    """Predicts 1.6 times the last input frame: beyond AC's wells and CH's stability bound (1.29) in the bulk."""

    def forward(self, x):
        return 1.6 * x[:, -1:]


@pytest.mark.parametrize("pde", ["ac", "ch"])
def test_an_overshooting_step_is_clipped_on_ac_and_rejected_beyond_u_on_ch(pde, tmp_path):
    ref, desc = make_data(pde, T_IN + 4, tmp_path, **({"dt": 1e-3} if pde == "ac" else {}))
    raw = rollout(Overshoot(), FieldProcessor(), ref[:, :T_IN], ref.shape[1])
    guard = RolloutGuard.for_data(desc, N, GuardSettings(energy=False, bound=True))
    out = rollout(Overshoot(), FieldProcessor(), ref[:, :T_IN], ref.shape[1], guard=guard)
    c = guard.totals()
    if pde == "ac":
        assert float(raw.abs().max()) > 1.5 and float(out.abs().max()) <= 1.0
        assert c["clipped"] == [4] * 3 and c["replaced"] == [0] * 3  # clipping alone, no replacement
    else:
        U = guard.limit
        assert float(raw.abs().max()) > U >= float(out.abs().max())
        assert c["bound"] == [4] * 3 and c["replaced"] == [4] * 3 and c["clipped"] == [0] * 3


@pytest.mark.parametrize("pde,substeps", [("ac", 1), ("ch", 1), ("ac", 3)])
def test_a_guard_that_replaces_every_step_is_the_reference_solver(pde, substeps, tmp_path):
    """Standing still has residual indicator 1: with residual=0.5 every step is replaced by the reference step
    (``substeps`` scheme steps per frame), so the guarded rollout reproduces the data to float32 rounding."""
    from pihamno.stepping import grid_weights, rel_l2

    ref, desc = make_data(pde, T_IN + 8, tmp_path, substeps=substeps, **({"dt": 1e-3} if pde == "ac" else {}))
    guard = RolloutGuard.for_data(desc, N, GuardSettings(energy=False, bound=False, residual=0.5))
    out = rollout(StandStill(), FieldProcessor(), ref[:, :T_IN], ref.shape[1], guard=guard)
    assert guard.totals()["replaced"] == [8] * 3 and guard.totals()["residual"] == [8] * 3
    err = rel_l2(out, ref, grid_weights(N, desc.L))[:, T_IN:]
    assert float(err.max()) < 1e-5, float(err.max())  # measured 4e-8 to 5e-8: float32 rounding of each guarded frame


def test_guard_settings_and_errors():
    assert GuardSettings.parse("off") is None and GuardSettings.parse(None) is None
    assert GuardSettings.parse("on") == GuardSettings(True, True, None)
    assert GuardSettings.parse(" bound , residual=0.25") == GuardSettings(False, True, 0.25)
    assert GuardSettings.parse("energy,bound,residual=0.5").describe() == "energy,bound,residual=0.5"
    with pytest.raises(InputError, match="unknown item 'mass'"):
        GuardSettings.parse("energy,mass")
    with pytest.raises(InputError, match="must be a number"):
        GuardSettings.parse("residual=big")
    with pytest.raises(InputError, match="must be a positive number"):
        GuardSettings(residual=0.0)
    g = RolloutGuard(preset("ch"), N)
    assert g.clip_bound is None and g.limit == pytest.approx(stability_bound(preset("ch")))
    with pytest.raises(InputError, match="before start"):
        g.step(torch.zeros(1, N, N, N))
    g.start(torch.zeros(2, N, N, N))
    with pytest.raises(InputError, match=r"built for \(B, 8, 8, 8\) fields"):
        g.step(torch.zeros(2, 4, 4, 4))


def test_evaluation_reports_the_guarded_rollout_beside_the_raw_one(tmp_path):
    """evaluate_model with a guard: the raw rollout's entries are those of an evaluation without one, and
    metrics.json / rollout.h5 gain the guarded rollout, its per-trajectory counts and its timing."""
    from pihamno.evaluation import evaluate_model
    from pihamno.evaluation.rollout_io import read_rollout
    from pihamno.models import build_model

    ref, desc = make_data("ch", T_IN + 6, tmp_path)
    torch.manual_seed(0)
    model = build_model("hamno", T_in=T_IN, width=4, modes=2, n_layers=1, width_q=4)
    data = tmp_path / "ch.h5"
    plain = evaluate_model(model, FieldProcessor(), T_IN, data, tmp_path / "plain", "all", device="cpu", quiet=True,
                           batch_size=2)
    m = evaluate_model(model, FieldProcessor(), T_IN, data, tmp_path / "guarded", "all", device="cpu", quiet=True,
                       batch_size=2, guard=GuardSettings(residual=0.9))
    for key in ("rollout", "one_step", "energy", "mass"):
        assert m[key] == plain[key]  # the raw model's numbers, untouched
    g = m["guard"]
    assert g["settings"]["residual"] == 0.9 and g["settings"]["stability_bound"] == pytest.approx(
        stability_bound(preset("ch")))
    assert g["counts"]["steps"] == [6] * 3 and len(g["counts"]["replaced"]) == 3
    assert g["replaced_fraction"]["mean"] == pytest.approx(np.mean(g["counts"]["replaced"]) / 6)
    assert g["seconds"]["guarded"] > 0 and g["seconds"]["raw"] > 0
    assert "increase_count_pred" in g["energy"] and "max_drift_pred" in g["mass"]
    r = read_rollout(tmp_path / "guarded" / "rollout.h5")
    assert r.curves["rel_l2_guarded"].shape == r.curves["energy_guarded"].shape == (3, T_IN + 6)
    assert g["rollout"]["rel_l2_final"]["mean"] == pytest.approx(r.curves["rel_l2_guarded"][:, -1].mean())
    assert g["rollout"]["rel_l2_final"]["mean"] < m["rollout"]["rel_l2_final"]["mean"]  # the guard helps this model


def test_command_line_guard(tmp_path, capsys, monkeypatch):
    from test_training import decay_data, make_config, make_trainer, register_test_model, write_dataset

    from pihamno.cli import main

    register_test_model(monkeypatch)
    data = write_dataset(tmp_path / "d.h5", decay_data())
    make_trainer(make_config(tmp_path, data, **{"optim.epochs": 1})).fit()
    ckpt = tmp_path / "run" / "last.pt"
    args = ["evaluate", "--checkpoint", str(ckpt), "--trajectories", "test"]
    assert main(args + ["--out", str(tmp_path / "e1"), "--guard", "energy,residual=0.5"]) == 0
    out = capsys.readouterr().out
    assert "guarded (energy,residual=0.5):" in out and "steps replaced by the reference solver" in out
    m = json.loads((tmp_path / "e1" / "metrics.json").read_text())
    assert m["guard"]["settings"]["energy"] and m["guard"]["counts"]["steps"] == [7, 7]
    assert main(args + ["--out", str(tmp_path / "e2"), "--guard", "off"]) == 0
    assert "guard" not in json.loads((tmp_path / "e2" / "metrics.json").read_text())
    assert main(args + ["--out", str(tmp_path / "e3"), "--guard", "energy,mass"]) == 2
    assert "unknown item 'mass'" in capsys.readouterr().err and not (tmp_path / "e3").exists()
