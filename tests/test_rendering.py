"""``pihamno render``: off-screen interface isosurfaces, central slices and curves as PNG.

Tests that need an OpenGL context skip (with the probe's reason) only when none can be made here.
"""

import ctypes.util
import os
import subprocess
import sys

import numpy as np
import pytest

from pihamno.cli import main
from pihamno.errors import InputError
from pihamno.evaluation.rollout_io import Rollout, write_rollout
from pihamno.rendering import rendering_problem
from pihamno.rendering.curves import relative_l2

N, F, L, DT = 13, 3, 2.0, 0.1

needs_gl = pytest.mark.skipif(rendering_problem() is not None, reason=str(rendering_problem()))


def _rollout(curves=False):
    """Shrinking sphere tanh profile as reference; prediction = reference with a wobbling radius."""
    x = np.linspace(0.0, L, N)
    X, Y, Z = np.meshgrid(x, x, x, indexing="ij")
    r = np.sqrt((X - 1.0) ** 2 + (Y - 1.0) ** 2 + (Z - 1.0) ** 2)
    wobble = 0.15 * np.cos(3 * np.arctan2(Y - 1.0, X - 1.0))
    ref = np.stack([np.tanh((r - 0.75 + 0.15 * f) / 0.15) for f in range(F)])
    pred = np.stack([np.tanh((r - 0.75 + 0.15 * f - f * wobble) / 0.15) for f in range(F)])
    extra = {}
    if curves:
        extra = {"energy_ref": np.ones((1, F)), "energy_pred": np.ones((1, F)) * 1.1,
                 "mass_ref": np.zeros((1, F)), "mass_pred": np.zeros((1, F))}
    return Rollout(ref[None], pred[None], np.array([4]), {"pde": "allen_cahn", "L": L, "dt": DT, "n_given": 1}, extra)


def _image(path):
    import matplotlib.image

    return matplotlib.image.imread(path)[..., :3]  # RGB floats in [0, 1]


@needs_gl
def test_interfaces_png_shows_the_interface(tmp_path):
    from pihamno.rendering.isosurface import render_interfaces

    ro = _rollout()
    ref, pred = ro.reference[0, 1:2], ro.prediction[0, 1:2]
    img = _image(render_interfaces(ref, pred, ro.times[1:2], L, tmp_path / "a.png", panel_size=(200, 200)))
    assert img.shape == (280, 400, 3)  # (k rows x 200 + colour bar row 80, 2 panels x 200)
    assert img.std() > 0.05  # not blank
    # The prediction (right panel) is coloured by its error: warm pixels where red clearly exceeds blue.
    right = img[:200, 200:]
    assert ((right[..., 0] - right[..., 2]) > 0.3).sum() > 100
    # The reference (left panel) is a shaded blue-grey surface; a field with no interface still renders
    # (outline and a grey "no interface" note) but shows no such surface.
    flat = np.abs(ref) + 0.1
    empty = _image(render_interfaces(flat, flat, ro.times[1:2], L, tmp_path / "b.png", panel_size=(200, 200)))
    surface = lambda im: ((im[:200, :200, 2] - im[:200, :200, 0] > 0.04) & (im[:200, :200].max(-1) < 0.95)).sum()  # noqa: E731
    assert surface(img) > 1000 and surface(empty) == 0
    assert empty.std() > 0.01 and np.abs(img - empty).mean() > 0.02


def test_slices_png_has_both_phases_and_an_error_panel(tmp_path):
    from pihamno.rendering.slices import central_slice, plot_slices

    ro = _rollout()
    img = _image(plot_slices(ro.reference[0, :2], ro.prediction[0, :2], ro.times[:2], L, tmp_path / "s.png"))
    red = (img[..., 0] > 0.55) & (img[..., 2] < 0.35)
    blue = (img[..., 2] > 0.55) & (img[..., 0] < 0.35)
    assert red.sum() > 1000 and blue.sum() > 1000  # both phases of u on the diverging map
    # central slice: plane k = (n-1)/2 for odd n, the average of the two middle planes for even n
    u = np.arange(4 * 4 * 4, dtype=float).reshape(4, 4, 4)
    assert np.allclose(central_slice(u), 0.5 * (u[..., 1] + u[..., 2]))
    assert np.allclose(central_slice(u[:3, :3, :3]), u[:3, :3, 1])


def test_relative_l2_and_curve_plots(tmp_path):
    from pihamno.rendering import render_rollout

    ro = _rollout()
    assert np.allclose(relative_l2(ro.reference, 1.1 * ro.reference, L), 0.1)
    notes = []
    written = render_rollout(ro, tmp_path, what=["curves"], log=notes.append)
    assert [p.name for p in written] == ["traj0_rel_l2.png"]
    assert any("no energy curves" in s for s in notes) and any("no mass curves" in s for s in notes)
    written = render_rollout(_rollout(curves=True), tmp_path / "c", what=["curves"], log=notes.append)
    assert [p.name for p in written] == ["traj0_rel_l2.png", "traj0_energy.png", "traj0_mass.png"]
    assert all(_image(p).std() > 0.02 for p in written)


@needs_gl
def test_cli_render_all(tmp_path, capsys):
    write_rollout(tmp_path / "r.h5", _rollout(curves=True))
    out = tmp_path / "png"
    assert main(["render", "--rollout", str(tmp_path / "r.h5"), "--frames", "2", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "traj0_energy.png", "traj0_interfaces.png", "traj0_mass.png", "traj0_rel_l2.png", "traj0_slices.png"]
    assert "wrote" in capsys.readouterr().out


def test_cli_render_help_and_bad_input(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["render", "--help"])
    assert exc.value.code == 0 and "--what" in capsys.readouterr().out
    write_rollout(tmp_path / "r.h5", _rollout())
    args = ["render", "--rollout", str(tmp_path / "r.h5"), "--out", str(tmp_path / "png")]
    assert main([*args, "--what", "curves"]) == 0
    capsys.readouterr()
    bad = [
        (["render", "--rollout", str(tmp_path / "nope.h5"), "--out", str(tmp_path)], "does not exist"),
        ([*args, "--what", "curves"], "already exists"),
        ([*args, "--what", "surfaces"], "bad --what"),
        ([*args, "--what", "slices", "--frames", "1-2"], "bad frame selection"),
        ([*args, "--what", "slices", "--trajectory", "3"], "trajectory 3"),
    ]
    for argv, message in bad:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("pihamno: error:") and message in err and err.count("\n") == 1, err


def test_no_opengl_gives_one_clear_error(tmp_path, monkeypatch, capsys):
    import pihamno.rendering.backend as backend

    problem = "off-screen rendering is unavailable: test; install Mesa EGL (apt-get install -y libegl1 ...)"
    monkeypatch.setattr(backend, "rendering_problem", lambda: problem)
    write_rollout(tmp_path / "r.h5", _rollout())
    argv = ["render", "--rollout", str(tmp_path / "r.h5"), "--out", str(tmp_path / "png"), "--what", "interfaces"]
    assert main(argv) == 2
    assert capsys.readouterr().err == f"pihamno: error: {problem}\n"
    assert not (tmp_path / "png" / "traj0_interfaces.png").exists()
    with pytest.raises(InputError):
        backend.require_rendering()


@pytest.mark.skipif(bool(ctypes.util.find_library("OSMesa")), reason="OSMesa is installed: VTK falls back to it")
def test_probe_reports_a_broken_egl_instead_of_crashing():
    # With no EGL vendor library VTK tries OSMesa and, without it, crashes at the first render; the probe
    # runs that render in a child process and turns the crash into a sentence.
    env = dict(os.environ, __EGL_VENDOR_LIBRARY_DIRS="/nonexistent", VTK_DEFAULT_OPENGL_WINDOW="vtkEGLRenderWindow")
    code = "from pihamno.rendering.backend import rendering_problem; print(rendering_problem())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0
    assert "rendering is unavailable" in done.stdout and "apt-get install" in done.stdout


def test_pictures_name_the_model_and_mark_given_frames(tmp_path, monkeypatch):
    import pihamno.rendering.curves as curves_module
    import pihamno.rendering.slices as slices_module
    from pihamno.rendering import render_rollout

    titles = []

    def keep_titles(path, fig, overwrite=True):  # instead of writing the PNG
        titles.append([fig._suptitle.get_text() if fig._suptitle else ""] + [ax.get_title() for ax in fig.axes])
        return path

    monkeypatch.setattr(slices_module, "save_png", keep_titles)
    monkeypatch.setattr(curves_module, "save_png", keep_titles)
    ro = _rollout(curves=True)  # 3 frames, the first given
    ro.attrs |= {"model": "hamno", "lam": "0.25"}
    render_rollout(ro, tmp_path, what=["slices", "curves"], log=lambda s: None)
    slices, rel = titles[0], titles[1]
    assert slices[0].startswith("PI-HAMNO (hamno, lambda = 0.25): central slice")
    assert slices[1] == "reference, t = 0" and slices[2].startswith("given input (= reference), t = 0")
    assert any(t.startswith("PI-HAMNO prediction, t = 0.2") for t in slices)
    assert rel[1].startswith("PI-HAMNO (hamno, lambda = 0.25): relative L2 error")


def test_training_curves_read_every_column(tmp_path):
    from pihamno.rendering.training import plot_training, read_metrics, split_columns

    rows = ["epoch,step,lr,loss,data,strong,weak,grad_norm,val_score,best,seconds,share_weak",
            "1,10,0.01,0.5,0.6,0.2,0.1,1.5,0.3,0.3,1.0,0.4",
            "2,20,0.005,0.25,0.3,0.1,0.05,1.2,,0.3,1.0,0.5",
            "3,30,0.0,0.125,0.15,0.05,0.025,0.9,0.2,0.2,1.0,0.6"]
    (tmp_path / "metrics.csv").write_text("\n".join(rows) + "\n")
    cols = read_metrics(tmp_path / "metrics.csv")
    assert np.isnan(cols["val_score"][1]) and cols["share_weak"].tolist() == [0.4, 0.5, 0.6]
    assert split_columns(list(cols))[2] == ["grad_norm", "share_weak"]  # a column added later is drawn too
    img = _image(plot_training(tmp_path / "metrics.csv", tmp_path / "t.png", label="HAMNO (hamno, lambda = 0)"))
    assert img.std() > 0.05
    (tmp_path / "empty.csv").write_text(rows[0] + "\n")
    with pytest.raises(InputError, match="no epoch rows"):
        read_metrics(tmp_path / "empty.csv")
