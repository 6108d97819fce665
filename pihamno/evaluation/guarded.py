"""The guarded rollout of an evaluation, measured beside the raw one (``pihamno evaluate --guard``).

The raw rollout (the model alone) stays the evaluation's headline: ``metrics.json``'s ``rollout``, ``energy``,
``mass``, ``bounds``, ``indicator`` entries and ``rollout.h5``'s ``prediction`` are the model's, so the authors'
protocol and the raw model's physics are measured as before. With a guard (:class:`pihamno.stepping.GuardSettings`)
the same trajectories are rolled out again through a :class:`pihamno.stepping.RolloutGuard` and ``metrics.json``
gains

    guard.settings          the checks, the clip / stability bounds, the reference scheme, the energy slack
    guard.counts            per trajectory (lists in trajectory order): steps, replaced, held, clipped, and
                            the checks that fired (energy, bound, residual)
    guard.replaced_fraction replaced / steps per trajectory, statistics over trajectories
    guard.rollout           rel_l2_mean and rel_l2_final of the guarded rollout (statistics as ``rollout``)
    guard.energy, .mass,    the guarded rollout's physics, as the raw rollout's ``_pred`` entries (its energy
    .bounds, .indicator     increase counts include the rises within float32 round-off the guard lets pass)
    guard.seconds           wall time of the raw and of the guarded rollouts (the guard's cost)

and ``rollout.h5`` the curves ``rel_l2_guarded``, ``energy_guarded``, ``mass_guarded``, ``max_abs_guarded``,
``indicator_guarded`` (T, F; :meth:`pihamno.evaluation.physical_curves.FieldCurves.curves`).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from pihamno.evaluation import report
from pihamno.evaluation.statistics import summary
from pihamno.stepping import RolloutGuard, rel_l2, rollout


class GuardedEvaluation:
    """Accumulates guarded rollouts batch by batch (:meth:`add`), then :meth:`metrics` and :meth:`curves`.

    ``settings``: a :class:`~pihamno.stepping.GuardSettings`; ``description``: the dataset's
    :class:`~pihamno.data.DataDescription`; ``n``: its grid; ``device``: where the rollouts run; ``curves``: the
    evaluation's :class:`~pihamno.evaluation.physical_curves.FieldCurves` (or None: no physics entries).
    """

    def __init__(self, settings, description, n: int, device, curves=None):
        self.guard = RolloutGuard.for_data(description, n, settings, device)
        self.field_curves = curves
        self.counts: dict[str, list] = {}
        self.acc: dict[str, list] = {}
        self.seconds = 0.0

    def add(self, model, processor, ref: torch.Tensor, T_in: int, weights: torch.Tensor) -> None:
        """Roll the batch ``ref`` (B, F, n, n, n) out through the guard from its first ``T_in`` frames."""
        t0 = time.perf_counter()
        pred = rollout(model, processor, ref[:, :T_in], ref.shape[1], guard=self.guard)
        if pred.device.type == "cuda":
            torch.cuda.synchronize(pred.device)
        self.seconds += time.perf_counter() - t0
        for k, v in self.guard.totals().items():
            self.counts.setdefault(k, []).extend(v)
        self.acc.setdefault("rel_l2_guarded", []).append(rel_l2(pred, ref, weights).cpu().numpy())
        if self.field_curves is not None:
            for k, v in self.field_curves.curves(pred.cpu().numpy(), "guarded", T_in).items():
                self.acc.setdefault(k, []).append(v)

    def curves(self) -> dict:
        """``rel_l2_guarded`` and the guarded physical curves (``<quantity>_guarded``), (T, F) each."""
        return {k: np.concatenate(v) for k, v in self.acc.items()}

    def metrics(self, T_in: int, raw_seconds: float, curves: dict, bounds: dict | None = None) -> dict:
        """The ``guard`` entry of ``metrics.json`` (module docstring): ``raw_seconds`` the raw rollouts' time,
        ``curves`` the evaluation's curves (its ``*_ref`` ones are the reference for the guarded ``_pred`` entries),
        ``bounds`` those of :meth:`~pihamno.evaluation.physical_curves.FieldCurves.bounds`."""
        mine = self.curves()
        rel = mine.pop("rel_l2_guarded")
        # the raw rollout's metrics, computed the same way, with the guarded rollout as the prediction
        as_pred = {k.removesuffix("_guarded") + "_pred": v for k, v in mine.items()}
        refs = {k: v for k, v in curves.items() if k.endswith("_ref")}
        m = report.build_metrics(T_in, rel, rel, refs | as_pred, bounds)
        steps = np.maximum(np.asarray(self.counts["steps"], dtype=np.float64), 1.0)
        out = {"settings": self.guard.describe(), "counts": dict(self.counts),
               "replaced_fraction": summary(np.asarray(self.counts["replaced"]) / steps),
               "rollout": {k: m["rollout"][k] for k in ("rel_l2_mean", "rel_l2_final")},
               "seconds": {"raw": raw_seconds, "guarded": self.seconds}}
        for key in ("energy", "mass", "bounds", "indicator"):
            if key in m:
                out[key] = {k: v for k, v in m[key].items() if not k.endswith("_ref")}
        return out
