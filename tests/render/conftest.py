"""Standing mannequins in flat colours: the test mode where actors are found in frames by colour."""

from __future__ import annotations

import numpy as np
import pytest

from cinestage.stage.joints import canonical_indices
from cinestage.stage.motion import Motion, Skeleton
from cinestage.stage.performance import Actor, Performance

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
RED = (1.0, 0.0, 0.0)
BLUE = (0.0, 0.0, 1.0)


def standing_actor(name: str, at, colour, frames: int, fps: float = 25.0) -> Actor:
    positions = np.repeat((STANDING + np.asarray(at, float))[None], frames, axis=0)
    motion = Motion(Skeleton(NAMES, PARENTS), positions, fps, name)
    return Actor(name, motion, colour, canonical_indices(NAMES, name))


@pytest.fixture
def pair_on_stage():
    """A (red) at x = -0.8 and B (blue) at x = +0.8, both facing the audience, 3 frames."""
    return Performance("pair", 25.0, (standing_actor("A", (-0.8, 0.0, 0.0), RED, 3),
                                      standing_actor("B", (0.8, 0.3, 0.0), BLUE, 3)))
