"""How the camera moves in a shot, measured; `cine_tags` turns the measures into tags.

Both sources are reduced to one description, `ImageMotion`: per frame, where the view points
(x in frame widths, + turned right; y in frame heights, + turned up) and the log of the image
scale (+ closer). A render's camera track gives it exactly, with the camera's travel through
the set beside it; a real clip gives it from its pixels: corners tracked between consecutive
frames (Lucas-Kanade) and one similarity transform fitted to them with RANSAC, so people moving
through the shot are outliers and the background says how the camera moved. A single view
cannot tell a dolly in from a zoom in, so a real clip's travel is unknown.

Rates are *sustained*: the largest change over any window of `WINDOW` seconds divided by it
(the whole shot when shorter). A deliberate move keeps one direction for a while; the wobble of
a hand-held camera cancels out over the window and shows up as `shake` instead: the RMS of the
view's path around a smooth (quadratic, `SHAKE_WINDOW` long) fit of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.ndimage import median_filter
from scipy.signal import savgol_filter

from cinestage.camera.track import CameraTrack

WINDOW = 1.0  # seconds over which a move must keep its direction to count as one
SHAKE_WINDOW = 0.5  # seconds: slower changes of direction are moves, faster ones shake
MOTION_SIDE = 320  # pixels: frames are tracked at this long side (sub-pixel LK needs no more)
MIN_CORNERS = 12  # fewer tracked corners than this and a frame step is unknown


@dataclass(frozen=True)
class ImageMotion:
    """Where the view points and how large the picture is, per frame (T,), from frame 0.

    x: frame widths the view has turned right; y: frame heights it has turned up; scale: log of
    the image scale (+: the subject grows). travel: camera travel in framing distances (path
    length over the distance to the subject, accumulated), None when unknown (real clips).
    bearing: the camera's direction seen from the subject on the ground plane, radians,
    unwrapped; heading: the direction the camera travels, radians, unwrapped (renders only).
    lost: fraction of frame steps whose motion could not be measured (counted as no motion)."""

    fps: float
    x: np.ndarray
    y: np.ndarray
    scale: np.ndarray
    travel: np.ndarray | None = None
    bearing: np.ndarray | None = None
    heading: np.ndarray | None = None
    lost: float = 0.0

    @property
    def n_frames(self) -> int:
        return len(self.x)


@dataclass(frozen=True)
class MotionMeasures:
    """Sustained rates (see the module docstring), signed by their direction: pan in frame
    widths/s (+ right), tilt in frame heights/s (+ up), zoom in log scale/s (+ in), travel in
    framing distances/s, orbit in degrees/s of the camera's bearing about the subject; curving:
    how far the direction of travel turns for each degree the bearing sweeps (1 on a circle
    about the subject, 0 on a straight track); shake in frame widths RMS; lost as in
    `ImageMotion`. The world measures are None for real clips."""

    pan: float
    tilt: float
    zoom: float
    shake: float
    travel: float | None = None
    orbit: float | None = None
    curving: float | None = None
    lost: float = 0.0


def measure(motion: ImageMotion) -> MotionMeasures:
    """The rates and shake of a shot's motion (`MotionMeasures`)."""
    fps = motion.fps
    shake = float(np.sqrt(_residual(motion.x, fps) ** 2 + _residual(motion.y, fps) ** 2)) if motion.n_frames else 0.0
    travel = orbit = curving = None
    if motion.travel is not None:
        travel = sustained(motion.travel, fps)
    if motion.bearing is not None and motion.heading is not None:
        orbit = float(np.degrees(sustained(motion.bearing, fps)))
        sweep = abs(motion.bearing[-1] - motion.bearing[0])
        turn = abs(motion.heading[-1] - motion.heading[0])
        curving = float(turn / sweep) if sweep > 1e-6 else 0.0
    return MotionMeasures(sustained(motion.x, fps), sustained(motion.y, fps), sustained(motion.scale, fps), shake,
                          travel, orbit, curving, motion.lost)


def sustained(z: np.ndarray, fps: float, window: float = WINDOW) -> float:
    """The largest change of z over `window` seconds (the whole series when shorter), per
    second, with its sign."""
    n = len(z)
    if n < 2:
        return 0.0
    w = int(min(max(1, round(window * fps)), n - 1))
    change = z[w:] - z[:-w]
    return float(change[np.argmax(np.abs(change))] * fps / w)


def _residual(z: np.ndarray, fps: float) -> float:
    """RMS of z around its local quadratic fit over SHAKE_WINDOW (0 for too short a series)."""
    w = round(SHAKE_WINDOW * fps) | 1
    if w < 5 or len(z) < w:
        return 0.0
    return float(np.sqrt(np.mean((z - savgol_filter(z, w, 2, mode="interp")) ** 2)))


def motion_from_track(track: CameraTrack, subject: np.ndarray) -> ImageMotion:
    """A render's motion, exactly: turns of the view from the track's rotations, zoom from its
    field of view, travel and bearing against `subject` (T, 3), the point the shot is about."""
    forward = track.rotations[:, :, 1]
    # Turning by an angle moves the picture by tan(angle) image-plane units; a frame is
    # 2 tan(fov / 2) of them wide.
    half_x, half_y = np.tan(track.fov_x / 2), np.tan(track.fov_y / 2)
    yaw = np.unwrap(np.arctan2(forward[:, 0], forward[:, 1]))
    pitch = np.arcsin(np.clip(forward[:, 2], -1, 1))
    x = np.concatenate([[0.0], np.cumsum(np.tan(np.diff(yaw)) / (2 * half_x[1:]))])
    y = np.concatenate([[0.0], np.cumsum(np.tan(np.diff(pitch)) / (2 * half_y[1:]))])
    scale = np.log(half_y[0] / half_y)
    away = track.positions - subject
    distance = np.maximum(np.linalg.norm(away, axis=1), 0.1)
    steps = np.linalg.norm(np.diff(track.positions, axis=0), axis=1)
    travel = np.concatenate([[0.0], np.cumsum(steps / distance[1:])])
    bearing = np.unwrap(np.arctan2(away[:, 1], away[:, 0]))
    return ImageMotion(track.fps, x, y, scale, travel, bearing, _heading(track.positions, track.fps))


def _heading(positions: np.ndarray, fps: float) -> np.ndarray:
    """Direction of travel on the ground (unwrapped), held where the camera stands still so a
    locked-off camera has a constant heading."""
    w = max(round(WINDOW * fps) | 1, 5)
    smooth = savgol_filter(positions, w, 2, axis=0, mode="interp") if len(positions) >= w else positions
    velocity = np.gradient(smooth[:, :2], axis=0) if len(positions) > 1 else np.zeros((1, 2))
    moving = np.linalg.norm(velocity, axis=1) > 1e-4
    if not moving.any():
        return np.zeros(len(positions))
    angle = np.arctan2(velocity[:, 1], velocity[:, 0])
    # Hold the last moving direction through stops (and the first one before the start).
    last = np.maximum.accumulate(np.where(moving, np.arange(len(angle)), -1))
    held = angle[np.where(last >= 0, last, np.argmax(moving))]
    return np.unwrap(held)


class PixelMotion:
    """Camera motion of a real clip from its frames: feed every frame in order, then ask for
    the motion of any range of frames (a shot). The step into frame i is measured between
    frames i - 1 and i, so a shot's first step (across the cut) is never used."""

    def __init__(self, fps: float):
        self.fps = float(fps)
        self._previous: np.ndarray | None = None
        self._steps: list[tuple[float, float, float]] = [(0.0, 0.0, 0.0)]
        self._lost: list[bool] = [False]

    def feed(self, image: np.ndarray) -> None:
        """image: (H, W, 3) uint8 RGB, any size (shrunk to MOTION_SIDE)."""
        gray = cv2.cvtColor(shrink(image, MOTION_SIDE), cv2.COLOR_RGB2GRAY)
        if self._previous is not None:
            step = _similarity_step(self._previous, gray)
            self._lost.append(step is None)
            self._steps.append(step or (0.0, 0.0, 0.0))
        self._previous = gray

    def motion(self, start: int = 0, end: int | None = None) -> ImageMotion:
        steps = np.array(self._steps[start:end], dtype=float).reshape(-1, 3)
        steps[:1] = 0.0
        # Now and then a fit fails on a plain backdrop and gives one wild step; a camera's own
        # motion changes over several frames, so a 3-frame median drops the one, keeps the other.
        steps = median_filter(steps, size=(3, 1), mode="nearest")
        paths = np.cumsum(steps, axis=0)
        lost = self._lost[start + 1:end]
        return ImageMotion(self.fps, paths[:, 0], paths[:, 1], paths[:, 2],
                           lost=float(np.mean(lost)) if lost else 0.0)


def shrink(image: np.ndarray, side: int) -> np.ndarray:
    """`image` area-averaged down to `side` pixels on its long side; never enlarged."""
    height, width = image.shape[:2]
    factor = side / max(height, width)
    if factor >= 1:
        return image
    return cv2.resize(image, (round(width * factor), round(height * factor)), interpolation=cv2.INTER_AREA)


def _similarity_step(previous: np.ndarray, current: np.ndarray) -> tuple[float, float, float] | None:
    """(right, up, log scale) the camera moved from `previous` to `current`, or None."""
    height, width = previous.shape
    corners = cv2.goodFeaturesToTrack(previous, maxCorners=300, qualityLevel=0.01, minDistance=8, blockSize=7)
    if corners is None or len(corners) < MIN_CORNERS:
        return None
    moved, status, _ = cv2.calcOpticalFlowPyrLK(previous, current, corners, None, winSize=(21, 21), maxLevel=3)
    ok = status[:, 0] == 1
    if ok.sum() < MIN_CORNERS:
        return None
    fit, _ = cv2.estimateAffinePartial2D(corners[ok], moved[ok], method=cv2.RANSAC, ransacReprojThreshold=1.0)
    if fit is None:
        return None
    centre = np.array([width / 2, height / 2])
    shift = fit[:, :2] @ centre + fit[:, 2] - centre
    scale = float(np.hypot(fit[0, 0], fit[1, 0]))
    # The picture moves against the camera: turning right slides it left; tilting up slides it
    # down, which is +y in pixels.
    return -float(shift[0]) / width, float(shift[1]) / height, float(np.log(max(scale, 1e-6)))
