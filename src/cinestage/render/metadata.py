"""Per-frame metadata of a camera: where each actor's joints land on screen, how much of each
actor is in frame, and how much of it other actors hide. Computed from the same capsules the
mannequins are drawn with, so it agrees with the pixels without reading the frame back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cinestage.camera.track import CameraTrack
from cinestage.errors import CameraError
from cinestage.geometry import project
from cinestage.render.mannequin import Body
from cinestage.stage.performance import house_bounds
from cinestage.stage.performance import Performance

CLEARANCE = 0.05  # metres a lens must stay outside any body


@dataclass(frozen=True)
class CameraMeta:
    """joints: (T, A, J, 2) screen x, y (normalised, y up); depth: (T, A, J) metres along the view
    (<= 0 behind the camera); on_screen, occluded: (T, A) fractions of each actor's body sample
    points inside the frame, and of those, hidden behind another actor; behind: (T, A) bool."""

    camera: str
    actors: tuple[str, ...]
    joints: np.ndarray
    depth: np.ndarray
    on_screen: np.ndarray
    occluded: np.ndarray
    behind: np.ndarray

    def to_json(self, performance: Performance) -> dict:
        return {
            "camera": self.camera,
            "fps": performance.fps,
            "n_frames": int(self.joints.shape[0]),
            "screen": "normalised [-1, 1], x right, y up; joints in each actor's skeleton order",
            "actors": [
                {
                    "name": a.name,
                    "joint_names": list(a.motion.skeleton.names),
                    "joints": np.round(self.joints[:, i], 5).tolist(),
                    "depth": np.round(self.depth[:, i], 4).tolist(),
                    "on_screen": np.round(self.on_screen[:, i], 4).tolist(),
                    "occluded": np.round(self.occluded[:, i], 4).tolist(),
                    "behind_camera": self.behind[:, i].tolist(),
                }
                for i, a in enumerate(performance.actors)
            ],
        }


def _samples(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """(..., 3C, 3): each capsule's two ends and middle."""
    return np.concatenate([starts, (starts + ends) / 2, ends], axis=-2)


def _segment_distance(p0, p1, q0, q1):
    """Closest distance between segments p0p1 and q0q1 and the parameter s along p (broadcast)."""
    d1, d2, r = p1 - p0, q1 - q0, p0 - q0
    a = np.sum(d1 * d1, -1)
    e = np.sum(d2 * d2, -1)
    f = np.sum(d2 * r, -1)
    c = np.sum(d1 * r, -1)
    b = np.sum(d1 * d2, -1)
    denom = np.maximum(a * e - b * b, 1e-12)
    s = np.clip((b * f - c * e) / denom, 0.0, 1.0)
    t = np.clip((b * s + f) / np.maximum(e, 1e-12), 0.0, 1.0)
    s = np.clip((b * t - c) / np.maximum(a, 1e-12), 0.0, 1.0)
    gap = (p0 + d1 * s[..., None]) - (q0 + d2 * t[..., None])
    return np.linalg.norm(gap, axis=-1), s


def _point_segment_distance(p, q0, q1):
    d = q1 - q0
    t = np.clip(np.sum((p - q0) * d, -1) / np.maximum(np.sum(d * d, -1), 1e-12), 0.0, 1.0)
    return np.linalg.norm(p - (q0 + d * t[..., None]), axis=-1)


def check_clearance(performance: Performance, bodies: list[Body], tracks: list[CameraTrack]) -> None:
    """A camera inside a body or outside the theatre would film nothing useful: refuse it up front."""
    lo, hi = house_bounds(performance.venue)
    for track in tracks:
        out = np.nonzero(np.any((track.positions < lo + 0.1) | (track.positions > hi - 0.1), axis=1))[0]
        if out.size:
            p = np.round(track.positions[out[0]], 2).tolist()
            raise CameraError(track.name, f"the camera leaves the theatre at t={out[0] / performance.fps:.2f}s (position {p}); "
                              f"walls are at x {lo[0]:.0f}..{hi[0]:.0f}, y {lo[1]:.0f}..{hi[1]:.0f}, z {lo[2]:.0f}..{hi[2]:.0f}")
    for body, actor in zip(bodies, performance.actors):
        starts, ends, radii = body.capsules(actor.motion.positions)
        for track in tracks:
            dist = _point_segment_distance(track.positions[:, None, :], starts, ends) - radii
            bad = np.nonzero(dist.min(axis=1) < CLEARANCE)[0]
            if bad.size:
                raise CameraError(track.name, f"the camera is inside actor {actor.name!r} at t={bad[0] / performance.fps:.2f}s; move it away")


def camera_meta(performance: Performance, bodies: list[Body], track: CameraTrack, chunk: int = 64) -> CameraMeta:
    """Metadata of one camera, computed a chunk of frames at a time so memory stays flat."""
    parts = [_meta_frames(performance, bodies, track, slice(t, t + chunk)) for t in range(0, performance.n_frames, chunk)]
    return CameraMeta(track.name, tuple(a.name for a in performance.actors),
                      *(np.concatenate(arrays) for arrays in zip(*parts)))


def _meta_frames(performance: Performance, bodies: list[Body], track: CameraTrack, frames: slice):
    caps = [b.capsules(a.motion.positions[frames]) for b, a in zip(bodies, performance.actors)]
    cam, rot, fov = track.positions[frames], track.rotations[frames], track.fov_y[frames]
    joints, depth, on_screen, occluded, behind = [], [], [], [], []
    for i, actor in enumerate(performance.actors):
        xy, z = project(actor.motion.positions[frames], cam, rot, fov, track.aspect)
        joints.append(xy)
        depth.append(z)
        pts = _samples(caps[i][0], caps[i][1])  # (t, S, 3)
        sxy, sz = project(pts, cam, rot, fov, track.aspect)
        visible = (sz > 0) & np.all(np.abs(sxy) <= 1.0, axis=-1)
        hidden = np.zeros_like(visible)
        reach = np.linalg.norm(pts - cam[:, None, :], axis=-1)[:, :, None]
        for j, (starts, ends, radii) in enumerate(caps):
            if j == i:
                continue
            # The segment camera → sample point against every capsule of the other actor.
            dist, s = _segment_distance(cam[:, None, None, :], pts[:, :, None, :], starts[:, None], ends[:, None])
            hidden |= ((dist < radii) & (s * reach < reach - radii - 0.02)).any(axis=-1)
        hidden &= visible
        n_vis = visible.sum(axis=1)
        on_screen.append(n_vis / pts.shape[1])
        occluded.append(np.where(n_vis > 0, hidden.sum(axis=1) / np.maximum(n_vis, 1), 0.0))
        behind.append(np.all(sz <= 0, axis=1))
    return (np.stack(joints, 1).astype(np.float32), np.stack(depth, 1).astype(np.float32),
            np.stack(on_screen, 1), np.stack(occluded, 1), np.stack(behind, 1))
