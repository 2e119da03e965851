"""`cinestage assess`: every camera of a render output scored, the best one chosen and a
programme cut between the cameras; or any folder of videos scored in one batch.

A render output (see `render_job`) gains:

    DIR/scores.json     every camera's fused score and its measures, each with its range and
                        better direction; the best camera and why; what was not scored; the programme
    DIR/scores.csv      one row per camera; every header names its column's range and direction,
                        e.g. `niqe [0..inf, lower better]`
    DIR/best.mp4        the best camera's video
    DIR/programme.mp4   the multi-camera programme; programme.edl (CMX 3600) and programme.json
                        (the same edit for programs)
    DIR/cameras/<name>.scores.json   the camera's measures before fusion, cached: a camera
                        measured alone (`measure_camera`, e.g. on the machine that rendered it)
                        is not measured again while its files and the options are unchanged

and manifest.json lists them. A folder of videos (no render metadata, so no shot rules and no
programme) gets the CSV and a JSON beside it; a video that cannot be read gets a row with the
reason instead of stopping the batch.

Every file is written under a temporary name and renamed, so a name always holds a whole file.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import math
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from cinestage import __version__
from cinestage.assess import aesthetics, vsfa
from cinestage.assess.image_quality import video_quality
from cinestage.assess.measure import Measure
from cinestage.assess.rules import read_rendered_camera
from cinestage.edit.assemble import assemble
from cinestage.edit.edl import write_edl, write_edl_json
from cinestage.edit.programme import (
    Programme,
    ProgrammeOptions,
    actors_view,
    cut_programme,
    line_side,
)
from cinestage.edit.selection import (
    CameraScore,
    FusionWeights,
    best_camera,
    fuse,
    fused_measure,
)
from cinestage.errors import CinestageError, ModelError, VideoError
from cinestage.files import atomic_path, write_text
from cinestage.film.video import VideoInfo, probe, read_frames
from cinestage.pipeline.output import MANIFEST, add_to_manifest, save_json

Progress = Callable[[int, int], None]

NO_AESTHETICS = "no trained aesthetic head: aesthetics not scored"
NO_VSFA = "no VSFA weights given (VSFA.pt): VSFA video quality not scored"
# The aesthetic model sees frames at 224x224, so decoding larger only costs memory; at most this
# many frames per video are held for it (the sampling is thinned on long videos).
AESTHETIC_SIDE = 448
AESTHETIC_FRAMES = 100
CAMERA_SCORES = ".scores.json"  # cameras/<name>.scores.json: a camera's measures, cached
CAMERA_SCORES_SCHEMA = "cinestage.camera_measures"
FILES = {"scores_json": "scores.json", "scores_csv": "scores.csv", "best": "best.mp4",
         "programme": "programme.mp4", "edl": "programme.edl", "edl_json": "programme.json"}


@dataclass(frozen=True)
class AssessOptions:
    """every: image quality scores frames 0, every, 2 every, ...; max_side: frames shrink to this
    long side (pixels) before image quality and VSFA (NIQE depends on scale: compare videos at one
    size); weights: how measures fuse into one score; programme: the cut rules; aesthetic_head: a
    checkpoint of `aesthetics.from_pretrained` (None: aesthetics not scored); vsfa: a VSFA.pt head
    and vsfa_backbone_weights: a torchvision ResNet-50 state dict (None: torchvision's ImageNet
    weights from the torch hub cache)."""

    every: int = 5
    max_side: int | None = None
    weights: FusionWeights = field(default_factory=FusionWeights)
    programme: ProgrammeOptions = field(default_factory=ProgrammeOptions)
    aesthetic_head: Path | None = None
    vsfa: Path | None = None
    vsfa_backbone_weights: Path | None = None

    def __post_init__(self) -> None:
        for name, value, optional in (("every", self.every, False), ("max_side", self.max_side, True)):
            if optional and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise CinestageError(f"assess option {name}", f"must be a positive whole number, not {value!r}")

    def to_json(self) -> dict:
        paths = {k: None if v is None else str(v) for k, v in
                 (("aesthetic_head", self.aesthetic_head), ("vsfa", self.vsfa),
                  ("vsfa_backbone_weights", self.vsfa_backbone_weights))}
        return {"every": self.every, "max_side": self.max_side, "weights": dict(self.weights.weights),
                "programme": asdict(self.programme), **paths}


@dataclass(frozen=True)
class AssessResult:
    """cameras: every camera's score, in the manifest's order; best, reason: the chosen camera and
    one sentence on why; programme: the cut; notes: what was not scored and why; paths: FILES kind
    -> where it was written."""

    cameras: tuple[CameraScore, ...]
    best: str
    reason: str
    programme: Programme
    notes: tuple[str, ...]
    paths: Mapping[str, Path]


@dataclass(frozen=True)
class VideoScore:
    """One video of a folder: its score (None when it could not be read), notes on what was not
    scored in it, and the error that stopped it."""

    video: Path
    score: CameraScore | None
    notes: tuple[str, ...] = ()
    error: str | None = None

    def to_json(self) -> dict:
        return {"video": self.video.name, "score": None if self.score is None else self.score.to_json(),
                "notes": list(self.notes), "error": self.error}


@dataclass(frozen=True)
class _Scorers:
    """The learned models asked for, loaded once per run; notes: what no video will get, and why."""

    aesthetic_scorer: aesthetics.AestheticScorer | None
    vsfa_models: tuple[vsfa.VSFA, vsfa.FrameFeatures] | None  # the head and its frame-feature backbone
    notes: tuple[str, ...]


def _scorers(options: AssessOptions) -> _Scorers:
    """A head the user names must load (a ModelError otherwise); the VSFA backbone is the
    machine's business (ImageNet weights may be absent offline), so it only leaves a note."""
    notes = []
    scorer = None if options.aesthetic_head is None else aesthetics.from_pretrained(options.aesthetic_head)
    if scorer is None:
        notes.append(NO_AESTHETICS)
    video_model = None
    if options.vsfa is None:
        notes.append(NO_VSFA)
    else:
        head = vsfa.from_pretrained(options.vsfa)
        try:
            video_model = (head, vsfa.load_backbone(weights=options.vsfa_backbone_weights))
        except ModelError as exc:
            notes.append(f"VSFA not scored: {exc}")
    return _Scorers(scorer, video_model, tuple(notes))


def _pixel_measures(video: Path, scorers: _Scorers, options: AssessOptions) -> tuple[list[Measure], list[str]]:
    """Image quality, aesthetics and VSFA of one video, and notes on what it could not get. A
    video that cannot be opened raises VideoError; one too small for NIQE is noted and still
    gets the learned scores."""
    info = probe(video)
    notes = []
    try:
        measures = video_quality(video, options.every, options.max_side)
    except VideoError as exc:
        measures = []
        notes.append(f"image quality not scored: {exc.problem}")
    if scorers.aesthetic_scorer is not None:
        measures += _aesthetic_measures(scorers.aesthetic_scorer, info, options)
    if scorers.vsfa_models is not None:
        head, backbone = scorers.vsfa_models
        measures += vsfa.score_video(video, head, backbone, max_side=options.max_side).to_measures()
    return measures, notes


def _aesthetic_measures(scorer: aesthetics.AestheticScorer, info: VideoInfo, options: AssessOptions) -> list[Measure]:
    """The learned scores of frames sampled as image quality samples them, thinned to at most
    AESTHETIC_FRAMES; curves hold NaN at the frames not scored, as `video_quality`'s do."""
    stride = max(options.every, math.ceil(info.estimated_frames / AESTHETIC_FRAMES))
    side = AESTHETIC_SIDE if options.max_side is None else min(options.max_side, AESTHETIC_SIDE)
    images, sampled, n_frames = [], [], 0
    with read_frames(info.path, side) as reader:
        for frame in reader:
            if frame.index % stride == 0:
                images.append(frame.image)
                sampled.append(frame.index)
            n_frames = frame.index + 1
    return [_spread(m, sampled, n_frames) for m in scorer.score_frames(images).to_measures()]


def _spread(measure: Measure, frames: Sequence[int], n_frames: int) -> Measure:
    if measure.curve is None:
        return measure
    curve = np.full(n_frames, np.nan)
    curve[list(frames)] = measure.curve
    return replace(measure, curve=curve)


# ---------------------------------------------------------------------------- one camera, cached


@dataclass(frozen=True)
class CameraMeasures:
    """One camera's measures before fusion (shot rules, then the pixel measures), notes on what
    it could not get, and the notes of the scorers used (what no camera gets with the options)."""

    camera: str
    measures: tuple[Measure, ...]
    notes: tuple[str, ...] = ()
    scorer_notes: tuple[str, ...] = ()


def measure_camera(cameras_dir: str | os.PathLike, name: str, options: AssessOptions = AssessOptions(),
                   scorers: Callable[[], _Scorers] | None = None) -> CameraMeasures:
    """Camera `name` of a render output's `cameras/` folder measured on its own, and cached as
    `cameras/<name>.scores.json`; a valid cache (the same video, track and metadata bytes, the
    same measuring options, the same cinestage) is read instead. `scorers` loads the learned
    models when a camera needs measuring (default: loaded here from `options`)."""
    cameras_dir = Path(cameras_dir)
    key = _cache_key(cameras_dir, name, options)
    cached = _read_cache(cameras_dir / f"{name}{CAMERA_SCORES}", key)
    if cached is not None:
        return cached
    loaded = scorers() if scorers is not None else _scorers(options)
    camera = read_rendered_camera(cameras_dir, name)
    pixels, notes = _pixel_measures(cameras_dir / f"{name}.mp4", loaded, options)
    measured = CameraMeasures(name, tuple(camera.rules() + pixels), tuple(notes), loaded.notes)
    save_json(cameras_dir / f"{name}{CAMERA_SCORES}", {
        "schema": CAMERA_SCORES_SCHEMA, "version": 1, "key": key, "camera": name,
        "measures": [_measure_json(m) for m in measured.measures],
        "notes": list(measured.notes), "scorer_notes": list(measured.scorer_notes)})
    return measured


def _cache_key(cameras_dir: Path, name: str, options: AssessOptions) -> dict:
    """What a camera's measures depend on: its files' contents and the measuring options."""
    digests = {}
    for suffix in (".mp4", ".track.json", ".meta.json"):
        digest = hashlib.sha256()
        try:
            with open(cameras_dir / f"{name}{suffix}", "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
        except OSError as exc:
            raise CinestageError(str(cameras_dir / f"{name}{suffix}"), f"cannot read: {exc.strerror}") from None
        digests[suffix] = digest.hexdigest()
    measuring = {k: v for k, v in options.to_json().items() if k not in ("weights", "programme")}
    return {"cinestage": __version__, "options": measuring, "files": digests}


def _read_cache(path: Path, key: dict) -> CameraMeasures | None:
    """The cached measures when the file is whole, of this schema and made under `key`; else None."""
    try:
        doc = json.loads(path.read_text())
        if doc.get("schema") != CAMERA_SCORES_SCHEMA or doc.get("version") != 1 or doc.get("key") != key:
            return None
        return CameraMeasures(str(doc["camera"]), tuple(_measure_from_json(m) for m in doc["measures"]),
                              tuple(map(str, doc["notes"])), tuple(map(str, doc["scorer_notes"])))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError, AttributeError, KeyError, TypeError, ValueError):
        return None


def _exact(x: float):
    """A float for JSON at full precision: None for NaN, strings for the infinities."""
    x = float(x)
    return None if math.isnan(x) else ("inf" if x > 0 else "-inf") if math.isinf(x) else x


def _number(x) -> float:
    return math.nan if x is None else float(x)


def _measure_json(m: Measure) -> dict:
    return {"name": m.name, "value": _exact(m.value), "low": _exact(m.low), "high": _exact(m.high), "better": m.better,
            "unit": m.unit, "curve": None if m.curve is None else [_exact(x) for x in np.asarray(m.curve, float)]}


def _measure_from_json(d: dict) -> Measure:
    curve = None if d["curve"] is None else np.array([_number(x) for x in d["curve"]], float)
    return Measure(str(d["name"]), _number(d["value"]), _number(d["low"]), _number(d["high"]), d["better"], curve,
                   str(d["unit"]))


# ---------------------------------------------------------------------------- render outputs


@dataclass(frozen=True)
class _Render:
    """What assess reads from a render's manifest."""

    manifest: dict
    title: str
    fps: float
    cameras: tuple[str, ...]
    videos: Mapping[str, Path]


def _read_render(out_dir: Path) -> _Render:
    path = out_dir / MANIFEST
    try:
        manifest = json.loads(path.read_text())
        performance = manifest["performance"]
        cameras = tuple(str(c["name"]) for c in manifest["cameras"])
        videos = {str(c["name"]): out_dir / c["files"]["video"] for c in manifest["cameras"]}
        render = _Render(manifest, str(performance["name"]), float(performance["fps"]), cameras, videos)
    except OSError as exc:
        raise CinestageError(str(path), f"cannot read the manifest: {exc.strerror}") from None
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise CinestageError(str(path), f"not a cinestage render manifest ({type(exc).__name__}: {exc})") from None
    if not cameras:
        raise CinestageError(str(path), "lists no cameras to assess")
    return render


def assess_render(out_dir: str | os.PathLike, options: AssessOptions = AssessOptions(),
                  progress: Progress | None = None, out_csv: str | os.PathLike | None = None) -> AssessResult:
    """Score every camera of a render output (shot rules, image quality, and aesthetics and VSFA
    when their models are given), choose the best, cut the programme and write FILES into it
    (the CSV at `out_csv` when given). progress(done, total) counts cameras, then the programme."""
    out_dir = Path(out_dir)
    render = _read_render(out_dir)
    scorers = functools.cache(lambda: _scorers(options))  # loaded only if a camera has no valid cache
    total = len(render.cameras) + 1
    scores, views, sides, skipped, scorer_notes = [], {}, {}, {}, {}
    for done, name in enumerate(render.cameras, 1):
        camera = read_rendered_camera(render.videos[name].parent, name)
        measured = measure_camera(render.videos[name].parent, name, options, scorers)
        for note in measured.notes:
            skipped.setdefault(note, []).append(name)
        scorer_notes.update(dict.fromkeys(measured.scorer_notes))
        scores.append(fuse(list(measured.measures), options.weights, camera=name))
        heads = camera.heads()
        # A one-actor performance has no axis: its camera stands on no side of the line.
        head_a, head_b = heads[:, 0], heads[:, min(1, heads.shape[1] - 1)]
        views[name] = actors_view(camera.track, head_a, head_b)
        sides[name] = line_side(camera.track, head_a, head_b)
        if progress:
            progress(done, total)
    best, reason = best_camera(scores)
    curves = {s.camera: s.curve if s.curve is not None else np.full(len(sides[s.camera]), s.value) for s in scores}
    programme = cut_programme(curves, views, sides, render.fps, options.programme)
    notes = tuple(scorer_notes) + tuple(f"{note} (cameras: {', '.join(names)})" for note, names in skipped.items())

    paths = {kind: out_dir / name for kind, name in FILES.items()}
    if out_csv is not None:
        paths["scores_csv"] = Path(out_csv)
    assemble(programme, render.videos, paths["programme"])
    write_edl(programme, paths["edl"], render.title)
    write_edl_json(programme, paths["edl_json"], render.title)
    _link_or_copy(render.videos[best], paths["best"])
    write_text(paths["scores_csv"], scores_csv("camera", [(s.camera, s) for s in scores]))
    save_json(paths["scores_json"], {
        "schema": "cinestage.scores", "version": 1, "performance": render.title, "options": options.to_json(),
        "notes": list(notes), "best": {"camera": best, "reason": reason, "video": FILES["best"]},
        "cameras": [s.to_json() for s in scores],
        "programme": {"video": FILES["programme"], "edl": FILES["edl"], "edl_json": FILES["edl_json"],
                      **programme.to_json()},
    })
    caches = [render.videos[name].parent / f"{name}{CAMERA_SCORES}" for name in render.cameras]
    add_to_manifest(out_dir, [*paths.values(), *caches], best_camera=best)  # --out-csv may point elsewhere: not listed
    if progress:
        progress(total, total)
    return AssessResult(tuple(scores), best, reason, programme, notes, paths)


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link costs no space; a copy where the file system has none. Either lands atomically."""
    with atomic_path(target) as tmp:
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)


# ---------------------------------------------------------------------------- folders of videos


def videos_in(folder: str | os.PathLike) -> list[Path]:
    """The videos directly in `folder` (by suffix, hidden files skipped), sorted by name; a
    CinestageError when it is not a folder or holds none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CinestageError(str(folder), "no such folder" if not folder.exists() else "is not a folder")
    found = sorted(p for p in folder.iterdir()
                   if p.suffix.lower() in vsfa.VIDEO_SUFFIXES and not p.name.startswith(".") and p.is_file())
    if not found:
        raise CinestageError(str(folder), f"holds no videos ({', '.join(sorted(vsfa.VIDEO_SUFFIXES))}) and no "
                                          f"cinestage {MANIFEST}")
    return found


def assess_videos(folder: str | os.PathLike, options: AssessOptions = AssessOptions(),
                  out_csv: str | os.PathLike | None = None, progress: Progress | None = None) -> list[VideoScore]:
    """Image quality (and aesthetics and VSFA when their models are given) of every video in
    `folder`, fused, into one CSV (default FOLDER/scores.csv) and a JSON beside it. A video that
    cannot be scored at all gets a row with the reason; the others go on."""
    videos = videos_in(folder)
    out_csv = Path(folder) / FILES["scores_csv"] if out_csv is None else Path(out_csv)
    scorers = _scorers(options)
    results = []
    for done, video in enumerate(videos, 1):
        results.append(_score_video(video, scorers, options))
        if progress:
            progress(done, len(videos))
    errors = {r.video.name: r.error for r in results if r.error}
    write_text(out_csv, scores_csv("video", [(r.video.name, r.score) for r in results], errors))
    save_json(out_csv.with_suffix(".json"), {
        "schema": "cinestage.video_scores", "version": 1, "folder": str(folder), "options": options.to_json(),
        "notes": list(scorers.notes), "videos": [r.to_json() for r in results],
    })
    return results


def _score_video(video: Path, scorers: _Scorers, options: AssessOptions) -> VideoScore:
    try:
        measures, notes = _pixel_measures(video, scorers, options)
    except VideoError as exc:
        return VideoScore(video, None, error=exc.problem)
    if not measures:
        return VideoScore(video, None, tuple(notes), "; ".join(notes))
    return VideoScore(video, fuse(measures, options.weights, camera=video.name), tuple(notes))


# ---------------------------------------------------------------------------- the CSV


def column(measure: Measure) -> str:
    """A CSV header that carries the measure's range and direction: `niqe [0..inf, lower better]`."""
    return f"{measure.name} [{measure.low:g}..{measure.high:g}, {measure.better} better]"


def scores_csv(label: str, rows: Sequence[tuple[str, CameraScore | None]],
               errors: Mapping[str, str] | None = None) -> str:
    """A header, then per row: its name (under `label`), the fused score and every measure's value
    (empty where it has none, or NaN); measures in order of first appearance. `errors` (name ->
    reason) adds an `error` column."""
    measures: dict[str, Measure] = {}
    for _, score in rows:
        for m in score.measures if score else ():
            measures.setdefault(m.name, m)
    header = [label, column(fused_measure(math.nan))] + [column(m) for m in measures.values()]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header + ([] if errors is None else ["error"]))
    for name, score in rows:
        values = {m.name: m.value for m in score.measures} if score else {}
        row = [name, _cell(score.value if score else math.nan)] + [_cell(values.get(n, math.nan)) for n in measures]
        writer.writerow(row + ([] if errors is None else [errors.get(name, "")]))
    return text.getvalue()


def _cell(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.6g}"
