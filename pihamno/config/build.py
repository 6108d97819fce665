"""The pieces of a run that a config names and that do not need training: model, physics loss, mass constraint.

:func:`pihamno.training.train` builds a run from these (plus the objective, data and loop settings, which only
training uses: :mod:`pihamno.training.run`); evaluation, the workflows and the command line use them too
(:func:`describe_physics` prints the objective in words).
"""

from __future__ import annotations

import torch

from fem.mesh import MeshChoice
from pihamno.config.schema import TrainConfig
from pihamno.data import DataDescription
from pihamno.errors import InputError
from pihamno.models import build_model
from pihamno.physics import PhysicsLoss
from pihamno.stepping import MassProjection


def build_model_for(cfg: TrainConfig) -> torch.nn.Module:
    """``build_model([model] name, T_in = [data] T_in, **[model] options)``."""
    return build_model(cfg.model.name, **{**cfg.model.options, "T_in": cfg.data.T_in})


def physics_choices(cfg: TrainConfig, data: DataDescription) -> tuple[MeshChoice, str, str]:
    """``(mesh, element, weak)`` of the physics loss: a :class:`fem.mesh.MeshChoice`, ``"P1"``/``"P2"`` and the
    weak form; unset ``split`` / ``mesh`` / ``element`` follow the data
    (:meth:`~pihamno.data.DataDescription.loss_discretisation`), so the weak residual is the reference solver's
    own and vanishes on the data."""
    p = cfg.physics
    given = None if p.mesh is None and p.split is None else MeshChoice(split=p.split, file=p.mesh)
    mesh, element = data.loss_discretisation(given, p.element)
    return mesh, element, p.weak


def describe_physics(cfg: TrainConfig, data: DataDescription) -> str:
    """The objective in words, for the console: ``"physics loss: assembled weak form, P2 test functions on ..."``."""
    if cfg.physics.lam == 0:
        return "data loss only (lambda = 0: no physics loss)"
    mesh, element, weak = physics_choices(cfg, data)
    return (f"physics loss (lambda = {cfg.physics.lam:g}): {weak} weak form with {element} test functions on the "
            f"{mesh.describe()}, strong (nodal) residual on the data's own mesh")


def build_physics(cfg: TrainConfig, data: DataDescription, n: int, device: torch.device) -> PhysicsLoss | None:
    """The :class:`pihamno.physics.PhysicsLoss` of the data's PDE on :func:`physics_choices`, or ``None``
    when ``[physics] lam == 0``."""
    if cfg.physics.lam == 0:
        return None
    mesh, element, weak = physics_choices(cfg, data)
    return PhysicsLoss.for_data(data, n, mesh=mesh, element=element, weak=weak, device=device, dtype=torch.float32)


def mass_constraint(cfg: TrainConfig, data: DataDescription) -> MassProjection | None:
    """The :class:`~pihamno.stepping.MassProjection` of ``[data] conserve_mass`` on the data's grid
    (:attr:`~pihamno.data.DataDescription.grid_split`; None when off); refused for a PDE that does not conserve
    mass."""
    if not cfg.data.conserve_mass:
        return None
    pde = data.equation
    if not pde.conserves_mass:
        raise InputError(f"[data] conserve_mass = true, but the {pde.title} equation of {cfg.data.path!r} does not "
                         "conserve mass; set it for mass-conserving PDEs only (e.g. Cahn-Hilliard)")
    return MassProjection(data.grid_split, data.L)
