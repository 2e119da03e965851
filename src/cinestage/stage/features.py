"""Per-frame character feature of a pair of actors (METHODS.md §3) and an actor's facing.

Inputs are canonical joints (T, 7, 3) in `cinestage.stage.joints.CANONICAL` order, world frame
(Z up, metres). Everything is measured on the ground plane (x, y), so the feature ignores height
differences, crouching and bowing.

A cosine with a zero-length vector (coincident hips, a head straight above the neck, shoulders
seen end-on) is defined as 0: "no direction" is neither aligned nor opposed, and a 0 keeps the
networks' inputs finite instead of propagating NaN through a whole clip.
"""

from __future__ import annotations

import numpy as np

from cinestage.stage.joints import CANONICAL

HEAD = CANONICAL.index("head")
NECK = CANONICAL.index("neck")
LEFT_SHOULDER = CANONICAL.index("left_shoulder")
RIGHT_SHOULDER = CANONICAL.index("right_shoulder")
HIPS = CANONICAL.index("hips")

FEATURE_NAMES = (
    "distance",
    "cos_head_a_head_b",
    "cos_shoulder_a_shoulder_b",
    "cos_shoulder_a_line",
    "cos_shoulder_b_line",
    "cos_head_a_line",
    "cos_head_b_line",
    "main_is_a",
    "main_is_b",
)

_EPS = 1e-9


def _check(joints: np.ndarray, label: str) -> np.ndarray:
    j = np.asarray(joints, dtype=np.float64)
    if j.ndim != 3 or j.shape[1:] != (len(CANONICAL), 3):
        raise ValueError(f"{label} must be (T, {len(CANONICAL)}, 3) canonical joints, got {j.shape}")
    return j


def _ground(v: np.ndarray) -> np.ndarray:
    return v[..., :2]


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    na = np.linalg.norm(a, axis=-1)
    nb = np.linalg.norm(b, axis=-1)
    ok = (na > _EPS) & (nb > _EPS)
    dot = np.einsum("...i,...i->...", a, b)
    out = np.zeros_like(dot)
    np.divide(dot, na * nb, out=out, where=ok)
    return np.clip(out, -1.0, 1.0)


def character_features(joints_a: np.ndarray, joints_b: np.ndarray, main: int) -> np.ndarray:
    """(T, 9) features in `FEATURE_NAMES` order; `main` is 0 when A is the main actor, 1 for B."""
    a = _check(joints_a, "joints_a")
    b = _check(joints_b, "joints_b")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"joints_a has {a.shape[0]} frames, joints_b {b.shape[0]}")
    if main not in (0, 1):
        raise ValueError(f"main must be 0 (actor A) or 1 (actor B), got {main!r}")
    head_a = _ground(a[:, HEAD] - a[:, NECK])
    head_b = _ground(b[:, HEAD] - b[:, NECK])
    shoulder_a = _ground(a[:, LEFT_SHOULDER] - a[:, RIGHT_SHOULDER])
    shoulder_b = _ground(b[:, LEFT_SHOULDER] - b[:, RIGHT_SHOULDER])
    line = _ground(b[:, HIPS] - a[:, HIPS])
    one_hot = np.zeros((a.shape[0], 2))
    one_hot[:, main] = 1.0
    return np.column_stack(
        [
            np.linalg.norm(line, axis=-1),
            _cos(head_a, head_b),
            _cos(shoulder_a, shoulder_b),
            _cos(shoulder_a, line),
            _cos(shoulder_b, line),
            _cos(head_a, line),
            _cos(head_b, line),
            one_hot,
        ]
    )


def facing_direction(joints: np.ndarray) -> np.ndarray:
    """(T, 2) unit ground-plane direction the torso faces; (0, 0) where the shoulders coincide.

    With Z up, an actor facing f has its left side at z × f, so f = s × z = (s_y, −s_x) for the
    shoulder vector s = LeftShoulder − RightShoulder.
    """
    j = _check(joints, "joints")
    s = _ground(j[:, LEFT_SHOULDER] - j[:, RIGHT_SHOULDER])
    f = np.column_stack([s[:, 1], -s[:, 0]])
    n = np.linalg.norm(f, axis=1, keepdims=True)
    out = np.zeros_like(f)
    np.divide(f, n, out=out, where=n > _EPS)
    return out
