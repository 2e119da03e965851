"""Pinhole projection, look-at and rotation conversions in the project's camera convention.

Conventions (DESIGN.md "Conventions"):

* World: right-handed, Z up, metres, radians.
* A camera rotation ``R`` is a 3x3 matrix whose **columns** are the camera's right, forward
  and up axes in world coordinates (Panda3D: the camera looks along its local +Y, +X right,
  +Z up). A world direction ``d`` has camera coordinates ``R.T @ d``.
* Screen coordinates are normalised to [-1, 1], x right, y up. ``fov_y`` is the vertical field
  of view, ``aspect`` = width / height; ``Sy = 1/tan(fov_y/2)``, ``Sx = Sy/aspect``. A camera-space
  point (cx right, cy forward, cz up) lands at ``x = Sx*cx/cy``, ``y = Sy*cz/cy``; depth = cy.

Batching: camera parameters (position ``(..., 3)``, rotation ``(..., 3, 3)``, ``fov_y`` and
``aspect`` scalars or ``(...,)``) share *leading* batch dims, e.g. one camera per frame ``(T,)``.
Point arrays start with those same batch dims and may add more after them: position ``(T, 3)``
with points ``(T, N, 3)`` gives screen ``(T, N, 2)``. To project the same ``(N, 3)`` points
through ``T`` cameras pass ``points[None]``.
"""

from __future__ import annotations

import numpy as np

from cinestage.errors import CameraError

__all__ = [
    "focal_scales",
    "camera_rays",
    "project",
    "unproject_ray",
    "look_at",
    "rotation_to_quaternion",
    "quaternion_to_rotation",
    "yaw_pitch_roll",
    "rotation_from_yaw_pitch_roll",
]

_EPS = 1e-12


def focal_scales(fov_y, aspect):
    """Return ``(Sx, Sy)``: the screen scales for a vertical FOV (radians) and width/height."""
    fov_y = np.asarray(fov_y, dtype=float)
    aspect = np.asarray(aspect, dtype=float)
    sy = 1.0 / np.tan(fov_y / 2.0)
    return sy / aspect, sy


def _batch_ndim(*arrays_and_core):
    return max(np.ndim(a) - core for a, core in arrays_and_core)


def _align(a, nb, core, extra):
    """Left-pad ``a``'s batch dims to ``nb`` and insert ``extra`` singleton dims after them.

    Numpy broadcasts from the right; cameras and their points are aligned from the left
    (frame axis first), so camera arrays get singleton axes for the points' extra dims.
    """
    a = np.asarray(a, dtype=float)
    b = a.ndim - core
    a = a.reshape((1,) * (nb - b) + a.shape)
    return a.reshape(a.shape[:nb] + (1,) * extra + a.shape[nb:])


def project(points, position, rotation, fov_y, aspect):
    """Project world points into normalised screen coordinates.

    Returns ``(screen (..., 2), depth (...,))``. Depth is the distance along the camera's
    forward axis; points behind the camera have ``depth <= 0`` and finite but meaningless
    screen coordinates.
    """
    points = np.asarray(points, dtype=float)
    nb = _batch_ndim((position, 1), (rotation, 2), (fov_y, 0), (aspect, 0))
    extra = points.ndim - 1 - nb
    if extra < 0:
        raise CameraError("project", f"points {points.shape} have fewer batch dims than the camera")
    pos = _align(position, nb, 1, extra)
    rot = _align(rotation, nb, 2, extra)
    sx, sy = focal_scales(_align(fov_y, nb, 0, extra), _align(aspect, nb, 0, extra))
    cam = np.einsum("...ji,...j->...i", rot, points - pos)
    depth = cam[..., 1]
    safe = np.where(np.abs(depth) > _EPS, depth, _EPS)
    screen = np.stack([sx * cam[..., 0] / safe, sy * cam[..., 2] / safe], axis=-1)
    return screen, depth


def camera_rays(screen, fov_y, aspect):
    """Unnormalised camera-space view rays ``(x/Sx, 1, y/Sy)`` (right, forward, up)."""
    screen = np.asarray(screen, dtype=float)
    sx, sy = focal_scales(fov_y, aspect)
    x = screen[..., 0] / sx
    y = screen[..., 1] / sy
    return np.stack([x, np.ones_like(x), y], axis=-1)


def unproject_ray(screen, rotation, fov_y, aspect):
    """World-space unit direction(s) of the view ray through normalised screen point(s)."""
    screen = np.asarray(screen, dtype=float)
    nb = _batch_ndim((rotation, 2), (fov_y, 0), (aspect, 0))
    extra = screen.ndim - 1 - nb
    if extra < 0:
        raise CameraError("unproject_ray", f"screen {screen.shape} has fewer batch dims than the camera")
    rot = _align(rotation, nb, 2, extra)
    ray = camera_rays(screen, _align(fov_y, nb, 0, extra), _align(aspect, nb, 0, extra))
    ray = ray / np.linalg.norm(ray, axis=-1, keepdims=True)
    return np.einsum("...ij,...j->...i", rot, ray)


def _normalize(v, axis=-1):
    n = np.linalg.norm(v, axis=axis, keepdims=True)
    return v / np.where(n > _EPS, n, 1.0)


def look_at(eye, target, up=(0.0, 0.0, 1.0)):
    """Rotation ``(..., 3, 3)`` of a camera at ``eye`` looking at ``target`` with no roll.

    The camera's right axis is horizontal (perpendicular to ``up``). Looking exactly along
    ``±up`` leaves the roll undefined; the right axis then becomes ``forward × ref`` with
    ``ref = normalize(up × X)`` (world +Y for the default up), so straight down or up the image
    top points to world +Y.
    """
    eye = np.asarray(eye, dtype=float)
    target = np.asarray(target, dtype=float)
    up = np.broadcast_to(np.asarray(up, dtype=float), np.broadcast_shapes(eye.shape, target.shape))
    offset = target - eye
    dist = np.linalg.norm(offset, axis=-1, keepdims=True)
    if np.any(dist <= _EPS):
        raise CameraError("look_at", "the eye and the target coincide")
    forward = offset / dist
    right = np.cross(forward, up)
    ref = np.cross(up, [1.0, 0.0, 0.0])
    ref = np.where(np.linalg.norm(ref, axis=-1, keepdims=True) > 1e-6, ref, np.cross(up, [0.0, 1.0, 0.0]))
    fallback = np.cross(forward, _normalize(ref))
    degenerate = np.linalg.norm(right, axis=-1, keepdims=True) < 1e-9 * np.maximum(
        np.linalg.norm(up, axis=-1, keepdims=True), 1.0
    )
    right = _normalize(np.where(degenerate, fallback, right))
    cam_up = np.cross(right, forward)
    return np.stack([right, forward, cam_up], axis=-1)


def rotation_to_quaternion(rotation):
    """Quaternion(s) ``(..., 4)`` in ``(x, y, z, w)`` order with ``w >= 0`` (canonical sign)."""
    from scipy.spatial.transform import Rotation

    rotation = np.asarray(rotation, dtype=float)
    batch = rotation.shape[:-2]
    q = Rotation.from_matrix(rotation.reshape(-1, 3, 3)).as_quat(canonical=True)
    return q.reshape(batch + (4,))


def quaternion_to_rotation(quaternion):
    """Rotation matrices ``(..., 3, 3)`` from ``(x, y, z, w)`` quaternions (normalised here)."""
    from scipy.spatial.transform import Rotation

    q = np.asarray(quaternion, dtype=float)
    batch = q.shape[:-1]
    return Rotation.from_quat(q.reshape(-1, 4)).as_matrix().reshape(batch + (3, 3))


def _axis_rotation(angle, axis):
    angle = np.asarray(angle, dtype=float)
    c, s = np.cos(angle), np.sin(angle)
    o, z = np.ones_like(angle), np.zeros_like(angle)
    if axis == 0:
        rows = [[o, z, z], [z, c, -s], [z, s, c]]
    elif axis == 1:
        rows = [[c, z, s], [z, o, z], [-s, z, c]]
    else:
        rows = [[c, -s, z], [s, c, z], [z, z, o]]
    return np.stack([np.stack(r, axis=-1) for r in rows], axis=-2)


def rotation_from_yaw_pitch_roll(yaw, pitch, roll):
    """``R = Rz(yaw) @ Rx(pitch) @ Ry(roll)`` (intrinsic Z, then local X, then local Y).

    Same as Panda3D's HPR (heading, pitch, roll) but in radians: yaw > 0 turns the view from
    +Y towards -X, pitch > 0 tilts it up, roll > 0 turns the image clockwise about the forward
    axis (right-hand rule about local +Y). All zero is the identity (looking along world +Y).
    """
    yaw, pitch, roll = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (yaw, pitch, roll)))
    return _axis_rotation(yaw, 2) @ _axis_rotation(pitch, 0) @ _axis_rotation(roll, 1)


def level_aim(eye, target, screen, fov_y, aspect):
    """Rotation ``(..., 3, 3)`` with no roll that shows the world point ``target`` at the normalised
    ``screen`` point, from ``eye``: yaw and pitch solved in closed form (pitch first, it alone
    sets the ray's elevation; then yaw turns the ray's azimuth onto the target's)."""
    ray = camera_rays(screen, fov_y, aspect)
    to = np.asarray(target, dtype=float) - np.asarray(eye, dtype=float)
    sin_elevation = to[..., 2] / np.linalg.norm(to, axis=-1)
    reach = np.hypot(ray[..., 1], ray[..., 2])
    pitch = np.arcsin(np.clip(np.linalg.norm(ray, axis=-1) * sin_elevation / reach, -1.0, 1.0)) \
        - np.arctan2(ray[..., 2], ray[..., 1])
    tilted_y = np.cos(pitch) * ray[..., 1] - np.sin(pitch) * ray[..., 2]
    yaw = np.arctan2(to[..., 1], to[..., 0]) - np.arctan2(tilted_y, ray[..., 0])
    return rotation_from_yaw_pitch_roll(yaw, pitch, np.zeros_like(yaw))


def yaw_pitch_roll(rotation):
    """Inverse of :func:`rotation_from_yaw_pitch_roll`: ``(yaw, pitch, roll)`` arrays ``(...,)``.

    ``pitch`` is in [-pi/2, pi/2]; looking straight up or down (gimbal lock) returns roll = 0
    and folds the whole turn into yaw.
    """
    r = np.asarray(rotation, dtype=float)
    pitch = np.arcsin(np.clip(r[..., 2, 1], -1.0, 1.0))
    locked = np.hypot(r[..., 2, 0], r[..., 2, 2]) < 1e-7
    yaw = np.where(locked, np.arctan2(r[..., 1, 0], r[..., 0, 0]), np.arctan2(-r[..., 0, 1], r[..., 1, 1]))
    roll = np.where(locked, 0.0, np.arctan2(-r[..., 2, 0], r[..., 2, 2]))
    return yaw, pitch, roll


def segment_through_box(start, end, lo, hi):
    """Where the segments ``start -> end`` ``(..., 3)`` cross the axis-aligned box ``lo..hi``:
    ``(near, far)``, fractions of each segment (0 at start, 1 at end) at which it enters and
    leaves the box's slabs. A segment meets the box where near < far, far > 0 and near < 1;
    near < 0 < far means it starts inside."""
    start = np.asarray(start, dtype=float)
    d = np.asarray(end, dtype=float) - start
    d = np.where(np.abs(d) > 1e-12, d, 1e-12)
    t1, t2 = (np.asarray(lo, dtype=float) - start) / d, (np.asarray(hi, dtype=float) - start) / d
    return np.minimum(t1, t2).max(axis=-1), np.maximum(t1, t2).min(axis=-1)
