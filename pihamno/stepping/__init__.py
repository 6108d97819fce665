"""Stepping: what training and evaluation share, below both of them.

* :mod:`.processor` -- :class:`FieldProcessor`, the normalisation around the model (the only place it lives)
  and its optional hard constraint on the step (:mod:`.constraints`: :class:`MassProjection`);
* :mod:`.rollout` -- :func:`predict_next` (one step in physical units), :func:`rollout` (autoregressive),
  :func:`stream_rollout` (the same, frame by frame, window-only memory), :func:`one_step` (teacher-forced)
  and :func:`persistence` (the last given frame held: the baseline), for batches of trajectories;
* :mod:`.guard` -- :class:`RolloutGuard`, the reference scheme guarding every predicted step of a rollout
  (bound, energy, residual; a rejected step becomes the reference solver's step), :class:`GuardSettings`;
* :mod:`.metrics` -- the lumped-mass L2 norm of grid fields and the relative L2 error.

Training validates with these and evaluation scores with them, so the two can never disagree; neither
``pihamno.training`` nor ``pihamno.evaluation`` imports the other.
"""

from pihamno.stepping.constraints import MassProjection, lumped_mass
from pihamno.stepping.guard import GuardSettings, RolloutGuard
from pihamno.stepping.metrics import grid_weights, rel_l2, sq_norm
from pihamno.stepping.processor import NORMALIZATIONS, FieldProcessor, Normalization
from pihamno.stepping.rollout import inference_model, one_step, persistence, predict_next, rollout, stream_rollout

__all__ = ["FieldProcessor", "GuardSettings", "MassProjection", "NORMALIZATIONS", "Normalization", "RolloutGuard",
           "grid_weights", "inference_model", "lumped_mass", "one_step", "persistence", "predict_next", "rel_l2",
           "rollout", "sq_norm", "stream_rollout"]
