"""The run record: what a training checkpoint says about its data, and the checks made against it.

A run folder describes itself. Besides the trainer's ``meta`` (the dataset's attributes) and ``split`` (the
train / validation / test trajectory indices), every checkpoint written through :func:`pihamno.training.train`
stores under ``data``:

===============  ===================================================================================
``path``         ``[data] path`` as the config gave it (relative to the folder training ran in)
``abs_path``     the same file, absolute (resolved when training started)
``run_rel``      the same file relative to the run folder (still right after moving both together)
``fingerprint``  :func:`fingerprint`: file name, shape, PDE parameters, mesh, element and ``meta_sha256``,
                 a hash of the attributes that define the data's content (:data:`CONTENT_KEYS`)
===============  ===================================================================================

From these, :func:`locate_data` finds the training data again from any working directory, :func:`same_data`
tells whether a file holds that data (so ``evaluate`` defaults to its test split, and refuses to score
trajectories seen in training unless asked), and :func:`mismatches` names what makes another file
incompatible with the model (:data:`COMPATIBLE`: PDE, eps, L, dt, n, mesh). Checkpoints written before the
record existed still carry ``meta``: their fingerprint is rebuilt from it (without the shape).

>>> a = fingerprint_of({"pde": "ac", "eps": 0.1, "L": 2.0, "dt": 1e-4, "n": 8, "split": "kuhn"}, "a.h5", (7, 8, 8, 8, 8))
>>> b = fingerprint_of({"pde": "ac", "eps": 0.2, "L": 2.0, "dt": 1e-4, "n": 8, "split": "kuhn"}, "b.h5", (3, 8, 8, 8, 8))
>>> same_data(a, a), same_data(a, b), mismatches(a, b)
(True, False, ['eps 0.2 (the training data: 0.1)'])
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path

from pihamno.errors import InputError

#: Attributes that define a dataset's content (those of :meth:`pihamno.data.DatasetSpec.attrs` but the format
#: version, the creation time and the package version): two files agreeing on all of them hold the same data.
CONTENT_KEYS = ("pde", "eps", "L", "dt", "substeps", "S", "mass", "scheme", "n", "frames", "trajectories", "split",
                "mesh_file", "mesh_hash", "element", "ic_family", "ic_params", "seed", "rtol", "preconditioner")
#: What must agree between the data a model was trained on and the data it is evaluated on (else --allow-mismatch).
COMPATIBLE = ("pde", "eps", "L", "dt", "n", "mesh")


# --------------------------------------------------------------------------------------------- fingerprints
def meta_hash(meta: dict) -> str:
    """sha256 (16 hex digits) of the :data:`CONTENT_KEYS` entries of a dataset's metadata."""
    from pihamno.io import plain

    content = {k: plain(meta[k]) for k in CONTENT_KEYS if meta.get(k) is not None}
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _mesh_of(meta: dict) -> dict:
    if meta.get("mesh_file"):
        return {"file": Path(str(meta["mesh_file"])).name, "hash": meta.get("mesh_hash")}
    return {"split": meta.get("split") or None}


def fingerprint_of(meta: dict, name: str, shape=None) -> dict:
    """The fingerprint of a dataset from its metadata (:func:`pihamno.data.read_metadata`), file name and the
    shape (trajectories, frames, n, n, n) of ``u`` (``None``: unknown)."""
    n = int(shape[-1]) if shape else meta.get("n")
    return {"name": name, "shape": [int(s) for s in shape] if shape else None, "pde": meta.get("pde"),
            "eps": meta.get("eps"), "L": meta.get("L"), "dt": meta.get("dt"), "n": None if n is None else int(n),
            "mesh": _mesh_of(meta), "element": meta.get("element"), "meta_sha256": meta_hash(meta)}


def fingerprint(path: str | Path) -> dict:
    """:func:`fingerprint_of` the dataset file ``path`` (reads its attributes and the shape of ``u``)."""
    from pihamno.data import dataset_info

    info = dataset_info(path)
    return fingerprint_of(info["metadata"], Path(path).name, info["shape"])


def stored_fingerprint(payload: dict) -> dict | None:
    """The fingerprint of a checkpoint's training data: stored, or rebuilt from its ``meta``; ``None`` when the
    checkpoint records no data (a bare model checkpoint)."""
    data = payload.get("data") or {}
    if data.get("fingerprint"):
        return data["fingerprint"]
    if data.get("meta"):
        return fingerprint_of(data["meta"], Path(str(data.get("path", ""))).name)
    return None


def same_data(a: dict, b: dict) -> bool:
    """Whether two fingerprints describe the same data: equal content hash and (where both are known) shape."""
    return a["meta_sha256"] == b["meta_sha256"] and (a["shape"] is None or b["shape"] is None or a["shape"] == b["shape"])


def _differ(a, b) -> bool:
    if a is None or b is None:
        return False  # unknown on one side: nothing to compare
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return not math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=0.0)
    return a != b


def _mesh_text(m: dict) -> str:
    return f"mesh file {m['file']}" if m.get("file") else f"{m.get('split')} mesh"


def mismatches(trained: dict, data: dict) -> list[str]:
    """``"eps 0.2 (the training data: 0.1)"`` for every :data:`COMPATIBLE` entry in which ``data`` differs."""
    out = []
    for key in COMPATIBLE:
        a, b = trained.get(key), data.get(key)
        if key == "mesh":
            a, b = a or {}, b or {}
            if a.get("file") and b.get("file"):
                differ = _differ(a.get("hash"), b.get("hash")) or (not a.get("hash") and a["file"] != b["file"])
            else:
                differ = bool(a) and bool(b) and (a.get("file"), a.get("split")) != (b.get("file"), b.get("split"))
            if differ:
                out.append(f"{_mesh_text(b)} (the training data: {_mesh_text(a)})")
        elif _differ(a, b):
            out.append(f"{key} {b:g} (the training data: {a:g})" if isinstance(b, (int, float)) and isinstance(a, (int, float))
                       else f"{key} {b!r} (the training data: {a!r})")
    return out


def content_differences(old_meta: dict, new_meta: dict) -> list[str]:
    """``"seed 1 (the checkpoint's data: 0)"`` for every :data:`CONTENT_KEYS` attribute that differs (a table
    such as ``ic_params`` only by name)."""
    out = []
    for k in CONTENT_KEYS:
        a, b = old_meta.get(k), new_meta.get(k)
        if a != b:
            out.append(f"{k} differs" if isinstance(a, (dict, list)) or isinstance(b, (dict, list))
                       else f"{k} {b!r} (the checkpoint's data: {a!r})")
    return out


# --------------------------------------------------------------------------------------------- paths
def data_record(path: str | Path, run_out: str | Path) -> dict:
    """The ``data`` entries a training checkpoint stores (module table; the trainer adds ``meta``)."""
    absolute = Path(os.path.abspath(path))
    return {"path": str(path), "abs_path": str(absolute),
            "run_rel": os.path.relpath(absolute, os.path.abspath(run_out)), "fingerprint": fingerprint(absolute)}


def _training_folder(checkpoint: Path, run_out: str) -> Path | None:
    """The folder training ran in, inferred from the checkpoint's folder and the relative ``run.out``."""
    folder, out = Path(os.path.abspath(checkpoint)).parent, Path(run_out)
    if out.is_absolute() or not out.parts or folder.parts[-len(out.parts):] != out.parts:
        return None
    return Path(*folder.parts[: len(folder.parts) - len(out.parts)])


def data_candidates(payload: dict, checkpoint: str | Path) -> list[Path]:
    """Where a checkpoint's training data may be, most reliable first: its absolute path, the path relative to
    the run folder, and (older checkpoints) the config's path from the folder training ran in."""
    data, cfg = payload.get("data") or {}, payload.get("config") or {}
    given = str(data.get("path") or cfg.get("data", {}).get("path") or "")
    found = []
    if data.get("abs_path"):
        found.append(Path(data["abs_path"]))
    if data.get("run_rel"):
        found.append(Path(os.path.abspath(checkpoint)).parent / data["run_rel"])
    if given and Path(given).is_absolute():
        found.append(Path(given))
    elif given:
        start = _training_folder(Path(checkpoint), str(cfg.get("run", {}).get("out", "")))
        if start is not None:
            found.append(start / given)
    return list(dict.fromkeys(os.path.normpath(p) for p in found))


def locate_data(payload: dict, checkpoint: str | Path) -> Path:
    """The checkpoint's training data file, found from any working directory (:func:`data_candidates`) and
    checked against its fingerprint; an :class:`InputError` naming the places looked at when it is not there."""
    stored = stored_fingerprint(payload)
    looked = data_candidates(payload, checkpoint)
    other = None
    for p in map(Path, looked):
        if p.is_file():
            if stored is None or same_data(stored, fingerprint(p)):
                return p
            other = other or p
    if other is not None:
        raise InputError(f"{str(other)!r} is no longer the data {str(checkpoint)!r} was trained on (its settings "
                         "changed); pass --data FILE")
    where = " or ".join(repr(str(p)) for p in looked) or "nowhere (the checkpoint records no data path)"
    raise InputError(f"the training data of {str(checkpoint)!r} was not found at {where}; pass --data FILE")
