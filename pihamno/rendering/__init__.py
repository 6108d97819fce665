"""Pictures of rollouts: off-screen PyVista isosurfaces and matplotlib slices/curves, written as PNG.

* :mod:`.backend` -- headless VTK set-up (Mesa EGL), the OpenGL probe, atomic PNG writing;
* :mod:`.isosurface` -- u = 0 interfaces, reference beside prediction coloured by |error|;
* :mod:`.slices` -- central slice z = L/2 contour plots;
* :mod:`.curves` -- relative L2 error, energy and mass vs time;
* :mod:`.physical_tests` -- the physical tests' curves, model against the reference solver (R(t), E(t), ...);
* :mod:`.render` -- :func:`render_rollout`, the files ``pihamno render`` writes.

Importing this package sets ``VTK_DEFAULT_OPENGL_WINDOW=vtkEGLRenderWindow`` unless already set.
"""

from pihamno.rendering.backend import RenderingUnavailable, rendering_problem, require_rendering
from pihamno.rendering.render import WHAT, parse_what, render_rollout

__all__ = ["WHAT", "RenderingUnavailable", "parse_what", "render_rollout", "rendering_problem", "require_rendering"]
