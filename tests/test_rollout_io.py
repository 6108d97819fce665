"""The rollout file: round trip, subset reading, refusal of bad files."""

import numpy as np
import pytest

from pihamno.errors import InputError
from pihamno.evaluation.rollout_io import Rollout, read_rollout, rollout_size, write_rollout


def _rollout(T=3, F=4, n=5):
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((T, F, n, n, n)).astype(np.float32)
    return Rollout(reference=ref, prediction=ref + 0.1, trajectory=np.arange(10, 10 + T),
                   attrs={"pde": "ac", "L": 2.0, "dt": 1e-3, "n_given": 2},
                   curves={"rel_l2": rng.random((T, F))})


def test_round_trip_and_subset(tmp_path):
    r = _rollout()
    path = tmp_path / "rollout.h5"
    write_rollout(path, r)
    back = read_rollout(path)
    np.testing.assert_array_equal(back.reference, r.reference)
    assert back.attrs["n_given"] == 2 and back.times[-1] == pytest.approx(3e-3)
    assert rollout_size(path) == 3
    one = read_rollout(path, trajectories=[2])
    assert one.reference.shape == (1, 4, 5, 5, 5) and one.trajectory.tolist() == [12]
    np.testing.assert_array_equal(one.prediction[0], r.prediction[2])
    np.testing.assert_array_equal(one.curves["rel_l2"][0], r.curves["rel_l2"][2])
    with pytest.raises(InputError, match="out of range"):
        read_rollout(path, trajectories=[3])


def test_bad_files(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_rollout(tmp_path / "none.h5")
    bad = tmp_path / "bad.h5"
    bad.write_text("nope")
    with pytest.raises(InputError, match="HDF5"):
        read_rollout(bad)
    r = _rollout()
    r.attrs.pop("dt")
    with pytest.raises(InputError, match="'dt' is missing"):
        write_rollout(tmp_path / "x.h5", r)
    assert not (tmp_path / "x.h5").exists()
