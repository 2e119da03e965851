"""Camera rigs: each turns a performance into a CameraTrack (world pose + FOV per frame).

Classic rigs (fixed, orbit, dolly, follow) aim at the pair; Toric rigs (group framing and the
four canonical behaviours of Jiang et al. 2020) place the two heads at chosen screen points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.ndimage import maximum_filter1d

from cinestage.camera.shots import ShotLayout
from cinestage.camera.track import CameraTrack
from cinestage.errors import CameraError
from cinestage.geometry import (
    camera_from_toric,
    gaussian_smooth,
    level_aim,
    look_at,
    orientation_for_screen,
    project,
    screen_angle,
    segment_through_box,
    smooth_pose_track,
)
from cinestage.stage.features import character_features, facing_direction
from cinestage.stage.performance import Actor, Performance, house_bounds, lowest_view, set_pieces

if TYPE_CHECKING:
    from cinestage.behavior.style import Style, StyleModel


@dataclass(frozen=True)
class Shooting:
    """What every rig needs: the performance, the pair it frames and the image shape."""

    performance: Performance
    a: Actor
    b: Actor
    aspect: float
    fov_y: float  # radians, the default vertical field of view

    @property
    def n(self) -> int:
        return self.performance.n_frames

    @property
    def times(self) -> np.ndarray:
        return np.arange(self.n) / self.performance.fps

    def heads(self) -> tuple[np.ndarray, np.ndarray]:
        return self.a.head(), self.b.head()

    def centre(self, radius: int = 12) -> np.ndarray:
        """(T, 3) smoothed point between the actors at chest height: where classic rigs aim."""
        pa, pb = self.a.canonical_positions(), self.b.canonical_positions()
        mid = (pa[:, 0] + pa[:, 4] + pb[:, 0] + pb[:, 4]) / 4
        return gaussian_smooth(mid, radius)

    def track(self, name: str, rig: str, positions, rotations, fov_y=None, **params) -> CameraTrack:
        fov = np.full(self.n, self.fov_y) if fov_y is None else np.broadcast_to(np.asarray(fov_y, float), (self.n,)).copy()
        return CameraTrack(name, self.performance.fps, np.asarray(positions, float), np.asarray(rotations, float),
                           fov, self.aspect, rig, params)


def fixed(s: Shooting, name: str, position, target=None) -> CameraTrack:
    """A locked-off camera aimed at the pair's average position over the whole performance."""
    p = np.asarray(position, float)
    aim = s.centre().mean(axis=0) if target is None else np.asarray(target, float)
    r = look_at(p, aim)
    return s.track(name, "fixed", np.tile(p, (s.n, 1)), np.tile(r, (s.n, 1, 1)), position=p.tolist())


def orbit(s: Shooting, name: str, radius: float, height: float, speed_deg: float, start_deg: float) -> CameraTrack:
    """Circles the pair's centre at constant height and angular speed, always facing it."""
    c = s.centre()
    ang = np.radians(start_deg + speed_deg * s.times)
    p = np.stack([c[:, 0] + radius * np.cos(ang), c[:, 1] + radius * np.sin(ang), np.full(s.n, height)], 1)
    return s.track(name, "orbit", p, look_at(p, c), radius=radius, height=height, speed_deg=speed_deg, start_deg=start_deg)


def dolly(s: Shooting, name: str, start, end) -> CameraTrack:
    """Travels a straight track at constant speed over the performance, panning with the pair."""
    a, b = np.asarray(start, float), np.asarray(end, float)
    u = (s.times / max(s.times[-1], 1e-9))[:, None]
    # Ease in and out: a dolly grip accelerates and brakes, never jerks.
    u = u * u * (3 - 2 * u)
    p = a + (b - a) * u
    return s.track(name, "dolly", p, look_at(p, s.centre()), start=a.tolist(), end=b.tolist())


def follow(s: Shooting, name: str, position, actor: Actor, dead_zone: float, stiffness: float = 0.15) -> CameraTrack:
    """A pan/tilt head that re-aims only when the actor leaves the dead zone around the centre."""
    p = np.asarray(position, float)
    pts = actor.canonical_positions()
    target = (pts[:, 0] + pts[:, 4]) / 2
    aim = target[0].copy()
    aims = np.empty((s.n, 3))
    for t in range(s.n):
        r = look_at(p, aim)
        screen, depth = project(target[t], p, r, s.fov_y, s.aspect)
        excess = np.sign(screen) * np.maximum(np.abs(screen) - dead_zone, 0.0)
        if depth > 0 and np.any(excess != 0):
            # Move the aim point so the actor returns toward the dead-zone edge, damped.
            desired = aim + (target[t] - aim) * np.clip(np.abs(excess).max() / max(np.abs(screen).max(), 1e-9), 0, 1)
            aim = aim + (desired - aim) * stiffness * 4
        aims[t] = aim
    aims = gaussian_smooth(aims, 4)
    return s.track(name, "follow", np.tile(p, (s.n, 1)), look_at(p, aims), actor=actor.name, dead_zone=dead_zone,
                   position=p.tolist())


def toric(s: Shooting, name: str, pa, pb, theta, phi, rig: str = "group", smooth: int = 10, level: bool = False,
          clear_view: bool = True, **params) -> CameraTrack:
    """Heads of A and B at screen points pa, pb ((2,) or per frame (T, 2)), from Toric angles
    theta, phi per frame. level: no roll (the horizon stays level, the layout a little less exact
    when the heads are at different heights). clear_view: lower the camera, or failing that move
    it in, where it would stand outside the theatre or the proscenium arch would stand in its way
    (off: the pure Toric path, for synthetic references)."""
    ha, hb, swap = _audience_order(*s.heads())
    pa, pb = np.asarray(pa, float), np.asarray(pb, float)
    alpha = screen_angle(pa, pb, s.fov_y, s.aspect)
    theta = np.clip(np.broadcast_to(np.asarray(theta, float), (s.n,)), 0.05, 2 * (np.pi - alpha) - 0.05)
    phi = np.broadcast_to(np.asarray(phi, float), (s.n,))
    if clear_view:
        phi = _lowered_to_clear(s, ha, hb, pa, pb, theta, phi)
    p, r = camera_from_toric(ha, hb, pa, pb, theta, phi, s.fov_y, s.aspect)
    p, r = _keep_inside(s, p, r, ha, hb, pa, pb, clear_view)
    if level:
        # No roll, and the heads' midpoint kept at the layout's: levelling the Toric view about
        # its forward axis instead swung the heads by 0.13 in screen y at steep angles.
        r = level_aim(p, (ha + hb) / 2, (pa + pb) / 2, s.fov_y, s.aspect)
    p, r = _smooth_segments(p, r, swap, smooth)
    # Smoothing can carry a path that went round the arch back behind it for a frame or two.
    clear = _out_of_the_set(s.performance.venue, p, (ha + hb) / 2, 0.05) if clear_view else p
    moved = np.any(clear != p, axis=1)
    if moved.any():
        p = clear
        layout_mid = np.broadcast_to((pa + pb) / 2, (s.n, 2))
        r[moved] = level_aim(p[moved], ((ha + hb) / 2)[moved], layout_mid[moved], s.fov_y, s.aspect)
    layout = {"screen_a": pa.tolist(), "screen_b": pb.tolist()} if pa.ndim == 1 else {}
    return s.track(name, rig, p, r, **layout, **params)


def learned(s: Shooting, name: str, style: Style, model: StyleModel) -> CameraTrack:
    """A reference's camera style re-applied: the behaviour model rolled out over this pair's
    character features (actors in the order the Toric layout uses, swapping as they cross)."""
    from cinestage.behavior.rollout import roll_out  # torch loads only when a learned camera is built

    ja, jb = s.a.canonical_positions(), s.b.canonical_positions()
    ha, hb, swap = _audience_order(*s.heads())
    first = np.where(swap[:, None, None], jb, ja)
    second = np.where(swap[:, None, None], ja, jb)
    # The reference's layout, kept on screen with the heads apart (a real clip's may be neither).
    xa, xb = np.clip(style.start[:2], -0.9, 0.9)
    y = float(np.clip(style.start[2], -0.8, 0.8))
    pa, pb = np.array([xa, y]), np.array([max(xb, xa + 0.1), y])
    alpha = float(screen_angle(pa, pb, s.fov_y, s.aspect))
    cam = roll_out(model, style, character_features(first, second, main=0), (0.05, 2 * (np.pi - alpha) - 0.05))
    pa, pb = _fit_layout(s, ha, hb, pa, pb, cam[:, 3], cam[:, 4])
    return toric(s, name, pa, pb, cam[:, 3], cam[:, 4], "learned", level=True, style=style.nearest,
                 gating=style.gating, source=style.source)


def _fit_layout(s: Shooting, ha, hb, pa, pb, theta, phi, margin: float = 0.5, steps: int = 8):
    """Per-frame screen points: the layout, widened about its middle where the camera holding it
    would stand outside the theatre. A reference's two-shot of people a metre apart, held on
    actors crossing a 12 m stage from opposite wings, needs a camera 40 m away: an operator
    widens the framing instead (and the smoothing eases it back)."""
    lo, hi = house_bounds(s.performance.venue)
    lo = np.array([lo[0] + margin, lo[1] + margin, max(lo[2] + margin, 0.2)])
    mid = (pa + pb) / 2
    half = np.tile((pb - pa) / 2, (s.n, 1))
    for _ in range(steps):
        a, b = mid - half, mid + half
        alpha = screen_angle(a, b, s.fov_y, s.aspect)
        th = np.clip(theta, 0.05, 2 * (np.pi - alpha) - 0.05)
        p, _ = camera_from_toric(ha, hb, a, b, th, phi, s.fov_y, s.aspect)
        out = np.any((p < lo) | (p > hi - margin), axis=1) & (np.abs(half[:, 0]) * 1.25 + np.abs(mid[0]) <= 0.95)
        if not out.any():
            break
        half[out] *= 1.25
    return gaussian_smooth(mid - half, 12), gaussian_smooth(mid + half, 12)


def _keep_inside(s: Shooting, p, r, ha, hb, pa, pb, clear_view: bool, margin: float = 0.5):
    """Frames whose Toric camera lies outside the theatre (actors far apart framed tight, a
    steep angle from below) or low among the seats, where the rows in front hide the stage,
    move to the nearest point inside and above them; where the proscenium arch stands in or
    in front of them, they move in toward the pair until past it. They aim so A is still
    exactly at its screen point and B as near to its own as that position allows."""
    inside = _placed(s, p, (ha + hb) / 2, clear_view, margin)
    moved = np.any(inside != p, axis=1)
    if not moved.any():
        return p, r
    r = r.copy()
    r[moved] = orientation_for_screen(inside[moved], ha[moved], hb[moved], _rows(pa, moved), _rows(pb, moved), s.fov_y,
                                      s.aspect)
    return inside, r


def _placed(s: Shooting, p, target, clear_view: bool, margin: float = 0.5) -> np.ndarray:
    """(T, 3) camera positions inside the theatre, above the seat rows in front of them and, with
    clear_view, past the set pieces in their view of `target` (the positions themselves where
    they already are)."""
    lo, hi = house_bounds(s.performance.venue)
    lo = np.array([lo[0] + margin, lo[1] + margin, max(lo[2] + margin, 0.2)])
    inside = np.clip(p, lo, hi - margin)
    inside[:, 2] = np.maximum(inside[:, 2], lowest_view(s.performance.venue, inside[:, 1]))
    return _out_of_the_set(s.performance.venue, inside, target, margin) if clear_view else inside


def _lowered_to_clear(s: Shooting, ha, hb, pa, pb, theta, phi, step: float = 0.05, floor: float = -0.3,
                      ease: int = 12) -> np.ndarray:
    """phi per frame, lowered where the Toric camera would have to move to stand in the theatre
    with a clear view (over the arch's header, above the ceiling): it sinks along its Toric
    circle to the first angle (in `step`s, down to `floor`) where it need not move, which keeps
    the layout exact where moving the camera in breaks it. Frames no lower angle clears keep
    theirs (`_keep_inside` moves them); the lowering eases in and out over `ease` frames."""
    mid = (ha + hb) / 2
    phi = np.asarray(phi, float)
    found, trial = phi.copy(), phi.copy()
    todo = np.ones(s.n, bool)
    while todo.any():
        p, _ = camera_from_toric(ha[todo], hb[todo], _rows(pa, todo), _rows(pb, todo), theta[todo], trial[todo],
                                 s.fov_y, s.aspect)
        clear = np.all(_placed(s, p, mid[todo], True) == p, axis=1)
        index = np.flatnonzero(todo)
        found[index[clear]] = trial[index[clear]]
        todo[index[clear]] = False
        trial[todo] -= step
        todo &= trial >= floor
    drop = phi - found
    if not drop.any():
        return phi
    # Widened before smoothing so the eased angle stays at least as low as each frame needs.
    return phi - gaussian_smooth(maximum_filter1d(drop, 2 * ease + 1), ease)


def _rows(v, keep: np.ndarray):
    return v[keep] if np.ndim(v) == 2 else v


def _out_of_the_set(venue, p: np.ndarray, target: np.ndarray, margin: float) -> np.ndarray:
    """(T, 3) camera positions moved along their view of `target` (T, 3) past the set pieces (each
    grown by `margin`) that they stand in or that stand between them and it: a camera that rose
    over the arch as the actors crossed had filmed the inside of its header, then its front."""
    p = p.copy()
    for _ in range(2):  # the arch's boxes touch: passing one may meet the next
        for centre, size in set_pieces(venue):
            near, far = segment_through_box(p, target, centre - size / 2 - margin, centre + size / 2 + margin)
            length = np.linalg.norm(target - p, axis=1)
            # Blocked: the view enters the box before it reaches the pair and leaves it in front
            # of them (a pair standing in the grown box itself is left to the margin).
            blocked = (near < far) & (far > 0) & (near < 1) & (far * length < length - margin)
            p[blocked] += (target - p)[blocked] * (far[blocked, None] + 1e-3 / length[blocked, None])
    return p


def _smooth_segments(p: np.ndarray, r: np.ndarray, swap: np.ndarray, radius: int):
    """Smooth within each stretch between role swaps: blending across one would fly the camera
    through the pair, so a swap is a clean jump (the programme editor cuts around it)."""
    p, r = p.copy(), r.copy()
    for seg in np.split(np.arange(len(p)), np.flatnonzero(np.diff(swap)) + 1):
        p[seg], r[seg] = smooth_pose_track(p[seg], r[seg], radius)
    return p, r


def _audience_order(ha: np.ndarray, hb: np.ndarray, hysteresis: float = 0.25):
    """Swap which head goes to which screen point when the actors cross the stage.

    A Toric layout with A left of B puts the camera on the side of AB from which that holds;
    when the actors exchange places that side turns upstage, behind the curtain. Like an
    operator re-establishing the line, the roles swap once the pair axis has turned well past
    perpendicular to the audience (hysteresis avoids flicker when they stand one behind the
    other). Returns the reordered heads and the per-frame swap flags.
    """
    ab = hb - ha
    across = ab[:, 0] / np.maximum(np.linalg.norm(ab[:, :2], axis=1), 1e-9)  # +1: B on the audience's right
    swap = np.zeros(len(ab), bool)
    state = across[0] < 0
    for t, a in enumerate(across):
        if (state and a > hysteresis) or (not state and a < -hysteresis):
            state = not state
        swap[t] = state
    return np.where(swap[:, None], hb, ha), np.where(swap[:, None], ha, hb), swap


def _facing_angle(s: Shooting) -> np.ndarray:
    """Signed angle of A's facing relative to the A→B line on the ground, unwrapped, smoothed."""
    f = facing_direction(s.a.canonical_positions())
    line = (s.b.head() - s.a.head())[:, :2]
    ang = np.arctan2(line[:, 0] * f[:, 1] - line[:, 1] * f[:, 0], np.sum(line * f, axis=1))
    return gaussian_smooth(np.unwrap(ang), 12)


def behaviour(s: Shooting, name: str, kind: str, layout: ShotLayout, theta0: float | None = None, phi0: float = 0.2,
              amplitude_deg: float = 25.0, period: float = 12.0, distance: float | None = None,
              clear_view: bool = True) -> CameraTrack:
    """The four canonical Toric behaviours: direct, relative, sin_cos, side_track."""
    pa, pb = layout.points()
    alpha = float(screen_angle(pa, pb, s.fov_y, s.aspect))
    mid_theta = np.pi - alpha if theta0 is None else theta0
    common = dict(behaviour=kind, theta0=float(mid_theta), phi0=phi0, clear_view=clear_view)
    if kind == "direct":
        return toric(s, name, pa, pb, mid_theta, phi0, "toric", **common)
    if kind == "relative":
        # The camera swings with A's turn relative to the pair axis, keeping A's face in view.
        ang = _facing_angle(s)
        return toric(s, name, pa, pb, mid_theta + 0.5 * (ang - ang[0]), phi0, "toric", **common)
    if kind == "sin_cos":
        w = 2 * np.pi * s.times / period
        amp = np.radians(amplitude_deg)
        return toric(s, name, pa, pb, mid_theta + amp * np.sin(w), phi0 + 0.4 * amp * np.cos(w), "toric",
                     amplitude_deg=amplitude_deg, period=period, **common)
    if kind == "side_track":
        return side_track(s, name, layout, phi0, distance, behaviour=kind)
    raise CameraError(name, f"unknown behaviour {kind!r}; choose direct, relative, sin_cos or side_track")


def side_track(s: Shooting, name: str, layout: ShotLayout, phi0: float, distance: float | None, **params) -> CameraTrack:
    """Travels on a line beside the pair (parallel to their mean axis) and zooms to hold the layout."""
    ha, hb, swap = _audience_order(*s.heads())
    c = s.centre(25)
    axis = (hb - ha).mean(axis=0)
    axis[2] = 0.0
    axis /= max(np.linalg.norm(axis), 1e-9)
    side = np.cross([0.0, 0.0, 1.0], axis)  # A appears left of B from this side
    pa, pb = layout.points()
    sep = float(np.median(np.linalg.norm(hb - ha, axis=1)))
    if distance is None:
        alpha = float(screen_angle(pa, pb, s.fov_y, s.aspect))
        distance = sep / (2 * np.tan(alpha / 2))
    # A straight track: only the pair's travel along their axis moves the camera.
    along = gaussian_smooth((c - c[0]) @ axis, 10)
    p = c[0] - side * distance * np.cos(phi0) + np.outer(along, axis)
    p[:, 2] = c[:, 2].mean() + distance * np.sin(phi0)
    # Zoom so the heads' angular separation fills the layout's screen separation.
    world_alpha = np.arccos(np.clip(np.sum(_unit(ha - p) * _unit(hb - p), axis=1), -1, 1))
    half_sep = abs(layout.xB - layout.xA) / 2
    tan_half_x = np.tan(np.maximum(world_alpha, 1e-3) / 2) / max(half_sep, 1e-3)
    fov_y = 2 * np.arctan(tan_half_x / s.aspect)
    fov_y = gaussian_smooth(np.clip(fov_y, np.radians(12), np.radians(75)), 10)
    # Aim as the Toric layout says, but level: a travelling camera never rolls, and while the
    # actors pass one behind the other, holding both screen points exactly would need one.
    forward = orientation_for_screen(p, ha, hb, pa, pb, fov_y, s.aspect)[:, :, 1]
    r = look_at(p, p + forward)
    p, r = _smooth_segments(p, r, swap, 10)
    return s.track(name, "toric", p, r, fov_y, distance=float(distance), **params)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)
