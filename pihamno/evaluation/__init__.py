"""Evaluation of a trained model: autoregressive rollouts scored against reference trajectories.

* :mod:`.trained` -- :func:`load_trained` (a model and its normalisation from a checkpoint) and
  :func:`evaluate_checkpoint` (a checkpoint scored on the data and trajectories its run record allows);
* :mod:`.evaluate` -- :func:`evaluate_model` (rollouts, one-step predictions, the report files);
* :mod:`.report`, :mod:`.statistics` -- ``metrics.json`` / ``per_frame.csv`` and statistics over trajectories;
* :mod:`.physical_curves` -- the physical curves of the predicted and reference frames: free energy, mass (drawn by
  :mod:`pihamno.rendering.curves`), max|u|, the residual indicator of every step (docs/evaluation.md);
* :mod:`.physical_tests`, :mod:`.physical_cases`, :mod:`.observables` -- physical tests with known answers (the AC
  shrinking sphere, energy decay, CH mass and coarsening, the SH wavelength) on any predictor, and their registry;
* :mod:`.rollout_io` -- the rollout file (``rollout.h5``) that export and rendering read;
* :mod:`.aggregate` -- mean and spread of several evaluations (seeds).

The rollout itself and the error metric are :mod:`pihamno.stepping`'s, shared with training's validation.
"""

from pihamno.evaluation.evaluate import evaluate_model, parse_trajectories
from pihamno.evaluation.trained import Trained, evaluate_checkpoint, load_trained

__all__ = ["Trained", "evaluate_checkpoint", "evaluate_model", "load_trained", "parse_trajectories"]
