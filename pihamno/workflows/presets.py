"""What the example scripts are made of: the PDE settings of an example, the scales, the two models, and the
configs built from them in Python (no override strings).

* :class:`Example` -- one PDE's settings at the ``default`` and ``smoke`` scales (the paper scale uses the
  PDE's own preset, :meth:`fem.pde.PDE.preset`);
* :data:`SCALES` -- ``smoke`` (n = 8, seconds, for CI), ``default`` (n = 16, minutes on a 2-core CPU),
  ``paper`` (the HAMNO paper's n = 32, 101 frames and full-size configs, for a GPU);
* :data:`MODEL_RUNS` -- the models every example trains: HAMNO (lambda = 0) and PI-HAMNO (lambda = 0.25);
* :func:`train_config`, :func:`dataset_spec` -- the :class:`~pihamno.config.TrainConfig` of one model and
  the :class:`~pihamno.data.DatasetSpec` of the data, from an example, a scale and the command-line choices
  (:class:`Options`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pihamno.choices import SPLITS, WEAK_KINDS


@dataclass(frozen=True)
class Example:
    """One PDE's settings at the ``default`` and ``smoke`` scales (``paper`` uses the paper's preset).

    pde: ``"ac"``, ``"ch"``, ``"sh"`` or any registered PDE (a plugin's too).
    title: its name for the printout (default: the PDE's own title).
    params: PDE parameters for :func:`fem.schemes.preset` (``eps``, ``L``, ``dt``: time between frames;
        one scheme step per frame, so the physics loss vanishes on the data); unset ones are the PDE's preset,
        so ``Example(pde="heat")`` runs any PDE with its own settings.
    frames: frames per trajectory at the default scale (incl. the initial one).
    ic, ic_params: initial-condition family (None: the PDE's default) and parameter overrides.
    train: config changes per section at the default and smoke scales, e.g. ``{"optim": {"lr": 5e-3}}``.
    """

    pde: str
    title: str | None = None
    params: dict = field(default_factory=dict)
    frames: int = 41
    ic: str | None = None
    ic_params: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)


    def __post_init__(self):
        from fem.pde import get_pde

        if self.title is None:
            object.__setattr__(self, "title", get_pde(self.pde).title)  # an unknown PDE: one InputError


@dataclass(frozen=True)
class Scale:
    """Sizes of one scale. ``frames=None``: the example's. ``configs``: ``"small"`` (the shipped ``<pde>_small``
    config with the ``train`` changes) or ``"paper"`` (the shipped ``<pde>_hamno`` / ``<pde>_pihamno`` as they are)."""

    n: int
    frames: int | None
    configs: str
    train: dict = field(default_factory=dict)
    check_trajectories: int | None = None  # None: check every trajectory
    workers: int = 1                        # processes generating the data
    threads: int | None = None              # torch CPU threads (None: torch's default)


# The small scales run torch on one CPU thread. Measured at the default size (HAMNO width 8, n = 16, batch 8):
# 0.21 s per training step on one thread against 0.16 s on two of an idle 2-core machine, but 0.2-8 s on two
# as soon as another process competes for the cores (OpenMP threads waiting on each other); smoke runs took
# 3-30x longer on two threads under load.
_SMALL_MODEL = {"n_layers": 1, "expansion": 2}
SCALES = {
    "smoke": Scale(8, 8, "small", {
        "data": {"n_train": 2, "n_val": 1, "n_test": 1},
        "model": {**_SMALL_MODEL, "width": 2, "modes": 2, "width_q": 4},
        "optim": {"epochs": 1, "steps_per_epoch": 2, "batch_size": 2}}, threads=1),
    "default": Scale(16, None, "small", {
        "data": {"n_train": 12, "n_val": 2, "n_test": 4},
        "model": {**_SMALL_MODEL, "width": 8, "modes": 6, "width_q": 8},
        "optim": {"epochs": 20, "steps_per_epoch": 20, "batch_size": 8}}, threads=1),
    "paper": Scale(32, 101, "paper", check_trajectories=8, workers=max(1, os.cpu_count() or 1)),
}


@dataclass(frozen=True)
class ModelRun:
    """One of the models every example trains: its folder under ``OUT``, its label, its lambda."""

    folder: str
    label: str
    lam: float


MODEL_RUNS = (ModelRun("hamno", "HAMNO", 0.0), ModelRun("pihamno", "PI-HAMNO", 0.25))


@dataclass(frozen=True)
class Options:
    """The command-line choices of an example (:func:`pihamno.workflows.command_line.parse_options`)."""

    scale: str = "default"
    out: str | None = None
    seed: int = 0
    device: str = "auto"
    split: str = "kuhn"
    mesh: str | None = None
    element: str = "P1"
    weak: str = "assembled"
    overwrite: bool = False
    quiet: bool = False

    def __post_init__(self):
        from pihamno.errors import InputError

        if self.scale not in SCALES:
            raise InputError(f"unknown scale {self.scale!r}; expected one of {', '.join(SCALES)}")
        if self.split not in SPLITS:
            raise InputError(f"unknown split {self.split!r}; expected one of {', '.join(SPLITS)}")
        if self.weak not in WEAK_KINDS:
            raise InputError(f"unknown weak residual {self.weak!r}; expected one of {', '.join(WEAK_KINDS)}")

    def out_dir(self, ex: Example) -> Path:
        """The output folder: ``--out`` or ``runs/<pde>``."""
        return Path(self.out or f"runs/{ex.pde}")


def train_config(ex: Example, opts: Options, model: ModelRun):
    """The :class:`~pihamno.config.TrainConfig` of one model: shipped config <- scale <- example <- flags."""
    from pihamno.config import shipped_config

    scale = SCALES[opts.scale]
    small = scale.configs == "small"
    cfg = shipped_config(f"{ex.pde}_small" if small else f"{ex.pde}_{model.folder}")
    for changes in (scale.train, ex.train if small else {}):
        if changes:
            cfg = cfg.updated(source=f"the {opts.scale} scale of the {ex.pde} example", **changes)
    out = opts.out_dir(ex)
    physics = {"lam": model.lam}
    if model.lam > 0:  # the discretisation matters only with lambda > 0 (a HAMNO run never builds the loss)
        physics |= {"mesh": opts.mesh} if opts.mesh else {"split": opts.split}
        physics |= {"element": opts.element, "weak": opts.weak}
    return cfg.updated(
        source="the example's command line",
        data={"path": str(out / "data.h5")},
        run={"out": str(out / model.folder), "device": opts.device, "seed": opts.seed},
        physics=physics,
    )


def dataset_spec(ex: Example, opts: Options, trajectories: int):
    """The :class:`~pihamno.data.DatasetSpec` of the scale: the example's PDE settings, or the paper's preset."""
    from fem.schemes import preset
    from pihamno.data import DatasetSpec

    scale = SCALES[opts.scale]
    paper = scale.configs == "paper"
    return DatasetSpec(
        params=preset(ex.pde) if paper else preset(ex.pde, **ex.params), n=scale.n,
        frames=scale.frames or ex.frames, trajectories=trajectories, ic_family=None if paper else ex.ic,
        ic_params={} if paper else dict(ex.ic_params), seed=opts.seed, split=opts.split, mesh_file=opts.mesh,
    )
