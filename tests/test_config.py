"""Training config: TOML -> dataclasses, command-line overrides, refusal of unknown keys and bad values."""


import pytest

from pihamno.config import TrainConfig, diff_configs, dump_toml, load_config, parse_override, shipped_config, shipped_names
from pihamno.errors import InputError

BASE = """
[data]
path = "d.h5"
n_train = 10
n_val = 2
n_test = 4
train_frames = 51

[model]
name = "hamno"
width = 12
modes = [8, 6, 4]

[optim]
lr = 1e-2
epochs = 3

[physics]
lam = 0.25
w_strong = 0.02
w_weak = 0.04

[run]
device = "cpu"
"""


def test_defaults_and_values():
    cfg = load_config(text=BASE)
    assert isinstance(cfg, TrainConfig)
    assert cfg.data.path == "d.h5" and cfg.data.train_frames == 51 and cfg.data.T_in == 5
    assert cfg.model.name == "hamno" and cfg.model.options == {"width": 12, "modes": [8, 6, 4]}
    assert cfg.optim.lr == 0.01 and cfg.optim.epochs == 3 and cfg.optim.batch_size == 8
    assert cfg.physics.lam == 0.25 and cfg.physics.weak == "assembled" and cfg.physics.mesh is None
    assert cfg.run.device == "cpu" and cfg.run.bf16 is False and cfg.run.pushforward == 0


def test_file_and_overrides(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text(BASE)
    cfg = load_config(f, ["optim.lr=1e-3", "model.width=8", "run.device=cuda:1", 'run.out="runs/x"',
                          "run.bf16=true", "optim.epochs=7", "physics.mesh=meshes/a.msh"])
    assert cfg.optim.lr == 1e-3 and cfg.model.options["width"] == 8 and cfg.optim.epochs == 7
    assert cfg.run.device == "cuda:1" and cfg.run.out == "runs/x" and cfg.run.bf16 is True
    assert cfg.physics.mesh == "meshes/a.msh"
    # an integer is accepted where a number is expected, and becomes a float
    assert load_config(text=BASE, overrides=["optim.lr=1"]).optim.lr == 1.0


def test_parse_override_literals():
    assert parse_override("optim.lr=1e-3") == ("optim", "lr", 1e-3)
    assert parse_override("model.modes=[8, 6]") == ("model", "modes", [8, 6])
    assert parse_override("run.device=cpu") == ("run", "device", "cpu")
    with pytest.raises(InputError, match="SECTION.KEY=VALUE"):
        parse_override("lr=1e-3")


@pytest.mark.parametrize("text, match", [
    ("[optim]\nlrr = 1", r"unknown key 'lrr' \(did you mean 'lr'\?\) in section \[optim\]"),
    ("[optimizer]\nlr = 1", r"unknown section 'optimizer'.*expected one of data, model, optim, physics, run"),
    ("[optim]\nlr = \"fast\"", r"\[optim\] lr must be a number, got 'fast' \(in config text\)"),
    ("[optim]\nepochs = 2.5", r"\[optim\] epochs must be an integer, got 2.5"),
    ("[run]\nbf16 = 1", r"\[run\] bf16 must be true/false, got 1"),
    ("[physics]\nlam = 1.5", r"\[physics\] lam must be <= 1.0, got 1.5"),
    ("[physics]\nlam = nan", r"\[physics\] lam must be a finite number, got nan"),
    ("[model]\nname = \"hamnoo\"", r"unknown model 'hamnoo' \(did you mean 'hamno'\?\)"),
    ("[model]\nT_in = 3", r"\[model\] T_in = 3 differs from \[data\] T_in = 5"),
    ("[physics]\nweak = \"local\"", r"weak = 'local' is not allowed; expected one of assembled, element_local"),
    ("[optim]\nlr = -1.0", r"\[optim\] lr must be positive"),
    ("[data]\nn_train = 5\nn_val = 5", r"n_val = 5 must be smaller than n_train = 5"),
    ("[data]\ntrain_frames = 5", r"train_frames = 5 leaves no window"),
    ("data = 3", r"\[data\] must be a table, got 3"),
    ("[run]\nseed = -1", r"\[run\] seed must be non-negative, got -1"),
    ("[optim\nlr = 1", r"is not valid TOML"),
])
def test_refusals(text, match):
    with pytest.raises(InputError, match=match):
        load_config(text=text)


def test_override_refusals():
    with pytest.raises(InputError, match=r"unknown key 'epoch' .* section \[optim\] of --set optim.epoch=3"):
        load_config(text=BASE, overrides=["optim.epoch=3"])
    with pytest.raises(InputError, match=r"must be an integer, got 'x'"):
        load_config(text=BASE, overrides=["optim.epochs=x"])


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


def test_round_trip_and_diff(tmp_path):
    cfg = load_config(text=BASE, overrides=["run.out=a b/c\"d"])
    text = dump_toml(cfg)
    back = load_config(text=text)
    assert back == cfg
    other = load_config(text=BASE, overrides=["optim.lr=0.5", "model.width=3"])
    assert diff_configs(cfg.to_dict(), other.to_dict()) == ["model.width", "optim.lr", "run.out"]


def test_shipped_configs_parse():
    assert len(shipped_names()) >= 12
    cfgs = {name: shipped_config(name) for name in shipped_names()}
    # the paper's settings (hamno-paper-facts: lr, epochs, steps/epoch; lambda per variant); the loss weights are the
    # paper's ratios strong : weak (AC 1:1, CH 1:2, SH 1:1) normalised to w_strong + w_weak = 1 under the balance
    for pde, lr, epochs, steps, ws, ww in (("ac", 1e-2, 50, 10, 0.5, 0.5), ("ch", 5e-4, 100, 25, 1 / 3, 2 / 3),
                                           ("sh", 1e-3, 170, 25, 0.5, 0.5)):
        for variant, lam in (("hamno", 0.0), ("pihamno", 0.25), ("physics_only", 1.0)):
            c = cfgs[f"{pde}_{variant}"]
            assert (c.optim.lr, c.optim.epochs, c.optim.steps_per_epoch, c.optim.batch_size) == (lr, epochs, steps, 8)
            assert (c.physics.lam, c.physics.w_strong, c.physics.w_weak) == (lam, ws, ww)
            assert c.model.options | {"name": c.model.name} == {"name": "hamno", "width": 12, "modes": 8,
                                                                 "n_layers": 2, "expansion": 2, "width_q": 12}


def test_paper_config_builds_the_papers_hamno():
    from pihamno.config import build_model_for
    from pihamno.models import count_parameters

    assert count_parameters(build_model_for(shipped_config("ac_hamno"))) == 7_593_913
