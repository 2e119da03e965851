"""Projection, look-at and rotation conversions in the Z-up, +Y-forward camera convention."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cinestage.errors import CameraError
from cinestage.geometry import (
    look_at,
    project,
    quaternion_to_rotation,
    rotation_from_yaw_pitch_roll,
    rotation_to_quaternion,
    unproject_ray,
    yaw_pitch_roll,
)

finite = st.floats(-5.0, 5.0, allow_nan=False)
vec3 = st.tuples(finite, finite, finite).map(np.array)
angle = st.floats(-np.pi, np.pi, allow_nan=False)


def random_rotation(rng):
    q = rng.normal(size=4)
    return quaternion_to_rotation(q / np.linalg.norm(q))


def test_project_known_point_identity_camera():
    # Sy = 1/tan(45deg) = 1, Sx = Sy/aspect = 0.5; point 2 m ahead, 1 m right, 0.5 m up.
    screen, depth = project([1.0, 2.0, 0.5], np.zeros(3), np.eye(3), np.pi / 2, 2.0)
    np.testing.assert_allclose(screen, [0.25, 0.25])
    assert depth == pytest.approx(2.0)


def test_project_respects_camera_position_and_yaw():
    # Yaw +90deg turns the view from +Y to -X; a point at -X ahead of the camera is centred.
    R = rotation_from_yaw_pitch_roll(np.pi / 2, 0.0, 0.0)
    np.testing.assert_allclose(R[:, 1], [-1.0, 0.0, 0.0], atol=1e-12)
    screen, depth = project([-3.0, 1.0, 2.0], [0.0, 1.0, 2.0], R, np.radians(50), 1.5)
    np.testing.assert_allclose(screen, [0.0, 0.0], atol=1e-12)
    assert depth == pytest.approx(3.0)


def test_points_behind_camera_have_non_positive_depth_and_finite_screen():
    screen, depth = project([[0.3, -2.0, 0.1], [0.0, 0.0, 1.0]], np.zeros(3), np.eye(3), 1.0, 1.0)
    assert depth[0] < 0 and depth[1] <= 0
    assert np.all(np.isfinite(screen))


def test_batched_projection_matches_per_frame():
    rng = np.random.default_rng(0)
    T, N = 4, 5
    pos = rng.normal(size=(T, 3))
    rot = np.stack([random_rotation(rng) for _ in range(T)])
    fov = rng.uniform(0.4, 1.5, size=T)
    pts = rng.normal(size=(T, N, 3)) * 3
    screen, depth = project(pts, pos, rot, fov, 16 / 9)
    assert screen.shape == (T, N, 2) and depth.shape == (T, N)
    for t in range(T):
        s, d = project(pts[t], pos[t], rot[t], fov[t], 16 / 9)
        np.testing.assert_allclose(screen[t], s)
        np.testing.assert_allclose(depth[t], d)
    # The same points through every camera: add a leading axis.
    s_shared, _ = project(pts[0][None], pos, rot, fov, 16 / 9)
    np.testing.assert_allclose(s_shared[2], project(pts[0], pos[2], rot[2], fov[2], 16 / 9)[0])


def test_points_with_fewer_batch_dims_than_camera_are_rejected():
    with pytest.raises(CameraError):
        project(np.zeros(3), np.zeros((2, 3)), np.eye(3), 1.0, 1.0)


@settings(max_examples=200, deadline=None)
@given(
    x=st.floats(-1, 1),
    y=st.floats(-1, 1),
    dist=st.floats(0.1, 50),
    fov=st.floats(np.radians(10), np.radians(120)),
    aspect=st.floats(0.5, 3.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_project_unproject_round_trip(x, y, dist, fov, aspect, seed):
    rng = np.random.default_rng(seed)
    R = random_rotation(rng)
    pos = rng.normal(size=3)
    ray = unproject_ray([x, y], R, fov, aspect)
    assert np.linalg.norm(ray) == pytest.approx(1.0)
    screen, depth = project(pos + dist * ray, pos, R, fov, aspect)
    np.testing.assert_allclose(screen, [x, y], atol=1e-9)
    assert depth > 0


@settings(max_examples=200, deadline=None)
@given(eye=vec3, target=vec3)
def test_look_at_centres_target_with_no_roll(eye, target):
    offset = target - eye
    if np.linalg.norm(offset) < 1e-3 or np.linalg.norm(offset[:2]) < 1e-6 * np.linalg.norm(offset):
        return  # coincident or exactly vertical: covered by their own tests
    R = look_at(eye, target)
    np.testing.assert_allclose(R.T @ R, np.eye(3), atol=1e-12)
    assert np.linalg.det(R) == pytest.approx(1.0)
    screen, depth = project(target, eye, R, 1.0, 1.7)
    np.testing.assert_allclose(screen, [0.0, 0.0], atol=1e-9)
    assert depth > 0
    assert abs(R[2, 0]) < 1e-12  # right axis horizontal: no roll
    assert R[2, 2] > 0  # image up points to the sky
    assert yaw_pitch_roll(R)[2] == pytest.approx(0.0, abs=1e-9)


def test_look_at_straight_down_and_up_is_stable():
    for target, fwd in (([0, 0, -5.0], [0, 0, -1.0]), ([0, 0, 5.0], [0, 0, 1.0])):
        R = look_at(np.zeros(3), target)
        np.testing.assert_allclose(R[:, 1], fwd, atol=1e-12)
        np.testing.assert_allclose(R.T @ R, np.eye(3), atol=1e-12)
        assert np.linalg.det(R) == pytest.approx(1.0)
        np.testing.assert_allclose(R[:, 2], [0, 1.0, 0], atol=1e-12)  # image top towards +Y


def test_look_at_batched_and_degenerate():
    eyes = np.array([[0, -5.0, 1.0], [3.0, 0, 2.0], [0, 0, 10.0]])
    R = look_at(eyes, np.zeros(3))
    assert R.shape == (3, 3, 3)
    for i in range(3):
        np.testing.assert_allclose(R[i], look_at(eyes[i], np.zeros(3)))
    np.testing.assert_allclose(R[0], np.eye(3) @ rotation_from_yaw_pitch_roll(0.0, -np.arctan2(1, 5), 0.0))
    with pytest.raises(CameraError):
        look_at([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])


def test_quaternion_identity_and_known_rotation():
    np.testing.assert_allclose(rotation_to_quaternion(np.eye(3)), [0, 0, 0, 1.0])
    q = rotation_to_quaternion(rotation_from_yaw_pitch_roll(np.pi / 2, 0.0, 0.0))
    np.testing.assert_allclose(q, [0, 0, np.sqrt(0.5), np.sqrt(0.5)], atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_quaternion_round_trip(seed):
    rng = np.random.default_rng(seed)
    R = np.stack([random_rotation(rng) for _ in range(6)]).reshape(2, 3, 3, 3)
    q = rotation_to_quaternion(R)
    assert q.shape == (2, 3, 4)
    np.testing.assert_allclose(np.linalg.norm(q, axis=-1), 1.0)
    assert np.all(q[..., 3] >= 0)
    np.testing.assert_allclose(quaternion_to_rotation(q), R, atol=1e-12)
    np.testing.assert_allclose(rotation_to_quaternion(quaternion_to_rotation(q)), q, atol=1e-12)


@settings(max_examples=200, deadline=None)
@given(yaw=angle, pitch=st.floats(-1.55, 1.55), roll=angle)
def test_yaw_pitch_roll_round_trip(yaw, pitch, roll):
    R = rotation_from_yaw_pitch_roll(yaw, pitch, roll)
    np.testing.assert_allclose(R.T @ R, np.eye(3), atol=1e-12)
    y, p, r = yaw_pitch_roll(R)
    np.testing.assert_allclose(rotation_from_yaw_pitch_roll(y, p, r), R, atol=1e-9)
    assert p == pytest.approx(pitch, abs=1e-9)
    # forward = Rz(yaw) Rx(pitch) e_y: pitch lifts the view, yaw turns it from +Y to -X.
    np.testing.assert_allclose(
        R[:, 1], [-np.sin(yaw) * np.cos(pitch), np.cos(yaw) * np.cos(pitch), np.sin(pitch)], atol=1e-12
    )


def test_yaw_pitch_roll_gimbal_lock_and_batch():
    R = rotation_from_yaw_pitch_roll([0.3, 1.0], [np.pi / 2, -np.pi / 2], [0.2, 0.5])
    y, p, r = yaw_pitch_roll(R)
    np.testing.assert_allclose(r, 0.0)
    np.testing.assert_allclose(rotation_from_yaw_pitch_roll(y, p, r), R, atol=1e-9)


def test_level_aim_shows_the_target_at_the_screen_point_without_roll():
    from cinestage.geometry import level_aim

    rng = np.random.default_rng(3)
    eye, target = rng.normal(0, 3, (500, 3)), rng.normal(0, 3, (500, 3))
    screen = rng.uniform(-0.8, 0.8, (500, 2))
    to = target - eye
    reachable = np.abs(to[:, 2] / np.linalg.norm(to, axis=1)) < np.sin(np.radians(60))
    fov = np.radians(40)
    r = level_aim(eye, target, screen, fov, 16 / 9)
    seen, depth = project(target, eye, r, fov, 16 / 9)
    assert (depth[reachable] > 0).all()
    np.testing.assert_allclose(seen[reachable], screen[reachable], atol=1e-9)
    np.testing.assert_allclose(r[..., 2, 0], 0.0, atol=1e-12)  # the right axis is horizontal: no roll
    np.testing.assert_allclose(np.einsum("...ij,...ik->...jk", r, r), np.broadcast_to(np.eye(3), r.shape), atol=1e-12)


def test_segment_through_box_enters_and_leaves_where_the_slabs_say():
    from cinestage.geometry import segment_through_box

    lo, hi = np.zeros(3), np.ones(3)
    starts = np.array([[-1.0, 0.5, 0.5], [0.5, 0.5, 0.5], [-1.0, 2.0, 0.5]])
    ends = np.array([[3.0, 0.5, 0.5], [0.5, 0.5, 3.0], [3.0, 2.0, 0.5]])
    near, far = segment_through_box(starts, ends, lo, hi)
    # Crosses x from 0 to 1 on a 4 m segment starting at -1; starts inside; passes above the box.
    np.testing.assert_allclose([near[0], far[0]], [0.25, 0.5])
    assert near[1] < 0 < far[1] and np.isclose(far[1], 0.2)
    assert not near[2] < far[2]
