"""Behaviour datasets: every category present, continuous sequences, deterministic, round trip."""

import numpy as np
import pytest

from cinestage.behavior.dataset import CATEGORIES, generate, load, save
from cinestage.errors import ModelError


@pytest.fixture(scope="module")
def small():
    return generate(1, seed=3, duration=10.0)


def test_every_category_and_a_starts_left(small):
    assert {s.category for s in small} == set(range(len(CATEGORIES))) and len(CATEGORIES) == 24
    for s in small:
        assert len(s) >= 160
        assert s.joints2d[0, 0, 0, 0] <= s.joints2d[0, 1, 0, 0]
        assert s.features().shape == (len(s), 14)
        # A continuous camera: no frame-to-frame jump in the unwrapped angles.
        assert np.abs(np.diff(s.camera[:, 3:], axis=0)).max() < 0.25


def test_deterministic_and_round_trips(small, tmp_path):
    again = generate(1, seed=3, duration=10.0)
    assert all(np.array_equal(a.camera, b.camera) for a, b in zip(small, again))
    path = save(small, tmp_path / "d.npz")
    loaded = load(path)
    assert [s.category for s in loaded] == [s.category for s in small]
    np.testing.assert_array_equal(loaded[5].joints3d, small[5].joints3d)


def test_bad_dataset_files(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        load(tmp_path / "none.npz")
    (tmp_path / "bad.npz").write_bytes(b"junk")
    with pytest.raises(ModelError, match="not a cinestage behaviour dataset"):
        load(tmp_path / "bad.npz")
