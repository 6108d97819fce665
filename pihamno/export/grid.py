"""Grid fields as VTK image data (.vti): the n^3 node grid of [0, L]^3 as a ``pyvista.ImageData``.

Grid convention (docs/design.md section 2): ``u[i, j, k]`` (C order) is the value at the point (i h, j h, k h),
h = L / (n - 1). VTK image data numbers its points x-fastest, i.e. point id = i + n (j + n k), which is
the *Fortran*-order flattening of the same (i, j, k) array: ``u.ravel(order="F")``. No transpose is needed.

>>> import numpy as np
>>> u = np.arange(27.0).reshape(3, 3, 3)
>>> img = grid_image({"u": u}, L=2.0)
>>> img.spacing, img.dimensions
((1.0, 1.0, 1.0), (3, 3, 3))
>>> pid = img.find_closest_point((2.0, 1.0, 0.0))   # point (i, j, k) = (2, 1, 0)
>>> float(img.point_data["u"][pid]), float(u[2, 1, 0])
(21.0, 21.0)
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pyvista as pv

from pihamno.errors import InputError


def grid_image(fields: dict[str, np.ndarray], L: float) -> pv.ImageData:
    """``pv.ImageData`` of the node grid with one point array per field.

    ``fields`` maps names to arrays of shape (n, n, n) in C order (i, j, k); the image has dimensions
    (n, n, n), origin (0, 0, 0) and spacing (h, h, h), h = L / (n - 1).
    """
    shapes = {np.shape(a) for a in fields.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 3 or len(set(next(iter(shapes)))) != 1:
        raise InputError(f"grid fields must all have one shape (n, n, n), got {sorted(shapes)}")
    n = next(iter(shapes))[0]
    if n < 2:
        raise InputError(f"a grid needs n >= 2 nodes per side, got n = {n}")
    h = float(L) / (n - 1)
    image = pv.ImageData(dimensions=(n, n, n), spacing=(h, h, h), origin=(0.0, 0.0, 0.0))
    for name, values in fields.items():
        image.point_data[name] = np.asarray(values).ravel(order="F")
    return image


def write_vti(path: str | Path, fields: dict[str, np.ndarray], L: float) -> None:
    """Write the fields (each (n, n, n), C order) as a binary, zlib-compressed VTK image file ``path`` (.vti).

    VTK's writer is called directly so that a failed write is an error (``OSError`` with VTK's errno, e.g. a full
    disk or ``ulimit -f``), not a truncated file and a log message: ``pyvista``'s ``save`` ignores the result.
    """
    from vtkmodules.vtkCommonCore import vtkObject
    from vtkmodules.vtkCommonMisc import vtkErrorCode
    from vtkmodules.vtkIOXML import vtkXMLImageDataWriter

    writer = vtkXMLImageDataWriter()
    writer.SetFileName(str(path))
    writer.SetInputData(grid_image(fields, L))
    writer.SetDataModeToBinary()
    writer.SetCompressorTypeToZLib()
    shown = vtkObject.GetGlobalWarningDisplay()
    vtkObject.GlobalWarningDisplayOff()  # the failure is raised below, in one line, not printed by VTK
    try:
        ok, code = writer.Write(), writer.GetErrorCode()
    finally:
        vtkObject.SetGlobalWarningDisplay(shown)
    if not ok or code:
        if 0 < code < vtkErrorCode.FileNotFoundError:  # VTK passes the system's errno through
            raise OSError(code, os.strerror(code), str(path))
        raise OSError(errno.EIO, f"VTK could not write it ({vtkErrorCode.GetStringFromErrorCode(code)})", str(path))
