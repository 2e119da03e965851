"""The 7 canonical joints in 2D, as the feature-estimation network reads them.

A pose estimator gives COCO keypoints; a synthetic shot gives projected 3D joints. Both are
brought to the same 7 points (stage.joints.CANONICAL order) the same way, so the network sees
the same thing in training and in use: the head is the face (nose, eyes and ears averaged, as
a real head point is), the neck is the middle of the shoulders and the hips the middle of the
hip joints (COCO has neither a neck nor a pelvis keypoint).

Network coordinates: normalised screen (y up) with x multiplied by the aspect ratio, so both
axes are in half-image-heights and a person's shape does not depend on the frame's width.
"""

from __future__ import annotations

import numpy as np

from cinestage.stage.joints import CANONICAL

HEAD, NECK, L_SHOULDER, R_SHOULDER, HIPS, L_HIP, R_HIP = range(len(CANONICAL))
WINDOW = 8
CHANNELS = 2 * len(CANONICAL) * 2

# COCO indices (MoveNet order).
_FACE = (0, 1, 2, 3, 4)
_COCO_SHOULDERS = (5, 6)
_COCO_HIPS = (11, 12)


def from_projected(screen: np.ndarray) -> np.ndarray:
    """(..., 7, 2) projected canonical joints with neck and hips replaced by the COCO-style midpoints."""
    out = np.array(screen, dtype=np.float64, copy=True)
    out[..., NECK, :] = (out[..., L_SHOULDER, :] + out[..., R_SHOULDER, :]) / 2
    out[..., HIPS, :] = (out[..., L_HIP, :] + out[..., R_HIP, :]) / 2
    return out


def from_coco(keypoints: np.ndarray, min_score: float = 0.2) -> np.ndarray:
    """(..., 7, 3) canonical x, y, score from COCO keypoints (..., 17, 3); score 0 where unseen.

    The head point averages whichever face keypoints are confident (a profile shows one eye and
    one ear); neck and hips need both of their keypoints.
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    xy, s = kp[..., :2], kp[..., 2]
    out = np.zeros(kp.shape[:-2] + (len(CANONICAL), 3))
    face_ok = s[..., _FACE] >= min_score
    n_face = face_ok.sum(-1)
    face_xy = (xy[..., _FACE, :] * face_ok[..., None]).sum(-2) / np.maximum(n_face, 1)[..., None]
    face_s = np.where(n_face > 0, (s[..., _FACE] * face_ok).sum(-1) / np.maximum(n_face, 1), 0.0)
    out[..., HEAD, :2], out[..., HEAD, 2] = face_xy, face_s
    for dst, src in ((L_SHOULDER, 5), (R_SHOULDER, 6), (L_HIP, 11), (R_HIP, 12)):
        out[..., dst, :2] = xy[..., src, :]
        out[..., dst, 2] = np.where(s[..., src] >= min_score, s[..., src], 0.0)
    for dst, (i, j) in ((NECK, _COCO_SHOULDERS), (HIPS, _COCO_HIPS)):
        out[..., dst, :2] = (xy[..., i, :] + xy[..., j, :]) / 2
        both = (s[..., i] >= min_score) & (s[..., j] >= min_score)
        out[..., dst, 2] = np.where(both, np.minimum(s[..., i], s[..., j]), 0.0)
    return out


def fill_missing(joints: np.ndarray) -> np.ndarray:
    """(T, 7, 3) pixel joints (y down) with unseen ones (score 0) at the neck plus a typical offset.

    The offset is the joint's median offset from the neck over the frames where both were seen
    (METHODS §3: "fill missing joints relative to the neck"), else a body-proportion default.
    The neck itself is interpolated over time; a track whose neck is never seen is returned as
    is. Filled joints keep score 0 so confidences stay honest.
    """
    j = np.array(joints, dtype=np.float64, copy=True)
    seen = j[..., 2] > 0
    if not seen[:, NECK].any():
        return j
    _interpolate_missing(j, NECK, seen[:, NECK])
    for k in range(len(CANONICAL)):
        if k == NECK or seen[:, k].all():
            continue
        both = seen[:, k] & seen[:, NECK]
        offset = np.median(j[both, k, :2] - j[both, NECK, :2], axis=0) if both.any() else _DEFAULT_OFFSET[k] * _scale(j)
        miss = ~seen[:, k]
        j[miss, k, :2] = j[miss, NECK, :2] + offset
    return j


def _interpolate_missing(j: np.ndarray, k: int, seen: np.ndarray) -> None:
    """Fill joint k over time from its seen frames (linear inside, held at the ends)."""
    t = np.arange(len(j))
    for c in range(2):
        j[~seen, k, c] = np.interp(t[~seen], t[seen], j[seen, k, c])


# Offsets from the neck in units of the shoulder width, image axes (x right, y down), facing camera.
_DEFAULT_OFFSET = np.array([[0, -0.9], [0, 0], [0.5, 0], [-0.5, 0], [0, 1.7], [0.35, 1.7], [-0.35, 1.7]])


def _scale(j: np.ndarray) -> float:
    ok = (j[:, L_SHOULDER, 2] > 0) & (j[:, R_SHOULDER, 2] > 0)
    if ok.any():
        return float(np.median(np.linalg.norm(j[ok, L_SHOULDER, :2] - j[ok, R_SHOULDER, :2], axis=-1)))
    return 1.0


def network_frames(screen_a: np.ndarray, screen_b: np.ndarray, aspect: float) -> np.ndarray:
    """(T, 28) per-frame network channels from both actors' (T, 7, 2) normalised screen joints."""
    both = np.stack([screen_a, screen_b], axis=1).astype(np.float32)  # (T, 2, 7, 2)
    both[..., 0] *= aspect
    return both.reshape(len(both), CHANNELS)


def windows(frames: np.ndarray, centres: np.ndarray | None = None) -> np.ndarray:
    """(N, 28, 8) windows t-4 .. t+3 around each centre, edges repeated (a shot's first frames)."""
    t = len(frames)
    centres = np.arange(t) if centres is None else np.asarray(centres)
    idx = np.clip(centres[:, None] + np.arange(-WINDOW // 2, WINDOW // 2)[None], 0, t - 1)
    return np.ascontiguousarray(frames[idx].transpose(0, 2, 1))
