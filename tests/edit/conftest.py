"""Two standing mannequins and static cameras aimed at them: real geometry for the edit tests,
with render metadata from the renderer's own `camera_meta` (no pixels)."""

from __future__ import annotations

import numpy as np
import pytest
from figures import standing_actor

from cinestage.camera.track import CameraTrack
from cinestage.geometry import look_at
from cinestage.render.mannequin import Body
from cinestage.render.metadata import camera_meta
from cinestage.stage.performance import Performance

FPS = 25.0
A_AT, B_AT = np.array([-0.8, 0.0, 0.0]), np.array([0.8, 0.0, 0.0])  # the actors' axis runs along +X
CENTRE = (0.0, 0.0, 1.2)


class Stage:
    """The pair on stage for `frames` frames, and cameras on it."""

    def __init__(self, frames: int):
        self.frames = frames
        self.performance = Performance("pair", FPS, tuple(
            standing_actor(name, at, frames, FPS) for name, at in (("A", A_AT), ("B", B_AT))))
        self.bodies = [Body(a) for a in self.performance.actors]
        self.head_a, self.head_b = (a.head() for a in self.performance.actors)

    def camera(self, name: str, eye, aim=CENTRE, fov_deg: float = 30.0) -> CameraTrack:
        """aim: one point, or (T, 3) points for a camera that pans."""
        eye = np.tile(np.asarray(eye, float), (self.frames, 1))
        aim = np.broadcast_to(np.asarray(aim, float), (self.frames, 3))
        return CameraTrack(name, FPS, eye, look_at(eye, aim), np.full(self.frames, np.radians(fov_deg)), 16 / 9)

    def meta(self, track: CameraTrack):
        return camera_meta(self.performance, self.bodies, track)


@pytest.fixture(scope="module")
def stage() -> Stage:
    return Stage(50)


@pytest.fixture(scope="module")
def make_stage() -> type[Stage]:
    """For a test that needs a stage of its own length."""
    return Stage
