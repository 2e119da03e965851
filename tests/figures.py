"""A standing figure: the still stand-in the render, assess and edit tests build scenes from."""

from __future__ import annotations

import numpy as np

from cinestage.stage.joints import canonical_indices
from cinestage.stage.motion import Motion, Skeleton
from cinestage.stage.performance import Actor

NAMES = ("Hips", "Spine", "Chest", "Neck", "Head", "LeftShoulder", "LeftElbow", "LeftWrist", "RightShoulder",
         "RightElbow", "RightWrist", "LeftHip", "LeftKnee", "LeftAnkle", "LeftToe", "RightHip", "RightKnee",
         "RightAnkle", "RightToe")
PARENTS = (-1, 0, 1, 2, 3, 2, 5, 6, 2, 8, 9, 0, 11, 12, 13, 0, 15, 16, 17)
# A 1.75 m person facing -Y (the audience); their left is +X.
STANDING = np.array([
    [0, 0, 1.0], [0, 0, 1.15], [0, 0, 1.3], [0, 0, 1.5], [0, 0, 1.64],
    [0.19, 0, 1.45], [0.22, 0, 1.17], [0.24, 0, 0.92],
    [-0.19, 0, 1.45], [-0.22, 0, 1.17], [-0.24, 0, 0.92],
    [0.1, 0, 0.95], [0.11, 0, 0.52], [0.12, 0, 0.08], [0.12, -0.15, 0.02],
    [-0.1, 0, 0.95], [-0.11, 0, 0.52], [-0.12, 0, 0.08], [-0.12, -0.15, 0.02],
])


def standing_actor(name: str, at, frames: int, fps: float = 25.0, colour=(1.0, 0.0, 0.0), yaw: float = 0.0) -> Actor:
    """Standing still at `at` for `frames` frames, turned by `yaw` about Z (pi/2: facing +X)."""
    c, s = np.cos(yaw), np.sin(yaw)
    turned = STANDING @ np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]).T
    motion = Motion(Skeleton(NAMES, PARENTS), np.repeat((turned + np.asarray(at, float))[None], frames, axis=0), fps, name)
    return Actor(name, motion, colour, canonical_indices(NAMES, name))
