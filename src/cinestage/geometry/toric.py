"""Toric space (Lino & Christie 2015): cameras that frame two targets A and B.

Every camera P that sees A and B under the angle ``alpha = angle(A - P, B - P)`` lies on a
spindle torus around the axis AB, and is located on it by two angles:

* ``theta = 2 * beta`` with ``beta = angle(B - A, P - A)``; ``theta`` is in ``(0, 2(pi - alpha))``.
  Small theta puts the camera near B (over B's shoulder, looking at A); theta close to
  ``2(pi - alpha)`` puts it near A. Distances (law of sines in the triangle A, B, P)::

      |PA| = |AB| sin(alpha + theta/2) / sin(alpha)
      |PB| = |AB| sin(theta/2) / sin(alpha)

* ``phi`` in ``(-pi, pi]``: the rotation of the plane (A, B, P) about the axis AB. With
  ``u = (B - A)/|AB|``, ``w1 = normalize(u x Z)`` (horizontal) and ``w2 = w1 x u`` (as upward
  as a perpendicular of AB can be), the camera is at::

      P = A + |PA| (cos(theta/2) u + sin(theta/2) (cos(phi) w1 + sin(phi) w2))

  so ``phi = 0`` puts the camera level with the AB axis on the side from which A appears LEFT
  of B to an upright camera looking at the pair (when A and B are at the same height, P then
  has their height too); ``phi > 0`` raises the camera above the pair (looking down),
  ``phi < 0`` lowers it; ``|phi| -> pi`` is the opposite side, where an upright camera sees A
  right of B. When AB is vertical, ``w1 = normalize(u x Y)`` instead.

Screen angles are measured between the view rays of the two screen points, which in our
camera frame (forward = +Y) are ``(x/Sx, 1, y/Sy)`` (right, forward, up).

:func:`camera_from_toric` places A and B exactly at the requested screen points, so a layout
with A left of B seen from ``|phi| > pi/2`` gives a camera rolled past 90 degrees: to film the
far side upright, swap the roles of A and B (or their screen points).

All functions broadcast over leading batch dims with ordinary numpy rules (points ``(..., 3)``,
screen points ``(..., 2)``, angles ``(...,)``, rotations ``(..., 3, 3)``).
"""

from __future__ import annotations

import numpy as np

from cinestage.errors import CameraError
from cinestage.geometry.projection import camera_rays, project

__all__ = [
    "screen_angle",
    "toric_to_world",
    "world_to_toric",
    "orientation_for_screen",
    "camera_from_toric",
    "toric_features",
]

_EPS = 1e-12


def _angle(a, b):
    # atan2 of |a x b| and a . b keeps precision near 0 and pi, where arccos does not.
    return np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1), np.sum(a * b, axis=-1))


def _unit(v, what):
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    if np.any(n <= _EPS):
        raise CameraError("toric", what)
    return v / n


def _axis_frame(A, B):
    """``(|AB|, u, w1, w2)``: the AB axis and the two perpendiculars that define phi."""
    ab = np.asarray(B, dtype=float) - np.asarray(A, dtype=float)
    length = np.linalg.norm(ab, axis=-1)
    if np.any(length <= _EPS):
        raise CameraError("toric", "targets A and B coincide")
    u = ab / length[..., None]
    w1 = np.cross(u, [0.0, 0.0, 1.0])
    vertical = np.linalg.norm(w1, axis=-1, keepdims=True) < 1e-9
    w1 = np.where(vertical, np.cross(u, [0.0, 1.0, 0.0]), w1)
    w1 = w1 / np.linalg.norm(w1, axis=-1, keepdims=True)
    w2 = np.cross(w1, u)
    return length, u, w1, w2


def screen_angle(pA, pB, fov_y, aspect):
    """Angle (radians) between the view rays through normalised screen points pA and pB."""
    return _angle(camera_rays(pA, fov_y, aspect), camera_rays(pB, fov_y, aspect))


def _check_angles(alpha, theta):
    alpha = np.asarray(alpha, dtype=float)
    theta = np.asarray(theta, dtype=float)
    if np.any(~(alpha > 0.0)) or np.any(~(alpha < np.pi)):
        raise CameraError("toric", "the screen angle alpha must be in (0, pi); are pA and pB distinct?")
    if np.any(~(theta > 0.0)) or np.any(~(theta < 2.0 * (np.pi - alpha))):
        raise CameraError("toric", "theta must be in (0, 2(pi - alpha)) for the given screen points")
    return alpha, theta


def toric_to_world(A, B, alpha, theta, phi):
    """Camera position P ``(..., 3)`` for Toric coordinates (alpha, theta, phi) of targets A, B."""
    A = np.asarray(A, dtype=float)
    length, u, w1, w2 = _axis_frame(A, B)
    alpha, theta = _check_angles(alpha, theta)
    phi = np.asarray(phi, dtype=float)
    beta = theta / 2.0
    dist_a = length * np.sin(alpha + beta) / np.sin(alpha)
    around = np.cos(phi)[..., None] * w1 + np.sin(phi)[..., None] * w2
    direction = np.cos(beta)[..., None] * u + np.sin(beta)[..., None] * around
    return A + dist_a[..., None] * direction


def world_to_toric(A, B, P):
    """Toric coordinates ``(alpha, theta, phi)`` of camera position P for targets A and B."""
    A = np.asarray(A, dtype=float)
    B = np.asarray(B, dtype=float)
    P = np.asarray(P, dtype=float)
    length, u, w1, w2 = _axis_frame(A, B)
    ap = P - A
    perp = ap - np.sum(ap * u, axis=-1, keepdims=True) * u
    if np.any(np.linalg.norm(perp, axis=-1) <= 1e-9 * length):
        raise CameraError("toric", "the camera lies on the line through A and B")
    alpha = _angle(A - P, B - P)
    theta = 2.0 * _angle(B - A, ap)
    phi = np.arctan2(np.sum(perp * w2, axis=-1), np.sum(perp * w1, axis=-1))
    phi = np.where(phi <= -np.pi, np.pi, phi)
    return alpha, theta, phi


def _pair_frame(a, b):
    # Built from the bisector and the difference so both rays are treated alike: a small
    # mismatch between the screen and world angles is shared rather than all put on B.
    e1 = a + b
    e1 = e1 / np.linalg.norm(e1, axis=-1, keepdims=True)
    e2 = _unit(a - b, "the two directions coincide (pA == pB or A, B aligned with P)")
    return np.stack([e1, e2, np.cross(e1, e2)], axis=-1)


def orientation_for_screen(P, A, B, pA, pB, fov_y, aspect):
    """Rotation ``(..., 3, 3)`` of a camera at P that shows A at pA and B at pB.

    Exact when ``screen_angle(pA, pB) == angle(A - P, B - P)`` (true for Toric cameras);
    otherwise the error is split evenly between the two targets.
    """
    P = np.asarray(P, dtype=float)
    a = _unit(np.asarray(A, dtype=float) - P, "the camera coincides with target A")
    b = _unit(np.asarray(B, dtype=float) - P, "the camera coincides with target B")
    ra = camera_rays(pA, fov_y, aspect)
    rb = camera_rays(pB, fov_y, aspect)
    ra = ra / np.linalg.norm(ra, axis=-1, keepdims=True)
    rb = rb / np.linalg.norm(rb, axis=-1, keepdims=True)
    world = _pair_frame(a, b)
    screen = _pair_frame(ra, rb)
    return world @ np.swapaxes(screen, -1, -2)


def camera_from_toric(A, B, pA, pB, theta, phi, fov_y, aspect):
    """Camera ``(P (..., 3), R (..., 3, 3))`` framing A at pA and B at pB from Toric (theta, phi).

    ``alpha`` comes from the screen points and the lens; raises CameraError for A == B,
    pA == pB, or theta outside ``(0, 2(pi - alpha))``.
    """
    alpha = screen_angle(pA, pB, fov_y, aspect)
    P = toric_to_world(A, B, alpha, theta, phi)
    R = orientation_for_screen(P, A, B, pA, pB, fov_y, aspect)
    return P, R


def toric_features(A, B, P, R, fov_y, aspect):
    """Camera feature ``(..., 5)`` = ``[xA, xB, (yA + yB)/2, theta, phi]`` (Jiang et al. 2020)."""
    A, B, P = (np.asarray(v, dtype=float) for v in (A, B, P))
    R = np.asarray(R, dtype=float)
    batch = np.broadcast_shapes(
        A.shape[:-1], B.shape[:-1], P.shape[:-1], R.shape[:-2], np.shape(fov_y), np.shape(aspect)
    )
    A, B, P = (np.broadcast_to(v, batch + (3,)) for v in (A, B, P))
    R = np.broadcast_to(R, batch + (3, 3))
    fov_y = np.broadcast_to(np.asarray(fov_y, dtype=float), batch)
    aspect = np.broadcast_to(np.asarray(aspect, dtype=float), batch)
    sa, _ = project(A, P, R, fov_y, aspect)
    sb, _ = project(B, P, R, fov_y, aspect)
    _, theta, phi = world_to_toric(A, B, P)
    y_mean = (sa[..., 1] + sb[..., 1]) / 2.0
    return np.stack([sa[..., 0], sb[..., 0], y_mean, theta, phi], axis=-1)
