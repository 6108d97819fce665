"""Workflows: the building blocks of the example scripts and studies, in the data's order.

* :mod:`.presets` -- :class:`Example` (one PDE's settings), :data:`SCALES`, :data:`MODELS`, :class:`Options`,
  and the configs built from them in Python (:func:`train_config`, :func:`dataset_spec`);
* :mod:`.stages` -- :func:`make_data`, :func:`check_data`, :func:`train_model`, :func:`evaluate`,
  :func:`export`, :func:`render`: each takes objects and reuses its finished output;
* :mod:`.session` -- :class:`Session`: output folder, console, timing, errors and the summary of one run;
* :mod:`.options` -- the command line every example takes (:func:`parse_options`).

``examples/allen_cahn.py`` shows them used top to bottom.
"""

from pihamno.workflows.options import build_parser, parse_options
from pihamno.workflows.presets import MODELS, SCALES, Example, ModelRun, Options, Scale, dataset_spec, train_config
from pihamno.workflows.session import Session, format_summary
from pihamno.workflows.stages import check_data, evaluate, export, make_data, render, train_model

__all__ = [
    "MODELS", "SCALES", "Example", "ModelRun", "Options", "Scale", "Session", "build_parser", "check_data",
    "dataset_spec", "evaluate", "export", "format_summary", "make_data", "parse_options", "render", "train_config",
    "train_model",
]
