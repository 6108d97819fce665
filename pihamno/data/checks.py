"""Checks of a reference dataset against its own scheme: metadata, finiteness, discrete residual, mass, energy.

:func:`check_dataset` returns a JSON-able report whose ``checks`` each have a ``status``:
``ok``, ``FAIL``, ``info`` (reported, not expected to hold exactly) or ``skip`` (could not be evaluated).

* **metadata** -- the attributes rebuild the PDE parameters; ``u`` has shape (trajectories, frames, n, n, n)
  as the attributes say, dtype float32; every trajectory is marked done.
* **finite** -- no NaN or Inf in ``u``.
* **residual** -- ``fem.schemes.relative_residual`` of consecutive stored frames (float32 data, float64
  arithmetic), max over steps and trajectories. With ``substeps = 1`` on a P1 grid mesh it must be at the
  solver tolerance up to the float32 rounding of the frames: limit ``10 rtol + 2 floor``, where ``floor`` is
  the same quantity for frames perturbed by their largest relative rounding error ``2^-24`` with random signs.
  With ``substeps > 1`` it is the residual of one step of size dt between frames: reported, not expected to vanish.
* **mass drift** -- ``max_f |int u_f - int u_0|`` relative to ``int |u_0|``. A PDE whose scheme conserves it
  (:attr:`fem.pde.PDE.conserves_mass`: CH) conserves it to round-off: per frame
  ``|int u_f - int u_0| <= 2 * 2^-24 (int |u_f| + int |u_0|)`` (float32 storage; about 4 * 2^-24 relative).
  Others (AC, SH): reported.
* **energy** -- ``E_h`` of the stored frames must not increase by more than twice the first-order float32
  rounding bound (``fem.energy.rounding_tolerance``); the float64 energies stored by the solver must not
  increase beyond ``1e-10`` relative.
* **solver** -- the solver's own per-frame residuals (``solver_residual``) are <= ``rtol``.

On a mesh whose dofs are not the grid (mesh file, P2), frames are grid samples of the finite-element
solution: residual, mass and energy are evaluated after interpolation back to the mesh and only reported.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from pihamno.errors import InputError

ROUND32 = 2.0**-24
_REQUIRED = ("pde", "eps", "L", "dt", "substeps", "S", "mass", "n", "frames", "trajectories", "element", "rtol")


def _check(name, status, value=None, limit=None, note=""):
    return {"name": name, "status": status, "value": value, "limit": limit, "note": note}


def _metadata(f, meta: dict) -> tuple[dict, object]:
    """The metadata check and the PDE parameters (None when they cannot be rebuilt)."""
    from fem.schemes import PDEParams

    problems = [f"attribute {k!r} missing" for k in _REQUIRED if k not in meta]
    params = None
    try:
        params = PDEParams.from_dict(meta)
    except (InputError, TypeError, ValueError) as exc:
        problems.append(f"PDE parameters invalid ({exc})")
    if "u" not in f:
        problems.append("no 'u' dataset")
    else:
        u = f["u"]
        try:
            T, F, n = int(meta["trajectories"]), int(meta["frames"]), int(meta["n"])
            if u.shape != (T, F, n, n, n):
                problems.append(f"u has shape {u.shape}, the attributes say {(T, F, n, n, n)}")
        except (KeyError, TypeError, ValueError):
            pass
        if u.dtype != np.float32:
            problems.append(f"u has dtype {u.dtype}, expected float32")
        if "done" in f:
            missing = int((f["done"][:] == 0).sum())
            if missing:
                problems.append(f"{missing} trajectories not done (unfinished generation)")
    status = "FAIL" if problems else "ok"
    return _check("metadata", status, note="; ".join(problems) or "attributes, shape and dtype consistent"), params


def _operators(meta: dict, params, n: int):
    """(fem operators, grid->dofs matrix or None) for the dataset's mesh; raises InputError if unavailable."""
    from fem.assembly import assemble, mesh_key
    from fem.interpolation import grid_to_dofs
    from fem.mesh import MeshChoice

    choice = MeshChoice.from_attrs(meta)
    mesh = choice.build(n, params.L)
    if choice.is_file and meta.get("mesh_hash") and mesh_key(mesh) != meta["mesh_hash"]:
        raise InputError(f"mesh file {choice.file!r} has changed since the data was made (hash differs)")
    ops = assemble(mesh, str(meta.get("element", "P1")))
    return ops, grid_to_dofs(ops, n)


def check_dataset(path: str | Path, max_trajectories: int | None = None, progress: bool = False) -> dict:
    """Run every check on the dataset at ``path`` (the first ``max_trajectories`` trajectories if given)."""
    from fem.energy import free_energy, mass, rounding_tolerance
    from fem.schemes import SchemeOperators, dual_norm, explicit_residual, residual, stability_bound
    from pihamno.data.dataset import _open, read_metadata

    path = Path(path)
    meta = read_metadata(path)
    report = {"path": str(path), "metadata": meta, "checks": []}
    checks = report["checks"]
    with _open(path) as f:
        mcheck, params = _metadata(f, meta)
        checks.append(mcheck)
        if "u" not in f:
            report["ok"] = False
            return report
        u = f["u"]
        T = u.shape[0] if max_trajectories is None else min(u.shape[0], int(max_trajectories))
        bad = sum(int((~np.isfinite(u[i])).sum()) for i in range(T))
        checks.append(_check("finite", "FAIL" if bad else "ok", bad, 0, f"non-finite values in {T} trajectories"))
        names = ("residual", "mass drift", "energy", "solver")
        if mcheck["status"] != "ok" or params is None or bad:
            checks.extend(_check(nm, "skip", note="needs consistent metadata and finite data") for nm in names)
            report["ok"] = False
            return report
        n = u.shape[2]
        try:
            ops, P = _operators(meta, params, n)
        except InputError as exc:
            checks.extend(_check(nm, "skip", note=str(exc)) for nm in names)
            report["ok"] = False
            return report
        exact = P is None
        sops = SchemeOperators.from_fem(ops)
        fp = params.frame_level()
        rng = np.random.default_rng(0)
        worst = dict(res=0.0, floor=0.0, drift=0.0, drift_viol=0, dE=-np.inf, dE_viol=0, dE_stored=-np.inf)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=T, desc="check", unit="traj", dynamic_ncols=True)
        for i in range(T):
            X = np.asarray(u[i], dtype=np.float64).reshape(u.shape[1], -1).T  # (N, frames)
            if P is not None:
                X = P @ X
            X0, X1 = X[:, :-1], X[:, 1:]
            scale = dual_norm(sops, explicit_residual(fp, sops, X0))
            scale = np.where(scale > 0, scale, 1.0)
            R = residual(fp, sops, X0, X1)
            d0 = ROUND32 * np.abs(X0) * rng.choice([-1.0, 1.0], X0.shape)
            d1 = ROUND32 * np.abs(X1) * rng.choice([-1.0, 1.0], X1.shape)
            floor = dual_norm(sops, residual(fp, sops, X0 + d0, X1 + d1) - R) / scale
            rel = dual_norm(sops, R) / scale
            k = int(np.argmax(rel))
            if rel[k] > worst["res"]:
                worst["res"], worst["floor"] = float(rel[k]), float(floor[k])
            m = mass(sops, X)
            absmass = mass(sops, np.abs(X))
            drift = np.abs(m - m[0])
            worst["drift"] = max(worst["drift"], float(drift.max() / max(absmass[0], 1e-300)))
            worst["drift_viol"] += int((drift > 2 * ROUND32 * (absmass + absmass[0])).sum())
            E = free_energy(params, sops, X)
            tolE = rounding_tolerance(params, sops, X)
            dE = np.diff(E)
            worst["dE_viol"] += int((dE > 2 * (tolE[:-1] + tolE[1:])).sum())
            worst["dE"] = max(worst["dE"], float((dE / np.maximum(np.abs(E[:-1]), 1e-300)).max()))
            if "energy" in f:
                Es = f["energy"][i]
                worst["dE_stored"] = max(worst["dE_stored"], float((np.diff(Es) / np.maximum(np.abs(Es[:-1]), 1e-300)).max()))
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        rtol = float(meta["rtol"])

        # residual
        if exact and params.substeps == 1:
            limit = 10 * rtol + 2 * worst["floor"]
            st = "ok" if worst["res"] <= limit else "FAIL"
            note = f"max relative step residual; float32 rounding floor {worst['floor']:.1e}, rtol {rtol:.0e}"
        else:
            limit, st = None, "info"
            why = "substeps > 1: residual of one step of size dt between frames" if params.substeps > 1 else \
                "frames are grid samples of a non-grid finite-element solution"
            note = f"{why}; not expected to vanish"
        checks.append(_check("residual", st, worst["res"], limit, note))

        # mass
        conserved = params.equation.conserves_mass
        if conserved and exact:
            st = "ok" if worst["drift_viol"] == 0 else "FAIL"
            note = (f"{params.pde.upper()} conserves int u: {worst['drift_viol']} frames beyond the float32 rounding "
                    "bound 2*2^-24*(int|u_f| + int|u_0|)")
            checks.append(_check("mass drift", st, worst["drift"], 4 * ROUND32, note))
        else:
            why = "grid samples of a non-grid solution" if conserved else "not conserved by this PDE"
            checks.append(_check("mass drift", "info", worst["drift"], None, why))

        # energy
        stored_ok = worst["dE_stored"] <= 1e-10
        if exact:
            st = "ok" if worst["dE_viol"] == 0 and stored_ok else "FAIL"
            note = f"{worst['dE_viol']} increases beyond float32 rounding; stored float64 energies max rel. change {worst['dE_stored']:.1e}"
        else:
            st = "ok" if stored_ok else "FAIL"
            note = f"stored float64 energies max rel. change {worst['dE_stored']:.1e} (frames: grid samples, info only)"
        checks.append(_check("energy", st, worst["dE"], None, "max (E[f+1]-E[f])/|E[f]| of the frames; " + note))

        # solver log
        if "solver_residual" in f:
            sres = float(np.nanmax(f["solver_residual"][:T])) if T else 0.0
            its = f["cg_iterations"][:T] if "cg_iterations" in f else None
            bound = stability_bound(params)
            max_abs = float(np.nanmax(f["max_abs"][:T])) if "max_abs" in f and T else math.nan
            extra = f"; CG iterations per frame {its.mean():.1f} mean, {its.max()} max" if its is not None and its.size else ""
            extra += f"; max |u| {max_abs:.3g} (energy decay proved below {bound:.3g})" if bound else ""
            st = "ok" if sres <= rtol * (1 + 1e-6) else "FAIL"
            checks.append(_check("solver", st, sres, rtol, "solver's own relative residuals" + extra))
        else:
            checks.append(_check("solver", "skip", note="no solver log in the file"))
    report["ok"] = all(c["status"] != "FAIL" for c in checks)
    report["checked_trajectories"] = T
    return report


def format_report(rep: dict) -> str:
    """A human-readable table of one report of :func:`pihamno.data.checks.check_dataset`."""
    m = rep["metadata"]
    from fem.mesh import MeshChoice

    try:
        where = MeshChoice.from_attrs(m).describe()
    except InputError:
        where = f"split {m.get('split')!r}, mesh file {m.get('mesh_file')!r}"
    lines = [
        f"{rep['path']}: {m.get('pde')} eps={m.get('eps')} L={m.get('L')} n={m.get('n')} dt={m.get('dt')} "
        f"substeps={m.get('substeps')} S={m.get('S')} {m.get('scheme')} ({where}, {m.get('element')}); "
        f"{m.get('trajectories')} trajectories x {m.get('frames')} frames, ic={m.get('ic_family')}, "
        f"checked {rep.get('checked_trajectories', 0)}",
        f"  {'check':<11} {'status':<6} {'value':>9} {'limit':>9}  note",
    ]
    for c in rep["checks"]:
        lines.append(f"  {c['name']:<11} {c['status']:<6} {_fmt(c['value']):>9} {_fmt(c['limit']):>9}  {c['note']}")
    lines.append(f"  => {'all checks passed' if rep['ok'] else 'FAILED'}")
    return "\n".join(lines)


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.2e}"
    return str(v)
