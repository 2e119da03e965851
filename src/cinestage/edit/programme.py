"""The multi-camera programme: which camera is on air at every frame, chosen by dynamic
programming (Viterbi) over frames x cameras so the whole edit is optimal for its costs, not a
greedy hop to whichever camera looks best this frame.

Costs are in seconds of worthless picture, so they mean the same at any frame rate:
- bad shots: (1 - quality) / fps per frame on air (quality: the camera's fused per-frame score
  in [0, 1]; NaN counts as 0);
- a cut: `cut_cost`, so a cut must buy a lasting improvement;
- a jump cut (the new view is too like the old: less than `jump_angle_deg` apart about the
  actors and a shot size within `jump_size_ratio`): `jump_cut_cost` more;
- crossing the line (a cut between cameras on opposite sides of the actors' axis, the 180 degree
  rule): forbidden, or `line_crossing_cost` more when `allow_line_crossing`;
- an overlong shot: `overlong_cost` per second a shot stays on air beyond `max_shot`, so that
  one camera scoring a little higher all along does not hold the whole programme (no editor
  would leave a ten-minute duet on one shot). It is a soft limit: a shot runs longer where no
  other camera is worth cutting to.
The minimum shot length is not a cost but a hard rule, built into the state: (camera, frames
on air capped at max(min_shot, max_shot + 1 frame)). Every shot, the first and the last
included, lasts at least min_shot unless the programme is shorter than that (then it is one
shot): a half-second shot at either end is a flash, not an edit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from cinestage.assess.measure import Measure
from cinestage.camera.track import CameraTrack
from cinestage.errors import CinestageError

COST_UNIT = "seconds of worthless picture"
QUALITY_UNIT = "mean fused per-frame quality of the shot"


@dataclass(frozen=True)
class View:
    """What a camera shows of the actors, per frame. direction: (T, 3) unit vector from the
    actors' centre (the midpoint of their heads) to the camera; frame_height: (T,) metres the
    frame spans vertically at the centre's distance (smaller = closer shot)."""

    direction: np.ndarray
    frame_height: np.ndarray


def actors_view(track: CameraTrack, head_a: np.ndarray, head_b: np.ndarray) -> View:
    """The View of a camera from its track and the actors' heads, (T, 3) world metres each."""
    centre = (_frames(head_a, track, "head_a") + _frames(head_b, track, "head_b")) / 2
    offset = track.positions - centre
    distance = np.linalg.norm(offset, axis=1)
    return View(offset / np.maximum(distance, 1e-9)[:, None], 2 * distance * np.tan(track.fov_y / 2))


def line_side(track: CameraTrack, head_a: np.ndarray, head_b: np.ndarray, on_line_deg: float = 5.0) -> np.ndarray:
    """(T,) int8: which side of the actors' axis the camera stands on, seen from above: +1 left of
    A->B, -1 right of it, 0 within `on_line_deg` of the line (or with the actors on top of each
    other), where a camera may cut to either side."""
    a = _frames(head_a, track, "head_a")[:, :2]
    axis = _frames(head_b, track, "head_b")[:, :2] - a
    to_camera = track.positions[:, :2] - a
    cross = axis[:, 0] * to_camera[:, 1] - axis[:, 1] * to_camera[:, 0]
    scale = np.linalg.norm(axis, axis=1) * np.linalg.norm(to_camera, axis=1)
    defined = (np.abs(cross) > np.sin(np.radians(on_line_deg)) * scale) & (scale > 1e-9)
    return np.where(defined, np.sign(cross), 0).astype(np.int8)


def _frames(points: np.ndarray, track: CameraTrack, what: str) -> np.ndarray:
    points = np.asarray(points, float)
    if points.shape != (track.n_frames, 3):
        raise CinestageError(track.name, f"{what} has shape {points.shape}, the track needs ({track.n_frames}, 3)")
    return points


@dataclass(frozen=True)
class ProgrammeOptions:
    """min_shot: seconds every shot lasts at least (hard). Costs in seconds of worthless picture:
    cut_cost per cut; jump_cut_cost more for a cut between views less than jump_angle_deg apart
    (seen from the actors' centre) whose frame heights differ by less than jump_size_ratio (1.4:
    about one shot class, e.g. medium to medium close-up); line_crossing_cost more for a cut across
    the actors' axis, which is forbidden unless allow_line_crossing.

    max_shot: seconds a shot may last before every further second on air costs overlong_cost (a
    soft limit; None: no limit). The default 0.5 makes a second beyond max_shot cost half a second
    of worthless picture: one camera held for all of a 10 s programme pays 1.0, so a cut (0.2) at
    8 s to a camera up to 0.4 worse over the last 2 s pays off, a jump cut (2.2) does not. A
    max_shot below min_shot is allowed: every frame beyond max_shot pays, so shots stay short."""

    min_shot: float = 2.0
    cut_cost: float = 0.2
    jump_cut_cost: float = 2.0
    jump_angle_deg: float = 30.0
    jump_size_ratio: float = 1.4
    allow_line_crossing: bool = False
    line_crossing_cost: float = 4.0
    max_shot: float | None = 8.0
    overlong_cost: float = 0.5

    def __post_init__(self) -> None:
        for name, least in (("min_shot", 0), ("cut_cost", 0), ("jump_cut_cost", 0), ("jump_angle_deg", 0),
                            ("jump_size_ratio", 1), ("line_crossing_cost", 0), ("max_shot", 0), ("overlong_cost", 0)):
            value = getattr(self, name)
            if name == "max_shot" and value is None:
                continue
            if not (isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)
                    and value >= least):
                none = " (or None: no limit)" if name == "max_shot" else ""
                raise CinestageError(f"programme option {name}", f"must be a finite number >= {least}{none}, "
                                                                 f"not {value!r}")

    def min_shot_frames(self, fps: float) -> int:
        return max(1, round(self.min_shot * fps))

    def max_shot_frames(self, fps: float) -> int | None:
        """Frames a shot may last before it pays overlong_cost; None: no limit."""
        return None if self.max_shot is None else round(self.max_shot * fps)


@dataclass(frozen=True)
class Shot:
    camera: str
    start: int  # first frame on air
    end: int  # first frame after the shot (exclusive)

    @property
    def frames(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Programme:
    """shots: in order, covering frames [0, n_frames) with no gap; quality: each shot's mean
    per-frame quality in [0, 1]; costs: quality, cuts, jump_cuts, line_crossings, overlong and
    total, in seconds of worthless picture; counts: cuts, jump_cuts, line_crossings and
    overlong_shots (shots longer than max_shot)."""

    shots: tuple[Shot, ...]
    fps: float
    n_frames: int
    quality: tuple[float, ...]
    costs: Mapping[str, float]
    counts: Mapping[str, int]
    options: ProgrammeOptions

    def cameras(self) -> list[str]:
        """The camera on air at every frame."""
        return [s.camera for s in self.shots for _ in range(s.frames)]

    def to_json(self) -> dict:
        return {
            "fps": self.fps,
            "n_frames": self.n_frames,
            "min_shot_frames": self.options.min_shot_frames(self.fps),
            "max_shot_frames": self.options.max_shot_frames(self.fps),
            "shots": [{"camera": s.camera, "start_frame": s.start, "end_frame": s.end,
                       "start_time": s.start / self.fps, "end_time": s.end / self.fps,
                       "quality": Measure("quality", q, 0.0, 1.0, "higher", unit=QUALITY_UNIT).to_json()}
                      for s, q in zip(self.shots, self.quality)],
            "counts": dict(self.counts),
            "costs": {k: Measure(k, v, 0.0, float("inf"), "lower", unit=COST_UNIT).to_json()
                      for k, v in self.costs.items()},
            "options": asdict(self.options),
        }


def cut_programme(curves: Mapping[str, np.ndarray], views: Mapping[str, View], line_side: Mapping[str, np.ndarray],
                  fps: float, options: ProgrammeOptions = ProgrammeOptions()) -> Programme:
    """The cheapest programme over the cameras in `curves` (name -> (T,) quality in [0, 1]); views
    and line_side (name -> (T,) +-1, 0 undefined) must cover the same cameras and frames."""
    rules = _Rules.of(curves, views, line_side, fps, options)
    n_cam, n = rules.quality.shape
    m = options.min_shot_frames(fps)
    limit = options.max_shot_frames(fps)
    # States k = 0 .. K - 1: the camera has been on air k + 1 frames, the last state meaning "K or
    # more". K counts far enough to know both whether a shot may end (k >= m - 1) and whether its
    # frame is beyond max_shot (k >= limit).
    k_states = m if limit is None else max(m, limit + 1)
    unary = np.where(np.isnan(rules.quality), 1.0, 1.0 - rules.quality).T / fps  # (T, C)
    overlong = np.zeros(k_states)
    if limit is not None:
        overlong[limit:] = options.overlong_cost / fps
    trans = rules.transition_costs()
    cols = np.arange(n_cam)

    # cost[c, k]: the cheapest programme so far with camera c on air in state k. Only states
    # k >= m - 1 may be cut from, which makes min_shot a hard rule.
    cost = np.full((n_cam, k_states), np.inf)
    cost[:, 0] = unary[0] + overlong[0]
    new = np.empty_like(cost)
    cut_from = np.zeros((n, n_cam), dtype=np.intp)  # where the best way into (c, 0) at t came from: camera
    cut_state = np.zeros((n, n_cam), dtype=np.intp)  # ... and that camera's state at t - 1
    stayed_full = np.zeros((n, n_cam), dtype=bool)  # whether (c, K - 1) at t came from (c, K - 1)
    for t in range(1, n):
        ended = cost[:, m - 1:]  # (C, K - m + 1): shots long enough to cut from
        best_k = np.argmin(ended, axis=1)
        into = ended[cols, best_k][:, None] + trans[t]
        source = np.argmin(into, axis=0)
        cut = into[source, cols]
        if k_states == 1:
            # One state (min_shot one frame, no count of frames needed for max_shot): every shot
            # is already long enough, so staying on c competes with cutting into c.
            cut_from[t] = np.where(cut < cost[:, 0], source, cols)
            new[:, 0] = np.minimum(cost[:, 0], cut)
        else:
            cut_from[t] = source
            cut_state[t] = best_k[source] + m - 1
            new[:, 0] = cut
            new[:, 1:] = cost[:, :-1]
            stayed_full[t] = cost[:, -1] < cost[:, -2]
            np.minimum(cost[:, -2], cost[:, -1], out=new[:, -1])
        new += unary[t][:, None]
        new += overlong
        cost, new = new, cost

    # The last shot must be complete too; a programme shorter than min_shot is one shot of n frames.
    first = min(n, m) - 1
    c, k = np.unravel_index(int(np.argmin(cost[:, first:])), cost[:, first:].shape)
    c, k = int(c), int(k) + first
    path = np.empty(n, dtype=np.intp)
    for t in range(n - 1, 0, -1):
        path[t] = c
        if k == 0:
            c, k = int(cut_from[t, c]), int(cut_state[t, c])
        elif k == k_states - 1:
            k = k_states - 1 if stayed_full[t, c] else k_states - 2
        else:
            k -= 1
    path[0] = c
    return rules.programme(path)


def score_path(cameras: Sequence[str], curves: Mapping[str, np.ndarray], views: Mapping[str, View],
               line_side: Mapping[str, np.ndarray], fps: float,
               options: ProgrammeOptions = ProgrammeOptions()) -> Programme:
    """Any programme, given as the camera on air at every frame, costed as `cut_programme` costs
    its own; costs["total"] is inf where it breaks a hard rule (a shot shorter than min_shot in a
    programme of several shots, a forbidden line crossing)."""
    rules = _Rules.of(curves, views, line_side, fps, options)
    if len(cameras) != rules.quality.shape[1] or not set(cameras) <= set(rules.names):
        raise CinestageError("programme", f"needs one of {rules.names} for each of the {rules.quality.shape[1]} frames")
    return rules.programme(np.array([rules.names.index(c) for c in cameras], dtype=np.intp))


@dataclass(frozen=True)
class _Rules:
    """The inputs checked and stacked. quality: (C, T); jump, cross: (T, C, C) whether a cut at
    frame t from camera i (on air at t - 1) to camera j (on air from t) is a jump cut / crosses
    the line (row 0 is False: there is no cut into the first frame)."""

    names: list[str]
    quality: np.ndarray
    jump: np.ndarray
    cross: np.ndarray
    fps: float
    options: ProgrammeOptions

    @classmethod
    def of(cls, curves: Mapping[str, np.ndarray], views: Mapping[str, View], sides: Mapping[str, np.ndarray],
           fps: float, options: ProgrammeOptions) -> _Rules:
        if not (np.isfinite(fps) and fps > 0):
            raise CinestageError("programme", f"fps must be a positive number, not {fps}")
        names = list(curves)
        if not names:
            raise CinestageError("programme", "no camera to cut between")
        for what, given in (("views", views), ("line sides", sides)):
            if set(given) != set(names):
                raise CinestageError("programme", f"{what} are for cameras {sorted(given)}, the quality curves "
                                                  f"for {sorted(names)}")
        n = len(np.asarray(curves[names[0]]))
        quality = np.stack([_series(curves[c], (n,), c, "quality") for c in names])
        if n == 0:
            raise CinestageError(names[0], "the quality curve has no frames")
        bad = (quality < -1e-9) | (quality > 1 + 1e-9)
        if bad.any():
            raise CinestageError(names[int(np.nonzero(bad)[0][0])], "quality must lie in [0, 1] (NaN for unknown)")
        direction = np.stack([_series(views[c].direction, (n, 3), c, "view direction") for c in names])
        height = np.maximum(np.stack([_series(views[c].frame_height, (n,), c, "frame height") for c in names]), 1e-9)
        side = np.stack([_series(sides[c], (n,), c, "line side") for c in names])

        cos = np.einsum("itk,jtk->tij", direction[:, :-1], direction[:, 1:])
        close = cos > np.cos(np.radians(options.jump_angle_deg))
        ratio = height[:, :-1].T[:, :, None] / height[:, 1:].T[:, None, :]
        similar = np.maximum(ratio, 1 / ratio) < options.jump_size_ratio
        opposite = side[:, :-1].T[:, :, None] * side[:, 1:].T[:, None, :] < 0
        none = np.zeros((1, len(names), len(names)), dtype=bool)
        return cls(names, np.clip(quality, 0, 1), np.concatenate([none, close & similar]),
                   np.concatenate([none, opposite]), float(fps), options)

    def transition_costs(self) -> np.ndarray:
        """(T, C, C) cost of a cut at frame t from camera i to camera j; inf on the diagonal (no
        cut) and for forbidden line crossings."""
        o = self.options
        crossing = o.line_crossing_cost if o.allow_line_crossing else np.inf
        trans = o.cut_cost + o.jump_cut_cost * self.jump + np.where(self.cross, crossing, 0.0)
        trans[:, np.arange(len(self.names)), np.arange(len(self.names))] = np.inf
        return trans

    def programme(self, path: np.ndarray) -> Programme:
        o, n = self.options, len(path)
        starts = np.concatenate([[0], np.nonzero(np.diff(path))[0] + 1])
        ends = np.append(starts[1:], n)
        shots = tuple(Shot(self.names[path[s]], int(s), int(e)) for s, e in zip(starts, ends))
        cuts = starts[1:]
        jumps = int(self.jump[cuts, path[cuts - 1], path[cuts]].sum())
        crossings = int(self.cross[cuts, path[cuts - 1], path[cuts]].sum())
        q = self.quality[path, np.arange(n)]
        limit = o.max_shot_frames(self.fps)
        beyond = [max(0, s.frames - limit) for s in shots] if limit is not None else [0]
        costs = {
            "quality": float(np.sum(np.where(np.isnan(q), 1.0, 1.0 - q)) / self.fps),
            "cuts": len(cuts) * o.cut_cost,
            "jump_cuts": jumps * o.jump_cut_cost,
            "line_crossings": crossings * o.line_crossing_cost if o.allow_line_crossing else 0.0,
            "overlong": sum(beyond) * o.overlong_cost / self.fps,
        }
        too_short = len(shots) > 1 and min(s.frames for s in shots) < o.min_shot_frames(self.fps)
        broken = too_short or (crossings > 0 and not o.allow_line_crossing)
        costs["total"] = float("inf") if broken else float(sum(costs.values()))
        quality = tuple(float(np.nanmean(q[s.start:s.end])) if np.isfinite(q[s.start:s.end]).any() else float("nan")
                        for s in shots)
        return Programme(shots, self.fps, n, quality, costs,
                         {"cuts": len(cuts), "jump_cuts": jumps, "line_crossings": crossings,
                          "overlong_shots": sum(b > 0 for b in beyond)}, o)


def _series(values, shape: tuple[int, ...], camera: str, what: str) -> np.ndarray:
    array = np.asarray(values, float)
    if array.shape != shape:
        raise CinestageError(camera, f"{what} has shape {array.shape}, expected {shape}")
    return array
