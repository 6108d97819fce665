"""ParaView data collections (.pvd): an XML list of per-step VTK files with their physical times.

Neither meshio nor pyvista writes this format (pyvista reads it with ``pv.PVDReader``); it is small::

    <VTKFile type="Collection" version="0.1" byte_order="LittleEndian">
      <Collection>
        <DataSet timestep="0.0" group="" part="0" file="rollout_0000.vti"/>
        ...
      </Collection>
    </VTKFile>

File names are relative to the folder of the .pvd file. Times are written with 12 significant digits, the
shortest form that reads back to that value (``frame * dt`` = 3 * 1e-4 is written ``0.0003``, not
``0.00030000000000000003``):

>>> clean_time(3 * 1e-4), clean_time(0.0), clean_time(7 * 0.05)
('0.0003', '0.0', '0.35')
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path


def clean_time(t: float) -> str:
    """``t`` rounded to 12 significant digits, written in its shortest form (round-off of ``frame * dt`` dropped)."""
    return repr(float(f"{float(t):.12g}"))


def write_pvd(path: str | Path, steps: list[tuple[float, str]]) -> None:
    """Write a collection of ``steps`` = [(time, relative file name), ...] (times increasing) to ``path``."""
    times = [float(clean_time(t)) for t, _ in steps]
    if any(b <= a for a, b in zip(times, times[1:])):
        raise ValueError(f"pvd timesteps must increase, got {times}")
    root = ET.Element("VTKFile", type="Collection", version="0.1", byte_order="LittleEndian")
    collection = ET.SubElement(root, "Collection")
    for time, name in steps:
        ET.SubElement(collection, "DataSet", timestep=clean_time(time), group="", part="0", file=str(name))
    tree = ET.ElementTree(root)
    ET.indent(tree)
    with open(path, "wb") as f:
        tree.write(f, encoding="utf-8", xml_declaration=True)
        f.write(b"\n")


def read_pvd(path: str | Path) -> list[tuple[float, str]]:
    """The [(time, file name), ...] steps of a .pvd collection, in file order."""
    root = ET.parse(path).getroot()
    return [(float(d.get("timestep", "0")), d.get("file")) for d in root.iter("DataSet")]
