"""Checks of a reference dataset against its own scheme: metadata, finiteness, discrete residual, mass, energy.

:func:`check_dataset` returns a JSON-able report whose ``checks`` each have a ``status``:
``ok``, ``FAIL``, ``info`` (reported, not expected to hold exactly) or ``skip`` (could not be evaluated).

* **metadata** -- the attributes rebuild the PDE parameters; ``u`` has shape (trajectories, frames, n, n, n)
  as the attributes say, dtype float32; every trajectory is marked done.
* **finite** -- no NaN or Inf in ``u``.
* **residual** -- ``fem.schemes.relative_residual`` of consecutive stored frames (float32 data, float64
  arithmetic), max over steps and trajectories, on the data's own discretisation: the frames are mapped to
  its dofs by :func:`fem.interpolation.samples_to_dofs` (the identity on the grid mesh, the exact selection
  for P2 on the vertex grid, the least-squares left inverse of the sampling for a mesh file). With
  ``substeps = 1`` and an exact map it must be at the solver tolerance up to the float32 rounding of the
  frames: limit ``10 rtol + 2 floor``, where ``floor`` is the same quantity for frames perturbed by their
  largest relative rounding error ``2^-24`` with random signs. Otherwise (``substeps > 1``: the residual of
  one step of size dt between frames; a mesh file whose grid samples do not determine its dofs) it is
  reported, with the **physics-loss floor** it implies: the loss of the true frames is ``value^2`` times that
  of standing still (exactly for the weak term; the strong term is an equivalent norm).
* **loss element** (``loss_element`` given and not the data's) -- the same ratio for the weak residual with
  that element's test functions on the data's mesh (P2 test functions on P1 frames): reported, with its floor.
* **mass drift** -- ``max_f |int u_f - int u_0|`` relative to ``int |u_0|``. A PDE whose scheme conserves it
  (:attr:`fem.pde.PDE.conserves_mass`: CH) conserves it to round-off: per frame
  ``|int u_f - int u_0| <= 2 * 2^-24 (int |u_f| + int |u_0|)`` (float32 storage; about 4 * 2^-24 relative).
  Others (AC, SH): reported.
* **energy** -- ``E_h`` of the stored frames must not increase by more than twice the first-order float32
  rounding bound (``fem.energy.rounding_tolerance``); the float64 energies stored by the solver must not
  increase beyond ``1e-10`` relative.
* **solver** -- the solver's own per-frame residuals (``solver_residual``) are <= ``rtol``.

When the map to the dofs is not exact (a mesh file with more dofs than grid nodes, or above the size of the
dense least-squares map), residual, mass and energy are evaluated after trilinear interpolation back to the
mesh and only reported; :data:`report["physics_loss_floor"]` then states the floor in one sentence.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from pihamno.data.description import DataDescription
from pihamno.errors import InputError

ROUND32 = 2.0**-24
_REQUIRED = ("pde", "eps", "L", "dt", "substeps", "S", "mass", "n", "frames", "trajectories", "element", "rtol")
#: what training needs of the attributes: the PDE and the grid (the solver's bookkeeping is check-data's)
_REQUIRED_TO_TRAIN = ("pde", "eps", "L", "dt", "n")


def _check(name, status, value=None, limit=None, note=""):
    return {"name": name, "status": status, "value": value, "limit": limit, "note": note}


def _metadata(f, meta: dict, required: tuple[str, ...] = _REQUIRED) -> tuple[dict, object]:
    """The metadata check (``required`` attributes present, the PDE rebuilt, ``u`` of the shape and dtype they
    say, every trajectory done) and the PDE parameters (None when they cannot be rebuilt)."""
    from fem.schemes import PDEParams

    problems = [f"attribute {k!r} missing" for k in required if k not in meta]
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
            n = int(meta["n"])
            T, F = (int(meta.get(k, u.shape[i] if u.ndim > i else 0)) for i, k in enumerate(("trajectories", "frames")))
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


def _structure(f, meta: dict, max_trajectories: int | None = None,
               required: tuple[str, ...] = _REQUIRED) -> tuple[list[dict], object, int]:
    """The checks that need no solver -- metadata and finiteness of the first ``max_trajectories`` trajectories
    (all by default) -- with the PDE parameters (None when they cannot be rebuilt) and the number checked."""
    mcheck, params = _metadata(f, meta, required)
    if "u" not in f:
        return [mcheck], params, 0
    u = f["u"]
    T = u.shape[0] if max_trajectories is None else min(u.shape[0], int(max_trajectories))
    counts = [int((~np.isfinite(u[i])).sum()) for i in range(T)]
    bad = sum(counts)
    first = f" (the first in trajectory {next(i for i, c in enumerate(counts) if c)})" if bad else ""
    return [mcheck, _check("finite", "FAIL" if bad else "ok", bad, 0,
                           f"{bad} non-finite values in {T} trajectories checked{first}")], params, T


def require_sound(path: str | Path) -> None:
    """Refuse data that fail the checks of ``check-data`` that need no solver (metadata, shape, finiteness):
    one :class:`InputError` naming the file and the first failing check. Training runs it before it starts; of
    the attributes it requires those that define the PDE and the grid (the solver's bookkeeping -- S, rtol,
    element, ... -- is check-data's business: data made by another solver train too)."""
    from pihamno.data.dataset import _open, read_metadata

    meta = read_metadata(path)
    with _open(path) as f:
        found, _, _ = _structure(f, meta, required=_REQUIRED_TO_TRAIN)
    failed = next((c for c in found if c["status"] != "ok"), None)
    if failed is not None:
        raise InputError(f"dataset {str(path)!r} fails check-data's {failed['name']} check ({failed['note']}); "
                         f"run pihamno check-data {path} for the whole report, and regenerate the data")


def _operators(data: DataDescription, params, n: int, element: str | None = None):
    """(fem operators, :class:`fem.interpolation.SampleInverse`) of the dataset's mesh with ``element`` (default:
    the data's own, whose mesh hash must match the recorded one); raises InputError if unavailable."""
    from fem.assembly import assemble, mesh_key
    from fem.interpolation import samples_to_dofs

    choice = data.mesh
    own = element is None
    element = data.element if own else element
    mesh = choice.build(n, params.L, element)
    if own and data.mesh_hash and mesh_key(mesh) != data.mesh_hash:
        if choice.is_file:
            raise InputError(f"mesh file {choice.file!r} has changed since the data was made (hash differs)")
        raise InputError(f"the {element} {choice.split} mesh of n = {n} differs from the one the data was made on "
                         "(hash differs; P2 data before the vertex-grid construction used the n^3 grid mesh)")
    ops = assemble(mesh, element)
    return ops, samples_to_dofs(ops, n)


def _relative_residuals(fp, sops, P, G0, G1):
    """Relative residual (B,) of the steps between grid columns G0 -> G1 (n^3, B), mapped to the dofs by P."""
    from fem.schemes import dual_norm, explicit_residual, residual

    X0, X1 = P @ G0, P @ G1
    scale = dual_norm(sops, explicit_residual(fp, sops, X0))
    return dual_norm(sops, residual(fp, sops, X0, X1)) / np.where(scale > 0, scale, 1.0), scale


def floor_sentence(what: str, ratio: float, term: str = "the physics loss") -> str:
    """``"<what>; <term> on them has a floor of X times its standing-still value"``."""
    return f"{what}; {term} on them has a floor of {ratio:.1e} times its standing-still value"


def check_dataset(path: str | Path, max_trajectories: int | None = None, progress: bool = False,
                  loss_element: str | None = None) -> dict:
    """Run every check on the dataset at ``path`` (the first ``max_trajectories`` trajectories if given).

    ``loss_element``: also report the floor of the weak physics loss with these test functions (e.g. ``"P2"``
    on P1 data) on the data's mesh. ``report["physics_loss_floor"]`` lists, for every case that is not exact,
    ``{"term", "ratio", "sentence"}`` (empty when the loss vanishes on the frames up to float32 rounding).
    """
    from fem.energy import free_energy, mass, rounding_tolerance
    from fem.schemes import SchemeOperators, dual_norm, explicit_residual, residual, stability_bound
    from pihamno.data.dataset import _open, read_metadata

    path = Path(path)
    meta = read_metadata(path)
    report = {"path": str(path), "metadata": meta, "checks": [], "physics_loss_floor": []}
    checks = report["checks"]
    with _open(path) as f:
        found, params, T = _structure(f, meta, max_trajectories)
        checks.extend(found)
        report["checked_trajectories"] = T
        if "u" not in f:
            report["ok"] = False
            return report
        u = f["u"]
        names = ("residual", "mass drift", "energy", "solver")
        if any(c["status"] != "ok" for c in found) or params is None:
            checks.extend(_check(nm, "skip", note="needs consistent metadata and finite data") for nm in names)
            report["ok"] = False
            return report
        n = u.shape[2]
        data = DataDescription.from_attrs(meta, u.shape)
        try:
            ops, P = _operators(data, params, n)
            other = None
            if loss_element is not None and loss_element != data.element:
                oops, oP = _operators(data, params, n, loss_element)
                other = (SchemeOperators.from_fem(oops), oP)
        except InputError as exc:
            checks.extend(_check(nm, "skip", note=str(exc)) for nm in names)
            report["ok"] = False
            return report
        exact = P.exact
        sops = SchemeOperators.from_fem(ops)
        fp = params.frame_level()
        rng = np.random.default_rng(0)
        worst = dict(res=0.0, floor=0.0, drift=0.0, drift_viol=0, dE=-np.inf, dE_viol=0, dE_stored=-np.inf, other=0.0)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=T, desc="check", unit="traj", dynamic_ncols=True)
        for i in range(T):
            Gr = np.asarray(u[i], dtype=np.float64).reshape(u.shape[1], -1).T  # (n^3, frames) grid columns
            X = P @ Gr
            X0, X1, G0, G1 = X[:, :-1], X[:, 1:], Gr[:, :-1], Gr[:, 1:]
            scale = dual_norm(sops, explicit_residual(fp, sops, X0))
            scale = np.where(scale > 0, scale, 1.0)
            R = residual(fp, sops, X0, X1)
            d0 = ROUND32 * np.abs(G0) * rng.choice([-1.0, 1.0], G0.shape)  # rounding of the stored grid values
            d1 = ROUND32 * np.abs(G1) * rng.choice([-1.0, 1.0], G1.shape)
            floor = dual_norm(sops, residual(fp, sops, X0 + P @ d0, X1 + P @ d1) - R) / scale
            rel = dual_norm(sops, R) / scale
            if other is not None:
                worst["other"] = max(worst["other"], float(_relative_residuals(fp, *other, G0, G1)[0].max()))
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
        rtol = data.rtol

        # residual
        via = "" if P.kind == "identity" else f" (frames -> dofs: {P.describe()})"
        if exact and params.substeps == 1:
            limit = 10 * rtol + 2 * worst["floor"]
            st = "ok" if worst["res"] <= limit else "FAIL"
            note = f"max relative step residual; float32 rounding floor {worst['floor']:.1e}, rtol {rtol:.0e}{via}"
        else:
            limit, st = None, "info"
            why = (f"frames are {params.substeps} scheme steps apart (substeps = {params.substeps}), the loss takes one "
                   "step of size dt" if params.substeps > 1 else f"frames are grid samples of a mesh-file solution{via}")
            sentence = floor_sentence(why, worst["res"] ** 2)
            report["physics_loss_floor"].append({"term": "strong and weak", "ratio": worst["res"] ** 2,
                                                 "sentence": sentence})
            note = f"not expected to vanish: {sentence}"
        checks.append(_check("residual", st, worst["res"], limit, note))
        if other is not None:
            data_el = data.element
            sentence = floor_sentence(f"{loss_element} test functions on these {data_el} frames (the strong term stays "
                                      f"on the data's {data_el})", worst["other"] ** 2, "the weak loss")
            report["physics_loss_floor"].append({"term": f"weak ({loss_element})", "ratio": worst["other"] ** 2,
                                                 "sentence": sentence})
            checks.append(_check(f"{loss_element} weak", "info", worst["other"], None, sentence))

        # mass
        conserved = params.equation.conserves_mass
        if conserved and exact:
            st = "ok" if worst["drift_viol"] == 0 else "FAIL"
            note = (f"{params.pde.upper()} conserves int u: {worst['drift_viol']} frames beyond the float32 rounding "
                    "bound 2*2^-24*(int|u_f| + int|u_0|)")
            checks.append(_check("mass drift", st, worst["drift"], 4 * ROUND32, note))
        else:
            why = "frames interpolated to a mesh, not exact" if conserved else "not conserved by this PDE"
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
    for floor in rep.get("physics_loss_floor", []):
        lines.append(f"  physics-loss floor: {floor['sentence']}")
    lines.append(f"  => {'all checks passed' if rep['ok'] else 'FAILED'}")
    return "\n".join(lines)


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.2e}"
    return str(v)
