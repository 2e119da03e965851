"""Synthetic shots: deterministic, labels consistent with the geometry they come from."""

import numpy as np
import pytest

from cinestage.behavior.synthetic import BEHAVIOURS, SHOT_TYPES, synthetic_shot
from cinestage.geometry import camera_from_toric, project


def test_same_seed_same_arrays_other_seed_differs():
    a, b, c = synthetic_shot(7, duration=6.0), synthetic_shot(7, duration=6.0), synthetic_shot(8, duration=6.0)
    np.testing.assert_array_equal(a.joints3d, b.joints3d)
    np.testing.assert_array_equal(a.camera, b.camera)
    assert a.camera.shape != c.camera.shape or not np.allclose(a.camera, c.camera)


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
def test_shapes_and_actor_a_starts_left(behaviour):
    s = synthetic_shot(3, behaviour=behaviour, shot="medium-mid", duration=6.0)
    t = s.n_frames
    assert s.joints3d.shape == (t, 2, 7, 3) and s.screen.shape == (t, 2, 7, 2)
    assert s.camera.shape == (t, 5) and s.character.shape == (t, 9)
    assert s.screen[0, 0, 0, 0] <= s.screen[0, 1, 0, 0]
    assert s.behaviour == behaviour and s.shot == "medium-mid"
    np.testing.assert_allclose(s.character[:, 7:].sum(1), 1.0)


def test_camera_features_are_where_the_heads_project():
    s = synthetic_shot(11, behaviour="direct", shot="close", duration=6.0)
    screen, _ = project(s.joints3d[:, :, 0], s.track.positions[:, None], s.track.rotations[:, None],
                        s.track.fov_y[:, None], s.aspect)
    np.testing.assert_allclose(s.camera[:, 0], screen[:, 0, 0], atol=1e-9)
    np.testing.assert_allclose(s.camera[:, 2], screen[:, :, 1].mean(1), atol=1e-9)


def test_toric_labels_rebuild_the_camera_position():
    s = synthetic_shot(5, behaviour="sin_cos", shot="medium-left", duration=6.0)
    k = s.n_frames // 2
    # The label keeps only the heads' mean screen y: rebuild from their exact screen points.
    screen, _ = project(s.joints3d[k, :, 0], s.track.positions[k], s.track.rotations[k], s.track.fov_y[k], s.aspect)
    p, _ = camera_from_toric(s.joints3d[k, 0, 0], s.joints3d[k, 1, 0], screen[0], screen[1], s.camera[k, 3],
                             s.camera[k, 4], s.track.fov_y[k], s.aspect)
    np.testing.assert_allclose(p, s.track.positions[k], atol=1e-6)


def test_every_category_is_reachable():
    shots = [synthetic_shot(seed, duration=5.0) for seed in range(60)]
    seen = {(s.behaviour, s.shot) for s in shots}
    assert {b for b, _ in seen} == set(BEHAVIOURS)
    assert {s for _, s in seen} == set(SHOT_TYPES)
