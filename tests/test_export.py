"""``pihamno export``: .pvd time series of .vti (grid) / .vtu (mesh) files, read back by pyvista and meshio.

Grid convention under test: ``u[i, j, k]`` (C order) is the value at the point (i h, j h, k h), h = L/(n-1).
"""

import numpy as np
import pytest

from fem.mesh import MeshChoice
from pihamno.cli import main
from pihamno.errors import InputError
from pihamno.evaluation.rollout_io import Rollout, write_rollout
from pihamno.export import dataset_series, export_series, mesh_target, rollout_series
from pihamno.export.pvd import read_pvd
from pihamno.selection import select

N, F, L, DT = 9, 4, 2.0, 0.25


def _fields(n=N, frames=F):
    """Reference: an off-centre shrinking tanh sphere (no symmetry swaps x, y, z); prediction: perturbed copy."""
    x = np.linspace(0.0, L, n)
    X, Y, Z = np.meshgrid(x, x, x, indexing="ij")
    r = np.sqrt((X - 0.8) ** 2 + (Y - 1.1) ** 2 + (Z - 0.9) ** 2)
    ref = np.stack([np.tanh((r - 0.7 + 0.1 * f) / 0.2) for f in range(frames)])
    pred = ref + 0.05 * np.sin(2 * X) * np.cos(Y + 2 * Z)
    return ref, pred


@pytest.fixture
def rollout_file(tmp_path):
    ref, pred = _fields()
    path = tmp_path / "rollout.h5"
    attrs = {"pde": "allen_cahn", "L": L, "dt": DT, "n_given": 1}
    write_rollout(path, Rollout(np.stack([ref, -ref]), np.stack([pred, -pred]), np.array([5, 8]), attrs))
    return path


def test_frame_selection():
    """One selection syntax for every verb (pihamno.selection): indices, slices and mixes of both."""
    assert select("0:101:10", 101).tolist() == list(range(0, 101, 10))
    assert select("::-1", 3).tolist() == [0, 1, 2]
    assert select("-1, 2,2", 5).tolist() == [2, 4]
    assert select("all", 2).tolist() == [0, 1]
    assert select("1,2:3", 3).tolist() == [1, 2]
    for bad in ("1:x", "5", "0:3:0", "3:", "1,,2", "a", "1:2:3:4"):
        with pytest.raises(InputError, match="frame"):
            select(bad, 3)


def test_grid_export_reads_back_with_pyvista(rollout_file, tmp_path):
    import pyvista as pv

    series = rollout_series(rollout_file, trajectory=1, frames="1:4:2")
    pvd = export_series(series, tmp_path / "out", progress=False)
    assert [name for _, name in read_pvd(pvd)] == ["rollout_0001.vti", "rollout_0003.vti"]

    reader = pv.PVDReader(str(pvd))
    assert np.allclose(reader.time_values, [1 * DT, 3 * DT])
    reader.set_active_time_value(3 * DT)
    image = reader.read()[0]
    assert isinstance(image, pv.ImageData)
    h = L / (N - 1)
    assert image.dimensions == (N, N, N) and np.allclose(image.spacing, h) and np.allclose(image.origin, 0.0)
    ref, pred = _fields()
    ref, pred = -ref[3], -pred[3]  # trajectory 1 is the negated copy
    assert set(image.point_data.keys()) == {"reference", "prediction", "error"}
    rng = np.random.default_rng(0)
    for i, j, k in rng.integers(0, N, size=(6, 3)):
        pid = image.find_closest_point((i * h, j * h, k * h))
        assert np.allclose(image.points[pid], (i * h, j * h, k * h))
        assert image.point_data["reference"][pid] == pytest.approx(ref[i, j, k], abs=1e-6)
        assert image.point_data["prediction"][pid] == pytest.approx(pred[i, j, k], abs=1e-6)
    assert np.allclose(image.point_data["error"], image.point_data["prediction"] - image.point_data["reference"],
                       atol=1e-6)
    # A point between nodes: VTK's trilinear probe of the image equals the trilinear interpolant.
    from fem.interpolation import grid_to_points

    point = np.array([0.37, 1.29, 0.81])
    probed = pv.PolyData(point[None]).sample(image)["reference"][0]
    assert probed == pytest.approx((grid_to_points(point[:, None], N, L) @ ref.ravel())[0], abs=1e-5)


def test_mesh_export_five_split_reads_back_with_meshio_and_pyvista(rollout_file, tmp_path):
    import meshio
    import pyvista as pv

    from fem.mesh import grid_points

    series = rollout_series(rollout_file, frames="0,2")
    pvd = export_series(series, tmp_path / "out", target=mesh_target(N, L, MeshChoice("five")), progress=False)
    steps = read_pvd(pvd)
    assert [t for t, _ in steps] == [0.0, 2 * DT]
    mesh = meshio.read(pvd.parent / steps[1][1])
    assert np.allclose(mesh.points, grid_points(N, L).T)  # nodes = grid nodes in C order
    assert mesh.cells_dict["tetra"].shape == (5 * (N - 1) ** 3, 4)
    ref, pred = _fields()
    assert np.allclose(mesh.point_data["reference"], ref[2].ravel(), atol=1e-6)
    assert np.allclose(mesh.point_data["error"], (pred[2] - ref[2]).ravel(), atol=1e-6)
    reader = pv.PVDReader(str(pvd))
    assert np.allclose(reader.time_values, [0.0, 2 * DT])
    grid = reader.read()[0]
    assert isinstance(grid, pv.UnstructuredGrid) and grid.n_points == N**3


def test_mesh_export_on_a_mesh_file_interpolates(tmp_path):
    import meshio

    from fem.mesh import cube_mesh, save_mesh

    # A linear field is reproduced exactly by trilinear interpolation, at any point of the cube.
    x = np.linspace(0.0, L, N)
    X, Y, Z = np.meshgrid(x, x, x, indexing="ij")
    lin = (0.5 + X - 2 * Y + 3 * Z)[None, None]
    write_rollout(tmp_path / "lin.h5", Rollout(lin, 2 * lin, np.array([0]), {"pde": "ac", "L": L, "dt": DT, "n_given": 1}))
    coarse = cube_mesh(4, L, "kuhn")  # h = L/3: its nodes are off the n = 9 grid
    coarse.p[:, 21] += 0.05  # move an interior node: a general mesh, not a grid
    save_mesh(coarse, tmp_path / "cube.vtu")
    target = mesh_target(N, L, MeshChoice(file=str(tmp_path / "cube.vtu")))
    assert target.interpolation is not None and target.interpolation.shape == (64, N**3)
    pvd = export_series(rollout_series(tmp_path / "lin.h5"), tmp_path / "out", target=target, progress=False)
    mesh = meshio.read(pvd.parent / read_pvd(pvd)[0][1])
    px, py, pz = mesh.points.T
    assert mesh.cells_dict["tetra"].shape == (6 * 27, 4)
    assert np.allclose(mesh.point_data["reference"], 0.5 + px - 2 * py + 3 * pz, atol=1e-5)
    with pytest.raises(InputError, match="cube"):
        mesh_target(N, 3.0, MeshChoice(file=str(tmp_path / "cube.vtu")))


def test_dataset_export(tmp_path):
    import h5py
    import pyvista as pv

    ref, _ = _fields()
    with h5py.File(tmp_path / "data.h5", "w") as f:
        f.create_dataset("u", data=np.stack([ref, ref[::-1]]))
        f.attrs["L"], f.attrs["dt"] = L, 0.1
    series = dataset_series(tmp_path / "data.h5", trajectory=1, frames="-1")
    pvd = export_series(series, tmp_path / "out", stem="data", progress=False)
    image = pv.PVDReader(str(pvd)).read()[0]
    assert list(image.point_data.keys()) == ["u"]
    assert pv.PVDReader(str(pvd)).time_values == pytest.approx([0.3])
    assert np.allclose(image.point_data["u"], ref[0].ravel(order="F"))
    with pytest.raises(InputError, match="out of range"):
        dataset_series(tmp_path / "data.h5", trajectory=2)


def test_interrupted_export_leaves_no_output(rollout_file, tmp_path, monkeypatch):
    import pihamno.export.series as series_module

    calls = []
    real = series_module.write_vti

    def dying_write(path, fields, L):
        calls.append(path)
        if len(calls) == 3:
            raise KeyboardInterrupt  # killed midway
        real(path, fields, L)

    monkeypatch.setattr(series_module, "write_vti", dying_write)
    out = tmp_path / "exports" / "run"
    with pytest.raises(KeyboardInterrupt):
        export_series(rollout_series(rollout_file), out, progress=False)
    assert len(calls) == 3
    assert not out.exists()
    assert list(out.parent.iterdir()) == []  # the temporary folder is gone too


def test_overwrite_replaces_only_an_earlier_export(rollout_file, tmp_path):
    out = tmp_path / "out"
    export_series(rollout_series(rollout_file), out, progress=False)
    with pytest.raises(InputError, match="already exists"):
        export_series(rollout_series(rollout_file, frames="0"), out, progress=False)
    export_series(rollout_series(rollout_file, frames="0"), out, overwrite=True, progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["rollout.pvd", "rollout_0000.vti"]
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "thesis.tex").write_text("x")
    with pytest.raises(InputError, match="not an earlier export"):
        export_series(rollout_series(rollout_file), tmp_path / "precious", overwrite=True, progress=False)
    assert (tmp_path / "precious" / "thesis.tex").exists()


def test_cli_export(rollout_file, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["export", "--help"])
    assert exc.value.code == 0 and "--frames" in capsys.readouterr().out
    out = tmp_path / "out"
    assert main(["export", "--rollout", str(rollout_file), "--frames", "0:4:3", "--split", "kuhn", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["rollout.pvd", "rollout_0000.vtu", "rollout_0003.vtu"]
    capsys.readouterr()
    bad = [
        (["--rollout", str(tmp_path / "missing.h5")], "does not exist"),
        (["--rollout", str(rollout_file), "--frames", "0:x"], "bad frame selection"),
        (["--rollout", str(rollout_file), "--frames", "9"], "frame 9 does not exist"),
        (["--rollout", str(rollout_file), "--trajectory", "7"], "trajectory 7"),
        (["--rollout", str(rollout_file), "--on", "grid", "--split", "five"], "--on mesh"),
        (["--rollout", str(rollout_file)], "already exists"),  # out exists, no --overwrite
    ]
    for argv, message in bad:
        assert main(["export", *argv, "--out", str(out)]) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("pihamno: error:") and message in err and err.count("\n") == 1, err
