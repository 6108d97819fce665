"""Workflows: the example recipe and the building blocks of the example scripts and studies, in the data's order.

* :mod:`.presets` -- :class:`Example` (one PDE's settings), :data:`SCALES`, :data:`MODEL_RUNS` (the models every
  example trains), :class:`Options`, and the configs built from them in Python (:func:`train_config`,
  :func:`dataset_spec`);
* :mod:`.stages` -- :func:`make_data`, :func:`check_data`, :func:`train_model`, :func:`evaluate`,
  :func:`export`, :func:`render`: each takes objects and reuses its finished output;
* :mod:`.session` -- :class:`Session`: output folder, console, timing, errors and the summary of one run
  (:func:`format_summary`, its columns :data:`SUMMARY_COLUMNS`);
* :mod:`.command_line` -- the command line every example takes (:func:`parse_options`);
* :mod:`.recipe` -- :func:`run_example`: the whole pipeline for any registered PDE (``examples/*.py`` and
  ``pihamno example PDE``).
"""

from pihamno.workflows.command_line import build_parser, parse_options
from pihamno.workflows.presets import (
    MODEL_RUNS,
    SCALES,
    Example,
    ModelRun,
    Options,
    Scale,
    dataset_spec,
    train_config,
)
from pihamno.workflows.recipe import run_example
from pihamno.workflows.session import SUMMARY_COLUMNS, Column, Session, format_summary
from pihamno.workflows.stages import check_data, evaluate, export, make_data, render, train_model

__all__ = [
    "MODEL_RUNS", "SCALES", "SUMMARY_COLUMNS", "Column", "Example", "ModelRun", "Options", "Scale", "Session",
    "build_parser", "check_data", "dataset_spec", "evaluate", "export", "format_summary", "make_data",
    "parse_options", "render", "run_example", "train_config", "train_model",
]
