"""Temporal smoothing of camera tracks (METHODS.md §3: unwrap, then smooth over ±10 frames).

The Gaussian window spans ``±radius`` frames with ``sigma = radius / 2`` (so the window covers
±2 sigma) unless ``sigma`` is given; the signal is edge-padded so the ends are not pulled
towards zero and a constant signal is returned unchanged.
"""

from __future__ import annotations

import numpy as np

from cinestage.geometry.projection import quaternion_to_rotation, rotation_to_quaternion

__all__ = ["unwrap_angles", "gaussian_kernel", "gaussian_smooth", "smooth_rotations", "smooth_pose_track"]

DEFAULT_RADIUS = 10


def unwrap_angles(a, axis=0):
    """Remove the ±2pi jumps along ``axis`` so the angle sequence is continuous."""
    return np.unwrap(np.asarray(a, dtype=float), axis=axis)


def gaussian_kernel(radius, sigma=None):
    """Normalised Gaussian weights for offsets ``-radius..radius``."""
    radius = int(radius)
    if radius < 0:
        raise ValueError(f"radius must be >= 0, got {radius}")
    if radius == 0:
        return np.ones(1)
    sigma = radius / 2.0 if sigma is None else float(sigma)
    offsets = np.arange(-radius, radius + 1, dtype=float)
    weights = np.exp(-0.5 * (offsets / sigma) ** 2)
    return weights / weights.sum()


def gaussian_smooth(x, radius=DEFAULT_RADIUS, axis=0, sigma=None):
    """Gaussian-smooth ``x`` along ``axis`` over a ``±radius`` window with edge padding.

    Angles must be unwrapped first (:func:`unwrap_angles`), otherwise a ±pi crossing is
    averaged into a spurious swing.
    """
    x = np.asarray(x, dtype=float)
    kernel = gaussian_kernel(radius, sigma)
    r = len(kernel) // 2
    if r == 0 or x.shape[axis] == 0:
        return x.copy()
    moved = np.moveaxis(x, axis, 0)
    padded = np.concatenate([np.repeat(moved[:1], r, axis=0), moved, np.repeat(moved[-1:], r, axis=0)])
    n = moved.shape[0]
    out = np.zeros_like(moved)
    for k, w in enumerate(kernel):
        out += w * padded[k : k + n]
    return np.moveaxis(out, 0, axis)


def smooth_rotations(rotations, radius=DEFAULT_RADIUS, sigma=None):
    """Smooth a rotation track ``(T, 3, 3)``; the result is orthonormal with det +1.

    Quaternions are made sign-consistent frame to frame (q and -q are the same rotation, and
    averaging them would cancel), averaged with Gaussian weights and renormalised — accurate
    for the small angular spread inside a window of a camera track.
    """
    rotations = np.asarray(rotations, dtype=float)
    if rotations.shape[0] == 0:
        return rotations.copy()
    q = rotation_to_quaternion(rotations)
    dots = np.sum(q[1:] * q[:-1], axis=-1)
    flips = np.concatenate([[1.0], np.cumprod(np.where(dots < 0.0, -1.0, 1.0))])
    q = q * flips[:, None]
    q = gaussian_smooth(q, radius, axis=0, sigma=sigma)
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    return quaternion_to_rotation(q)


def smooth_pose_track(positions, rotations, radius=DEFAULT_RADIUS, sigma=None):
    """Smooth a camera track: positions ``(T, 3)`` and rotations ``(T, 3, 3)``, same radius."""
    return (
        gaussian_smooth(positions, radius, axis=0, sigma=sigma),
        smooth_rotations(rotations, radius, sigma=sigma),
    )
