"""Toric space (METHODS.md §2): round trips, exact framing, the phi convention, distances."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cinestage.errors import CameraError
from cinestage.geometry import (
    camera_from_toric,
    look_at,
    orientation_for_screen,
    project,
    screen_angle,
    toric_features,
    toric_to_world,
    world_to_toric,
)

coord = st.floats(-5.0, 5.0, allow_nan=False)
point = st.tuples(coord, coord, st.floats(0.0, 3.0)).map(np.array)
screen_pt = st.tuples(st.floats(-0.9, 0.9), st.floats(-0.9, 0.9)).map(np.array)
fov = st.floats(np.radians(20), np.radians(90))
aspect = st.floats(1.0, 2.4)
phi_st = st.floats(-np.pi + 1e-3, np.pi)
frac = st.floats(0.03, 0.97)  # theta as a fraction of its open range (0, 2(pi - alpha))

A0 = np.array([-1.0, 0.0, 1.6])
B0 = np.array([1.0, 0.0, 1.6])
FOV = np.radians(45)
ASPECT = 16 / 9


def angle_diff(a, b):
    return np.abs(np.angle(np.exp(1j * (np.asarray(a) - np.asarray(b)))))


def well_separated(A, B):
    return np.linalg.norm(B - A) > 0.3


@settings(max_examples=300, deadline=None)
@given(A=point, B=point, P=st.tuples(coord, coord, st.floats(-2.0, 6.0)).map(np.array))
def test_world_toric_world_round_trip(A, B, P):
    assume(well_separated(A, B))
    ab = np.linalg.norm(B - A)
    u = (B - A) / ab
    perp = (P - A) - np.dot(P - A, u) * u
    assume(np.linalg.norm(perp) > 0.05 * ab)  # off the AB line, so phi is defined
    assume(np.linalg.norm(P - A) > 0.1 and np.linalg.norm(P - B) > 0.1)
    assume(np.linalg.norm(np.cross(u, [0, 0, 1.0])) > 1e-3)  # not vertical AB
    alpha, theta, phi = world_to_toric(A, B, P)
    assert 0 < theta < 2 * (np.pi - alpha)
    assert -np.pi < phi <= np.pi
    np.testing.assert_allclose(toric_to_world(A, B, alpha, theta, phi), P, atol=1e-7)


@settings(max_examples=300, deadline=None)
@given(A=point, B=point, alpha=st.floats(0.05, 3.0), f=frac, phi=phi_st)
def test_toric_world_toric_round_trip(A, B, alpha, f, phi):
    assume(well_separated(A, B))
    theta = f * 2 * (np.pi - alpha)
    a2, t2, p2 = world_to_toric(A, B, toric_to_world(A, B, alpha, theta, phi))
    assert a2 == pytest.approx(alpha, abs=1e-7)
    assert t2 == pytest.approx(theta, abs=1e-7)
    assert angle_diff(p2, phi) < 1e-6


@settings(max_examples=300, deadline=None)
@given(A=point, B=point, pA=screen_pt, pB=screen_pt, f=frac, phi=phi_st, fov=fov, aspect=aspect)
def test_camera_from_toric_frames_targets_exactly(A, B, pA, pB, f, phi, fov, aspect):
    assume(well_separated(A, B))
    assume(np.linalg.norm(pA - pB) > 0.05)
    alpha = screen_angle(pA, pB, fov, aspect)
    theta = f * 2 * (np.pi - alpha)
    P, R = camera_from_toric(A, B, pA, pB, theta, phi, fov, aspect)
    np.testing.assert_allclose(R.T @ R, np.eye(3), atol=1e-10)
    assert np.linalg.det(R) == pytest.approx(1.0)
    screen, depth = project(np.stack([A, B]), P, R, fov, aspect)
    np.testing.assert_allclose(screen, np.stack([pA, pB]), atol=1e-4)
    assert np.all(depth > 0)
    feat = toric_features(A, B, P, R, fov, aspect)
    np.testing.assert_allclose(feat[:3], [pA[0], pB[0], (pA[1] + pB[1]) / 2], atol=1e-4)
    assert feat[3] == pytest.approx(theta, abs=1e-6)
    assert angle_diff(feat[4], phi) < 1e-5


def test_camera_from_toric_batched_matches_per_frame():
    rng = np.random.default_rng(3)
    T = 6
    A = rng.normal(size=(T, 3)) + [0, 0, 1.6]
    B = A + rng.normal(size=(T, 3)) + [2.0, 0, 0]
    pA = rng.uniform(-0.8, -0.1, size=(T, 2))
    pB = np.array([0.4, 0.1])  # shared by all frames
    fov = rng.uniform(0.5, 1.2, size=T)
    alpha = screen_angle(pA, pB, fov, ASPECT)
    theta = 0.5 * 2 * (np.pi - alpha)
    phi = rng.uniform(-1, 1, size=T)
    P, R = camera_from_toric(A, B, pA, pB, theta, phi, fov, ASPECT)
    assert P.shape == (T, 3) and R.shape == (T, 3, 3)
    for t in range(T):
        Pt, Rt = camera_from_toric(A[t], B[t], pA[t], pB, theta[t], phi[t], fov[t], ASPECT)
        np.testing.assert_allclose(P[t], Pt, atol=1e-12)
        np.testing.assert_allclose(R[t], Rt, atol=1e-12)
    feat = toric_features(A, B, P, R, fov, ASPECT)
    assert feat.shape == (T, 5)
    np.testing.assert_allclose(feat[:, 0], pA[:, 0], atol=1e-9)
    np.testing.assert_allclose(feat[:, 1], pB[0], atol=1e-9)
    np.testing.assert_allclose(feat[:, 2], (pA[:, 1] + pB[1]) / 2, atol=1e-9)
    np.testing.assert_allclose(feat[:, 3:], np.stack([theta, phi], axis=-1), atol=1e-9)


def test_phi_zero_is_level_with_a_left_of_b():
    alpha = screen_angle([-0.4, 0.0], [0.4, 0.0], FOV, ASPECT)
    theta = np.pi - alpha  # symmetric: the camera is equidistant from A and B
    P = toric_to_world(A0, B0, alpha, theta, 0.0)
    assert P[2] == pytest.approx(1.6, abs=1e-12)
    assert P[0] == pytest.approx(0.0, abs=1e-12)
    assert P[1] < 0
    screen, _ = project(np.stack([A0, B0]), P, look_at(P, (A0 + B0) / 2), FOV, ASPECT)
    assert screen[0, 0] < 0 < screen[1, 0]
    np.testing.assert_allclose(screen[:, 1], 0.0, atol=1e-12)
    # The exact-framing camera is level too (symmetric screen layout, no roll).
    P2, R = camera_from_toric(A0, B0, [-0.4, 0.0], [0.4, 0.0], theta, 0.0, FOV, ASPECT)
    np.testing.assert_allclose(P2, P, atol=1e-12)
    np.testing.assert_allclose(R, look_at(P, (A0 + B0) / 2), atol=1e-9)


@pytest.mark.parametrize("phi", [0.3, 1.0, np.pi / 2, 2.5])
def test_positive_phi_raises_the_camera(phi):
    P = toric_to_world(A0, B0, 0.6, np.pi - 0.6, phi)
    assert P[2] > 1.6
    R = look_at(P, (A0 + B0) / 2)
    assert R[2, 1] < 0  # looking down at the pair
    assert toric_to_world(A0, B0, 0.6, np.pi - 0.6, -phi)[2] < 1.6


def test_phi_near_pi_is_the_opposite_side():
    P = toric_to_world(A0, B0, 0.6, np.pi - 0.6, np.pi - 1e-3)
    assert P[1] > 0
    assert P[2] == pytest.approx(1.6, abs=0.01)
    screen, _ = project(np.stack([A0, B0]), P, look_at(P, (A0 + B0) / 2), FOV, ASPECT)
    assert screen[0, 0] > 0 > screen[1, 0]
    assert world_to_toric(A0, B0, [0.0, 2.0, 1.6])[2] == pytest.approx(np.pi)  # (-pi, pi]


def test_theta_and_phi_orientation_of_the_torus():
    # Small theta: the camera is near B (over B's shoulder); large theta: near A.
    near_b = toric_to_world(A0, B0, 0.5, 0.1, 0.0)
    near_a = toric_to_world(A0, B0, 0.5, 2 * (np.pi - 0.5) - 0.1, 0.0)
    assert np.linalg.norm(near_b - B0) < np.linalg.norm(near_b - A0)
    assert np.linalg.norm(near_a - A0) < np.linalg.norm(near_a - B0)


def test_distances_match_methods_formulas():
    # Right angle at P, beta = 45deg: an isosceles right triangle over AB (|AB| = 2).
    P = toric_to_world(A0, B0, np.pi / 2, np.pi / 2, 0.0)
    np.testing.assert_allclose(P, [0.0, -1.0, 1.6], atol=1e-12)
    rng = np.random.default_rng(7)
    for _ in range(50):
        A = rng.normal(size=3)
        B = A + rng.normal(size=3)
        alpha = rng.uniform(0.05, 3.0)
        theta = rng.uniform(0.01, 0.99) * 2 * (np.pi - alpha)
        P = toric_to_world(A, B, alpha, theta, rng.uniform(-np.pi, np.pi))
        ab = np.linalg.norm(B - A)
        assert np.linalg.norm(P - A) == pytest.approx(ab * np.sin(alpha + theta / 2) / np.sin(alpha))
        assert np.linalg.norm(P - B) == pytest.approx(ab * np.sin(theta / 2) / np.sin(alpha))
        # The construction really sees AB under alpha, with beta = theta/2 at A.
        u, v = A - P, B - P
        assert np.arccos(u @ v / np.linalg.norm(u) / np.linalg.norm(v)) == pytest.approx(alpha)


def test_screen_angle_uses_forward_y_rays():
    # fov_y = 90deg, aspect 1: screen x = +-1 are the frustum edges, 90deg apart.
    assert screen_angle([-1.0, 0.0], [1.0, 0.0], np.pi / 2, 1.0) == pytest.approx(np.pi / 2)
    assert screen_angle([0.0, -1.0], [0.0, 1.0], np.pi / 2, 2.0) == pytest.approx(np.pi / 2)
    assert screen_angle([0.0, 0.0], [1.0, 0.0], np.pi / 2, 2.0) == pytest.approx(np.arctan(2.0))


def test_orientation_for_screen_with_look_at_camera():
    P = np.array([0.5, -4.0, 2.0])
    R_true = look_at(P, [0.2, 0.0, 1.5])
    screen, _ = project(np.stack([A0, B0]), P, R_true, FOV, ASPECT)
    R = orientation_for_screen(P, A0, B0, screen[0], screen[1], FOV, ASPECT)
    np.testing.assert_allclose(R, R_true, atol=1e-9)


def test_degenerate_inputs_raise_camera_error():
    pA, pB = np.array([-0.3, 0.0]), np.array([0.3, 0.0])
    alpha = screen_angle(pA, pB, FOV, ASPECT)
    with pytest.raises(CameraError):
        camera_from_toric(A0, A0, pA, pB, 1.0, 0.0, FOV, ASPECT)
    with pytest.raises(CameraError):
        camera_from_toric(A0, B0, pA, pA, 1.0, 0.0, FOV, ASPECT)
    for theta in (0.0, -0.2, 2 * (np.pi - alpha), 2 * (np.pi - alpha) + 0.1, np.nan):
        with pytest.raises(CameraError):
            camera_from_toric(A0, B0, pA, pB, theta, 0.0, FOV, ASPECT)
    with pytest.raises(CameraError):  # one bad frame in a batch
        camera_from_toric(np.stack([A0, A0]), np.stack([B0, B0]), pA, pB, [1.0, 6.0], 0.0, FOV, ASPECT)
    with pytest.raises(CameraError):
        world_to_toric(A0, B0, [3.0, 0.0, 1.6])  # on the AB line
    with pytest.raises(CameraError):
        world_to_toric(A0, A0, [0.0, -3.0, 1.6])
    with pytest.raises(CameraError) as info:
        toric_to_world(A0, B0, 0.0, 1.0, 0.0)
    assert info.value.source == "toric"


def test_vertical_axis_still_round_trips():
    A, B = np.array([0.0, 0.0, 1.0]), np.array([0.0, 0.0, 2.0])
    P = toric_to_world(A, B, 0.7, 1.2, 0.4)
    alpha, theta, phi = world_to_toric(A, B, P)
    np.testing.assert_allclose([alpha, theta, phi], [0.7, 1.2, 0.4], atol=1e-9)
