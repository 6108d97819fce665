"""Write a :class:`~pihamno.export.source.FieldSeries` as a ParaView time series, atomically.

Output folder ``out``::

    out/<stem>.pvd               collection: one entry per frame, timestep = frame * dt
    out/<stem>_<frame>.vti       grid output: image data, spacing h, origin 0 (or .vtu on a mesh)

Every per-frame file holds all fields of the series as point arrays (``reference``, ``prediction``,
``error`` for a rollout; ``u`` for a dataset). The whole folder is built in a temporary folder beside
``out`` and renamed into place at the end, so an interrupted export never leaves a partial ``out``.
"""

from __future__ import annotations

from pathlib import Path

from pihamno.export.grid import write_vti
from pihamno.export.mesh import MeshTarget, write_vtu
from pihamno.export.pvd import write_pvd
from pihamno.export.source import FieldSeries
from pihamno.io import atomic_dir


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
