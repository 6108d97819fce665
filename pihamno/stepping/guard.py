"""A rollout that cannot run away: the reference scheme guards every predicted step.

The guard sits in the rollout loop (:func:`pihamno.stepping.stream_rollout` / :func:`~pihamno.stepping.rollout`
with ``guard=``), after the model and its processor (normalisation, increment map, mass projection), and acts
on each step ``u0 -> u1`` of every trajectory (grid fields on the data's n^3 node grid, energies in float64):

1. **bound** (``bound``): where the scheme has a discrete maximum principle (:meth:`fem.pde.PDE.maximum_principle`:
   Allen-Cahn, |u| <= 1 for data in [-1, 1] on the non-obtuse Kuhn and five meshes) the prediction is clipped
   to [-B, B], B = max(that bound, max |u| of the last given frame). Clipping cannot raise E_h: it lowers
   the double-well term at every clipped node, and ``u^T K u = sum_{i<j} -K_ij (u_i - u_j)^2`` (K 1 = 0,
   K_ij <= 0 off the diagonal on a non-obtuse mesh) cannot grow under a 1-Lipschitz map of the values.
   Elsewhere (Cahn-Hilliard, Swift-Hohenberg: no maximum principle; clipping would also break CH's mass) a step
   that leaves the energy-stability bound U (:func:`fem.schemes.stability_bound`, docs/design.md section 4.3),
   max |u1| > U, is **rejected** (replaced, 3.): beyond U the scheme itself no longer guarantees decay.
2. **energy** (``energy``): a step with ``E_h(u1) - E_h(u0) > slack`` is rejected, with the round-off of
   comparing two float32 frames as slack: ``slack = rt(u0) + rt(u1)``, ``rt(u) = 2^-24 sum_i |dE_h/du_i| |u_i|``
   (:func:`fem.energy.rounding_tolerance_of_columns`, the first-order change of E_h when every value is rounded).
   **residual** (``residual = tol``, off unless given): a step whose residual indicator
   ``|r(u0, u1)|_* / |g(u0)|_*`` (:class:`pihamno.physics.ResidualIndicator`, the frame-level scheme on the data's
   own discretisation: 0 on the discrete truth, 1 standing still; the number evaluation reports) exceeds ``tol``
   is rejected.
3. **replacement**: a rejected step becomes the reference solver's step from the same state u0 (the data's
   scheme and parameters, ``substeps`` scheme steps per frame, :class:`fem.solvers_torch.TorchStepper` on the
   rollout's device, float64), rounded to float32 as a stored frame. These schemes are energy stable below U
   (AC also keeps |u| <= 1), so the replacement passes the checks; it is verified all the same, and a step
   whose replacement fails too (round-off at a steady state, a state already beyond U) **holds** u0, which
   changes E_h by exactly 0. So by construction no guarded step raises E_h by more than ``slack`` or leaves
   the bound.

Counts per trajectory (:attr:`RolloutGuard.counts`, (B,) int64 each): ``replaced`` (steps replaced by the
reference step), ``held`` (steps held at u0), ``clipped`` (steps clipped to the maximum-principle bound), and
what fired: ``energy``, ``bound``, ``residual`` (a step may fire several). ``steps``: guarded steps.

The guard works on the structured mesh of the data's grid (the data's split; ``kuhn`` for data made on a
mesh file, P1): for data on a split that is the data's own scheme; for mesh-file or P2 data it is the grid's
scheme, whose energy the evaluation measures too.

Example (Allen-Cahn: both steps overshoot the wells and are clipped; the noisy one still raises the energy and is
replaced by the reference step):

>>> import torch
>>> from fem.schemes import preset
>>> g = RolloutGuard(preset("ac", dt=1e-3), 6)
>>> u0 = torch.tanh(torch.linspace(-3, 3, 6)).reshape(1, 6, 1, 1).expand(2, 6, 6, 6)
>>> g.start(u0)
>>> u1 = g.step(torch.stack([1.5 * u0[0], u0[1] + 0.3 * torch.randn(6, 6, 6, generator=torch.Generator().manual_seed(0))]))
>>> float(u1.abs().max()) <= 1.0, g.counts["clipped"].tolist(), g.counts["replaced"].tolist()
(True, [1, 1], [0, 1])
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from pihamno.choices import GUARD_CHECKS
from pihamno.errors import InputError

#: what :attr:`RolloutGuard.counts` counts per trajectory
COUNTS = ("steps", "replaced", "held", "clipped", "energy", "bound", "residual")


@dataclass(frozen=True)
class GuardSettings:
    """Which checks the guard makes: ``energy`` and ``bound`` (booleans), ``residual`` (a tolerance on the
    residual indicator, or None: not checked). :meth:`parse` reads the command line's ``--guard``."""

    energy: bool = True
    bound: bool = True
    residual: float | None = None

    def __post_init__(self):
        if self.residual is not None and not (isinstance(self.residual, (int, float)) and self.residual > 0):
            raise InputError(f"guard residual tolerance must be a positive number, got {self.residual!r}")
        if not (self.energy or self.bound or self.residual is not None):
            raise InputError("a guard needs at least one check: energy, bound or residual=TOL")

    @classmethod
    def parse(cls, spec: str | None) -> "GuardSettings | None":
        """``"off"`` / None -> None; ``"on"`` -> energy and bound; else a comma list of ``energy``, ``bound``,
        ``residual=TOL`` (e.g. ``"energy,bound,residual=0.5"``).

        >>> GuardSettings.parse("energy,residual=0.5")
        GuardSettings(energy=True, bound=False, residual=0.5)
        """
        spec = "off" if spec is None else str(spec).strip().lower()
        if spec == "off":
            return None
        if spec == "on":
            return cls()
        energy = bound = False
        residual = None
        for item in (s.strip() for s in spec.split(",")):
            name, _, value = item.partition("=")
            if name == "energy" and not value:
                energy = True
            elif name == "bound" and not value:
                bound = True
            elif name == "residual" and value:
                try:
                    residual = float(value)
                except ValueError:
                    raise InputError(f"--guard residual={value}: the tolerance must be a number, e.g. residual=0.5") from None
            else:
                raise InputError(f"--guard {spec!r}: unknown item {item!r}; give 'on', 'off' or a comma list of "
                                 f"{', '.join(c + '=TOL' if c == 'residual' else c for c in GUARD_CHECKS)}")
        return cls(energy, bound, residual)

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        parts = [k for k in ("energy", "bound") if getattr(self, k)]
        return ",".join(parts + ([f"residual={self.residual:g}"] if self.residual is not None else []))


class RolloutGuard:
    """The guard of one PDE discretisation on the n^3 grid (module docstring).

    ``params``: the data's :class:`fem.schemes.PDEParams` (substeps included); ``split``: the structured mesh
    of the grid; ``settings``: a :class:`GuardSettings`; ``device``: where the reference step and the checks
    run (the rollout's); ``indicator``: the :class:`pihamno.physics.ResidualIndicator` of the residual check
    (default: on the ``split`` mesh, P1; :meth:`for_data` passes the data's own). Use :meth:`start` with the last
    given frame, then :meth:`step` with every prediction.
    """

    def __init__(self, params, n: int, split: str = "kuhn", settings: GuardSettings | None = None, device=None,
                 indicator=None):
        from fem.assembly import assemble
        from fem.mesh import cube_mesh
        from fem.schemes import stability_bound
        from fem.solvers_torch import TorchStepper

        self.params, self.n, self.split = params, int(n), str(split)
        self.settings = settings or GuardSettings()
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.stepper = TorchStepper(params, assemble(cube_mesh(self.n, params.L, self.split)), device=self.device)
        self.sops = self.stepper.sops
        bound = self.settings.bound
        self.clip_bound = params.equation.maximum_principle(params) if bound else None
        self.limit = stability_bound(params) if bound and self.clip_bound is None else None
        self.indicator = None
        if self.settings.residual is not None:
            from fem.mesh import MeshChoice
            from pihamno.physics import ResidualIndicator

            self.indicator = indicator or ResidualIndicator(params, self.n, mesh=MeshChoice(self.split),
                                                            device=self.device)
        self.counts: dict[str, torch.Tensor] = {}
        self._x0 = self._e0 = self._rt0 = self._clip = None

    @classmethod
    def for_data(cls, description, n: int | None = None, settings: GuardSettings | None = None,
                 device=None) -> "RolloutGuard":
        """The guard of a dataset's PDE, parameters and grid mesh (its split; ``kuhn`` for mesh-file data), with the
        residual indicator of its own discretisation: ``description`` a :class:`pihamno.data.DataDescription`;
        ``n`` defaults to the data's grid."""
        n = description.n if n is None else n
        device = torch.device(device) if device is not None else torch.device("cpu")
        indicator = None
        if settings is not None and settings.residual is not None:
            from pihamno.physics import ResidualIndicator

            indicator = ResidualIndicator.for_data(description, n, device)
        return cls(description.params, n, description.grid_split, settings, device, indicator)

    def describe(self) -> dict:
        """The settings and what they mean for this PDE (recorded in ``metrics.json``)."""
        return self.settings.to_dict() | {
            "clip_bound": self.clip_bound, "stability_bound": self.limit, "split": self.split,
            "reference": f"{self.params.scheme}, {self.params.substeps} step(s) of tau = {self.params.tau:g} per frame",
            "energy_slack": "rt(u0) + rt(u1), rt(u) = 2^-24 sum_i |dE/du_i| |u_i|"}

    # ------------------------------------------------------------------ nodal helpers
    def _nodal(self, u: torch.Tensor) -> torch.Tensor:
        """(B, n, n, n) -> (N, B) float64 on the guard's device."""
        if u.ndim != 4 or tuple(u.shape[1:]) != (self.n,) * 3:
            raise InputError(f"the guard was built for (B, {self.n}, {self.n}, {self.n}) fields, got {tuple(u.shape)}")
        return u.to(self.device, torch.float64).reshape(u.shape[0], -1).T

    def _energy(self, X: torch.Tensor) -> torch.Tensor:
        from fem.energy import energy_of_columns

        return energy_of_columns(self.params, self.sops, X)

    def _rounding(self, X: torch.Tensor) -> torch.Tensor:
        from fem.energy import rounding_tolerance_of_columns

        return rounding_tolerance_of_columns(self.params, self.sops, X)

    # ------------------------------------------------------------------ the rollout
    @torch.inference_mode()
    def start(self, u_last: torch.Tensor) -> None:
        """Begin a rollout from its last given frame (B, n, n, n); resets :attr:`counts`."""
        X = self._nodal(u_last)
        self._x0, self._e0, self._rt0 = X, self._energy(X), self._rounding(X)
        if self.clip_bound is not None:
            self._clip = torch.clamp(X.abs().amax(0), min=self.clip_bound)  # (B,)
        B = X.shape[1]
        self.counts = {k: torch.zeros(B, dtype=torch.int64, device=self.device) for k in COUNTS}

    @torch.inference_mode()
    def step(self, u_next: torch.Tensor) -> torch.Tensor:
        """The guarded next frame for the predicted ``u_next`` (B, n, n, n) from the current state; returns
        (B, n, n, n) in ``u_next``'s dtype and device, and makes it the current state."""
        if self._x0 is None:
            raise InputError("RolloutGuard.step before start: give the last given frame to start() first")
        X0, E0, rt0 = self._x0, self._e0, self._rt0
        X1 = self._nodal(u_next)
        if X1.shape[1] != X0.shape[1]:
            raise InputError(f"the guard holds {X0.shape[1]} trajectories, the prediction has {X1.shape[1]}")
        c = self.counts
        c["steps"] += 1
        if self._clip is not None:
            clipped = X1.abs().amax(0) > self._clip
            X1 = torch.maximum(torch.minimum(X1, self._clip), -self._clip)
            c["clipped"] += clipped
        E1, rt1 = self._energy(X1), self._rounding(X1)
        fired = {}
        if self.settings.energy:
            fired["energy"] = E1 - E0 > rt0 + rt1
        if self.limit is not None:
            fired["bound"] = X1.abs().amax(0) > self.limit
        if self.indicator is not None:
            grid = (X0.shape[1],) + (self.n,) * 3
            ind = self.indicator(X0.T.reshape(grid), X1.T.reshape(grid)).to(self.device)
            fired["residual"] = ind > self.settings.residual
        bad = torch.zeros(X1.shape[1], dtype=torch.bool, device=self.device)
        for k, f in fired.items():
            c[k] += f
            bad |= f
        if bool(bad.any()):
            X1, E1, rt1 = self._replace(bad, X0, E0, rt0, X1, E1, rt1)
        self._x0, self._e0, self._rt0 = X1, E1, rt1
        return X1.T.reshape(u_next.shape).to(device=u_next.device, dtype=u_next.dtype)

    def _replace(self, bad, X0, E0, rt0, X1, E1, rt1):
        """Columns ``bad``: the reference step from X0 (rounded to float32), or X0 itself where that fails too."""
        idx = torch.nonzero(bad).flatten()
        Xr, g = X0[:, idx], None
        for _ in range(self.params.substeps):
            Xr, _, _, g = self.stepper.advance(Xr, g)
        Xr = Xr.float().double()  # what a stored frame holds
        if self._clip is not None:  # a no-op by the maximum principle; float32 rounding cannot cross +-1
            Xr = torch.maximum(torch.minimum(Xr, self._clip[idx]), -self._clip[idx])
        Er, rtr = self._energy(Xr), self._rounding(Xr)
        ok = Er - E0[idx] <= rt0[idx] + rtr
        if self.limit is not None:
            ok &= Xr.abs().amax(0) <= self.limit
        keep = torch.where(ok[None], Xr, X0[:, idx])
        X1, E1, rt1 = X1.clone(), E1.clone(), rt1.clone()
        X1[:, idx] = keep
        E1[idx] = torch.where(ok, Er, E0[idx])
        rt1[idx] = torch.where(ok, rtr, rt0[idx])
        self.counts["replaced"][idx] += ok
        self.counts["held"][idx] += ~ok
        return X1, E1, rt1

    def totals(self) -> dict:
        """The counts as plain lists per trajectory (JSON)."""
        return {k: v.cpu().tolist() for k, v in self.counts.items()}

    def __repr__(self) -> str:
        return (f"RolloutGuard({self.params.pde}, n={self.n}, {self.split}, {self.settings.describe()}, "
                f"clip={self.clip_bound}, U={self.limit})")
