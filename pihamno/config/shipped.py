"""The configs shipped with pihamno (package data in ``pihamno/configs/``), found by name.

``<pde>_small`` (a small HAMNO on n = 16, CPU minutes), ``<pde>_hamno`` / ``<pde>_pihamno`` /
``<pde>_physics_only`` (the HAMNO paper's settings, lambda = 0 / 0.25 / 1, for a GPU). Each file's header
says how to make its data. ``pihamno train --config NAME`` accepts these names as well as paths.

>>> "ac_pihamno" in shipped_names()
True
>>> shipped_config("ch_small").model.name
'hamno'
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pihamno.config.schema import TrainConfig, load_config
from pihamno.errors import unknown_name


def shipped_names() -> list[str]:
    """Names of the shipped configs, sorted (``"ac_hamno"``, ...)."""
    folder = resources.files("pihamno") / "configs"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def shipped_path(name: str) -> Path:
    """The file of shipped config ``name`` (with or without ``.toml``)."""
    stem = name[:-5] if name.endswith(".toml") else name
    if stem not in shipped_names():
        raise unknown_name(stem, shipped_names(), "shipped config", "pihamno/configs")
    return Path(str(resources.files("pihamno") / "configs" / f"{stem}.toml"))


def shipped_config(name: str, overrides: list[str] | tuple = ()) -> TrainConfig:
    """The shipped config ``name`` as a :class:`TrainConfig` (``overrides``: ``--set`` strings, CLI only)."""
    return load_config(shipped_path(name), overrides)


def data_recipe(value: str, data_path: str) -> str | None:
    """The command that makes the data of the config ``--config VALUE``, as its header comment gives it (a line
    ``# pihamno generate ... --out DATA_PATH``; the shipped configs all have one), or None.

    >>> data_recipe("ac_small", "data/ac_n16.h5")
    'pihamno generate --pde ac --n 16 --frames 21 --trajectories 12 --out data/ac_n16.h5'
    """
    path = Path(value)
    if not path.is_file():
        stem = path.name[:-5] if path.name.endswith(".toml") else path.name
        if stem not in shipped_names():
            return None
        path = shipped_path(stem)
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
    if stem in shipped_names():
        return shipped_config(stem, overrides)
    return load_config(path, overrides)  # the missing-file error
