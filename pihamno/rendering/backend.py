"""Headless rendering set-up: PyVista off-screen through Mesa EGL, a probe for a usable OpenGL context,
and atomic PNG writing shared by the 3D and 2D plots.

VTK picks its OpenGL window class at run time from ``VTK_DEFAULT_OPENGL_WINDOW``; ``vtkEGLRenderWindow``
renders with no X server (Mesa's ``libEGL_mesa`` + ``llvmpipe``). When neither EGL nor OSMesa can make a
context, VTK does not raise: the process crashes at the first render. :func:`require_rendering` therefore
renders an 8 x 8 window once in a child process and turns a failure into one clear :class:`RenderingUnavailable`.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

import numpy as np  # noqa: E402
import pyvista as pv  # noqa: E402

from pihamno.errors import InputError  # noqa: E402
from pihamno.io import atomic_path  # noqa: E402

pv.OFF_SCREEN = True

#: What to install when no OpenGL context can be made (Debian/Ubuntu package names; scripts/dev.sh does it).
INSTALL_HINT = (
    "install Mesa EGL (as root on Debian/Ubuntu: apt-get install -y libegl1 libegl-mesa0 libgl1-mesa-dri "
    "libgl1 libxrender1, which 'bash scripts/dev.sh setup' does) or OSMesa (libosmesa6)"
)

_PROBE = """
from vtkmodules.vtkRenderingCore import vtkRenderWindow, vtkRenderer
import vtkmodules.vtkRenderingOpenGL2
w = vtkRenderWindow(); w.SetOffScreenRendering(1); w.SetSize(8, 8); w.AddRenderer(vtkRenderer())
w.Render()
print("ok", type(w).__name__)
"""


class RenderingUnavailable(InputError):
    """No off-screen OpenGL context can be created on this machine."""


@functools.lru_cache(maxsize=1)
def rendering_problem() -> str | None:
    """``None`` if VTK can render off-screen here, else one sentence saying why not and what to install.

    Runs a tiny render in a child process (about 0.5 s, once per process), because a missing OpenGL
    library makes VTK crash instead of raising.
    """
    try:
        done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return f"off-screen rendering is unavailable: a test render did not finish in 120 s; {INSTALL_HINT}"
    if done.returncode == 0 and done.stdout.startswith("ok"):
        return None
    window = os.environ.get("VTK_DEFAULT_OPENGL_WINDOW")
    return (
        f"off-screen rendering is unavailable: VTK could not create an OpenGL context with "
        f"VTK_DEFAULT_OPENGL_WINDOW={window} (test render exited with status {done.returncode}); {INSTALL_HINT}"
    )


def require_rendering() -> None:
    """Raise :class:`RenderingUnavailable` when :func:`rendering_problem` finds no way to render."""
    problem = rendering_problem()
    if problem:
        raise RenderingUnavailable(problem)


def short_label(label: str) -> str:
    """A model label without the details in brackets, for panel titles and legends.

    >>> short_label("PI-HAMNO (hamno, lambda = 0.25)")
    'PI-HAMNO'
    """
    return label.split(" (")[0]


def save_png(path: str | Path, image, overwrite: bool = True, dpi: int = 150) -> Path:
    """Write ``image`` -- an RGB(A) array (H, W, 3|4) or a matplotlib Figure -- to ``path`` as PNG, atomically."""
    path = Path(path)
    with atomic_path(path, overwrite=overwrite) as tmp:
        if isinstance(image, np.ndarray):
            import matplotlib.image

            matplotlib.image.imsave(tmp, image, format="png")
        else:
            image.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    return path
