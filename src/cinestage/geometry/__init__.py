"""Camera geometry: projection, Toric space and track smoothing (numpy only).

Conventions: world Z up, metres, radians; a rotation's columns are the camera's right,
forward (+Y, the viewing direction) and up axes in world coordinates; screen coordinates are
normalised to [-1, 1], x right, y up; ``fov_y`` is the vertical field of view and ``aspect``
is width / height. See each module's docstring for batching and the Toric angle convention.
"""

from cinestage.geometry.projection import (
    camera_rays,
    focal_scales,
    level_aim,
    look_at,
    project,
    quaternion_to_rotation,
    rotation_from_yaw_pitch_roll,
    rotation_to_quaternion,
    segment_through_box,
    unproject_ray,
    yaw_pitch_roll,
)
from cinestage.geometry.smoothing import (
    DEFAULT_RADIUS,
    gaussian_kernel,
    gaussian_smooth,
    smooth_pose_track,
    smooth_rotations,
    unwrap_angles,
)
from cinestage.geometry.toric import (
    camera_from_toric,
    orientation_for_screen,
    screen_angle,
    toric_features,
    toric_to_world,
    world_to_toric,
)

__all__ = [
    "DEFAULT_RADIUS",
    "camera_from_toric",
    "camera_rays",
    "focal_scales",
    "gaussian_kernel",
    "gaussian_smooth",
    "level_aim",
    "look_at",
    "orientation_for_screen",
    "project",
    "quaternion_to_rotation",
    "rotation_from_yaw_pitch_roll",
    "rotation_to_quaternion",
    "screen_angle",
    "segment_through_box",
    "smooth_pose_track",
    "smooth_rotations",
    "toric_features",
    "toric_to_world",
    "unproject_ray",
    "unwrap_angles",
    "world_to_toric",
    "yaw_pitch_roll",
]
