"""CameraTrack: a camera's world pose and field of view per frame."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cinestage.errors import CameraError


@dataclass(frozen=True)
class CameraTrack:
    """One virtual camera over a performance.

    positions: (T, 3) world metres.
    rotations: (T, 3, 3); columns are the camera's right, forward (view direction, +Y in
        Panda3D) and up axes expressed in world coordinates.
    fov_y: (T,) vertical field of view, radians.
    aspect: width / height of the image.
    """

    name: str
    fps: float
    positions: np.ndarray
    rotations: np.ndarray
    fov_y: np.ndarray
    aspect: float
    rig: str = "custom"
    params: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        t = self.positions.shape[0]
        if self.positions.shape != (t, 3) or self.rotations.shape != (t, 3, 3) or self.fov_y.shape != (t,):
            raise CameraError(self.name, "positions, rotations and fov_y disagree in shape")
        if t == 0:
            raise CameraError(self.name, "the track has no frames")
        if not (np.all(np.isfinite(self.positions)) and np.all(np.isfinite(self.rotations))):
            raise CameraError(self.name, "the track has non-finite poses")
        if np.any(self.fov_y <= np.radians(1.0)) or np.any(self.fov_y >= np.radians(170.0)):
            raise CameraError(self.name, "vertical field of view must lie between 1 and 170 degrees")

    @property
    def n_frames(self) -> int:
        return int(self.positions.shape[0])

    @property
    def fov_x(self) -> np.ndarray:
        return 2.0 * np.arctan(np.tan(self.fov_y / 2.0) * self.aspect)
