"""Write a :class:`~pihamno.export.source.FieldSeries` as a ParaView time series, atomically.

Output folder ``out``::

    out/<stem>.pvd               collection: one entry per frame, timestep = frame * dt
    out/<stem>_<frame>.vti       grid output: image data, spacing h, origin 0 (or .vtu on a mesh)

Every per-frame file holds all fields of the series as point arrays (``reference``, ``prediction``,
``error`` for a rollout; ``u`` for a dataset). The whole folder is built in a temporary folder beside
``out`` and renamed into place at the end, so an interrupted export never leaves a partial ``out``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from pihamno.errors import InputError
from pihamno.export.grid import write_vti
from pihamno.export.mesh import MeshTarget, write_vtu
from pihamno.export.pvd import write_pvd
from pihamno.export.source import FieldSeries


@contextlib.contextmanager
def atomic_dir(path: str | Path, overwrite: bool = False):
    """Yield a fresh temporary folder beside ``path``; on success it replaces ``path``, on error it is deleted.

    An existing ``path`` is replaced only with ``overwrite`` and only if it looks like an earlier export
    (empty, or holding a .pvd file), so a mistyped ``--out`` cannot delete unrelated data.
    """
    path = Path(path)
    if path.exists():
        if not overwrite:
            raise InputError(f"output {str(path)!r} already exists; pass --overwrite to replace it")
        if not path.is_dir():
            raise InputError(f"output {str(path)!r} exists and is not a folder; expected an export folder")
        if any(path.iterdir()) and not any(path.glob("*.pvd")):
            raise InputError(f"output folder {str(path)!r} holds no .pvd file; refusing to replace a folder "
                             "that is not an earlier export")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=parent))
        umask = os.umask(0o022)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private (0700); the export is an ordinary folder
    except OSError as exc:
        raise InputError(f"cannot create a folder in {str(parent)!r}: {exc.strerror}") from None
    try:
        yield tmp
        if not path.exists():
            os.replace(tmp, path)
            return
        # Replacing a folder takes two renames: move the old one aside, move the new one in, then delete.
        old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=parent))
        os.replace(path, old / path.name)
        try:
            os.replace(tmp, path)
        except BaseException:
            os.replace(old / path.name, path)
            raise
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def export_series(
    series: FieldSeries,
    out: str | Path,
    target: MeshTarget | None = None,
    stem: str = "rollout",
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Write ``series`` to the folder ``out`` as ``<stem>.pvd`` plus one .vti (grid) or .vtu (``target``) per frame.

    Returns the path of the .pvd file. Raises :class:`InputError` when ``out`` exists and not ``overwrite``.
    """
    from tqdm import tqdm

    out = Path(out)
    width = max(4, len(str(int(series.frames.max()))))
    suffix = ".vti" if target is None else ".vtu"
    with atomic_dir(out, overwrite=overwrite) as tmp:
        steps = []
        bar = tqdm(range(len(series.frames)), desc=f"export {stem}", unit="frame", disable=not progress)
        for s in bar:
            name = f"{stem}_{int(series.frames[s]):0{width}d}{suffix}"
            if target is None:
                write_vti(tmp / name, series.frame(s), series.L)
            else:
                write_vtu(tmp / name, target, series.frame(s))
            steps.append((float(series.times[s]), name))
        write_pvd(tmp / f"{stem}.pvd", steps)
    return out / f"{stem}.pvd"
