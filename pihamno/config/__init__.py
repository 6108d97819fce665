"""Configs: typed run descriptions (:mod:`.schema`), the shipped configs (:mod:`.shipped`), the run record a
checkpoint keeps about its data (:mod:`.record`) and the pieces a config names that do not need training
(:mod:`.build`: model, physics loss, mass constraint).

Callers (command line, examples, studies) build a :class:`TrainConfig` in Python (``load_config``,
``shipped_config``, ``TrainConfig.updated``) and hand it to the run lifecycle, which lives with training and
evaluation: :func:`pihamno.training.train`, :func:`pihamno.evaluation.load_trained`,
:func:`pihamno.evaluation.evaluate_checkpoint`. This package never imports either of them.
"""

from pihamno.config.build import build_model_for, build_physics, describe_physics, mass_constraint, physics_choices
from pihamno.config.schema import (
    SECTIONS,
    DataConfig,
    ModelConfig,
    OptimConfig,
    PhysicsConfig,
    RunConfig,
    TrainConfig,
    diff_configs,
    dump_toml,
    from_dict,
    load_config,
    parse_override,
)
from pihamno.config.shipped import shipped_config, shipped_names

__all__ = [
    "SECTIONS", "DataConfig", "ModelConfig", "OptimConfig", "PhysicsConfig", "RunConfig", "TrainConfig",
    "build_model_for", "build_physics", "describe_physics", "diff_configs", "dump_toml", "from_dict",
    "load_config", "mass_constraint", "parse_override", "physics_choices", "shipped_config", "shipped_names",
]
