"""Cinematographic tags cinestage states from its own analysis, each with a confidence and the
evidence it was read from: shot size, camera movement, number of people and framing.

A render is tagged per camera from its files alone (`<name>.track.json` and `<name>.meta.json`:
the camera's exact motion, the actors' joints in the set); a real clip per shot from its
pixels: people found by MoveNet on frames sampled every `PEOPLE_EVERY` seconds, the camera's
motion from every frame (`camera_motion`). Both reduce a frame to the same `Figure`s, so the
judgements below are shared.

Shot size is `assess.rules`' scale: a figure's height over the frame height at its depth,
named by `SHOT_CLASSES`. A real person's height is not their box (legs are cut, arms raised):
it is recovered from the vertical distance between two of their joints and where those sit on
a standing body (fractions of stature, Drillis & Contini), so a waist-up shot of a standing
person reads as such.

Confidences are in [0, 1]. For people, framing and shot size: the share of frames that agree
with the value (for shot size, of all the shot's frames), times how clearly the people were
seen (MoveNet's person score over `CLEAR_PERSON`; 1 for a render's actors). For movements: each measure against its threshold
through c(x) = x^3 / (x^3 + threshold^3) (0.5 at the threshold, 0.89 at twice it); static is
the chance that no movement is there, the product of 1 - c over them.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from cinestage.assess.rules import (
    HEAD,
    HEAD_TOP,
    HIPS,
    NEAR,
    SHOT_CLASSES,
    RenderedCamera,
    read_rendered_camera,
    shot_class,
)
from cinestage.edit.camera_motion import MOTION_SIDE, MotionMeasures, PixelMotion, measure, motion_from_track, shrink
from cinestage.errors import CinestageError
from cinestage.files import write_text
from cinestage.film.pose import COCO_KEYPOINTS, FramePoses, MoveNetMultiPose, PoseEstimator
from cinestage.film.shots import ShotDetector
from cinestage.film.video import read_frames
from cinestage.geometry import focal_scales
from cinestage.stage.features import facing_direction

if TYPE_CHECKING:
    from cinestage.edit.videotag import VideoTagger

FORMAT = "cinestage.tags/1"
MOVEMENTS = ("static", "pan", "tilt", "zoom", "dolly", "orbit", "handheld")
FRAMINGS = ("empty", "single", "two-shot", "over-the-shoulder", "group")
KINDS = ("shot_size", "camera_movement", "people", "framing", "content")

# Movement thresholds (the measures of `camera_motion.MotionMeasures`). A pan or tilt crosses
# a frame in 10 s or less; a zoom changes the image scale 5 %/s; a dolly travels 5 % of its
# distance to the subject per second; an orbit sweeps 4 degrees/s about the subject on a path
# that turns at least half as fast (a straight track past the subject also sweeps); shake of a
# thousandth of the frame width is 0.3 px at 320 px, ten times what a locked-off clip measures.
PAN, TILT, ZOOM, DOLLY, ORBIT, CURVING, SHAKE = 0.1, 0.1, 0.05, 0.05, 4.0, 0.5, 0.001

# Framing: figures at least SUBJECT times the size of the largest are subjects (smaller ones
# are background); over the shoulder is a near figure with its back to the camera, cut by a
# side of the frame, over which one facing the camera is seen (at least OTS_FAR its size).
SUBJECT = 0.5
OTS_FAR = 0.15
FACING = 0.3  # |cosine| between a figure's facing and the way to the camera: toward or away
EDGE = 0.95  # screen |x| (of 1) from which a body counts as cut by the side of the frame
VISIBLE = 0.5  # a rendered actor counts with its head in frame or this share of its body
HIDDEN = 0.75  # ... unless the other actor hides more than this share of what is in frame

# Real clips: MoveNet on a frame every PEOPLE_EVERY seconds at two input sizes (256 finds people
# filling the frame, 512 small ones).
PEOPLE_EVERY = 0.25
PEOPLE_SIZES = (256, 512)
SAME_PERSON_IOU = 0.4
MIN_HEIGHT = 0.1  # people shorter than this share of the frame are not counted (tracking's rule)
KEYPOINT_SCORE = 0.3
CLEAR_PERSON = 0.5  # MoveNet's person score for people in plain view (0.5-0.7 on real clips)
# Height above the floor of COCO joints as a fraction of stature (Drillis & Contini; the nose
# between chin 0.870 and eyes 0.936); a pair of joints this far apart or more measures stature.
STATURE = {"nose": 0.91, "left_eye": 0.936, "right_eye": 0.936, "left_ear": 0.93, "right_ear": 0.93,
           "left_shoulder": 0.818, "right_shoulder": 0.818, "left_hip": 0.53, "right_hip": 0.53,
           "left_knee": 0.285, "right_knee": 0.285, "left_ankle": 0.039, "right_ankle": 0.039}
MIN_SPAN = 0.25
HEAD_SPAN = 0.09  # nose to shoulders: all a close-up shows
# A face alone (an extreme close-up) measures across: pupils 63 mm, ears 145 mm apart, as
# fractions of a 1.75 m stature. A head turned away only narrows them, so the wider one wins.
FACE_WIDTHS = {("left_eye", "right_eye"): 0.036, ("left_ear", "right_ear"): 0.083}
FACE = tuple(COCO_KEYPOINTS.index(k) for k in ("nose", "left_eye", "right_eye"))
SHOULDERS = tuple(COCO_KEYPOINTS.index(k) for k in ("left_shoulder", "right_shoulder"))
_JOINTS = np.array([COCO_KEYPOINTS.index(k) for k in STATURE])
_HEIGHTS = np.array(list(STATURE.values()))


@dataclass(frozen=True)
class Tag:
    kind: str  # one of KINDS
    value: str
    confidence: float
    evidence: str

    def to_json(self) -> dict:
        return {"kind": self.kind, "value": self.value, "confidence": round(self.confidence, 3),
                "evidence": self.evidence}


@dataclass(frozen=True)
class ClipTags:
    """The tags of one camera of a render or one shot of a clip (start, end in seconds)."""

    name: str
    video: str
    start: float
    end: float
    tags: tuple[Tag, ...]
    measures: dict[str, float] = field(default_factory=dict)

    def values(self, kind: str) -> tuple[str, ...]:
        """The values of one kind, most confident first."""
        return tuple(t.value for t in self.tags if t.kind == kind)

    def to_json(self) -> dict:
        return {"name": self.name, "video": self.video, "start": round(self.start, 3), "end": round(self.end, 3),
                "tags": [t.to_json() for t in self.tags],
                "measures": {k: round(v, 5) for k, v in self.measures.items()}}


@dataclass(frozen=True)
class TagReport:
    source: str
    origin: Literal["render", "video"]
    clips: tuple[ClipTags, ...]

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "source": self.source,
            "origin": self.origin,
            "vocabulary": {"shot_size": list(SHOT_CLASSES), "camera_movement": list(MOVEMENTS),
                           "framing": list(FRAMINGS)},
            "units": {
                "subject_size": "median height of the framed figure over the frame height at its depth "
                                "(assess.rules' shot-size scale)",
                "pan": "frame widths/s the view turns over its fastest second; + right",
                "tilt": "frame heights/s the view turns over its fastest second; + up",
                "zoom": "change of the log image scale per second over its fastest second; + closer",
                "shake": "RMS of the view's path about its smooth path, frame widths",
                "travel": "camera path per second over its distance to the subject (renders)",
                "orbit": "degrees/s the camera circles the subject (renders)",
                "curving": "degrees the direction of travel turns per degree of orbit (renders)",
            },
            "clips": [c.to_json() for c in self.clips],
        }

    def save(self, path: str | Path) -> Path:
        try:
            return write_text(path, json.dumps(self.to_json(), indent=1))
        except OSError as exc:
            raise CinestageError(str(path), f"cannot write the tags: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class Figure:
    """A person in one frame as the tags see them. size: height over the frame height at
    their depth; facing: +1 toward the camera, -1 back to it, 0 side-on or unknown; cut: the
    body crosses the left or right edge of the frame; score: how sure the detection is."""

    size: float
    facing: float
    cut: bool
    score: float = 1.0


Frames = Sequence[tuple[Figure, ...]]


# ------------------------------------------------------------------------------ entry points


def tags_path(source: str | Path) -> Path:
    """Where `cinestage tags` writes: DIR/tags.json in a render, VIDEO's stem + .tags.json
    beside a video (one folder can hold many videos)."""
    source = Path(source)
    return source / "tags.json" if source.is_dir() else source.with_name(f"{source.stem}.tags.json")


def tag_source(source: str | Path, tagger: VideoTagger | None = None,
               progress: Callable[[int, int], None] | None = None) -> TagReport:
    """A render output folder (it has a manifest.json) or a video file."""
    source = Path(source)
    if source.is_dir():
        return tag_render(source, tagger, progress)
    return tag_video(source, tagger, progress=progress)


def tag_render(out_dir: str | Path, tagger: VideoTagger | None = None,
               progress: Callable[[int, int], None] | None = None) -> TagReport:
    """Every camera of a render output, from its track and metadata files."""
    out_dir = Path(out_dir)
    cameras = _rendered_cameras(out_dir)
    clips = []
    for i, (name, video) in enumerate(cameras):
        clip = tag_camera(read_rendered_camera(out_dir / "cameras", name), video)
        if tagger is not None:
            clip = _with_content(clip, tagger, out_dir / video)
        clips.append(clip)
        if progress:
            progress(i + 1, len(cameras))
    return TagReport(str(out_dir), "render", tuple(clips))


def tag_camera(camera: RenderedCamera, video: str = "") -> ClipTags:
    track = camera.track
    frames = rendered_figures(camera)
    people, people_measures = people_tags(frames, "frames")
    actors = np.arange(camera.world.shape[1])
    subject = camera.world[:, actors, camera.canonical[:, HIPS]].mean(axis=1)
    moves, move_measures = movement_tags(measure(motion_from_track(track, subject)))
    return ClipTags(track.name, video, 0.0, track.n_frames / track.fps, (*people, *moves),
                    {**people_measures, **move_measures})


def tag_video(path: str | Path, tagger: VideoTagger | None = None, *, estimator: PoseEstimator | None = None,
              progress: Callable[[int, int], None] | None = None) -> TagReport:
    """Every shot of a real clip (shots as the film analysis finds them)."""
    path = Path(path)
    with read_frames(path, max_side=max(PEOPLE_SIZES)) as reader:
        info = reader.info  # a bad file has failed by now, before MoveNet loads
        estimator = estimator or MoveNetMultiPose()
        # The film analysis' detector and settings: adaptive, so whip pans are not cuts.
        detector = ShotDetector(info.fps, "adaptive", min_shot_frames=15)
        motion = PixelMotion(info.fps)
        every = max(1, round(PEOPLE_EVERY * info.fps))
        sampled: dict[int, tuple[Figure, ...]] = {}
        for frame in reader:
            small = shrink(frame.image, MOTION_SIDE)
            detector.feed(frame.index, frame.time, small)
            motion.feed(small)
            if frame.index % every == 0:
                sampled[frame.index] = photo_figures(_people(estimator, frame.image), frame.image.shape[1],
                                                     frame.image.shape[0])
            if progress:
                progress(frame.index + 1, max(info.estimated_frames, frame.index + 1))
    clips = []
    for shot in detector.finish():
        frames = [figures for index, figures in sampled.items() if shot.start <= index < shot.end]
        people, people_measures = people_tags(frames, "sampled frames") if frames else ((), {})
        moves, move_measures = movement_tags(measure(motion.motion(shot.start, shot.end)))
        clip = ClipTags(f"shot {shot.index}", str(path), shot.start_time, shot.end_time, (*people, *moves),
                        {**people_measures, **move_measures})
        if tagger is not None:
            clip = _with_content(clip, tagger, path, (shot.start, shot.end))
        clips.append(clip)
    return TagReport(str(path), "video", tuple(clips))


def _with_content(clip: ClipTags, tagger: VideoTagger, video: Path, frames: tuple[int, int] | None = None) -> ClipTags:
    found = tagger.tag(video, frames)
    content = tuple(Tag("content", tag, p, f"VideoTag attention-LSTM: p = {p:.2f} >= {tagger.threshold:g}")
                    for tag, p in found)
    return ClipTags(clip.name, clip.video, clip.start, clip.end, clip.tags + content, clip.measures)


def _rendered_cameras(out_dir: Path) -> list[tuple[str, str]]:
    """(name, video path relative to the output) of every camera in a render's manifest."""
    path = out_dir / "manifest.json"
    if not path.is_file():
        raise CinestageError(str(out_dir), "not a render output (no manifest.json) and not a video file")
    try:
        manifest = json.loads(path.read_text())
        return [(str(c["name"]), str(c["files"]["video"])) for c in manifest["cameras"]]
    except OSError as exc:
        raise CinestageError(str(path), f"cannot read the manifest: {exc.strerror}") from None
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise CinestageError(str(path), f"not a cinestage render manifest ({type(exc).__name__}: {exc})") from None


# -------------------------------------------------------------------------------- figures


def rendered_figures(camera: RenderedCamera) -> list[tuple[Figure, ...]]:
    """The actors each frame of a rendered camera shows (head in frame, or half the body, and
    not hidden behind the other)."""
    track, meta = camera.track, camera.meta
    actors = np.arange(camera.world.shape[1])
    joint = camera.world[:, actors[:, None], camera.canonical]  # (T, A, 7, 3)
    head = meta.joints[:, actors, camera.canonical[:, HEAD]]
    head_in = (meta.depth[:, actors, camera.canonical[:, HEAD]] > NEAR) & np.all(np.abs(head) <= 1, axis=-1)
    shown = (head_in | (meta.on_screen >= VISIBLE)) & (meta.occluded <= HIDDEN) & ~meta.behind
    # The size scale of assess.rules: height (crown over the lowest joint) over the frame height
    # at the hips' depth, 2 d / Sy.
    _, sy = focal_scales(track.fov_y, track.aspect)
    height = joint[..., HEAD, 2] + HEAD_TOP - camera.world[..., 2].min(axis=2)
    depth = np.maximum(meta.depth[:, actors, camera.canonical[:, HIPS]], NEAR)
    size = height * sy[:, None] / (2 * depth)
    to_camera = track.positions[:, None, :2] - joint[:, :, HIPS, :2]
    to_camera /= np.maximum(np.linalg.norm(to_camera, axis=-1, keepdims=True), 1e-9)
    facing = np.stack([facing_direction(joint[:, a]) for a in actors], axis=1)
    toward = np.sum(facing * to_camera, axis=-1)
    in_front = meta.depth > NEAR
    x = meta.joints[..., 0]
    cut = (np.where(in_front, x, np.inf).min(axis=2) <= -EDGE) | (np.where(in_front, x, -np.inf).max(axis=2) >= EDGE)
    return [tuple(Figure(float(size[t, a]), _facing(toward[t, a]), bool(cut[t, a])) for a in actors if shown[t, a])
            for t in range(track.n_frames)]


def _facing(cosine: float) -> float:
    return 1.0 if cosine >= FACING else -1.0 if cosine <= -FACING else 0.0


def photo_figures(poses: FramePoses, width: int, height: int) -> tuple[Figure, ...]:
    """The people of one real frame (poses in its pixels), tall enough to count."""
    found = []
    for keypoints, box in zip(poses.keypoints, poses.boxes):
        size = stature(keypoints)
        size = (box[3] - box[1] if size is None else size) / height
        if size < MIN_HEIGHT:
            continue
        seen = keypoints[:, 2] >= KEYPOINT_SCORE
        # A face in view turns toward the camera; shoulders without one are a back.
        facing = 1.0 if seen[list(FACE)].any() else -1.0 if seen[list(SHOULDERS)].any() else 0.0
        cut = box[0] <= (1 - EDGE) * width or box[2] >= EDGE * width
        found.append(Figure(float(size), facing, bool(cut), float(box[4])))
    return tuple(found)


def stature(keypoints: np.ndarray) -> float | None:
    """A standing person's height in pixels from their (17, 3) COCO keypoints, or None.

    Every pair of confident joints at least MIN_SPAN of stature apart gives an estimate; the
    largest is kept, because bending, sitting and foreshortening only ever shorten the span.
    A head and shoulders alone (a close-up) give a rougher one, a face alone its width."""
    seen = keypoints[_JOINTS, 2] >= KEYPOINT_SCORE
    y, h = keypoints[_JOINTS, 1][seen], _HEIGHTS[seen]
    span = h[:, None] - h[None, :]  # upper joint i over lower joint j
    pixels = y[None, :] - y[:, None]
    for least in (MIN_SPAN, HEAD_SPAN):
        ok = (span >= least) & (pixels > 0)
        if ok.any():
            return float((pixels[ok] / span[ok]).max())
    across = []
    for (a, b), width in FACE_WIDTHS.items():
        left, right = keypoints[COCO_KEYPOINTS.index(a)], keypoints[COCO_KEYPOINTS.index(b)]
        if min(left[2], right[2]) >= KEYPOINT_SCORE:
            across.append(abs(left[0] - right[0]) / width)
    return float(max(across)) if across else None


def _people(estimator: PoseEstimator, image: np.ndarray) -> FramePoses:
    """The people MoveNet finds at PEOPLE_SIZES: all found at the size that finds the most, and
    those of other sizes that overlap none of them. (Boxes of one size are never merged: two
    people embracing overlap as much as one person seen twice.)"""
    found = sorted((estimator.estimate(image, size) for size in PEOPLE_SIZES),
                   key=lambda p: (len(p), float(p.boxes[:, 4].sum())), reverse=True)
    keypoints, boxes = [found[0].keypoints], [found[0].boxes]
    for other in found[1:]:
        new = [i for i, box in enumerate(other.boxes)
               if all(_iou(box, kept) <= SAME_PERSON_IOU for kept in np.concatenate(boxes))]
        keypoints.append(other.keypoints[new])
        boxes.append(other.boxes[new])
    return FramePoses(np.concatenate(keypoints), np.concatenate(boxes), found[0].input_size)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return float(w * h / union) if union > 0 else 0.0


# ------------------------------------------------------------------------------ judgements


def framing(figures: tuple[Figure, ...]) -> tuple[str, Figure | None]:
    """One frame's framing (`FRAMINGS`) and its subject, the figure its shot size is read from."""
    if not figures:
        return "empty", None
    ordered = sorted(figures, key=lambda f: -f.size)
    near = ordered[0]
    if near.facing < 0 and near.cut:
        over = [f for f in ordered[1:] if f.facing > 0 and f.size >= OTS_FAR * near.size]
        if over:
            return "over-the-shoulder", over[0]
    subjects = sum(f.size >= SUBJECT * near.size for f in ordered)
    return {1: "single", 2: "two-shot"}.get(subjects, "group"), near


def people_tags(frames: Frames, unit: str) -> tuple[tuple[Tag, ...], dict[str, float]]:
    """Number of people, framing and shot size of a shot from its frames' figures."""
    n = len(frames)
    scores = [f.score for figures in frames for f in figures]
    clear = min(1.0, float(np.mean(scores)) / CLEAR_PERSON) if scores else 1.0
    counts = Counter(len(figures) for figures in frames)
    people, agree = counts.most_common(1)[0]
    judged = [framing(figures) for figures in frames]
    kinds = Counter(kind for kind, _ in judged)
    kind, kind_agree = kinds.most_common(1)[0]
    seen_how = "" if clear == 1.0 else f"; people seen with score {np.mean(scores):.2f} (clear from {CLEAR_PERSON:g})"
    tags = [
        Tag("people", str(people), agree / n * clear, f"{people} in {agree / n:.0%} of {n} {unit}{seen_how}"),
        Tag("framing", kind, kind_agree / n * clear, f"{kind} in {kind_agree / n:.0%} of {n} {unit} ({_mix(kinds, n)})"),
    ]
    measures = {"frames_judged": float(n), "people_mean": float(np.mean([len(f) for f in frames]))}
    sizes = np.array([subject.size for _, subject in judged if subject is not None])
    if len(sizes):
        median = float(np.median(sizes))
        value = shot_class(median)
        classes = Counter(shot_class(s) for s in sizes)
        share = classes[value] / len(sizes)
        # Read only where somebody is framed: a size seen in few frames of the shot is unsure.
        tags.insert(0, Tag("shot_size", value, share * len(sizes) / n * clear,
                           f"the subject is {median:.2f} frame heights tall (median); {value} in {share:.0%} of "
                           f"{len(sizes)} {unit} ({_mix(classes, len(sizes))})"))
        measures["subject_size"] = median
    return tuple(tags), measures


def _mix(counts: Counter, n: int) -> str:
    return ", ".join(f"{k} {c / n:.0%}" for k, c in counts.most_common())


def confidence(x: float, threshold: float) -> float:
    """0.5 at the threshold, 0.89 at twice it, 0.11 at half."""
    x = abs(x)
    return float(x**3 / (x**3 + threshold**3)) if x > 0 else 0.0


def movement_tags(m: MotionMeasures) -> tuple[tuple[Tag, ...], dict[str, float]]:
    """The camera's movements (`MOVEMENTS`), most confident first; `static` when none. Steps
    of a real clip that could not be measured lower every confidence."""
    orbit = 0.0
    if m.orbit is not None and m.curving is not None and m.travel is not None:
        orbit = confidence(m.orbit, ORBIT) * confidence(m.curving, CURVING) * confidence(m.travel, DOLLY)
    right, up, closer = m.pan > 0, m.tilt > 0, m.zoom > 0
    zoom_note = " (a zoom or a dolly: one view cannot tell them apart)" if m.travel is None else ""
    # An orbit turns the camera to hold its subject and travels on a curve: neither is a pan or
    # a dolly of its own.
    found = [
        ("pan", confidence(m.pan, PAN) * (1 - orbit),
         f"the view turns {'right' if right else 'left'} {abs(m.pan):.2f} frame widths/s at its fastest (pan from {PAN:g})"),
        ("tilt", confidence(m.tilt, TILT),
         f"the view turns {'up' if up else 'down'} {abs(m.tilt):.2f} frame heights/s at its fastest (tilt from {TILT:g})"),
        ("zoom", confidence(m.zoom, ZOOM),
         f"the picture {'grows' if closer else 'shrinks'} {abs(math.expm1(m.zoom)):.1%}/s at its fastest{zoom_note}"),
        ("handheld", confidence(m.shake, SHAKE),
         f"the view shakes {m.shake:.4f} frame widths RMS about its smooth path (hand-held from {SHAKE:g})"),
    ]
    if m.travel is not None:
        found.append(("dolly", confidence(m.travel, DOLLY) * (1 - orbit),
                      f"the camera travels {m.travel:.2f} of its distance to the subject per second (dolly from {DOLLY:g})"))
        found.append(("orbit", orbit, (f"the camera circles the subject at {abs(m.orbit or 0):.1f} degrees/s, its path "
                                       f"turning {m.curving or 0:.2f} degrees per degree (orbit from {ORBIT:g}, {CURVING:g})")))
    sure = 1.0 - m.lost
    tags = sorted((Tag("camera_movement", name, c * sure, why) for name, c, why in found if c >= 0.5),
                  key=lambda t: -t.confidence)
    if not tags:
        still = float(np.prod([1 - c for _, c, _ in found])) * sure
        tags = [Tag("camera_movement", "static", still,
                    f"no move reaches its threshold: pan {abs(m.pan):.3f} frame widths/s, tilt {abs(m.tilt):.3f}, "
                    f"zoom {abs(m.zoom):.3f}/s, shake {m.shake:.4f}"
                    + ("" if m.travel is None else f", travel {m.travel:.3f}/s"))]
    if m.lost:
        tags = [Tag(t.kind, t.value, t.confidence, f"{t.evidence}; {m.lost:.0%} of frame steps unmeasured") for t in tags]
    measures = {"pan": m.pan, "tilt": m.tilt, "zoom": m.zoom, "shake": m.shake}
    measures.update({k: v for k, v in (("travel", m.travel), ("orbit", m.orbit), ("curving", m.curving)) if v is not None})
    return tuple(tags), measures
