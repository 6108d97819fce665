"""The configs shipped with pihamno, found by name and composed from a shared base and what differs.

A shipped config is named ``<pde>_<variant>`` for every registered PDE (a plugin's too) and every variant of
``pihamno/configs/base.toml``: ``small`` (a small HAMNO on n = 16, CPU minutes, lambda 0.25) and ``hamno`` /
``pihamno`` / ``physics_only`` (the HAMNO paper's settings, lambda 0 / 0.25 / 1, for a GPU). It is composed,
each layer changing keys of the one before::

    base.toml [common]  <-  base.toml [small] or [paper]  <-  pdes/<pde>.toml [common], then its [small] or [paper]
                        <-  the variant's lambda  <-  the paths data.path and run.out with {pde} and {name} filled in

so a hyperparameter shared by every PDE is written once (``base.toml``), a PDE's own choices (its learning rate,
epochs, loss weights) in ``pdes/<pde>.toml``, and a plugin PDE, which has no such file, gets the base.
``base.toml``'s comments say how to make each size's data. ``pihamno train --config NAME`` accepts these names as
well as paths.

>>> "ac_pihamno" in shipped_names()
True
>>> cfg = shipped_config("ch_small")
>>> cfg.model.name, cfg.data.path, cfg.run.out, cfg.physics.lam
('hamno', 'data/ch_n16.h5', 'runs/ch_small', 0.25)
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from pihamno.config.schema import SECTIONS, TrainConfig, from_dict, load_config
from pihamno.errors import InputError, unknown_name

_LAYERS = ("common", "small", "paper")  # the tables of base.toml and pdes/<pde>.toml besides [variants]


def _read(relpath: str) -> dict:
    """A TOML file of ``pihamno/configs/`` as a dict (``{}`` when absent), its tables checked."""
    file = resources.files("pihamno") / "configs" / relpath
    if not file.is_file():
        return {}
    data = tomllib.loads(file.read_text())
    allowed = ("variants", "commands", *_LAYERS) if relpath == "base.toml" else _LAYERS
    for layer, sections in data.items():
        if layer not in allowed:
            raise unknown_name(layer, allowed, "table", f"pihamno/configs/{relpath}")
        for section in sections if layer in _LAYERS else ():
            if section not in SECTIONS:
                raise unknown_name(section, SECTIONS, "section", f"[{layer}] of pihamno/configs/{relpath}")
    return data


def variants() -> dict[str, dict]:
    """``{variant: {"size": "small" | "paper", "lam": lambda}}`` from ``base.toml``."""
    return dict(_read("base.toml")["variants"])


def _pdes() -> tuple[str, ...]:
    from fem.pde import pde_names

    return pde_names()


def shipped_names() -> list[str]:
    """Names of the shipped configs, sorted: ``<pde>_<variant>`` for every registered PDE and variant."""
    return sorted(f"{pde}_{variant}" for pde in _pdes() for variant in variants())


def _split(name: str) -> tuple[str, str]:
    """``"ch_physics_only"`` -> ``("ch", "physics_only")``; unknown names raise one InputError."""
    stem = name[:-5] if name.endswith(".toml") else name
    for variant in variants():
        pde = stem.removesuffix(f"_{variant}")
        if pde != stem and pde in _pdes():
            return pde, variant
    from pihamno.plugins import HINT

    raise InputError(f"{unknown_name(stem, shipped_names(), 'shipped config', 'pihamno/configs')} "
                     f"(NAME = <pde>_<variant>, variants {', '.join(variants())}; a plugin PDE's: {HINT})")


def shipped_dict(name: str) -> dict:
    """The composed sections of shipped config ``name`` (module docstring), before validation."""
    pde, variant = _split(name)
    base, own, v = _read("base.toml"), _read(f"pdes/{pde}.toml"), variants()[variant]
    out: dict[str, dict] = {s: {} for s in SECTIONS}
    for layers in (base, own):
        for layer in ("common", v["size"]):
            for section, table in layers.get(layer, {}).items():
                out[section].update(table)
    out["physics"]["lam"] = float(v["lam"])
    fill = {"{pde}": pde, "{name}": f"{pde}_{variant}"}
    for section, key in (("data", "path"), ("run", "out")):
        for token, value in fill.items():
            out[section][key] = out[section][key].replace(token, value)
    return out


def shipped_config(name: str, overrides: list[str] | tuple = ()) -> TrainConfig:
    """The shipped config ``name`` as a :class:`TrainConfig` (``overrides``: ``--set`` strings, CLI only)."""
    pde, variant = _split(name)
    source = f"shipped config {pde}_{variant} (pihamno/configs/base.toml + pdes/{pde}.toml)"
    return from_dict(shipped_dict(name), source, overrides)


def data_recipe(value: str, data_path: str) -> str | None:
    """The command that makes the data of the config ``--config VALUE``, or None: for a shipped config, the
    ``[commands]`` line of ``base.toml`` for its size; for a file, a header comment line
    ``# pihamno generate ... --out DATA_PATH``. None also when the command would not write ``data_path`` (a changed
    ``data.path``).

    >>> data_recipe("ac_small", "data/ac_n16.h5")
    'pihamno generate --pde ac --n 16 --frames 21 --trajectories 12 --out data/ac_n16.h5'
    """
    path = Path(value)
    if not path.is_file():
        stem = path.name[:-5] if path.name.endswith(".toml") else path.name
        if stem not in shipped_names():
            return None
        pde, variant = _split(stem)
        lines = [_read("base.toml")["commands"][variants()[variant]["size"]].replace("{pde}", pde)]
    else:
        try:
            lines = path.read_text().splitlines()
        except (OSError, UnicodeDecodeError):
            return None
    for line in lines:
        command = line.lstrip("#").strip()
        if command.startswith("pihamno generate ") and command.split()[-2:] == ["--out", str(data_path)]:
            return command
    return None


def config_from_argument(value: str, overrides: list[str] | tuple = ()) -> TrainConfig:
    """``--config VALUE``: a TOML file, else the name of a shipped config."""
    path = Path(value)
    if path.is_file() or path.suffix == ".toml" and path.parent != Path("."):
        return load_config(path, overrides)
    stem = path.name[:-5] if path.name.endswith(".toml") else path.name
    if stem in shipped_names() or path.parent == Path(".") and any(stem.endswith(f"_{v}") for v in variants()):
        return shipped_config(stem, overrides)  # or the unknown-name error, with how to load a plugin PDE
    return load_config(path, overrides)  # the missing-file error
