"""Track smoothing: angle unwrapping, Gaussian windows, rotation averaging."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cinestage.geometry import (
    gaussian_kernel,
    gaussian_smooth,
    quaternion_to_rotation,
    rotation_from_yaw_pitch_roll,
    smooth_pose_track,
    smooth_rotations,
    unwrap_angles,
)


def wrap(a):
    return np.angle(np.exp(1j * np.asarray(a)))


def rotation_angle_between(R1, R2):
    cos = (np.trace(np.swapaxes(R1, -1, -2) @ R2, axis1=-2, axis2=-1) - 1) / 2
    return np.arccos(np.clip(cos, -1, 1))


def test_kernel_is_normalised_symmetric_and_spans_radius():
    k = gaussian_kernel(10)
    assert k.shape == (21,)
    assert k.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(k, k[::-1])
    assert k.argmax() == 10
    np.testing.assert_allclose(gaussian_kernel(0), [1.0])
    with pytest.raises(ValueError):
        gaussian_kernel(-1)


def test_angle_sequence_crossing_pi_has_no_jump_after_unwrap_and_smooth():
    t = np.linspace(0, 1, 80)
    truth = 2.9 + 0.6 * t  # crosses pi at about a third of the way
    wrapped = wrap(truth)
    assert np.max(np.abs(np.diff(wrapped))) > 6  # the raw data does jump
    smoothed = gaussian_smooth(unwrap_angles(wrapped), radius=10)
    assert np.max(np.abs(np.diff(smoothed))) < 0.02
    np.testing.assert_allclose(smoothed[10:-10], truth[10:-10], atol=1e-9)  # linear kept inside


def test_unwrap_along_other_axis():
    a = np.stack([wrap(np.linspace(3.0, 3.4, 20)), np.linspace(0, 0.2, 20)], axis=1)
    u = unwrap_angles(a.T, axis=1)
    assert np.max(np.abs(np.diff(u, axis=1))) < 0.1


@settings(max_examples=50, deadline=None)
@given(value=st.floats(-100, 100), T=st.integers(1, 40), radius=st.integers(0, 15))
def test_constant_signal_is_unchanged(value, T, radius):
    x = np.full((T, 3), value)
    np.testing.assert_allclose(gaussian_smooth(x, radius), x, rtol=1e-12, atol=1e-12)


def test_smoothing_reduces_noise_and_keeps_shape_along_axis():
    rng = np.random.default_rng(1)
    noisy = rng.normal(size=(3, 500))
    sm = gaussian_smooth(noisy, radius=10, axis=1)
    assert sm.shape == noisy.shape
    assert np.std(sm) < 0.5 * np.std(noisy)
    np.testing.assert_allclose(gaussian_smooth(noisy.T, radius=10, axis=0), sm.T)
    # Edge padding: a step stays within the data's range and the ends keep their level.
    step = np.r_[np.zeros(30), np.ones(30)]
    s = gaussian_smooth(step, 10)
    assert s.min() >= 0 and s.max() <= 1
    assert s[0] == pytest.approx(0) and s[-1] == pytest.approx(1)


def test_smoothed_rotations_stay_orthonormal():
    rng = np.random.default_rng(2)
    T = 120
    yaw = np.linspace(0, 2.5, T) + rng.normal(scale=0.05, size=T)
    pitch = -0.2 + rng.normal(scale=0.05, size=T)
    roll = rng.normal(scale=0.05, size=T)
    R = rotation_from_yaw_pitch_roll(yaw, pitch, roll)
    S = smooth_rotations(R, radius=10)
    assert S.shape == (T, 3, 3)
    np.testing.assert_allclose(S @ np.swapaxes(S, -1, -2), np.broadcast_to(np.eye(3), S.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(S), 1.0)
    clean = rotation_from_yaw_pitch_roll(np.linspace(0, 2.5, T), np.full(T, -0.2), np.zeros(T))
    inner = slice(10, -10)
    assert np.mean(rotation_angle_between(S, clean)[inner]) < 0.5 * np.mean(rotation_angle_between(R, clean)[inner])


def test_rotation_smoothing_survives_quaternion_sign_flips():
    # Yaw sweeping through 180deg: the canonical quaternion (w >= 0) flips sign mid-track.
    yaw = np.linspace(np.pi - 0.4, np.pi + 0.4, 60)
    R = rotation_from_yaw_pitch_roll(yaw, 0.1, 0.0)
    S = smooth_rotations(R, radius=10)
    assert np.max(rotation_angle_between(S[10:-10], R[10:-10])) < 1e-3
    assert np.max(rotation_angle_between(S[1:], S[:-1])) < 0.02


def test_constant_pose_track_is_unchanged():
    rng = np.random.default_rng(4)
    q = rng.normal(size=4)
    R = np.broadcast_to(quaternion_to_rotation(q / np.linalg.norm(q)), (25, 3, 3))
    P = np.broadcast_to([1.0, -2.0, 1.7], (25, 3))
    Ps, Rs = smooth_pose_track(P, R, radius=10)
    np.testing.assert_allclose(Ps, P, atol=1e-12)
    np.testing.assert_allclose(Rs, R, atol=1e-12)


def test_empty_and_short_tracks():
    assert smooth_rotations(np.zeros((0, 3, 3))).shape == (0, 3, 3)
    assert gaussian_smooth(np.zeros((0, 3))).shape == (0, 3)
    R = rotation_from_yaw_pitch_roll(np.array([0.0, 0.1]), 0.0, 0.0)
    S = smooth_rotations(R, radius=10)
    assert S.shape == (2, 3, 3)
