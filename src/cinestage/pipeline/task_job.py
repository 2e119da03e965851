"""One shoot as three steps, so its cameras can fan out over processes or machines and a task
that is retried does not redo the cameras already finished:

    plan(spec)                         the performance and every camera's track (learned cameras
                                       from the reference's styles, then the preset rigs); once,
                                       on the machine that coordinates
    render_cameras(plan, names, out)   a GROUP of cameras rendered in one engine pass (the
                                       multi-camera efficiency of `render_job`) and each one
                                       measured alone: out/cameras/<name>.{mp4, track.json,
                                       track.csv, track.gltf, meta.json, scores.json}
    finish(plan, out)                  contact sheet + manifest from the per-camera files, the
                                       assessment (reusing each camera's cached measures), the
                                       best camera and programme, and delivery (highlights,
                                       tags, report)

`render_group_job(CameraGroup)` is the group step as an executor job: a top-level function of a
picklable value (the performance and the group's tracks) that works in a temporary folder on
whichever machine runs it and returns the files it made, so it needs no shared disk.

A plan is deterministic: the same spec gives the same camera names and tracks, so a camera
finished by one attempt fits the plan of the next.
"""

from __future__ import annotations

import logging
import math
import tempfile
from dataclasses import asdict, dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Callable, Iterable, Sequence

from cinestage.camera.spec import load_cameras
from cinestage.camera.track import CameraTrack
from cinestage.errors import CameraError, CinestageError
from cinestage.files import atomic_path
from cinestage.pipeline.assess_job import CAMERA_SCORES, AssessOptions, assess_render, measure_camera
from cinestage.pipeline.render_job import CAMERA_FILES, render_group, write_summary
from cinestage.render.renderer import RenderOptions
from cinestage.settings import Settings
from cinestage.stage.performance import Performance

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
TASK_TYPES = ("shoot", "demo")
DEFAULT_GATING = "lstm-sa3"  # behavior.style.DEFAULT_GATING (not imported: it loads torch)
# Every camera's files in the order they are made; the cached measures come last, so a camera
# whose scores file is stored has all its files stored.
CAMERA_SUFFIXES = (*CAMERA_FILES.values(), CAMERA_SCORES)
# The assessment `cinestage demo` and `shoot` run, so a task's scores equal the CLI's.
ASSESS = AssessOptions()


@dataclass(frozen=True)
class TaskSpec:
    """What one task shoots. task_type: "shoot" (a reference clip's styles next to the presets)
    or "demo" (the presets only); reference: the clip (a shoot needs one); performance: a
    performance file, or None for the built-in duet of `duration` seconds at `fps`; presets:
    names of the demo's preset rigs (None: all six); width, height: video size; highlights:
    how many highlights delivery cuts."""

    task_type: str = "demo"
    reference: str | None = None
    performance: str | None = None
    duration: float = 10.0
    fps: float = 25.0
    presets: tuple[str, ...] | None = None
    width: int = 384
    height: int = 216
    highlights: int = 3
    gating: str = DEFAULT_GATING

    def __post_init__(self) -> None:
        if self.task_type not in TASK_TYPES:
            raise CinestageError("task_type", f"must be one of {', '.join(TASK_TYPES)}, not {self.task_type!r}")
        if self.task_type == "shoot" and not self.reference:
            raise CinestageError("task", "a shoot needs a reference clip")
        if self.presets is not None:
            object.__setattr__(self, "presets", tuple(str(p) for p in self.presets))
        for name in ("reference", "performance"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, str(value))

    def to_json(self) -> dict:
        data = asdict(self)
        data["presets"] = None if self.presets is None else list(self.presets)
        return data

    @classmethod
    def from_json(cls, data: dict) -> TaskSpec:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise CinestageError("task spec", f"unknown field(s) {', '.join(unknown)}")
        return cls(**data)


@dataclass(frozen=True)
class ShootPlan:
    """Everything the cameras need: the spec, the performance, every camera's track (presets,
    then learned cameras), the render options, the styles learned from the reference (shoots)
    and why no learned camera was made (None when some were, or for a demo)."""

    spec: TaskSpec
    performance: Performance
    tracks: tuple[CameraTrack, ...]
    options: RenderOptions
    styles: tuple = ()
    problem: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tracks)

    def track(self, name: str) -> CameraTrack:
        for t in self.tracks:
            if t.name == name:
                return t
        raise CameraError(name, f"no such camera in the plan ({', '.join(self.names)})")

    def extra(self) -> dict[str, dict]:
        """The JSON files beside the cameras: a shoot's styles.json."""
        if self.spec.task_type != "shoot":
            return {}
        from cinestage.pipeline.shoot_job import styles_json

        return {"styles.json": styles_json(Path(self.spec.reference), self.spec.gating, self.styles, self.problem)}


@dataclass(frozen=True)
class CameraGroup:
    """A group of cameras rendered together in one engine: an executor's unit of work."""

    performance: Performance
    tracks: tuple[CameraTrack, ...]
    options: RenderOptions

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tracks)

    def __str__(self) -> str:
        return f"cameras {'+'.join(self.names)}"


def preset_specs(names: Sequence[str] | None = None) -> list:
    """The demo's preset rigs (camera/demo_cameras.yaml), all or the ones named, in the order named."""
    with resources.as_file(resources.files("cinestage.camera") / "demo_cameras.yaml") as path:
        specs = load_cameras(path)
    if names is None:
        return specs
    by_name = {s.name: s for s in specs}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise CameraError("presets", f"unknown preset(s) {', '.join(unknown)}; choose from {', '.join(by_name)}")
    if len(set(names)) != len(names):
        raise CameraError("presets", f"presets repeat: {', '.join(names)}")
    return [by_name[n] for n in names]


def render_options(spec: TaskSpec, settings: Settings | None = None) -> RenderOptions:
    s = settings or Settings()
    return RenderOptions(width=spec.width, height=spec.height, crf=s.crf, preset=s.preset, display=s.display)


def plan(spec: TaskSpec, settings: Settings | None = None) -> ShootPlan:
    """The performance and every camera's track for `spec` (the reference is analysed here)."""
    from cinestage.camera.spec import build_track
    from cinestage.stage.performance_file import demo_performance, load_performance

    options = render_options(spec, settings)
    aspect = options.width / options.height
    performance = demo_performance(spec.duration, spec.fps) if spec.performance is None else \
        load_performance(Path(spec.performance))
    presets = preset_specs(spec.presets)
    if spec.task_type == "demo":
        tracks, styles, problem = [build_track(s, performance, aspect) for s in presets], [], None
    else:
        from cinestage.pipeline.shoot_job import shoot_cameras

        tracks, styles, problem = shoot_cameras(Path(spec.reference), performance, presets, aspect, spec.gating)
    if not tracks:
        raise CameraError("presets", f"no camera to shoot with: choose at least one preset{f' ({problem})' if problem else ''}")
    return ShootPlan(spec, performance, tuple(tracks), options, tuple(styles), problem)


def camera_groups(plan: ShootPlan, names: Sequence[str], size: int) -> list[CameraGroup]:
    """`names` in groups of at most `size` cameras, dealt round the groups in plan order (so
    each group mixes rigs), deterministically."""
    if not names:
        return []
    count = math.ceil(len(names) / max(1, size))
    ordered = [n for n in plan.names if n in set(names)]
    return [CameraGroup(plan.performance, tuple(plan.track(n) for n in ordered[k::count]), plan.options)
            for k in range(count)]


def camera_paths(name: str) -> list[str]:
    """A camera's files, relative to the output, in the order they are made (scores last)."""
    return [f"cameras/{name}{suffix}" for suffix in CAMERA_SUFFIXES]


def finished_cameras(names: Iterable[str], present: Iterable[str]) -> list[str]:
    """The cameras among `names` whose every file is among the relative paths `present`."""
    present = set(present)
    return [n for n in names if all(p in present for p in camera_paths(n))]


def _render_and_measure(performance: Performance, tracks: Sequence[CameraTrack], options: RenderOptions,
                        out_dir: Path, progress: Progress | None = None) -> list[str]:
    cams = Path(out_dir) / "cameras"
    group = render_group(performance, tracks, cams, options, progress)
    for name in group.cameras:
        measure_camera(cams, name, ASSESS)
    return list(group.cameras)


def render_cameras(plan: ShootPlan, names: Sequence[str], out_dir: Path, progress: Progress | None = None) -> list[str]:
    """Render the cameras `names` of the plan together in one engine into out_dir/cameras and
    measure each one (cached as cameras/<name>.scores.json). Returns the names rendered."""
    return _render_and_measure(plan.performance, [plan.track(n) for n in names], plan.options, out_dir, progress)


def render_group_job(group: CameraGroup) -> dict[str, bytes]:
    """An executor job: render and measure the group in a temporary folder on the machine that
    runs it; returns its files (path relative to the output -> bytes), cameras in order, each
    camera's files in `camera_paths` order."""
    with tempfile.TemporaryDirectory(prefix="cinestage-group-") as tmp:
        names = _render_and_measure(group.performance, group.tracks, group.options, Path(tmp))
        return {rel: (Path(tmp) / rel).read_bytes() for name in names for rel in camera_paths(name)}


def write_files(files: dict[str, bytes], out_dir: Path) -> list[Path]:
    """Files a group job returned, written under out_dir (each whole under its name)."""
    written = []
    for rel, data in files.items():
        target = Path(out_dir) / rel
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
        written.append(target)
    return written


@dataclass(frozen=True)
class Finished:
    """best: the chosen camera; reason: why; notes: what was not scored; delivered: whether the
    delivery step (highlights, tags, report) ran."""

    best: str
    reason: str
    notes: tuple[str, ...]
    delivered: bool


def finish(plan: ShootPlan, out_dir: Path, progress: Progress | None = None) -> Finished:
    """Contact sheet and manifest from the per-camera files in out_dir/cameras, the assessment
    (each camera's cached measures reused), the best camera and programme, then delivery.
    progress(done, 100) in percent of this step."""
    out = Path(out_dir)
    present = [p.relative_to(out).as_posix() for p in (out / "cameras").glob("*")] if (out / "cameras").is_dir() else []
    missing = sorted(set(plan.names) - set(finished_cameras(plan.names, present)))
    if missing:
        raise CinestageError(str(out), f"camera(s) not rendered yet: {', '.join(missing)}")

    def share(low: int, high: int) -> Progress | None:
        if progress is None:
            return None
        return lambda done, total: progress(low + int((high - low) * done / max(total, 1)), 100)

    write_summary(out, plan.performance, plan.options, plan.names, extra=plan.extra())
    if progress:
        progress(10, 100)
    assessed = assess_render(out, ASSESS, share(10, 50))
    delivered = _deliver(out, plan.spec.highlights, share(50, 100))
    if progress:
        progress(100, 100)
    return Finished(assessed.best, assessed.reason, assessed.notes, delivered)


def _deliver(out: Path, top: int, progress: Progress | None) -> bool:
    try:
        from cinestage.pipeline.deliver_job import deliver
    except ModuleNotFoundError as exc:
        if exc.name != "cinestage.pipeline.deliver_job":
            raise
        log.warning("delivery skipped (highlights, tags, report): cinestage.pipeline.deliver_job is not there yet")
        return False
    deliver(out, top=top, progress=progress)
    return True
