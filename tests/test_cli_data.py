"""The generate and check-data verbs: fresh datasets pass, corrupted ones fail, bad input is one line + exit 2."""

import json
import shutil

import h5py
import numpy as np
import pytest

from pihamno.cli import main

SMALL = ["--n", "8", "--frames", "4", "--trajectories", "2", "--quiet"]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    paths = {}
    for pde in ("ac", "ch", "sh"):
        paths[pde] = folder / f"{pde}.h5"
        assert main(["generate", "--pde", pde, *SMALL, "--out", str(paths[pde])]) == 0
    return paths


@pytest.mark.parametrize("pde", ["ac", "ch", "sh"])
def test_fresh_dataset_passes_every_check(datasets, capsys, pde):
    code, table, _ = run(capsys, "check-data", datasets[pde])
    assert code == 0 and "all checks passed" in table
    code, out, _ = run(capsys, "check-data", datasets[pde], "--json")
    rep = json.loads(out)
    status = {c["name"]: c["status"] for c in rep["checks"]}
    assert rep["ok"] and status["residual"] == "ok" and status["metadata"] == "ok" and status["energy"] == "ok"
    assert status["mass drift"] == ("ok" if pde == "ch" else "info")
    residual = next(c for c in rep["checks"] if c["name"] == "residual")
    assert residual["value"] < 1e-4  # float32 frames: ~1e-6..1e-5 (the rounding floor), far from O(1)
    assert rep["physics_loss_floor"] == [] and "physics-loss floor" not in table
    assert "0 non-finite values in 2 trajectories checked" in table
    print(table)


@pytest.mark.parametrize("pde, extra", [("ch", ["--element", "P2", "--n", "9"]),
                                        ("sh", ["--element", "P2", "--n", "9", "--split", "five"]),
                                        ("ch", ["--mesh", "meshes/cube_gmsh_h0.5_L2.msh", "--n", "9"])])
def test_p2_and_mesh_file_data_pass_the_residual_check(tmp_path, capsys, pde, extra):
    """P2 data on the vertex grid and mesh-file data sampled on a grid that determines the mesh's dofs are exact:
    their residual is checked (not just reported), like P1 grid data, and so is CH's mass."""
    out = tmp_path / "d.h5"
    assert run(capsys, "generate", "--pde", pde, *SMALL[2:], *extra, "--out", out)[0] == 0
    code, text, _ = run(capsys, "check-data", out, "--json")
    rep = json.loads(text)
    status = {c["name"]: c["status"] for c in rep["checks"]}
    assert code == 0 and status["residual"] == "ok" and status["energy"] == "ok", rep["checks"]
    assert status["mass drift"] == ("ok" if pde == "ch" else "info") and rep["physics_loss_floor"] == []


def test_floors_are_stated_where_the_loss_cannot_vanish(datasets, tmp_path, capsys):
    """A mesh file with more dofs than grid nodes (718 > 8^3), and P2 test functions on P1 frames: check-data
    states the floor of the physics loss in the JSON report and the table."""
    out = tmp_path / "m.h5"
    assert run(capsys, "generate", "--pde", "ac", *SMALL, "--mesh", "meshes/cube_gmsh_h0.25_L2.msh", "--out", out)[0] == 0
    code, text, _ = run(capsys, "check-data", out, "--json")
    rep = json.loads(text)
    residual = next(c for c in rep["checks"] if c["name"] == "residual")
    assert code == 0 and residual["status"] == "info"
    (floor,) = rep["physics_loss_floor"]
    assert floor["sentence"].startswith("frames are grid samples of a mesh-file solution")
    assert "the physics loss on them has a floor of" in floor["sentence"] and 0.01 < floor["ratio"] < 1.5
    code, table, _ = run(capsys, "check-data", datasets["ac"], "--element", "P2")
    assert code == 0 and "P2 weak" in table and "physics-loss floor: P2 test functions on these P1 frames" in table


def corrupted(datasets, tmp_path, name, edit):
    path = tmp_path / name
    shutil.copy(datasets["ch"], path)
    with h5py.File(path, "r+") as f:
        edit(f)
    return path


def test_corrupted_datasets_fail(datasets, tmp_path, capsys):
    def nan(f):
        f["u"][1, 2, 3, 3, 3] = np.nan

    def wrong_n(f):
        f.attrs["n"] = 9

    def perturbed(f):  # 1e-3 noise on one frame: off the scheme, not off float32 rounding
        u = f["u"][0]
        u[2] += 1e-3 * np.random.default_rng(0).standard_normal(u[2].shape)
        f["u"][0] = u

    def unfinished(f):
        f["done"][1] = 0

    for name, edit, failing in [("nan.h5", nan, "finite"), ("n.h5", wrong_n, "metadata"),
                                ("noise.h5", perturbed, "residual"), ("undone.h5", unfinished, "metadata")]:
        path = corrupted(datasets, tmp_path, name, edit)
        code, out, _ = run(capsys, "check-data", path, "--json")
        rep = json.loads(out)
        status = {c["name"]: c["status"] for c in rep["checks"]}
        assert code == 1 and not rep["ok"] and status[failing] == "FAIL", (name, status)
    code, out, _ = run(capsys, "check-data", datasets["ac"], tmp_path / "nan.h5")
    assert code == 1 and "FAILED" in out and "all checks passed" in out  # one table per file


def test_substeps_residual_is_reported_not_checked(tmp_path, capsys):
    out = tmp_path / "s.h5"
    assert run(capsys, "generate", "--pde", "ac", *SMALL, "--substeps", "3", "--out", out)[0] == 0
    code, text, _ = run(capsys, "check-data", out, "--json")
    rep = json.loads(text)
    residual = next(c for c in rep["checks"] if c["name"] == "residual")
    assert code == 0 and residual["status"] == "info" and "not expected to vanish" in residual["note"]
    (floor,) = rep["physics_loss_floor"]
    assert "substeps = 3" in floor["sentence"] and floor["ratio"] == pytest.approx(residual["value"] ** 2)


def test_bad_input_is_one_line_and_exit_2(datasets, tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    out = str(tmp_path / "x.h5")
    cases = [
        (["--pde", "ac", "--dt", "0", "--out", out], "dt must be a positive number"),
        (["--pde", "ac", "--n", "2", "--out", out], "n must be an integer >= 4, got 2"),
        (["--pde", "kdv", "--out", out], "unknown PDE 'kdv'"),
        (["--pde", "ac", "--ic", "blob", "--out", out], "unknown initial-condition family 'blob'"),
        (["--pde", "ac", "--ic-param", "radius", "--out", out], "KEY=VALUE"),
        (["--pde", "ac", "--ic", "sphere", "--ic-param", "colour=1", "--out", out], "no parameter 'colour'"),
        (["--pde", "ac", "--out", str(datasets["ac"])], "already exists; pass --overwrite"),
        (["--pde", "ac", "--out", str(tmp_path / "afile" / "x.h5")], "cannot create output folder"),
        (["--pde", "ac", "--frames", "1", "--out", out], "frames must be"),
        (["--pde", "sh", "--mesh", "meshes/cube_gmsh_h0.5_L2.msh", "--out", out], "but L = 15"),
    ]
    for argv, message in cases:
        code, _, err = run(capsys, "generate", *argv, "--quiet")
        assert code == 2, argv
        assert err.count("\n") == 1 and err.startswith("pihamno: error: ") and message in err, err
    code, _, err = run(capsys, "check-data", tmp_path / "missing.h5")
    assert code == 2 and "does not exist" in err


def test_help_lists_the_verbs(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "generate" in text and "check-data" in text


def test_generate_warns_when_stabilisation_dominates_the_step(tmp_path, capsys):
    from pihamno.cli import main

    assert main(["generate", "--pde", "sh", "--n", "8", "--dt", "1.0", "--frames", "2", "--quiet",
                 "--out", str(tmp_path / "sh.h5")]) == 0
    assert "exceeds 1/tau" in capsys.readouterr().err
