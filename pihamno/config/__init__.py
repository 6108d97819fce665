"""Configs at one edge: typed run descriptions (:mod:`.schema`) and the one place that turns them into
objects (:mod:`.build`).

Below this package everything takes objects; above it (command line, examples, studies) everything builds a
:class:`TrainConfig` in Python (``load_config``, ``shipped_config``, ``TrainConfig.updated``) and calls
:func:`train`, :func:`load_trained` or :func:`evaluate_checkpoint`.
"""

from pihamno.config.build import (
    RESUME_FREE,
    Trained,
    TrainResult,
    build_model_for,
    build_objective,
    build_physics,
    build_trainer,
    evaluate_checkpoint,
    load_trained,
    train,
)
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
    "RESUME_FREE", "SECTIONS", "DataConfig", "ModelConfig", "OptimConfig", "PhysicsConfig", "RunConfig",
    "TrainConfig", "TrainResult", "Trained", "build_model_for", "build_objective", "build_physics",
    "build_trainer", "diff_configs", "dump_toml", "evaluate_checkpoint", "from_dict", "load_config",
    "load_trained", "parse_override", "shipped_config", "shipped_names", "train",
]
