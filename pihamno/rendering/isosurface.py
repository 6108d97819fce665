"""3D pictures of the u = 0 interface: reference beside prediction, the prediction coloured by its error.

Grid convention (docs/design.md section 2): fields are (n, n, n) arrays on the node grid of [0, L]^3, C order,
``u[i, j, k]`` at the point (i h, j h, k h), h = L / (n - 1). The interface is the zero isosurface of the
trilinear interpolant, extracted from a ``pyvista.ImageData`` (:func:`pihamno.export.grid.grid_image`);
|prediction - reference| is interpolated trilinearly at the surface points
(:func:`fem.interpolation.grid_to_points`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pihamno.errors import InputError
from pihamno.export.grid import grid_image
from pihamno.rendering.backend import pv, require_rendering, save_png, short_label

#: Colours: reference surface (neutral), |error| colour map (sequential), background and text.
REFERENCE_COLOR = "#b8c4d6"
ERROR_CMAP = "YlOrRd"


def interface_surface(u: np.ndarray, L: float) -> pv.PolyData:
    """The u = 0 isosurface of a grid field ``u`` (n, n, n) as triangles in physical coordinates (may be empty)."""
    u = np.asarray(u, dtype=np.float64)
    if u.min() >= 0.0 or u.max() <= 0.0:
        return pv.PolyData()
    return grid_image({"u": u}, L).contour([0.0], scalars="u", method="flying_edges")


def values_on(surface: pv.PolyData, field: np.ndarray, L: float) -> np.ndarray:
    """Trilinear interpolant of the grid field ``field`` (n, n, n) at the surface points, shape (npoints,)."""
    from fem.interpolation import grid_to_points

    n = field.shape[-1]
    pts = np.clip(np.asarray(surface.points, dtype=float).T, 0.0, L)
    return grid_to_points(pts, n, L) @ np.asarray(field, dtype=float).ravel()


def _no_interface_note(u: np.ndarray) -> str:
    return "no interface: u >= 0 everywhere" if np.min(u) >= 0 else "no interface: u <= 0 everywhere"


def _camera(L: float) -> list[tuple[float, float, float]]:
    """An oblique view of the cube [0, L]^3, z up (position, focal point, view up); reset_camera fits it."""
    c = 0.5 * L
    direction = np.array([1.6, -2.2, 1.1])
    position = c + 3.0 * L * direction / np.linalg.norm(direction)
    return [tuple(position), (c, c, c), (0.0, 0.0, 1.0)]


def _panel(plotter, title: str, field: np.ndarray, surface: pv.PolyData, outline: pv.PolyData, L: float,
           error_clim: tuple[float, float] | None, font_size: int):
    """Draw one panel (the active subplot): cube outline, interface surface, title and an x/y/z orientation
    marker in the lower left corner; returns the surface actor.

    With ``error_clim`` the surface is coloured by its ``abs_error`` array, else drawn in one neutral colour.
    """
    plotter.add_mesh(outline, color="black", line_width=1.5)
    plotter.add_text(title, position="upper_edge", font_size=font_size, color="black")
    plotter.add_axes(line_width=2, color="black", x_color="#404040", y_color="#404040", z_color="#404040",  # grey: not an error colour
                     viewport=(0.0, 0.0, 0.22, 0.22))
    actor = None
    if surface.n_points == 0:
        note = plotter.add_text(_no_interface_note(field), position=(0.5, 0.5), viewport=True,
                                font_size=font_size, color="dimgray")
        note.GetTextProperty().SetJustificationToCentered()
        note.GetTextProperty().SetVerticalJustificationToCentered()
    elif error_clim is None:
        plotter.add_mesh(surface, color=REFERENCE_COLOR, smooth_shading=True, specular=0.3)
    else:
        actor = plotter.add_mesh(surface, scalars="abs_error", cmap=ERROR_CMAP, clim=error_clim,
                                 smooth_shading=True, specular=0.3, show_scalar_bar=False)
    plotter.camera_position = _camera(L)
    plotter.reset_camera()
    return actor


def render_interfaces(
    reference: np.ndarray,
    prediction: np.ndarray,
    times: np.ndarray,
    L: float,
    path: str | Path,
    panel_size: tuple[int, int] = (400, 400),
    overwrite: bool = True,
    given=None,
    label: str = "",
) -> Path:
    """PNG of the interfaces {u = 0}: one row per frame, reference (left) beside prediction (right).

    ``reference`` and ``prediction`` have shape (k, n, n, n), ``times`` (k,). The prediction's surface is
    coloured by |prediction - reference| (one colour scale for all rows, bar at the bottom); the cube
    [0, L]^3 is outlined, every panel is seen from the same oblique camera and carries an x/y/z marker.
    ``given`` (k,) marks the rows whose "prediction" is a frame given to the model (its input): they are
    titled "given input" and drawn like the reference. ``label`` names the model (e.g. "PI-HAMNO (hamno, lambda = 0.25)") in the
    prediction titles and the caption. A field with no sign change is drawn as the empty cube titled
    "no interface". Returns ``path``.
    """
    reference, prediction = np.asarray(reference), np.asarray(prediction)
    if reference.ndim != 4 or reference.shape != prediction.shape:
        raise InputError(
            f"reference {reference.shape} and prediction {prediction.shape} must both have shape (k, n, n, n)"
        )
    require_rendering()
    k = reference.shape[0]
    given = np.zeros(k, bool) if given is None else np.asarray(given, bool)
    outline = grid_image({"u": reference[0]}, L).outline()
    surfaces = []
    for r in range(k):
        ref_s, pred_s = interface_surface(reference[r], L), interface_surface(prediction[r], L)
        if pred_s.n_points:
            pred_s.point_data["abs_error"] = np.abs(values_on(pred_s, prediction[r] - reference[r], L))
        surfaces.append((ref_s, pred_s))
    emax = max([float(p["abs_error"].max()) for _, p in surfaces if p.n_points] + [0.0]) or 1.0

    bar_height = 80  # pixels of the bottom row that holds the colour bar
    plotter = pv.Plotter(
        shape=(k + 1, 2), row_weights=[panel_size[1]] * k + [bar_height], groups=[(k, np.s_[:])],
        off_screen=True, border=False, window_size=(2 * panel_size[0], k * panel_size[1] + bar_height),
    )
    plotter.set_background("white")
    font_size = max(4, round(9 * panel_size[0] / 400))  # VTK text does not scale with the window
    actor = None
    for r in range(k):
        right = "given input (= reference)" if given[r] else f"{short_label(label)} prediction".strip()
        for c, (title, field, surface) in enumerate(
            [("reference", reference[r], surfaces[r][0]), (right, prediction[r], surfaces[r][1])]
        ):
            plotter.subplot(r, c)
            drawn = _panel(plotter, f"{title},  t = {times[r]:.4g}", field, surface, outline, L,
                           error_clim=None if c == 0 or given[r] else (0.0, emax), font_size=font_size)
            actor = drawn or actor
    plotter.subplot(k, 0)
    if actor is not None:  # VTK places a bar title over its labels, so the caption is separate text
        bar = plotter.add_scalar_bar(
            title=" ", mapper=actor.mapper, color="black", fmt="%.2g", vertical=False, position_x=0.25,
            position_y=0.3, width=0.5, height=0.4, label_font_size=font_size + 1, n_labels=5,
        )
        bar.SetTextPositionToPrecedeScalarBar()  # labels under the bar
        caption = plotter.add_text(f"{label + ': ' if label else ''}absolute error (prediction - reference) on the "
                                   "predicted interface",
                                   position=(0.5, 0.82), viewport=True, font_size=font_size - 1, color="black")
        caption.GetTextProperty().SetJustificationToCentered()
        caption.GetTextProperty().SetVerticalJustificationToCentered()
    image = plotter.screenshot(return_img=True)
    plotter.close()
    return save_png(path, image, overwrite=overwrite)
