"""Procedural human motion that needs no files, and the built-in two-actor "duet" performance.

A rigid 19-joint body is posed by forward kinematics from a few drivers per frame: a ground
path and heading, footsteps (planted feet, swing with clearance, heel rise), pelvis bob, sway
and twist, arm counter-swing, and upper-body gestures (wave, reach, bow, both hands up) with a
head that turns toward a look target. Legs are solved with two-bone IK onto the planted feet, so
feet never slide; every bone is a rotation of a constant offset, so bone lengths never change.

Conventions
-----------
World: cinestage's (right-handed, Z up, metres, radians, seconds). The stage floor is z = 0 and
spans x in [-6, 6], y in [-3, 3]; the audience sits at y < -3 looking toward +Y (upstage).

Heading psi is the yaw of a body: its front is ``(-sin psi, cos psi, 0)``. psi = 0 faces upstage
(+Y), psi = pi faces the audience (-Y), psi = +pi/2 faces -X. The body frame is
(right, front, up) = Rz(psi) (X, Y, Z), so an actor's anatomical left is
``up x front = (-cos psi, -sin psi, 0)``: an actor facing the audience has its left at +X.

Stage left / stage right are the performer's left / right when facing the audience: stage left
is +X (the audience's right). In `duet`, actor A enters from stage left (+X), actor B from stage
right (-X).

Proportions are fractions of the body height (anthropometric tables after Drillis & Contini);
``height`` is the top of the head, ~0.11 m above the Head joint for a 1.75 m body.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, Sequence

import numpy as np

from cinestage.errors import PerformanceError
from cinestage.stage.features import facing_direction
from cinestage.stage.joints import canonical_positions
from cinestage.stage.motion import Motion, Skeleton

__all__ = [
    "DEFAULT_HEIGHT", "JOINT_NAMES", "MIN_DUET_DURATION", "SKELETON",
    "ActorScript", "Arc", "Bezier", "Body", "Chain", "DuetScript", "Gesture", "Look", "Move", "Path", "Spot",
    "duet", "duet_script", "facing", "front_of", "heading_of", "idle", "left_of", "perform", "walk_cycle",
]  # fmt: skip

# --------------------------------------------------------------------------------------------
# Skeleton
# --------------------------------------------------------------------------------------------

JOINT_NAMES: tuple[str, ...] = (
    "Hips", "Spine", "Chest", "Neck", "Head",
    "LeftShoulder", "LeftElbow", "LeftWrist",
    "RightShoulder", "RightElbow", "RightWrist",
    "LeftHip", "LeftKnee", "LeftAnkle", "LeftToe",
    "RightHip", "RightKnee", "RightAnkle", "RightToe",
)  # fmt: skip
_PARENT_OF = {
    "Hips": None, "Spine": "Hips", "Chest": "Spine", "Neck": "Chest", "Head": "Neck",
    "LeftShoulder": "Chest", "LeftElbow": "LeftShoulder", "LeftWrist": "LeftElbow",
    "RightShoulder": "Chest", "RightElbow": "RightShoulder", "RightWrist": "RightElbow",
    "LeftHip": "Hips", "LeftKnee": "LeftHip", "LeftAnkle": "LeftKnee", "LeftToe": "LeftAnkle",
    "RightHip": "Hips", "RightKnee": "RightHip", "RightAnkle": "RightKnee", "RightToe": "RightAnkle",
}  # fmt: skip
SKELETON = Skeleton(
    JOINT_NAMES,
    tuple(-1 if _PARENT_OF[n] is None else JOINT_NAMES.index(_PARENT_OF[n]) for n in JOINT_NAMES),
)
_J = {name: i for i, name in enumerate(JOINT_NAMES)}

DEFAULT_HEIGHT = 1.75
STAGE_HALF_WIDTH = 6.0  # x in [-6, 6]
STAGE_HALF_DEPTH = 3.0  # y in [-3, 3]
LEFT, RIGHT = 0, 1
_SIDE = (-1.0, 1.0)  # x sign of each side in the body frame (x = the actor's right)


@dataclass(frozen=True)
class Body:
    """Segment lengths and offsets (metres) for one body height.

    Offsets are in the body frame (x right, y front, z up) and given for the right side; the
    left side mirrors x.
    """

    height: float = DEFAULT_HEIGHT

    def __post_init__(self) -> None:
        if not (0.5 <= self.height <= 3.0) or not math.isfinite(self.height):
            raise PerformanceError("procedural body", f"height must be 0.5-3.0 m, got {self.height}")

    def _f(self, fraction: float) -> float:
        return fraction * self.height

    # Scale of the gait and gesture constants, which are tuned for a 1.75 m body.
    scale = property(lambda s: s.height / DEFAULT_HEIGHT)
    hip_half_width = property(lambda s: s._f(0.052))
    hip_drop = property(lambda s: s._f(0.020))  # hip joints sit below the pelvis root
    spine_up = property(lambda s: s._f(0.080))
    chest_up = property(lambda s: s._f(0.090))
    neck_up = property(lambda s: s._f(0.145))
    head_up = property(lambda s: s._f(0.072))  # Head is the centre of the head...
    head_front = property(lambda s: s._f(0.010))  # ...a little in front of the neck
    head_top = property(lambda s: s._f(0.063))  # top of the head above the Head joint
    shoulder_half_width = property(lambda s: s._f(0.105))
    shoulder_up = property(lambda s: s._f(0.098))
    shoulder_back = property(lambda s: s._f(0.005))
    upper_arm = property(lambda s: s._f(0.186))
    forearm = property(lambda s: s._f(0.146))
    thigh = property(lambda s: s._f(0.245))
    shank = property(lambda s: s._f(0.246))
    ankle_height = property(lambda s: s._f(0.039))
    toe_front = property(lambda s: s._f(0.080))  # ankle -> ball of the foot
    toe_down = property(lambda s: s._f(0.027))
    foot_half_spacing = property(lambda s: s._f(0.050))  # ankles' half distance when standing

    @property
    def leg(self) -> float:
        return self.thigh + self.shank

    @property
    def standing_hips_z(self) -> float:
        # Knees a few degrees short of straight: a locked knee looks stiff and leaves IK no slack.
        return self.ankle_height + 0.997 * self.leg + self.hip_drop


# --------------------------------------------------------------------------------------------
# Small vectorised math
# --------------------------------------------------------------------------------------------


def front_of(heading: np.ndarray | float) -> np.ndarray:
    """(..., 3) unit front vector of a body with this heading."""
    h = np.asarray(heading, dtype=np.float64)
    return np.stack([-np.sin(h), np.cos(h), np.zeros_like(h)], axis=-1)


def left_of(heading: np.ndarray | float) -> np.ndarray:
    """(..., 3) the actor's anatomical left: up x front."""
    h = np.asarray(heading, dtype=np.float64)
    return np.stack([-np.cos(h), -np.sin(h), np.zeros_like(h)], axis=-1)


def heading_of(direction: np.ndarray | Sequence[float]) -> np.ndarray:
    """Heading that faces along a ground direction (..., >=2): inverse of `front_of`."""
    d = np.asarray(direction, dtype=np.float64)
    return np.arctan2(-d[..., 0], d[..., 1])


def facing(motion: Motion) -> np.ndarray:
    """(T, 3) unit ground-plane front of an actor (features.facing_direction, lifted to 3D)."""
    front = facing_direction(canonical_positions(motion))
    return np.concatenate([front, np.zeros((len(front), 1))], axis=1)


def _wrap(a: np.ndarray | float) -> np.ndarray:
    return (np.asarray(a) + np.pi) % (2.0 * np.pi) - np.pi


def _smoothstep(x: np.ndarray | float) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _rot_z(a: np.ndarray) -> np.ndarray:
    c, s, z, o = np.cos(a), np.sin(a), np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def _rot_x(a: np.ndarray) -> np.ndarray:
    c, s, z, o = np.cos(a), np.sin(a), np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def _tilt(yaw: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """Frame yawed by `yaw` and pitched forward by `pitch` (up tips toward front)."""
    return _rot_z(yaw) @ _rot_x(-pitch)


def _apply(rot: np.ndarray, v: np.ndarray | Sequence[float]) -> np.ndarray:
    return np.einsum("...ij,...j->...i", rot, np.asarray(v, dtype=np.float64))


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _slerp(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Unit-vector interpolation at constant angular speed, so a gesture's arm moves evenly."""
    dot = np.clip(np.einsum("...i,...i->...", a, b), -1.0, 1.0)
    omega = np.arccos(dot)[..., None]
    w = np.asarray(w)[..., None]
    small = omega < 1e-6
    s = np.where(small, 1.0, np.sin(omega))
    wa = np.where(small, 1.0 - w, np.sin((1.0 - w) * omega) / s)
    wb = np.where(small, w, np.sin(w * omega) / s)
    return _unit(wa * a + wb * b)


def _ease(x: np.ndarray, ramp: float) -> np.ndarray:
    """Progress in [0, 1] for time fraction x: sin^2 speed ramps of length `ramp`, cruise between.

    Speed (and so foot and pelvis speed) is continuous, so starts and stops have no jerk.
    """
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    r = float(np.clip(ramp, 1e-6, 0.5))

    def rise(y: np.ndarray) -> np.ndarray:  # integral of sin^2(pi y / 2r) from 0 to y
        return y / 2.0 - r / (2.0 * np.pi) * np.sin(np.pi * y / r)

    area = 1.0 - r
    out = np.where(x < r, rise(x), r / 2.0 + (x - r))
    out = np.where(x > 1.0 - r, area - rise(1.0 - x), out)
    return out / area


def _envelope(t: np.ndarray, t0: float, t1: float, ramp: float | None = None) -> np.ndarray:
    """1 inside [t0, t1], easing in and out over `ramp` seconds (0.5 s, less in a short window)."""
    r = min(0.5, (t1 - t0) / 2.5) if ramp is None else ramp
    r = max(r, 1e-6)
    return _smoothstep((t - t0) / r) * _smoothstep((t1 - t) / r)


# --------------------------------------------------------------------------------------------
# Ground paths
# --------------------------------------------------------------------------------------------


class Path:
    """A ground path: u in [0, 1] (fraction of its length) -> xy, and the heading along it."""

    length: float

    def xy(self, u: np.ndarray) -> np.ndarray:  # (N,) -> (N, 2)
        raise NotImplementedError

    def heading(self, u: np.ndarray) -> np.ndarray:  # (N,) -> (N,), continuous (unwrapped)
        raise NotImplementedError


class Bezier(Path):
    """Cubic Bezier, walked at constant speed (arc-length parametrised); heading follows it."""

    def __init__(self, p0, p1, p2, p3):
        self.p = np.array([p0, p1, p2, p3], dtype=np.float64)
        v = np.linspace(0.0, 1.0, 1025)
        pts = self._eval(v)
        seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
        self._s = np.concatenate([[0.0], np.cumsum(seg)])
        self.length = float(self._s[-1])
        self._v = v
        # Headings on the table, unwrapped once, so the heading never jumps by 2 pi.
        self._h = np.unwrap(heading_of(self._tangent(v)))

    def _eval(self, v: np.ndarray) -> np.ndarray:
        v = np.asarray(v)[:, None]
        p0, p1, p2, p3 = self.p
        return (1 - v) ** 3 * p0 + 3 * (1 - v) ** 2 * v * p1 + 3 * (1 - v) * v**2 * p2 + v**3 * p3

    def _tangent(self, v: np.ndarray) -> np.ndarray:
        v = np.asarray(v)[:, None]
        p0, p1, p2, p3 = self.p
        t = 3 * (1 - v) ** 2 * (p1 - p0) + 6 * (1 - v) * v * (p2 - p1) + 3 * v**2 * (p3 - p2)
        # A degenerate end (control point on the end point) has no tangent there: look inward.
        bad = np.linalg.norm(t, axis=1) < 1e-9
        if np.any(bad):
            t[bad] = np.where(v[bad] < 0.5, p2 - p0, p3 - p1)
        return t

    def _param(self, u: np.ndarray) -> np.ndarray:
        return np.interp(np.clip(u, 0.0, 1.0) * self.length, self._s, self._v)

    def xy(self, u):
        return self._eval(self._param(np.asarray(u, dtype=np.float64)))

    def heading(self, u):
        return np.interp(self._param(np.asarray(u, dtype=np.float64)), self._v, self._h)


class Arc(Path):
    """Part of a circle around `center`, from angle `a0` (radians, from +X) by `sweep`."""

    def __init__(self, center, radius: float, a0: float, sweep: float):
        self.center = np.asarray(center, dtype=np.float64)
        self.radius, self.a0, self.sweep = float(radius), float(a0), float(sweep)
        self.length = abs(self.sweep) * self.radius

    def xy(self, u):
        a = self.a0 + self.sweep * np.asarray(u, dtype=np.float64)
        return self.center + self.radius * np.stack([np.cos(a), np.sin(a)], axis=-1)

    def heading(self, u):
        # Moving counter-clockwise the tangent at angle a is (-sin a, cos a): heading a.
        a = self.a0 + self.sweep * np.asarray(u, dtype=np.float64)
        return a if self.sweep >= 0 else a + np.pi


class Spot(Path):
    """Standing on one spot while the heading turns from h0 to h1 (an in-place turn)."""

    def __init__(self, xy, h0: float, h1: float):
        self.point = np.asarray(xy, dtype=np.float64)
        self.h0, self.h1 = float(h0), float(h1)
        self.length = 0.0

    def xy(self, u):
        return np.broadcast_to(self.point, (np.size(u), 2)).copy()

    def heading(self, u):
        return self.h0 + (self.h1 - self.h0) * np.asarray(u, dtype=np.float64)


class Chain(Path):
    """Paths walked one after the other (each must start where the previous ends, along it)."""

    def __init__(self, *paths: Path):
        self.paths = paths
        self._ends = np.cumsum([p.length for p in paths])
        self.length = float(self._ends[-1])
        # Shift each part's heading by whole turns so the chain's heading is continuous.
        self._offsets, prev = [], None
        for p in paths:
            h0 = float(p.heading(np.zeros(1))[0])
            off = 0.0 if prev is None else 2.0 * np.pi * round((prev - h0) / (2.0 * np.pi))
            self._offsets.append(off)
            prev = float(p.heading(np.ones(1))[0]) + off

    def _locate(self, u):
        s = np.clip(np.asarray(u, dtype=np.float64), 0.0, 1.0) * self.length
        part = np.minimum(np.searchsorted(self._ends, s, side="right"), len(self.paths) - 1)
        start = np.concatenate([[0.0], self._ends])[part]
        lengths = np.array([p.length for p in self.paths])[part]
        return part, np.clip((s - start) / np.maximum(lengths, 1e-12), 0.0, 1.0)

    def xy(self, u):
        part, local = self._locate(u)
        out = np.zeros((len(part), 2))
        for k, p in enumerate(self.paths):
            sel = part == k
            if np.any(sel):
                out[sel] = p.xy(local[sel])
        return out

    def heading(self, u):
        part, local = self._locate(u)
        out = np.zeros(len(part))
        for k, p in enumerate(self.paths):
            sel = part == k
            if np.any(sel):
                out[sel] = p.heading(local[sel]) + self._offsets[k]
        return out


# --------------------------------------------------------------------------------------------
# Choreography: what one actor does, in seconds
# --------------------------------------------------------------------------------------------

# Gait constants. Step length and timing belong to the script (every body walks the same
# path in the same steps); the foot lift is a body length, tuned for 1.75 m and scaled.
_STEP_MAX = 0.60  # metres of body travel per step at most
_STEP_TIME = 0.52  # seconds per step at an easy stage walk (~115 steps / min)
_TURN_PER_STEP = math.pi / 3.0  # radians of in-place turn per step
# A foot lands where the body will be LEAD steps after its swing began (mid-stance comes
# after landing, as in real gait); the last two steps land on the end pose: feet together.
_LAND_LEAD = 1.4
_SWING = (0.1, 0.9)  # part of each step's time the foot is in the air (double support between)
_HEEL_RISE = 0.38  # radians of heel rise before toe-off on a full step
_TOE_UP = 0.20  # radians of toe-up before heel strike
_CLEARANCE = 0.035  # metres of extra ankle lift at mid-swing on a full step


@dataclass(frozen=True)
class Move:
    """The body travels along `path` from t0 to t1 in `n_steps` alternating steps.

    `heading_offset` (a multiple of 2 pi) keeps the heading continuous with what came before;
    when the path does not start along the actor's heading, the heading starts `turn_in`
    radians off the path and turns onto it over the first `turn_in_u` of the path (the actor
    turns while stepping off).
    """

    t0: float
    t1: float
    path: Path
    n_steps: int
    first_foot: int = LEFT
    heading_offset: float = 0.0
    turn_in: float = 0.0
    turn_in_u: float = 1.0

    @property
    def sigma_end(self) -> float:
        """Step phase at which the body arrives; the last step then closes the feet."""
        return self.n_steps - 2 + _LAND_LEAD

    def sigma(self, t: np.ndarray) -> np.ndarray:
        """Step phase: step k's swing is in [k + 0.1, k + 0.9]."""
        return self.n_steps * np.clip((np.asarray(t) - self.t0) / (self.t1 - self.t0), 0.0, 1.0)

    def progress(self, sigma: np.ndarray) -> np.ndarray:
        """Body progress u in [0, 1] along the path at step phase sigma (eased over one step)."""
        return _ease(np.asarray(sigma) / self.sigma_end, ramp=min(0.5, 1.0 / self.sigma_end))

    def pose(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u = np.atleast_1d(np.asarray(u, dtype=np.float64))
        blend = self.turn_in * (1.0 - _smoothstep(u / self.turn_in_u))
        return self.path.xy(u), self.path.heading(u) + self.heading_offset + blend


GestureKind = Literal["wave", "reach", "raise_hands", "bow"]


@dataclass(frozen=True)
class Gesture:
    """An upper-body gesture held over [t0, t1], eased in and out.

    wave: one hand raised beside the head, waving; reach: one arm extended forward (toward a
    partner in front); raise_hands: both arms up in a V; bow: a bow from the hips with a nod.
    """

    kind: GestureKind
    t0: float
    t1: float
    arm: Literal["left", "right"] = "right"


@dataclass(frozen=True)
class Look:
    """Turn the head toward a target over [t0, t1]: "partner", "audience" or a stage point (x, y)."""

    t0: float
    t1: float
    target: str | tuple[float, float] = "partner"


@dataclass
class ActorScript:
    """One actor's choreography: a start pose, then moves in time order, gestures and looks.

    Build it with the methods, which keep track of where the actor stands and faces.
    """

    start_xy: tuple[float, float]
    start_heading: float
    moves: list[Move] = field(default_factory=list)
    gestures: list[Gesture] = field(default_factory=list)
    looks: list[Look] = field(default_factory=list)
    idle_phase: float = 0.0  # phase of the standing sway / breathing, so two actors differ

    @property
    def end_xy(self) -> np.ndarray:
        if self.moves:
            return self.moves[-1].pose(1.0)[0][0]
        return np.asarray(self.start_xy, dtype=np.float64)

    @property
    def end_heading(self) -> float:
        if self.moves:
            return float(self.moves[-1].pose(1.0)[1][0])
        return float(self.start_heading)

    @property
    def end_time(self) -> float:
        return self.moves[-1].t1 if self.moves else -math.inf

    def _add(self, t0: float, t1: float, path: Path, n_steps: int, first: int) -> "ActorScript":
        if not t1 > t0:
            raise PerformanceError("choreography", f"a move must take time, got [{t0}, {t1}]")
        if t0 < self.end_time - 1e-9:
            raise PerformanceError("choreography", f"move at {t0:.2f}s overlaps one ending {self.end_time:.2f}s")
        if np.linalg.norm(path.xy(np.zeros(1))[0] - self.end_xy) > 1e-6:
            raise PerformanceError("choreography", "a path must start where the actor stands")
        h0 = float(path.heading(np.zeros(1))[0])
        offset = 2.0 * np.pi * round((self.end_heading - h0) / (2.0 * np.pi))
        turn_in = self.end_heading - (h0 + offset)
        # Turn over ~1.5 steps, more for a turn of more than 90 degrees.
        turn_steps = max(1.5, abs(turn_in) / _TURN_PER_STEP)
        turn_in_u = min(0.7, turn_steps / max(n_steps - 3.0 + _LAND_LEAD, 1.0))
        if abs(turn_in) < 1e-9:
            turn_in, turn_in_u = 0.0, 1.0
        self.moves.append(Move(t0, t1, path, n_steps, first, offset, turn_in, turn_in_u))
        return self

    def walk(self, t0: float, t1: float, path: Path) -> "ActorScript":
        """Walk along `path` (starting where the actor stands), facing along it; if the path
        leaves in another direction than the actor faces, the actor turns into it while
        stepping off."""
        # Enough steps that none is longer than _STEP_MAX, and about one per _STEP_TIME.
        n = max(math.ceil(path.length / _STEP_MAX + 3.0 - _LAND_LEAD), _steps_for(t1 - t0))
        # Turn-side foot first on a curve, so the first step opens the turn.
        bend = float(_wrap(path.heading(np.array([0.3]))[0] - self.end_heading))
        return self._add(t0, t1, path, n, LEFT if bend >= 0 else RIGHT)

    def walk_to(self, t0: float, t1: float, xy, end_heading: float | None = None) -> "ActorScript":
        """Walk on a smooth curve from the current pose to `xy`, arriving with `end_heading`."""
        p0, p3 = self.end_xy, np.asarray(xy, dtype=np.float64)
        dist = float(np.linalg.norm(p3 - p0))
        f0 = front_of(self.end_heading)[:2]
        f1 = front_of(end_heading)[:2] if end_heading is not None else _unit(p3 - p0)
        return self.walk(t0, t1, Bezier(p0, p0 + f0 * dist * 0.4, p3 - f1 * dist * 0.4, p3))

    def turn_to(self, t0: float, t1: float, heading: float) -> "ActorScript":
        """Turn in place (stepping) the short way round to `heading`."""
        h0 = self.end_heading
        h1 = h0 + float(_wrap(heading - h0))
        n = max(2, math.ceil(abs(h1 - h0) / _TURN_PER_STEP))
        return self._add(t0, t1, Spot(self.end_xy, h0, h1), n, LEFT if h1 >= h0 else RIGHT)

    def turn_toward(self, t0: float, t1: float, point) -> "ActorScript":
        return self.turn_to(t0, t1, float(heading_of(np.asarray(point, dtype=np.float64) - self.end_xy)))

    def arc(self, t0: float, t1: float, center, sweep: float) -> "ActorScript":
        """Walk around `center` by `sweep` radians (counter-clockwise when positive)."""
        c = np.asarray(center, dtype=np.float64)
        r = self.end_xy - c
        return self.walk(t0, t1, Arc(c, float(np.linalg.norm(r)), float(np.arctan2(r[1], r[0])), sweep))

    def gesture(self, kind: GestureKind, t0: float, t1: float, arm: str = "right") -> "ActorScript":
        """Add a gesture (see `Gesture`); gestures of one arm should not overlap in time."""
        if kind not in ("wave", "reach", "raise_hands", "bow"):
            raise PerformanceError("choreography", f"unknown gesture {kind!r}")
        if arm not in ("left", "right"):
            raise PerformanceError("choreography", f"arm must be 'left' or 'right', got {arm!r}")
        if not t1 > t0:
            raise PerformanceError("choreography", f"a gesture must take time, got [{t0}, {t1}]")
        self.gestures.append(Gesture(kind, t0, t1, arm))  # type: ignore[arg-type]
        return self

    def look(self, t0: float, t1: float, target: str | tuple[float, float] = "partner") -> "ActorScript":
        """Turn the head toward "partner", "audience" or a stage point (x, y) over [t0, t1]."""
        if isinstance(target, str) and target not in ("partner", "audience"):
            raise PerformanceError(
                "choreography", f"look target must be 'partner', 'audience' or (x, y), got {target!r}"
            )
        if not t1 > t0:
            raise PerformanceError("choreography", f"a look must take time, got [{t0}, {t1}]")
        self.looks.append(Look(t0, t1, target if isinstance(target, str) else (float(target[0]), float(target[1]))))
        return self


# --------------------------------------------------------------------------------------------
# Locomotion: body path, heading and footsteps per frame
# --------------------------------------------------------------------------------------------


@dataclass
class _Steps:
    """Footstep events of one foot, in time order."""

    t_lift: list[float] = field(default_factory=list)
    t_land: list[float] = field(default_factory=list)
    xy: list[np.ndarray] = field(default_factory=list)  # ankle ground position after landing
    yaw: list[float] = field(default_factory=list)
    gain: list[float] = field(default_factory=list)  # 0..1: how big the step is (heel rise, lift)


@dataclass
class _Locomotion:
    xy: np.ndarray  # (T, 2) body ground point (pelvis before sway)
    heading: np.ndarray  # (T,)
    ankle: np.ndarray  # (2, T, 3) ankle targets per foot (left, right)
    foot_yaw: np.ndarray  # (2, T)
    foot_pitch: np.ndarray  # (2, T) heel rise > 0, toe up < 0
    swing: np.ndarray  # (2, T) sin(pi s) bump while the foot is in the air, scaled by step gain
    activity: np.ndarray  # (T,) 0 standing .. 1 walking at ~1 m/s


def _nominal_feet(xy: np.ndarray, heading: np.ndarray, body: Body) -> np.ndarray:
    """(2, N, 2) ankle ground positions of a body standing at xy with heading."""
    right = np.stack([np.cos(heading), np.sin(heading)], axis=-1)
    return np.stack([xy + _SIDE[f] * body.foot_half_spacing * right for f in (LEFT, RIGHT)])


def _plan_steps(script: ActorScript, body: Body) -> list[_Steps]:
    start_xy = np.atleast_2d(np.asarray(script.start_xy, dtype=np.float64))
    start_h = np.array([script.start_heading], dtype=np.float64)
    feet = [_nominal_feet(start_xy, start_h, body)[f][0] for f in (LEFT, RIGHT)]
    steps = [_Steps(), _Steps()]
    full_step = 2.0 * 0.5 * body.scale  # a foot travels two step lengths per swing
    for m in script.moves:
        dt = (m.t1 - m.t0) / m.n_steps
        for k in range(m.n_steps):
            foot = m.first_foot if k % 2 == 0 else 1 - m.first_foot
            u = m.progress(np.array([min(k + _LAND_LEAD, m.sigma_end)]))
            xy, h = m.pose(u)
            land = _nominal_feet(xy, h, body)[foot][0]
            s = steps[foot]
            s.t_lift.append(m.t0 + dt * (k + _SWING[0]))
            s.t_land.append(m.t0 + dt * (k + _SWING[1]))
            s.xy.append(land)
            s.yaw.append(float(h[0]))
            s.gain.append(float(np.clip(np.linalg.norm(land - feet[foot]) / full_step, 0.0, 1.0)))
            feet[foot] = land
    return steps


def _foot_track(times: np.ndarray, start_xy: np.ndarray, start_yaw: float, st: _Steps, body: Body):
    """Ankle (T, 3), yaw (T,), pitch (T,) and swing bump (T,) of one foot from its steps."""
    T = len(times)
    E = len(st.t_lift)
    xy_after = np.array([start_xy, *st.xy]).reshape(E + 1, 2)  # index 0: before any step
    yaw_after = np.array([start_yaw, *st.yaw])
    t_lift, t_land = np.asarray(st.t_lift), np.asarray(st.t_land)
    gain = np.asarray(st.gain)
    toe_vec = np.array([0.0, body.toe_front, -body.toe_down])
    s = body.scale

    def heel_raised_ankle(xy, yaw, pitch):
        """Ankle of a foot whose toe stays planted at its flat-foot place while the heel rises."""
        flat = np.concatenate([xy, np.full(xy.shape[:-1] + (1,), body.ankle_height)], axis=-1)
        toe = flat + _apply(_rot_z(yaw), toe_vec)
        return toe - _apply(_tilt(yaw, pitch), toe_vec)

    idx = np.searchsorted(t_lift, times, side="right") - 1  # last step lifted at or before t
    ic = np.clip(idx, 0, max(E - 1, 0))
    in_swing = (idx >= 0) & (times < (t_land[ic] if E else -np.inf))
    planted = np.where(in_swing, idx, idx + 1)  # index into *_after of the pose held (if planted)

    # Planted: heel rises over the half step before the next lift-off.
    nxt = np.clip(idx + 1, 0, max(E - 1, 0))
    has_next = (idx + 1 < E) & (E > 0)
    if E:
        tau = 0.5 * (t_land[nxt] - t_lift[nxt]) / (_SWING[1] - _SWING[0])
        rise = _smoothstep((times - (t_lift[nxt] - tau)) / tau) * gain[nxt] * _HEEL_RISE
        pitch = np.where(has_next, rise, 0.0)
    else:
        pitch = np.zeros(T)
    xy_p, yaw_p = xy_after[planted], yaw_after[planted]
    ankle = heel_raised_ankle(xy_p, yaw_p, pitch)
    yaw = yaw_p.copy()
    bump = np.zeros(T)

    if E and np.any(in_swing):
        i = idx[in_swing]
        t = times[in_swing]
        u = (t - t_lift[i]) / (t_land[i] - t_lift[i])
        h = _smoothstep(u)
        g = gain[i]
        p_lift = _HEEL_RISE * g
        a0 = heel_raised_ankle(xy_after[i], yaw_after[i], p_lift)
        a1 = np.concatenate([xy_after[i + 1], np.full((len(i), 1), body.ankle_height)], axis=-1)
        a = a0 + (a1 - a0) * h[:, None]
        a[:, 2] += _CLEARANCE * s * np.maximum(g, 0.4) * np.sin(np.pi * u)
        ankle[in_swing] = a
        yaw[in_swing] = yaw_after[i] + (yaw_after[i + 1] - yaw_after[i]) * h
        # The toe stays down just after toe-off, then the foot dorsiflexes for heel strike.
        pitch[in_swing] = p_lift * (1.0 - _smoothstep(u / 0.6)) - _TOE_UP * g * np.sin(
            np.pi * np.clip((u - 0.4) / 0.6, 0.0, 1.0)
        )
        bump[in_swing] = np.sin(np.pi * u) * g
    return ankle, yaw, pitch, bump


def _locomote(script: ActorScript, times: np.ndarray, body: Body) -> _Locomotion:
    T = len(times)
    xy = np.tile(np.asarray(script.start_xy, dtype=np.float64), (T, 1))
    heading = np.full(T, float(script.start_heading))
    for m in script.moves:  # each move owns all time from its start on, until the next one
        sel = times >= m.t0
        if np.any(sel):
            xy[sel], heading[sel] = m.pose(m.progress(m.sigma(times[sel])))

    steps = _plan_steps(script, body)
    start = _nominal_feet(np.atleast_2d(script.start_xy), np.array([script.start_heading]), body)
    tracks = [_foot_track(times, start[f][0], script.start_heading, steps[f], body) for f in (LEFT, RIGHT)]
    ankle, yaw, pitch, swing = (np.stack([tr[k] for tr in tracks]) for k in range(4))

    if T > 1:
        dt = np.diff(times).mean()
        speed = np.linalg.norm(np.gradient(xy, dt, axis=0), axis=1)
    else:
        speed = np.zeros(T)
    activity = np.clip(speed / (1.0 * body.scale), 0.0, 1.0)
    return _Locomotion(xy, heading, ankle, yaw, pitch, swing, activity)


# --------------------------------------------------------------------------------------------
# Upper body: gestures and looks per frame
# --------------------------------------------------------------------------------------------


def _arm_pose(kind: str, side: float, t: np.ndarray, t0: float):
    """Upper-arm direction, elbow flexion and forearm bend reference of a gesture.

    Vectors are in the arm frame (x right, y front, z up, yawed with the chest, not pitched):
    arms are posed against gravity, so they still hang when the trunk bows.
    """
    n = len(t)
    if kind == "wave":  # hand up beside the head, forearm upright, swaying side to side
        d = _unit(np.array([side * 0.80, 0.40, 0.30]))
        w = 0.45 * np.sin(2.0 * np.pi * 2.0 * (t - t0))
        ref = np.stack([side * np.sin(w), np.full(n, 0.15), np.cos(w)], axis=-1)
        return np.tile(d, (n, 1)), np.full(n, 1.75), ref
    if kind == "reach":  # arm out toward whoever is in front, palm offered
        d = _unit(np.array([side * 0.12, 0.97, -0.12]))
        return np.tile(d, (n, 1)), np.full(n, 0.35), np.tile([-side * 0.3, 0.0, 1.0], (n, 1))
    if kind == "raise_hands":  # both arms up in a V
        d = _unit(np.array([side * 0.45, 0.25, 0.86]))
        return np.tile(d, (n, 1)), np.full(n, 0.30), np.tile([0.0, 1.0, 0.2], (n, 1))
    raise ValueError(kind)


def _arms(script: ActorScript, times: np.ndarray, loco: _Locomotion, body: Body):
    """Per arm (left, right): upper-arm direction (T, 3), elbow flexion (T,), bend reference (T, 3)."""
    # Arm counter-swing: each arm swings forward when the opposite foot is ahead.
    fwd = front_of(loco.heading)[:, :2]
    ahead = np.einsum("ti,ti->t", loco.ankle[RIGHT][:, :2] - loco.ankle[LEFT][:, :2], fwd)
    swing = np.clip(0.6 / body.scale * ahead, -0.45, 0.45)
    out = []
    for arm, sgn in ((LEFT, 1.0), (RIGHT, -1.0)):
        side = _SIDE[arm]
        phi = sgn * swing
        d = _unit(np.stack([np.full_like(phi, side * 0.09), np.sin(phi), -np.cos(phi)], axis=-1))
        beta = 0.15 + 0.35 * np.maximum(phi, 0.0)
        ref = np.tile([0.0, 1.0, 0.0], (len(times), 1))
        name = "left" if arm == LEFT else "right"
        for g in script.gestures:
            if g.kind == "bow" or (g.kind in ("wave", "reach") and g.arm != name):
                continue
            w = _envelope(times, g.t0, g.t1)
            if not np.any(w > 0):
                continue
            gd, gb, gr = _arm_pose(g.kind, side, times, g.t0)
            d = _slerp(d, gd, w)
            beta = beta + (gb - beta) * w
            ref = _unit(ref + (_unit(gr) - _unit(ref)) * w[:, None])
        out.append((d, beta, ref))
    return out


def _look_yaw(script: ActorScript, times, loco: _Locomotion, chest_yaw, partner_xy) -> np.ndarray:
    """Head yaw relative to the chest, turning toward the active look targets."""
    yaw = np.zeros(len(times))
    for lk in script.looks:
        w = _envelope(times, lk.t0, lk.t1, ramp=min(0.5, (lk.t1 - lk.t0) / 3.0))
        if lk.target == "audience":
            want = np.full(len(times), np.pi)
        else:
            if lk.target == "partner":
                if partner_xy is None:
                    continue
                target = partner_xy
            else:
                target = np.asarray(lk.target, dtype=np.float64)
            want = heading_of(target - loco.xy)
        rel = np.clip(_wrap(want - loco.heading - chest_yaw), -1.2, 1.2)
        yaw = yaw + (rel - yaw) * w
    return yaw


# --------------------------------------------------------------------------------------------
# Forward kinematics
# --------------------------------------------------------------------------------------------


def _two_bone(root, target, l1, l2, pole):
    """Middle and end joints of a two-bone chain reaching for target, bending toward pole.

    The end stops short of full extension if the target is out of reach, so lengths stay exact.
    """
    v = target - root
    d = np.linalg.norm(v, axis=-1, keepdims=True)
    u = v / np.maximum(d, 1e-12)
    d = np.clip(d, abs(l1 - l2) + 1e-6, (l1 + l2) * (1.0 - 1e-5))
    a = (l1 * l1 - l2 * l2 + d * d) / (2.0 * d)
    h = np.sqrt(np.maximum(l1 * l1 - a * a, 0.0))
    w = _unit(pole - np.einsum("ti,ti->t", pole, u)[:, None] * u)
    return root + a * u + h * w, root + d * u


def _window_max(x: np.ndarray, half: int) -> np.ndarray:
    padded = np.pad(x, half, mode="edge")
    return np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1).max(axis=1)


def _smooth(x: np.ndarray, half: int) -> np.ndarray:
    k = np.exp(-0.5 * (np.arange(-half, half + 1) / (half / 2.0)) ** 2)
    return np.convolve(np.pad(x, half, mode="edge"), k / k.sum(), mode="valid")


def _pose(script: ActorScript, times: np.ndarray, body: Body, loco: _Locomotion, partner_xy) -> np.ndarray:
    T = len(times)
    s = body.scale
    psi = loco.heading
    fwd, right = front_of(psi), -left_of(psi)
    a = loco.activity
    P = np.zeros((T, len(JOINT_NAMES), 3))

    bow = np.zeros(T)
    lean_back = np.zeros(T)
    for g in script.gestures:
        if g.kind == "bow":
            bow = np.maximum(bow, _envelope(times, g.t0, g.t1))
        elif g.kind == "raise_hands":
            lean_back = np.maximum(lean_back, _envelope(times, g.t0, g.t1))

    # Standing is never frozen: slow weight shift and breathing, faded out while walking.
    still = 1.0 - a
    breath = 0.012 * np.sin(2.0 * np.pi * 0.25 * times + script.idle_phase)
    shift = 0.012 * s * np.sin(2.0 * np.pi * 0.11 * times + 1.7 * script.idle_phase) * still

    # Pelvis: twist with the legs, sway over the support foot, lowest in double support,
    # back and down in a bow so the weight stays over the feet.
    ahead = np.einsum("ti,ti->t", loco.ankle[RIGHT][:, :2] - loco.ankle[LEFT][:, :2], fwd[:, :2])
    twist = np.clip(0.25 / s * ahead, -0.15, 0.15)
    sway = shift + 0.022 * s * (loco.swing[LEFT] - loco.swing[RIGHT])  # toward the planted foot
    hips_xy = loco.xy + sway[:, None] * right[:, :2] - (0.07 * s * bow)[:, None] * fwd[:, :2]
    hips_z = body.standing_hips_z - s * (a * (0.05 - 0.035 * (loco.swing[LEFT] + loco.swing[RIGHT])) + 0.025 * bow)

    pelvis_rot = _rot_z(psi + twist)
    hip_off = [np.array([_SIDE[f] * body.hip_half_width, 0.0, -body.hip_drop]) for f in (LEFT, RIGHT)]
    hip_xy = [hips_xy + _apply(pelvis_rot, hip_off[f])[:, :2] for f in (LEFT, RIGHT)]
    # Lower the pelvis wherever a leg could not otherwise reach its planted foot.
    reach = 0.9985 * body.leg
    need = np.zeros(T)
    for f in (LEFT, RIGHT):
        horiz = np.linalg.norm(loco.ankle[f][:, :2] - hip_xy[f], axis=1)
        top = loco.ankle[f][:, 2] + np.sqrt(np.maximum(reach**2 - horiz**2, 0.0)) + body.hip_drop
        need = np.maximum(need, hips_z - top)
    hips_z = hips_z - _smooth(_window_max(need, 3), 3)
    hips = np.concatenate([hips_xy, hips_z[:, None]], axis=1)
    P[:, _J["Hips"]] = hips

    # Trunk: forward lean while walking, the bow, breathing; the chest counter-rotates the pelvis.
    pitch = 0.05 * a + 0.75 * bow - 0.08 * lean_back + breath * still
    chest_yaw = -0.6 * twist
    P[:, _J["Spine"]] = hips + _apply(_tilt(psi + 0.3 * twist, 0.6 * pitch), [0.0, 0.0, body.spine_up])
    P[:, _J["Chest"]] = P[:, _J["Spine"]] + _apply(_tilt(psi, 0.85 * pitch), [0.0, 0.0, body.chest_up])
    chest_rot = _tilt(psi + chest_yaw, pitch)
    P[:, _J["Neck"]] = P[:, _J["Chest"]] + _apply(chest_rot, [0.0, 0.0, body.neck_up])
    look = _look_yaw(script, times, loco, chest_yaw, partner_xy)
    nod = 0.3 * bow
    head_rot = _tilt(psi + chest_yaw + look, pitch + nod)
    P[:, _J["Head"]] = P[:, _J["Neck"]] + _apply(head_rot, [0.0, body.head_front, body.head_up])

    # Arms: posed in the chest's yaw frame, hanging from the shoulders.
    arm_rot = _rot_z(psi + chest_yaw)
    for arm, (d, beta, ref) in zip((LEFT, RIGHT), _arms(script, times, loco, body)):
        name = "Left" if arm == LEFT else "Right"
        off = [_SIDE[arm] * body.shoulder_half_width, -body.shoulder_back, body.shoulder_up]
        shoulder = P[:, _J["Chest"]] + _apply(chest_rot, off)
        d_w, ref_w = _apply(arm_rot, d), _apply(arm_rot, ref)
        bend = ref_w - np.einsum("ti,ti->t", ref_w, d_w)[:, None] * d_w
        fallback = np.cross(d_w, right)  # only if the reference lies along the upper arm
        bend = np.where(np.linalg.norm(bend, axis=1, keepdims=True) < 1e-6, fallback, bend)
        fore = np.cos(beta)[:, None] * d_w + np.sin(beta)[:, None] * _unit(bend)
        P[:, _J[name + "Shoulder"]] = shoulder
        P[:, _J[name + "Elbow"]] = shoulder + body.upper_arm * d_w
        P[:, _J[name + "Wrist"]] = P[:, _J[name + "Elbow"]] + body.forearm * _unit(fore)

    # Legs: two-bone IK onto the footsteps, knees toward where body and foot point.
    toe_vec = np.array([0.0, body.toe_front, -body.toe_down])
    for f in (LEFT, RIGHT):
        name = "Left" if f == LEFT else "Right"
        hip = hips + _apply(pelvis_rot, hip_off[f])
        pole = _unit(fwd + front_of(loco.foot_yaw[f]))
        knee, ankle = _two_bone(hip, loco.ankle[f], body.thigh, body.shank, pole)
        P[:, _J[name + "Hip"]] = hip
        P[:, _J[name + "Knee"]] = knee
        P[:, _J[name + "Ankle"]] = ankle
        P[:, _J[name + "Toe"]] = ankle + _apply(_tilt(loco.foot_yaw[f], loco.foot_pitch[f]), toe_vec)
    return P


def _frame_times(duration: float, fps: float) -> np.ndarray:
    if not (math.isfinite(duration) and duration > 0):
        raise PerformanceError("procedural motion", f"duration must be positive, got {duration}")
    if not (math.isfinite(fps) and fps > 0):
        raise PerformanceError("procedural motion", f"frame rate must be positive, got {fps}")
    return np.arange(max(1, int(round(duration * fps)))) / fps


def perform(
    script: ActorScript,
    duration: float,
    fps: float,
    height: float = DEFAULT_HEIGHT,
    partner: ActorScript | None = None,
    source: str = "procedural",
) -> Motion:
    """Pose an actor's script over [0, duration) at fps. Moves may start before 0 or end after
    `duration` (walking in from, or out to, off the clip); `partner` is the look-at target."""
    times = _frame_times(duration, fps)
    body = Body(height)
    loco = _locomote(script, times, body)
    partner_xy = _locomote(partner, times, body).xy if partner is not None else None
    return Motion(SKELETON, _pose(script, times, body, loco, partner_xy), float(fps), source)


# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------


def idle(
    duration: float,
    fps: float,
    position: Sequence[float] = (0.0, 0.0),
    heading: float = math.pi,
    height: float = DEFAULT_HEIGHT,
) -> Motion:
    """Standing on a spot (default: centre stage, facing the audience), breathing and swaying."""
    script = ActorScript((float(position[0]), float(position[1])), float(heading))
    return perform(script, duration, fps, height, source="procedural:idle")


def walk_cycle(
    duration: float,
    fps: float,
    speed: float = 1.1,
    start: Sequence[float] = (0.0, 0.0),
    heading: float = math.pi / 2,
    height: float = DEFAULT_HEIGHT,
) -> Motion:
    """A steady straight walk at `speed` m/s, already walking at the first frame and still
    walking at the last; the body passes `start` at t = 0, facing and walking along `heading`
    (default pi/2: toward -X). Faster walks take longer steps, then quicker ones."""
    if not (0.3 <= speed <= 1.6):
        raise PerformanceError("walk_cycle", f"speed must be 0.3-1.6 m/s, got {speed}")
    pre = 2.0  # seconds of walk before and after the clip, so both ends are mid-stride
    f = front_of(heading)[:2]
    step = min(speed * _STEP_TIME, _STEP_MAX)
    length = speed * (duration + 2.0 * pre)
    # An eased move cruises at `step` metres per step when it has length / step + 1.6 steps
    # (speeding up and slowing down cost one step each, the closing step one more).
    n = max(2, round(length / step + 3.0 - _LAND_LEAD))
    step = length / (n - 3.0 + _LAND_LEAD)
    walk_time = n * step / speed
    ramp_time = walk_time / n  # the first step: half of it is lost to speeding up
    p0 = np.asarray(start, dtype=np.float64) - f * speed * (pre - 0.5 * ramp_time)
    p1 = p0 + f * length
    script = ActorScript((float(p0[0]), float(p0[1])), float(heading))
    script._add(-pre, -pre + walk_time, Bezier(p0, p0 + (p1 - p0) / 3, p0 + 2 * (p1 - p0) / 3, p1), n, LEFT)
    return perform(script, duration, fps, height, source="procedural:walk")


# --------------------------------------------------------------------------------------------
# The duet
# --------------------------------------------------------------------------------------------

# Phase lengths (seconds) of the script at 4 s (the least each beat may shrink to), 10 s (the
# demo: the entrance keeps most of its walk) and 20 s. Other durations interpolate between
# these (and scale the 20 s script beyond it), so every beat survives in a short clip.
_PHASES = ("enter", "settle", "turn", "meet", "pause", "circle", "pause2", "part")
_ANCHORS = {
    4.0: dict(enter=0.9, settle=0.0, turn=0.5, meet=1.2, pause=0.0, circle=0.5, pause2=0.0, part=0.9),
    10.0: dict(enter=3.3, settle=0.1, turn=0.7, meet=2.45, pause=0.05, circle=1.4, pause2=0.0, part=2.0),
    20.0: dict(enter=5.2, settle=0.3, turn=1.2, meet=5.0, pause=0.3, circle=3.8, pause2=0.2, part=4.0),
}
_MIN = _ANCHORS[4.0]
MIN_DUET_DURATION = sum(_MIN.values())
_PRE_ROLL = 1.3  # seconds the actors already walk before the clip starts (they come from the wings)
_CRUISE_SPEED = 1.2  # m/s, the fastest an entrance, circle or exit is walked
_MIN_CIRCLE_TIME = 0.9  # seconds: less is too little to turn onto the circle and step


@dataclass(frozen=True)
class DuetScript:
    """The duet's choreography: both actors' scripts and the beats' time windows (seconds).

    phases: "enter" (walk in from the wings), "turn" (turn to each other), "meet" (gestures
    face to face), "circle" (walk round each other), "part" (walk away to opposite sides).
    """

    a: ActorScript
    b: ActorScript
    phases: dict[str, tuple[float, float]]
    duration: float
    greeter: str  # "A" or "B": who waves / reaches; the other bows / raises both hands


def _phase_windows(duration: float, rng: np.random.Generator) -> dict[str, tuple[float, float]]:
    keys = sorted(_ANCHORS)
    if duration >= keys[-1]:
        # Longer than 20 s: walks and turns stretch a little (a slower walk looks tired, not
        # grand); the meeting takes most of the extra time and the rest is the exit and after.
        f = duration / keys[-1]
        base = _ANCHORS[keys[-1]]
        lengths = {k: v * (min(f, 1.25) if k in ("enter", "turn", "circle") else f) for k, v in base.items()}
        spare = duration - sum(v for k, v in lengths.items() if k not in ("meet", "part"))
        extra = spare - base["meet"] - base["part"]
        lengths["meet"] = base["meet"] + 0.7 * extra
        lengths["part"] = base["part"] + 0.3 * extra
    else:
        lengths = {k: float(np.interp(duration, keys, [_ANCHORS[d][k] for d in keys])) for k in _PHASES}
    # A little seeded rhythm: lend time between neighbours without changing the total.
    for a, b in (("enter", "meet"), ("meet", "circle"), ("circle", "part")):
        lend = rng.uniform(-0.06, 0.06) * min(lengths[a], lengths[b])
        lengths[a] += lend
        lengths[b] -= lend
    t, out = 0.0, {}
    for k in _PHASES:
        out[k] = (t, t + lengths[k])
        t += lengths[k]
    out["part"] = (out["part"][0], duration)
    return {k: out[k] for k in ("enter", "turn", "meet", "circle", "part")}


def _steps_for(walk_time: float) -> int:
    """Steps `ActorScript.walk` takes in `walk_time` seconds (at least; more on a long path)."""
    return max(2, round(walk_time / _STEP_TIME))


def _cruise_time(walk_time: float) -> float:
    """Seconds at cruise speed in a walk of `walk_time`: speeding up, slowing down and the
    closing step take about two steps and a half between them."""
    n = _steps_for(walk_time)
    return (n - 3.0 + _LAND_LEAD) * walk_time / n


def _entrance(side: float, mark, y_wing: float, bend: float, arrive: float) -> Path:
    """Walk in from the wing on `side`, curving down to the mark, arriving facing the audience.

    The on-stage curve starts at x = side * 6 m (the wing) and is shrunk toward the mark when
    `arrive` seconds are too few to walk it; a straight lead-in before it is what the actor
    walks before the clip starts, so at t = 0 it is already walking, at the wing.
    """
    m = np.asarray(mark, dtype=np.float64)
    wing = np.array([side * STAGE_HALF_WIDTH, y_wing])

    def on_stage(k: float) -> Bezier:
        w = m + k * (wing - m)
        return Bezier(w, w + k * np.array([-side * 2.5, 0.0]), m + k * np.array([0.0, bend]), m)

    # Walked from -_PRE_ROLL to `arrive` at the cruise speed that fits, speeding up before t = 0.
    walk_time = arrive + _PRE_ROLL
    step_time = walk_time / _steps_for(walk_time)
    cruise = _cruise_time(walk_time)
    on_stage_time = max(cruise - (_PRE_ROLL - 0.5 * step_time), 0.3 * cruise)
    path = on_stage(1.0)
    k = min(1.0, _CRUISE_SPEED * on_stage_time / path.length)
    path = on_stage(k)  # scaling a curve about its end scales its length: exactly k times
    speed = path.length / on_stage_time
    start = path.xy(np.zeros(1))[0]
    lead_in = side * speed * (cruise - on_stage_time)
    lead = Bezier(*(start + np.outer([3, 2, 1, 0], [lead_in / 3.0, 0.0])))
    return Chain(lead, path)


def _exit(start, heading: float, side: float, y_end: float, budget: float) -> Bezier:
    """From where the actor stands toward the wing on `side`, arriving heading along x; the
    path is shortened to what can be walked in the time left (`budget` metres). It leaves
    between the actor's heading, the wing and the audience, and the actor turns into it while
    stepping off."""
    p0 = np.asarray(start, dtype=np.float64)
    out = np.array([side, 0.0])
    # Turning to leave goes through the downstage side: actors turn open to the house.
    leave = _unit(front_of(heading)[:2] + 1.5 * out + np.array([0.0, -0.8]))
    for k in np.linspace(1.0, 0.05, 40):
        p3 = p0 + k * (np.array([side * (STAGE_HALF_WIDTH - 0.4), y_end]) - p0)
        c = max(0.35 * np.linalg.norm(p3 - p0), 0.3)
        path = Bezier(p0, p0 + leave * c, p3 - out * c, p3)
        if path.length <= budget:
            break
    return path


def duet_script(duration: float = 20.0, seed: int = 0) -> DuetScript:
    """The choreography of `duet` (see there), for inspection or re-use."""
    if not (math.isfinite(duration) and duration >= MIN_DUET_DURATION - 1e-9):
        raise PerformanceError("duet", f"duration must be at least {MIN_DUET_DURATION:.0f} s, got {duration}")
    rng = np.random.default_rng(seed)
    ph = _phase_windows(duration, rng)
    grow = min(1.0, (duration - MIN_DUET_DURATION) / (20.0 - MIN_DUET_DURATION))
    half = rng.uniform(0.64, 0.76)  # half the distance between them when they meet
    y_mark = rng.uniform(-0.45, -0.15)
    centre = np.array([0.0, y_mark])
    marks = {"A": np.array([half, y_mark]), "B": np.array([-half, y_mark])}
    sides = {"A": 1.0, "B": -1.0}  # A enters from stage left (+X), B from stage right (-X)
    scripts: dict[str, ActorScript] = {}

    # Enter: B arrives a little after A; the entrance is as long as the time allows.
    e0, e1 = ph["enter"]
    arrive = {"A": e1, "B": e1 - rng.uniform(0.0, 0.3) * grow}
    y_wing = {"A": 1.6 + rng.uniform(-0.3, 0.3), "B": 0.5 + rng.uniform(-0.3, 0.3)}
    bend = {"A": 1.2, "B": 0.7}
    for who in ("A", "B"):
        path = _entrance(sides[who], marks[who], y_wing[who], bend[who], arrive[who] - e0)
        sc = ActorScript(tuple(path.xy(np.zeros(1))[0]), float(path.heading(np.zeros(1))[0]))
        sc.idle_phase = 0.0 if who == "A" else 1.9
        sc.walk(e0 - _PRE_ROLL, arrive[who], path)
        scripts[who] = sc
    a, b = scripts["A"], scripts["B"]
    glance = e0 + (e1 - e0) * rng.uniform(0.35, 0.5)
    a.look(glance, glance + 0.3 * (e1 - e0), "audience")

    # Turn to each other; the head leads the body.
    t0, t1 = ph["turn"]
    for me, other in ((a, b), (b, a)):
        me.turn_toward(t0, t1, other.end_xy)
        me.look(t0 - 0.3 * (t1 - t0), ph["part"][0] + 0.4 * (ph["part"][1] - ph["part"][0]), "partner")

    # Meet: the greeter waves and reaches, the other bows and raises both hands (seeded order).
    m0, m1 = ph["meet"]
    greeter = "A" if rng.random() < 0.5 else "B"
    g, r = (a, b) if greeter == "A" else (b, a)
    g_kinds = ["wave", "reach"] if rng.random() < 0.6 else ["reach", "wave"]
    r_kinds = ["bow", "raise_hands"] if rng.random() < 0.6 else ["raise_hands", "bow"]
    span = m1 - m0
    if span >= 3.0:  # two gestures each, in rounds of about 5 s in a long meeting
        rounds = max(1, round(span / 5.0))
        for k in range(rounds):
            q0, q = m0 + k * span / rounds, span / rounds
            g.gesture(g_kinds[0], q0, q0 + 0.45 * q).gesture(g_kinds[1], q0 + 0.52 * q, q0 + q)
            r.gesture(r_kinds[0], q0 + 0.12 * q, q0 + 0.50 * q).gesture(r_kinds[1], q0 + 0.58 * q, q0 + q)
    else:  # short clip: one gesture each
        g.gesture(g_kinds[0], m0, m1)
        r.gesture(r_kinds[0], m0 + 0.1 * span, m1)

    # Circle: walk round each other, turning into the circle on the first steps; half a turn
    # (they exchange places) when there is time, less in a short clip, and in a clip too short
    # to turn and step (under ~6 s) they just hold each other's gaze.
    c0, c1 = ph["circle"]
    spin = 1.0 if rng.random() < 0.5 else -1.0
    sweep = spin * min(math.pi, _CRUISE_SPEED * _cruise_time(c1 - c0) / half)
    if c1 - c0 >= _MIN_CIRCLE_TIME:
        for sc in (a, b):
            sc.arc(c0, c1, centre, sweep)

    # Part: walk away to opposite sides; still walking when the clip ends (up to ~25 s).
    p0, p1 = ph["part"]
    # Each leaves toward the side it stands on, so their paths never cross; when they stand
    # one above the other (after about a quarter circle) each leaves the way it faces.
    apart_x = (a.end_xy[0] - b.end_xy[0]) / (2.0 * half)
    facing_x = front_of(a.end_heading)[0] - front_of(b.end_heading)[0]
    out_a = float(np.sign(apart_x if abs(apart_x) >= 0.5 else facing_x) or 1.0)
    exits = [(a, out_a, y_mark + 0.9), (b, -out_a, y_mark + 0.3)]
    full = [_exit(sc.end_xy, sc.end_heading, side, y_end, math.inf) for sc, side, y_end in exits]
    natural = max(_STEP_TIME * math.ceil(p.length / (0.55 * _CRUISE_SPEED) + 3.0 - _LAND_LEAD) for p in full)
    if p0 + natural + 1.5 <= p1:
        # A long clip: they reach spots near the wings at an easy pace, turn back to each
        # other and hold.
        for (sc, _, _), path in zip(exits, full):
            sc.walk(p0, p0 + natural, path)
        t_turn = p0 + natural + 0.3
        for me, other in ((a, b), (b, a)):
            me.turn_toward(t_turn, t_turn + 1.0, other.end_xy).look(t_turn - 0.3, p1 + 1.0, "partner")
    else:
        budget = _CRUISE_SPEED * _cruise_time(p1 + _PRE_ROLL - p0)
        for sc, side, y_end in exits:
            sc.walk(p0, p1 + _PRE_ROLL, _exit(sc.end_xy, sc.end_heading, side, y_end, budget))
    return DuetScript(a, b, ph, float(duration), greeter)


def duet(
    duration: float = 20.0,
    fps: float = 25.0,
    seed: int = 0,
    heights: tuple[float, float] = (1.78, 1.68),
) -> tuple[Motion, Motion]:
    """The built-in two-actor performance: (actor A, actor B), same frames, world frame.

    A enters from stage left (+X), B from stage right (-X); they walk to centre stage and stop
    ~1.3-1.6 m apart facing the audience, turn to each other, greet (one waves and reaches out,
    the other bows and raises both hands), walk half a circle round each other (exchanging
    places) and part, walking out toward opposite wings. Any duration >= 4 s plays the whole
    script, time-scaled; `seed` varies timings, marks and who greets, never the script.
    Deterministic: the same arguments give identical arrays.
    """
    script = duet_script(duration, seed)
    a = perform(script.a, duration, fps, heights[0], partner=script.b, source=f"procedural:duet/A(seed={seed})")
    b = perform(script.b, duration, fps, heights[1], partner=script.a, source=f"procedural:duet/B(seed={seed})")
    return a, b
