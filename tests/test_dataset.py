"""pihamno.data.dataset: layout and attributes, reproducibility per trajectory, resume after an interruption,
refusal to mix parameters, atomic rename, workers, mesh files, reader API."""

from pathlib import Path

import h5py
import numpy as np
import pytest

from fem import InputError, assemble, cube_mesh
from fem.assembly import mesh_key
from fem.mesh import MeshChoice
from fem.schemes import PDEParams, preset
from fem.solvers import simulate
from pihamno.data import (
    DataDescription,
    DatasetSpec,
    dataset_info,
    generate,
    load_trajectories,
    partial_path,
    read_description,
    read_metadata,
)
from pihamno.data.initial_conditions import sample, trajectory_rng

MESHES = Path(__file__).resolve().parents[1] / "meshes"


def small_spec(pde="ch", **kw):
    base = dict(params=preset(pde), n=8, frames=4, trajectories=4, seed=11)
    base.update(kw)
    return DatasetSpec(**base)


class Interrupt(Exception):
    pass


def test_layout_attributes_and_reader(tmp_path):
    spec = small_spec()
    out = generate(spec, tmp_path / "d.h5", progress=False)
    assert out.exists() and not partial_path(out).exists()
    with h5py.File(out) as f:
        assert f["u"].shape == (4, 4, 8, 8, 8) and f["u"].dtype == np.float32
        assert f["u"].chunks == (1, 4, 8, 8, 8)
        assert f["done"][:].tolist() == [1, 1, 1, 1]
        assert f["energy"].shape == (4, 4) and f["cg_iterations"].shape == (4, 3)
        assert np.all(np.diff(f["energy"][:], axis=1) < 0)
    meta = read_metadata(out)
    p = preset("ch")
    for key, value in dict(pde="ch", eps=p.eps, L=p.L, dt=p.dt, substeps=1, S=p.S, mass="lumped", n=8, frames=4,
                           trajectories=4, split="kuhn", mesh_file=None, element="P1", ic_family="phase", seed=11,
                           rtol=1e-10, scheme=p.scheme, format="pihamno-dataset").items():
        assert meta[key] == value, key
    assert meta["mesh_hash"] == mesh_key(cube_mesh(8, 2.0, "kuhn"))
    assert meta["ic_params"]["level"] == 0.25 and "pihamno_version" in meta
    assert PDEParams.from_dict(meta) == p  # what the physics losses rebuild
    info = dataset_info(out)
    assert info["shape"] == (4, 4, 8, 8, 8) and info["complete"] and info["trajectories_done"] == 4
    allu = load_trajectories(out)
    assert allu.shape == (4, 4, 8, 8, 8) and allu.dtype == np.float32
    np.testing.assert_array_equal(load_trajectories(out, [3, 1, 3]), allu[[3, 1, 3]])
    np.testing.assert_array_equal(load_trajectories(out, -1), allu[3:])
    assert load_trajectories(out, []).shape == (0, 4, 8, 8, 8)
    with pytest.raises(InputError, match="out of range"):
        load_trajectories(out, [4])


def test_the_description_types_what_the_attributes_say(tmp_path):
    """read_description: the spec's PDE parameters, counts, mesh and element, typed; the discretisation defaults
    (the physics loss on the data's own mesh and element; grid measures on the Kuhn split for mesh-file data)."""
    spec = small_spec("ac", element="P2", n=9, split="five")
    out = generate(spec, tmp_path / "d.h5", progress=False)
    d = read_description(out)
    assert (d.n, d.frames, d.trajectories, d.element, d.mesh) == (9, 4, 4, "P2", MeshChoice("five"))
    assert d.params == spec.params and d.equation.name == "ac" and d.grid_split == "five"
    assert (d.pde, d.eps, d.L, d.dt, d.seed, d.ic_family) == ("ac", spec.params.eps, spec.params.L, spec.params.dt, 11,
                                                              spec.ic_family)
    assert d.mesh_hash == read_metadata(out)["mesh_hash"] and d.attrs == read_metadata(out)
    assert d.loss_discretisation() == (MeshChoice("five"), "P2")
    assert d.loss_discretisation(MeshChoice("kuhn"), "P1") == (MeshChoice("kuhn"), "P1")
    on_file = DataDescription.from_attrs(dict(d.attrs, split="", mesh_file=str(MESHES / "cube_gmsh_h0.5_L2.msh")))
    assert on_file.mesh.is_file and on_file.grid_split == "kuhn"
    assert on_file.loss_discretisation(element="P1") == (on_file.mesh, "P1")


def test_a_description_of_older_or_hand_made_files(tmp_path):
    """Files from before P2 and mesh files (no element, mesh_file, mesh_hash attributes) read as P1 on their split;
    a hand-made file with only u and a few attributes takes its counts from the shape of u; an unknown PDE fails
    only where the PDE is needed."""
    old = {"pde": "ac", "eps": 0.1, "L": 2.0, "dt": 1e-3, "substeps": 1, "S": 2.0, "mass": "lumped", "n": 8,
           "frames": 3, "trajectories": 2, "split": "kuhn"}
    d = DataDescription.from_attrs(old)
    assert (d.element, d.mesh, d.mesh_hash, d.grid_split) == ("P1", MeshChoice("kuhn"), None, "kuhn")
    with h5py.File(tmp_path / "hand.h5", "w") as f:
        f.create_dataset("u", data=np.zeros((5, 7, 6, 6, 6), np.float32))
        f.attrs["L"], f.attrs["pde"] = 3.0, "cac"
    hand = read_description(tmp_path / "hand.h5")
    assert (hand.trajectories, hand.frames, hand.n, hand.L, hand.dt, hand.mesh) == (5, 7, 6, 3.0, None, MeshChoice())
    with pytest.raises(InputError, match="unknown PDE 'cac'"):
        _ = hand.equation
    with pytest.raises(InputError, match="lack 'n'"):
        DataDescription.from_attrs({"frames": 3, "trajectories": 2})


def test_each_trajectory_is_reproducible_from_seed_and_index(tmp_path):
    spec = small_spec("ac")
    u = load_trajectories(generate(spec, tmp_path / "d.h5", progress=False), [2])[0]
    u0 = sample(spec.ic_family, trajectory_rng(11, 2), 8, spec.params.L, spec.ic_params)
    ref = simulate(spec.params, assemble(cube_mesh(8, spec.params.L)), u0, 4).u.astype(np.float32)
    np.testing.assert_array_equal(u, ref)


def test_resume_after_interruption_gives_the_uninterrupted_result(tmp_path):
    spec = small_spec("sh")
    clean = load_trajectories(generate(spec, tmp_path / "clean.h5", progress=False))
    out = tmp_path / "d.h5"
    committed = []

    def kill_after_two(i):
        committed.append(i)
        if len(committed) == 2:
            raise Interrupt

    with pytest.raises(Interrupt):
        generate(spec, out, progress=False, on_commit=kill_after_two)
    assert not out.exists() and partial_path(out).exists()
    with h5py.File(partial_path(out)) as f:
        assert f["done"][:].sum() == 2
    with pytest.raises(InputError, match="not written yet"):
        load_trajectories(partial_path(out))
    first = load_trajectories(partial_path(out), committed)
    import pihamno.data.compute as ds

    compute = ds.compute_trajectory

    def crash_on_the_next(i):  # a worker dying in the middle of a trajectory: nothing of it is committed
        raise Interrupt

    ds.compute_trajectory = crash_on_the_next
    try:
        with pytest.raises(Interrupt):
            generate(spec, out, progress=False)
    finally:
        ds.compute_trajectory = compute
    with h5py.File(partial_path(out)) as f:
        assert f["done"][:].sum() == 2
    rerun = []
    generate(spec, out, progress=False, on_commit=rerun.append)
    assert sorted(rerun) == sorted(set(range(4)) - set(committed))  # finished ones are not recomputed
    assert out.exists() and not partial_path(out).exists()
    resumed = load_trajectories(out)
    np.testing.assert_array_equal(resumed[committed], first)
    np.testing.assert_array_equal(resumed, clean)


def test_refuses_to_resume_with_different_parameters(tmp_path):
    out = tmp_path / "d.h5"
    with pytest.raises(Interrupt):
        generate(small_spec(), out, progress=False, on_commit=lambda i: (_ for _ in ()).throw(Interrupt()))
    other = small_spec(params=preset("ch", eps=0.08))
    with pytest.raises(InputError, match="refusing to resume .*eps: 0.05 in the file, 0.08 now"):
        generate(other, out, progress=False)
    generate(other, out, progress=False, overwrite=True)  # --overwrite discards the mismatching partial
    assert read_metadata(out)["eps"] == 0.08


def test_existing_output_unreadable_partial_and_bad_paths(tmp_path):
    out = tmp_path / "d.h5"
    spec = small_spec(trajectories=1, frames=2)
    generate(spec, out, progress=False)
    with pytest.raises(InputError, match="already exists; pass --overwrite"):
        generate(spec, out, progress=False)
    before = out.stat().st_mtime_ns
    generate(spec, out, progress=False, overwrite=True)
    assert out.stat().st_mtime_ns >= before
    bad = tmp_path / "e.h5"
    partial_path(bad).write_bytes(b"not hdf5")
    with pytest.raises(InputError, match="is damaged .file signature not found.*pass --overwrite"):
        generate(spec, bad, progress=False)
    generate(spec, bad, progress=False, overwrite=True)
    with pytest.raises(InputError, match="is a directory"):
        generate(spec, tmp_path, progress=False)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputError, match="cannot create output folder"):
        generate(spec, tmp_path / "afile" / "d.h5", progress=False)
    with pytest.raises(InputError, match="does not exist"):
        read_metadata(tmp_path / "missing.h5")


def test_spec_validation():
    for kw, match in [(dict(n=3), "n must be"), (dict(frames=1), "frames"), (dict(trajectories=0), "trajectories"),
                      (dict(seed=-1), "seed"), (dict(split="hex"), "split"), (dict(element="P3"), "element"),
                      (dict(rtol=2.0), "rtol"), (dict(ic_family="blob"), "family"),
                      (dict(ic_params={"radius": 1.0}), "no parameter"), (dict(preconditioner="ilu"), "preconditioner")]:
        with pytest.raises(InputError, match=match):
            small_spec(**kw)
    with pytest.raises(InputError, match="P2 data on the kuhn split need an odd n"):
        small_spec(element="P2")
    with pytest.raises(InputError, match="covers \\[0, 2\\]\\^3 but L = 15"):
        small_spec("sh", mesh_file=str(MESHES / "cube_gmsh_h0.5_L2.msh")).mesh()


def test_mesh_file_dataset_records_the_mesh(tmp_path):
    path = MESHES / "cube_gmsh_h0.5_L2.msh"
    spec = small_spec("ac", mesh_file=str(path), trajectories=1, frames=3)
    out = generate(spec, tmp_path / "m.h5", progress=False)
    meta = read_metadata(out)
    assert meta["mesh_file"] == str(path) and meta["split"] is None
    assert meta["mesh_hash"] == mesh_key(spec.mesh())
    assert load_trajectories(out).shape == (1, 3, 8, 8, 8)


@pytest.mark.slow
def test_workers_give_the_same_data(tmp_path):
    spec = small_spec("ac", trajectories=3)
    one = load_trajectories(generate(spec, tmp_path / "a.h5", progress=False))
    two = load_trajectories(generate(spec, tmp_path / "b.h5", progress=False, workers=2))
    np.testing.assert_array_equal(one, two)
    with pytest.raises(InputError, match="workers"):
        generate(spec, tmp_path / "c.h5", progress=False, workers=0)


@pytest.mark.parametrize("split", ["kuhn", "five"])
def test_p2_data_live_on_the_vertex_grid_and_carry_the_dofs(tmp_path, split):
    """P2 at odd n: the solver runs on the ((n + 1)/2)^3 vertex mesh, whose P2 dofs are grid nodes (all of them for
    kuhn), so the stored frames are the solver's dofs (float32-rounded), not an interpolation of them."""
    from fem.interpolation import dofs_to_grid, samples_to_dofs

    spec = small_spec("ac", n=9, element="P2", split=split, trajectories=1, frames=3)
    out = generate(spec, tmp_path / "p2.h5", progress=False)
    assert read_metadata(out)["mesh_hash"] == mesh_key(cube_mesh(5, 2.0, split))
    ops = spec.operators()
    assert ops.ndofs == (9**3 if split == "kuhn" else 9**3 - 4**3)
    traj = simulate(spec.params, ops, spec.initial_condition(0), 3)
    frames = load_trajectories(out)[0]
    np.testing.assert_array_equal(frames, traj.u.astype(np.float32))
    inv = samples_to_dofs(ops, 9)
    assert inv.kind == "selection"
    g = traj.u.reshape(3, -1).T  # frames are samples of P2 functions: recovered from their dofs (five: centres too)
    np.testing.assert_allclose(dofs_to_grid(ops, 9) @ (inv @ g), g, rtol=0, atol=1e-14)
