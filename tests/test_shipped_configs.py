"""The shipped configs are composed (pihamno/configs/base.toml + pdes/<pde>.toml + the variant's lambda): every
name that shipped as a TOML file gives exactly the config it gave, a shared hyperparameter lives in one place,
and any registered PDE -- a plugin's too -- has its configs without a file of its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pihamno.config import TrainConfig, from_dict, shipped_config, shipped_names
from pihamno.config import shipped as shipped_module
from pihamno.errors import InputError

#: ``TrainConfig.to_dict()`` of the 12 TOML files pihamno/configs/{ac,ch,sh}_{small,hamno,pihamno,physics_only}.toml
#: as they were at commit 1f2551f, before they were composed from a base (written by loading each file then).
GOLDEN = json.loads((Path(__file__).parent / "golden" / "shipped_configs.json").read_text())


def test_every_former_config_name_gives_the_same_config():
    assert len(GOLDEN) == 12 and set(GOLDEN) <= set(shipped_names())
    for name, expected in GOLDEN.items():
        cfg = shipped_config(name)
        got = cfg.to_dict()
        assert {s: {k: got[s].get(k) for k in t} for s, t in expected.items()} == expected, name
        # keys the schema gained since (e.g. [data] target) are at their defaults: from_dict fills those in
        assert cfg == from_dict(expected) and isinstance(cfg, TrainConfig), name


def test_a_shared_hyperparameter_changes_in_one_place(monkeypatch):
    """Changing [paper.optim] batch_size in base.toml changes it in every paper-size config of every PDE."""
    read = shipped_module._read

    def edited(relpath):
        data = read(relpath)
        if relpath == "base.toml":
            data["paper"]["optim"]["batch_size"] = 16
        return data

    monkeypatch.setattr(shipped_module, "_read", edited)
    for name in GOLDEN:
        cfg = shipped_config(name)
        assert cfg.optim.batch_size == (4 if name.endswith("_small") else 16), name
        others = {k: v for k, v in cfg.to_dict()["optim"].items() if k != "batch_size"}
        assert others == {k: v for k, v in GOLDEN[name]["optim"].items() if k != "batch_size"}, name


def test_overrides_and_refusals():
    cfg = shipped_config("sh_pihamno", ["optim.lr=0.5", "run.out=elsewhere"])
    assert cfg.optim.lr == 0.5 and cfg.run.out == "elsewhere" and cfg.optim.epochs == 170
    with pytest.raises(InputError, match="unknown shipped config 'kdv_small'.*if a plugin defines it, load the plugin"):
        shipped_config("kdv_small")
    with pytest.raises(InputError, match=r"unknown shipped config 'ac_smal' \(did you mean 'ac_small'\?\)"):
        shipped_config("ac_smal")
    from pihamno.config.shipped import config_from_argument

    with pytest.raises(InputError, match="unknown shipped config 'kdv_pihamno'"):
        config_from_argument("kdv_pihamno")
    with pytest.raises(InputError, match="config file 'no/such.toml' does not exist"):
        config_from_argument("no/such.toml")


def test_the_data_command_of_each_size():
    """``pihamno train --config NAME`` quotes how to make missing data: the command the former files' headers gave."""
    from pihamno.config.shipped import data_recipe

    assert data_recipe("sh_pihamno", "data/sh_n32.h5") == (
        "pihamno generate --pde sh --n 32 --frames 101 --trajectories 100 --workers 16 --out data/sh_n32.h5")
    assert data_recipe("ch_small", "data/ch_n16.h5") == (
        "pihamno generate --pde ch --n 16 --frames 21 --trajectories 12 --out data/ch_n16.h5")
    assert data_recipe("ch_small", "data/other.h5") is None and data_recipe("kdv_small", "data/kdv_n16.h5") is None
