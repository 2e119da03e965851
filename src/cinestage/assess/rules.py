"""Shot rules: classic framing and camera-work rules scored from a camera's render metadata.

They need no learning and no pixels, so they are always available. Every rule returns a
`Measure` with its range, its better direction and a per-frame curve (T,); the summary value is
the mean of the curve unless the rule's docstring says otherwise.

Screen coordinates are normalised to [-1, 1], x right, y up (DESIGN.md), so the frame is 2 units
wide and 2 units tall whatever its aspect; "a fraction of the frame" below is half of such a
distance. World: Z up, metres.

Frames where an actor cannot be judged (behind the camera, its head out of frame) get a defined
worst score in every rule that needs that actor, never NaN: a camera that loses an actor pays
for it and one bad frame cannot poison a whole shot's mean.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from cinestage.assess.measure import Measure
from cinestage.camera.export import read_json
from cinestage.camera.track import CameraTrack
from cinestage.errors import CameraError, CinestageError
from cinestage.geometry import focal_scales, project
from cinestage.render.metadata import CameraMeta
from cinestage.stage.features import facing_direction
from cinestage.stage.joints import CANONICAL, canonical_indices
from cinestage.stage.performance import Performance

SHOT_CLASSES = ("ELS", "LS", "MLS", "MS", "MCU", "CU", "ECU")
# Borders between consecutive classes on the size scale (actor height / frame height at the
# actor's depth): figure small in the set | head to toe | knees up | waist up | chest up |
# head and shoulders | part of the face.
SIZE_EDGES = (0.25, 1.1, 1.6, 2.6, 4.0, 7.0)

HEAD, LSH, RSH, HIPS, LHIP, RHIP = (CANONICAL.index(n) for n in
                                    ("head", "left_shoulder", "right_shoulder", "hips", "left_hip", "right_hip"))
# Head joint to crown along the torso's up axis: the mannequin's head capsule (0.07 m half
# length + 0.1 m radius), so a "cut head" here is a cut head in the pixels.
HEAD_TOP = 0.17
NEAR = 0.1  # metres: an actor nearer the lens plane than this cannot be framed
SIZE_FLOOR = 0.01  # size given to frames with nobody in front of the lens, so log size is finite
CUT_STEP = 0.25  # camera moves by this fraction of its framing distance in one frame: a cut
CUT_TURN = np.radians(20.0)  # camera turns this far in one frame: a cut
THIRDS = np.array([[x, y] for x in (-1 / 3, 1 / 3) for y in (-1 / 3, 1 / 3)])


@dataclass(frozen=True)
class RuleOptions:
    """Thresholds of the rules (screen distances are fractions of the frame width or height).

    visible: an actor counts as in the shot when at least this fraction of its body is in frame.
        0.5, as the render manifest's `both_actors_on_screen`: a waist-up shot keeps ~60 % of the
        body in frame, so a stricter threshold would punish a legitimate crop, not a mistake.
    headroom: (low, high) target band per class in `SHOT_CLASSES` order for the gap between the
        highest crown and the frame top, as a fraction of the frame height. Tighter shots want
        less; an extreme close-up crops the crown on purpose, hence its negative low end.
    headroom_over, headroom_under: how far above / below the band the headroom score falls from
        1 to 0. Under is small because a cut head is the worse mistake.
    lead: how far (in half-widths) off centre an actor's head sits, away from where it faces,
        for full look room; 1/3 puts the head on the far thirds line.
    thirds: distance (fraction of the frame) from a head to the nearest thirds point at which
        its thirds score is exp(-1/2).
    jerk_scale: RMS camera jerk (1/s^3, see `smoothness`) at which smoothness is 1/e. On the
        demo performance at 25 fps: fixed, dolly and orbit rigs score ~1, the follow rig 0.96,
        the Toric rigs (smoothed over +-10 frames, still riding the actors' motion) ~0.65, a fixed
        camera with 1 mm / 5 mm of random positional shake 0.69 / 0.18, with 0.05 degrees of
        random angular shake 0.01 (jerk weighs frame-rate jitter heavily).
    """

    visible: float = 0.5
    headroom: tuple[tuple[float, float], ...] = (
        (0.10, 0.50), (0.08, 0.32), (0.05, 0.20), (0.04, 0.14), (0.02, 0.10), (0.0, 0.07), (-0.15, 0.03))
    headroom_over: float = 0.25
    headroom_under: float = 0.05
    lead: float = 1 / 3
    thirds: float = 0.08
    jerk_scale: float = 25.0

    def __post_init__(self) -> None:
        if len(self.headroom) != len(SHOT_CLASSES) or any(lo > hi for lo, hi in self.headroom):
            raise ValueError(f"headroom needs one (low, high) band per class {SHOT_CLASSES}")
        if min(self.headroom_over, self.headroom_under, self.lead, self.thirds, self.jerk_scale) <= 0:
            raise ValueError("headroom_over, headroom_under, lead, thirds and jerk_scale must be positive")


@dataclass(frozen=True)
class _View:
    """What every rule reads, per frame t and actor a; screen positions (T, A, 2), the rest (T, A).

    head / crown: head joint and top of the head on screen; *_ok: in front of the lens and inside
    the frame (crown_ok: only horizontally, so a crown above the frame reads as a cut head);
    size: actor height / frame height at the actor (0 behind the lens); lateral: how much the
    actor faces screen right (+1) or left (-1), 0 toward or away from the camera; box: (T, A, 4)
    xmin, xmax, ymin, ymax of its joints and crown on screen, clipped to the frame."""

    head: np.ndarray
    head_ok: np.ndarray
    crown: np.ndarray
    crown_ok: np.ndarray
    size: np.ndarray
    lateral: np.ndarray
    box: np.ndarray
    distance: np.ndarray  # (T,) camera to the actors' mean hip centre, metres


def shot_rules(performance: Performance, track: CameraTrack, meta: CameraMeta,
               options: RuleOptions = RuleOptions()) -> list[Measure]:
    """All rules for one camera: both_visible, occlusion, headroom, look_room, thirds, balance,
    shot_size, shot_size_stability, smoothness, horizon (in that order)."""
    world = np.stack([a.motion.positions for a in performance.actors], axis=1)
    canonical = np.array([a.canonical for a in performance.actors])
    return _rules(world, canonical, track, meta, options)


@dataclass(frozen=True)
class RenderedCamera:
    """One camera of a render output read back from its files. world: (T, A, J, 3) the actors'
    joints in world metres, recovered from the metadata (see `read_rendered_camera`); canonical:
    (A, 7) each actor's indices of the canonical joints (`CANONICAL` order)."""

    track: CameraTrack
    meta: CameraMeta
    world: np.ndarray
    canonical: np.ndarray

    def rules(self, options: RuleOptions = RuleOptions()) -> list[Measure]:
        """The rules of `shot_rules`, from these files alone."""
        return _rules(self.world, self.canonical, self.track, self.meta, options)

    def heads(self) -> np.ndarray:
        """(T, A, 3) world position of every actor's head joint, in the metadata's actor order."""
        actors = np.arange(self.world.shape[1])
        return self.world[:, actors, self.canonical[:, HEAD]]


def read_rendered_camera(cameras_dir: Path, name: str) -> RenderedCamera:
    """Camera `name` of a render output's `cameras/` folder, from its `<name>.meta.json` and
    `<name>.track.json` (no performance needed).

    The metadata holds screen joints and depths but no 3D joints, so they are recovered by
    inverting the projection through the track; its rounding (1e-5 screen, 0.1 mm depth) leaves
    them within about a tenth of a millimetre.
    """
    cameras_dir = Path(cameras_dir)
    track = read_json(cameras_dir / f"{name}.track.json")
    path = cameras_dir / f"{name}.meta.json"
    try:
        doc = json.loads(path.read_text())
        actors = doc["actors"]
        joints = np.array([a["joints"] for a in actors], dtype=float).transpose(1, 0, 2, 3)
        depth = np.array([a["depth"] for a in actors], dtype=float).transpose(1, 0, 2)
        on_screen, occluded = (np.array([a[k] for a in actors], dtype=float).T for k in ("on_screen", "occluded"))
        behind = np.array([a["behind_camera"] for a in actors], dtype=bool).T
        canonical = np.array([canonical_indices(a["joint_names"], str(path)) for a in actors])
        meta = CameraMeta(str(doc["camera"]), tuple(str(a["name"]) for a in actors), joints, depth,
                          on_screen, occluded, behind)
    except OSError as e:
        raise CinestageError(str(path), f"cannot read the camera metadata: {e.strerror}") from None
    except (json.JSONDecodeError, KeyError, IndexError, TypeError, ValueError) as e:
        raise CinestageError(str(path), f"malformed camera metadata: {e}") from None
    return RenderedCamera(track, meta, _unproject(joints, depth, track), canonical)


def rules_from_files(cameras_dir: Path, name: str, options: RuleOptions = RuleOptions()) -> list[Measure]:
    """The rules of camera `name` in a render output's `cameras/` folder (`read_rendered_camera`)."""
    return read_rendered_camera(cameras_dir, name).rules(options)


def _unproject(screen: np.ndarray, depth: np.ndarray, track: CameraTrack) -> np.ndarray:
    """World points (T, A, J, 3) from screen (T, A, J, 2) and depth (T, A, J): `project` inverted."""
    sx, sy = focal_scales(track.fov_y, track.aspect)
    cam = np.stack([screen[..., 0] * depth / sx[:, None, None], depth, screen[..., 1] * depth / sy[:, None, None]], -1)
    return track.positions[:, None, None] + np.einsum("tij,taxj->taxi", track.rotations, cam)


def _rules(world: np.ndarray, canonical: np.ndarray, track: CameraTrack, meta: CameraMeta,
           opts: RuleOptions) -> list[Measure]:
    t, n = meta.joints.shape[:2]
    if world.shape[0] != t or track.n_frames != t:
        raise CameraError(track.name, f"performance ({world.shape[0]}), track ({track.n_frames}) and metadata ({t}) "
                                      "differ in frames")
    if world.shape[1] != n:
        raise CameraError(track.name, f"the metadata has {n} actors, the performance {world.shape[1]}")
    view = _view(world, canonical, track, meta)
    return [
        both_visible(meta, opts),
        occlusion(meta),
        headroom(view, opts),
        look_room(view, opts),
        thirds(view, opts),
        balance(view),
        shot_size(view),
        shot_size_stability(view, track.fps),
        smoothness(track, view.distance, opts),
        horizon(track),
    ]


def _view(world: np.ndarray, canonical: np.ndarray, track: CameraTrack, meta: CameraMeta) -> _View:
    actors = np.arange(world.shape[1])
    joint = world[:, actors[:, None], canonical]  # (T, A, 7, 3) canonical joints
    up = _unit((joint[:, :, LSH] + joint[:, :, RSH]) / 2 - (joint[:, :, LHIP] + joint[:, :, RHIP]) / 2)
    crown_world = joint[:, :, HEAD] + HEAD_TOP * up
    cam = (track.positions, track.rotations, track.fov_y, track.aspect)
    crown, crown_depth = project(crown_world, *cam)

    head = meta.joints[:, actors, canonical[:, HEAD]].astype(float)
    head_depth = meta.depth[:, actors, canonical[:, HEAD]]
    hips_depth = meta.depth[:, actors, canonical[:, HIPS]]
    _, sy = focal_scales(track.fov_y, track.aspect)
    height = crown_world[..., 2] - world[..., 2].min(axis=2)
    # Frame height at the actor's depth is 2 d / Sy: the ratio needs no feet in frame.
    size = np.where(hips_depth > NEAR, height * sy[:, None] / (2 * np.maximum(hips_depth, NEAR)), 0.0)

    facing = np.stack([facing_direction(joint[:, a]) for a in actors], axis=1)  # (T, A, 2) ground plane
    chest = (joint[:, :, LSH] + joint[:, :, RSH]) / 2
    c = np.einsum("tji,taj->tai", track.rotations, chest - track.positions[:, None])
    f = np.einsum("tji,taj->tai", track.rotations[:, :2], facing)  # world z of facing is 0
    xc = c[..., 0] / np.where(c[..., 1] > NEAR, c[..., 1], NEAR)
    # Screen-x derivative of the chest moved along its facing, scaled to [-1, 1] (Cauchy-Schwarz).
    lateral = np.where(c[..., 1] > NEAR, (f[..., 0] - xc * f[..., 1]) / np.sqrt(1 + xc**2), 0.0)

    in_front = meta.depth > NEAR
    pts = np.concatenate([meta.joints, crown[:, :, None]], axis=2)
    ok = np.concatenate([in_front, (crown_depth > NEAR)[:, :, None]], axis=2)
    lo = np.clip(np.where(ok[..., None], pts, np.inf).min(axis=2), -1, 1)
    hi = np.clip(np.where(ok[..., None], pts, -np.inf).max(axis=2), -1, 1)
    box = np.stack([lo[..., 0], hi[..., 0], lo[..., 1], hi[..., 1]], axis=-1)

    hips = joint[:, :, HIPS].mean(axis=1)
    return _View(
        head=head,
        head_ok=(head_depth > NEAR) & np.all(np.abs(head) <= 1, axis=-1),
        crown=crown,
        crown_ok=(crown_depth > NEAR) & (np.abs(crown[..., 0]) <= 1),
        size=size,
        lateral=lateral,
        box=box,
        distance=np.linalg.norm(hips - track.positions, axis=-1),
    )


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 1e-9, n, 1.0)


def shot_class(size: float) -> str:
    """The class name (`SHOT_CLASSES`) of a size (actor height / frame height at the actor)."""
    return SHOT_CLASSES[int(np.searchsorted(SIZE_EDGES, size, side="right"))]


# ------------------------------------------------------------------------------------ rules


def both_visible(meta: CameraMeta, opts: RuleOptions) -> Measure:
    """Curve: on-screen fraction of the least visible actor (0 behind the camera); value: the
    fraction of frames where every actor is at least `opts.visible` in frame."""
    curve = meta.on_screen.min(axis=1).astype(float)
    return Measure("both_visible", float(np.mean(curve >= opts.visible)), 0.0, 1.0, "higher", curve,
                   f"fraction of frames with every actor >= {opts.visible:.0%} in frame")


def occlusion(meta: CameraMeta) -> Measure:
    """Per frame: the occluded fraction of the more hidden actor. An actor with nothing in frame
    counts as fully hidden (1): otherwise losing an actor would look like a clean view."""
    hidden = np.where(meta.on_screen > 0, meta.occluded, 1.0)
    curve = hidden.max(axis=1).astype(float)
    return Measure("occlusion", float(curve.mean()), 0.0, 1.0, "lower", curve,
                   "occluded fraction of the more hidden actor")


def headroom(view: _View, opts: RuleOptions) -> Measure:
    """Gap between the highest crown and the frame top (fraction of frame height; negative = head
    cut) against the band of the frame's shot class; 1 inside the band, falling linearly to 0
    `headroom_over` above it or `headroom_under` below it. 0 where no crown is horizontally in
    frame in front of the lens."""
    top = np.where(view.crown_ok, view.crown[..., 1], -np.inf).max(axis=1)
    seen = np.isfinite(top)
    gap = (1 - np.where(seen, top, 0.0)) / 2
    band = np.asarray(opts.headroom)[np.searchsorted(SIZE_EDGES, view.size.max(axis=1), side="right")]
    miss = np.maximum(gap - band[:, 1], 0) / opts.headroom_over + np.maximum(band[:, 0] - gap, 0) / opts.headroom_under
    curve = np.where(seen, np.clip(1 - miss, 0, 1), 0.0)
    return Measure("headroom", float(curve.mean()), 0.0, 1.0, "higher", curve,
                   "headroom within the shot class's band (1) or off it (0)")


def look_room(view: _View, opts: RuleOptions) -> Measure:
    """Per actor: 1 when its head sits `lead` half-widths off centre away from where it faces,
    0.5 centred, 0 as far toward its facing; weighted by how sideways it faces (facing the camera
    needs no room). 0 for an actor whose head is out of frame. Curve: mean over actors."""
    side = np.sign(view.lateral)
    room = np.clip(0.5 - 0.5 * side * view.head[..., 0] / opts.lead, 0, 1)
    score = np.where(view.head_ok, 1 - np.abs(view.lateral) * (1 - room), 0.0)
    curve = score.mean(axis=1)
    return Measure("look_room", float(curve.mean()), 0.0, 1.0, "higher", curve,
                   "space in front of where each actor faces")


def thirds(view: _View, opts: RuleOptions) -> Measure:
    """Per actor: exp(-d^2 / 2 thirds^2) for the distance d (fraction of the frame) from its head
    (the eye line's proxy) to the nearest thirds point; 0 with the head out of frame."""
    d = np.linalg.norm(view.head[..., None, :] - THIRDS, axis=-1).min(axis=-1) / 2
    score = np.where(view.head_ok, np.exp(-0.5 * (d / opts.thirds) ** 2), 0.0)
    curve = score.mean(axis=1)
    return Measure("thirds", float(curve.mean()), 0.0, 1.0, "higher", curve,
                   "heads near the rule-of-thirds points")


def balance(view: _View) -> Measure:
    """1 - |x| of the area-weighted centre of the actors' on-screen boxes (visual mass): 1 when
    the mass is centred, 0 when it all sits on an edge or nothing is in frame."""
    w = np.maximum(view.box[..., 1] - view.box[..., 0], 0)
    h = np.maximum(view.box[..., 3] - view.box[..., 2], 0)
    mass = w * h
    total = mass.sum(axis=1)
    centre = (mass * (view.box[..., 0] + view.box[..., 1]) / 2).sum(axis=1) / np.maximum(total, 1e-12)
    curve = np.where(total > 0, 1 - np.abs(centre), 0.0)
    return Measure("balance", float(curve.mean()), 0.0, 1.0, "higher", curve,
                   "horizontal balance of the actors' screen mass")


def shot_size(view: _View) -> Measure:
    """Curve: the largest actor's height over the frame height at its depth (0 with nobody in
    front of the lens); value: the median. Descriptive, not a judgement: its direction only says
    that higher is closer. The unit starts with the median's class name (`SHOT_CLASSES`)."""
    curve = view.size.max(axis=1)
    value = float(np.median(curve))
    return Measure("shot_size", value, 0.0, float("inf"), "higher", curve,
                   f"{shot_class(value)}: actor height / frame height (median; higher = closer)")


def shot_size_stability(view: _View, fps: float) -> Measure:
    """Curve: |change of log size| per second at each frame (0 at the first); value: its mean, the
    average relative zoom rate. A deliberate push-in changes size slowly; a framing that hunts
    or shakes changes it every frame."""
    log_size = np.log(np.maximum(view.size.max(axis=1), SIZE_FLOOR))
    curve = np.concatenate([[0.0], np.abs(np.diff(log_size)) * fps])
    return Measure("shot_size_stability", float(curve.mean()), 0.0, float("inf"), "lower", curve,
                   "mean relative change of shot size per second")


def smoothness(track: CameraTrack, distance: np.ndarray, opts: RuleOptions) -> Measure:
    """Camera jerk: the third derivative of position divided by the distance to the actors
    (how fast the view of them jerks, independent of scale) combined with the angular jerk of
    the orientation, both 1/s^3. Curve: exp(-jerk / jerk_scale) per frame; value:
    exp(-RMS jerk / jerk_scale), so a few violent frames count more than in the curve's mean.

    A jump (a step of more than `CUT_STEP` of the framing distance or `CUT_TURN` radians in one
    frame) is a cut, not a shake: rigs jump on purpose where the actors swap sides and the editor
    cuts around it. Frames whose 4-frame window spans a cut are not scored (curve 1), nor are
    tracks shorter than 4 frames."""
    fps, n = track.fps, track.n_frames
    dist = np.maximum(distance, 0.5)
    steps = np.einsum("tji,tjk->tik", track.rotations[:-1], track.rotations[1:])
    turn = Rotation.from_matrix(steps).as_rotvec()  # per frame, in the camera's frame
    move = np.linalg.norm(np.diff(track.positions, axis=0), axis=1) / dist[:-1]
    cut = (move > CUT_STEP) | (np.linalg.norm(turn, axis=1) > CUT_TURN)
    jerk = np.zeros(n)
    if n >= 4:
        linear = np.diff(track.positions, n=3, axis=0) * fps**3 / dist[1:-2, None]
        angular = np.diff(turn * fps, n=2, axis=0) * fps**2
        spans_cut = cut[:-2] | cut[1:-1] | cut[2:]  # the 3 steps inside each 4-frame window
        # A third difference spans 4 frames: pad so each value sits near its window's centre.
        jerk = np.pad(np.where(spans_cut, 0.0, np.sqrt((linear**2).sum(-1) + (angular**2).sum(-1))), (1, 2),
                      mode="edge")
    value = np.exp(-np.sqrt(np.mean(jerk**2)) / opts.jerk_scale)
    return Measure("smoothness", float(value), 0.0, 1.0, "higher", np.exp(-jerk / opts.jerk_scale),
                   f"exp(-jerk / {opts.jerk_scale:g} s^-3), jerk relative to the framing distance")


def horizon(track: CameraTrack) -> Measure:
    """Camera roll: the angle between the camera's right axis and the ground plane, degrees."""
    curve = np.degrees(np.arcsin(np.clip(np.abs(track.rotations[:, 2, 0]), 0, 1)))
    return Measure("horizon", float(curve.mean()), 0.0, 90.0, "lower", curve, "degrees of roll")
