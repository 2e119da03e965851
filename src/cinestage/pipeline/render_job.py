"""Render a performance through a list of cameras into the standard output layout.

    DIR/cameras/<name>.mp4, <name>.track.{json,csv,gltf}, <name>.meta.json
    DIR/contact_sheet.png
    DIR/manifest.json

Two steps, usable apart: `render_group` renders a group of cameras in one engine pass and
writes each camera's files (several groups, even on other machines, may fill one `cameras/`
folder), and `write_summary` adds the contact sheet and the manifest from the per-camera files.
`render_performance` does both in a staged folder.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from cinestage import __version__
from cinestage.camera.export import write_csv, write_gltf, write_json
from cinestage.camera.spec import build_track
from cinestage.camera.track import CameraTrack
from cinestage.errors import CinestageError
from cinestage.pipeline.contact_sheet import contact_sheet, still_frames
from cinestage.pipeline.output import MANIFEST, save_json, staged_directory
from cinestage.render.engine import engine
from cinestage.render.mannequin import Body
from cinestage.render.metadata import camera_meta, check_clearance
from cinestage.render.renderer import RenderOptions, render_videos
from cinestage.stage.performance import Performance, Venue, house_bounds

# A camera's files in `cameras/`: manifest kind -> suffix after the camera's name.
CAMERA_FILES = {"video": ".mp4", "track_json": ".track.json", "track_csv": ".track.csv",
                "track_gltf": ".track.gltf", "meta": ".meta.json"}


@dataclass(frozen=True)
class RenderResult:
    out: Path
    cameras: tuple[str, ...]
    manifest: dict

    def files(self, camera: str) -> dict[str, Path]:
        return {k: self.out / v for k, v in self.manifest["cameras"][self.cameras.index(camera)]["files"].items()}


@dataclass(frozen=True)
class GroupRender:
    """cameras: the names rendered; seconds: the render pass's wall time; stills: frame -> RGB
    image per camera (the frames asked for)."""

    cameras: tuple[str, ...]
    seconds: float
    stills: dict[int, list[np.ndarray]]


def shoot_tracks(performance: Performance, specs: Sequence, opts: RenderOptions) -> list[CameraTrack]:
    return [build_track(spec, performance, opts.width / opts.height) for spec in specs]


def camera_files(name: str) -> dict[str, str]:
    """Manifest kind -> path of the camera's file, relative to the render output."""
    return {kind: f"cameras/{name}{suffix}" for kind, suffix in CAMERA_FILES.items()}


def render_group(performance: Performance, tracks: Sequence[CameraTrack], cams: Path, opts: RenderOptions,
                 progress: Callable[[int, int], None] | None = None, stills: Sequence[int] = ()) -> GroupRender:
    """Render a group of cameras in one engine pass into the folder `cams` and write each one's
    video, track (JSON, CSV, glTF) and metadata. The metadata also records the renderer and the
    camera's share of the pass's time (`render`), so a manifest can be written from the files
    alone. Every file lands whole under its name, so groups may share one folder."""
    bodies = [Body(a) for a in performance.actors]
    check_clearance(performance, bodies, list(tracks))
    started = time.perf_counter()
    cams.mkdir(parents=True, exist_ok=True)
    kept = render_videos(performance, tracks, [cams / f"{t.name}.mp4" for t in tracks], opts, progress, stills)
    seconds = time.perf_counter() - started
    names = tuple(t.name for t in tracks)
    renderer = engine(opts.display).kind
    for track in tracks:
        write_json(track, cams / f"{track.name}.track.json")
        write_csv(track, cams / f"{track.name}.track.csv")
        write_gltf(track, cams / f"{track.name}.track.gltf")
        meta = camera_meta(performance, bodies, track).to_json(performance)
        meta["render"] = {"renderer": renderer, "seconds": seconds / len(tracks), "group": list(names)}
        save_json(cams / f"{track.name}.meta.json", meta)
    return GroupRender(names, seconds, kept)


def camera_entry(out: Path, name: str) -> dict:
    """A camera's manifest entry, read back from its files (track and metadata)."""
    path = out / camera_files(name)["meta"]
    try:
        track = json.loads((out / camera_files(name)["track_json"]).read_text())
        meta = json.loads(path.read_text())
        on_screen = np.array([a["on_screen"] for a in meta["actors"]], float).T  # (T, A)
        return {"name": name, "rig": track["rig"], "params": track["params"], "files": camera_files(name),
                "both_actors_on_screen": float(((on_screen > 0.5).all(axis=1)).mean())}
    except OSError as exc:
        raise CinestageError(str(path), f"camera {name} is not rendered: {exc.strerror}") from None
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise CinestageError(str(path), f"malformed camera files ({type(exc).__name__}: {exc})") from None


def read_stills(out: Path, names: Sequence[str], frames: Sequence[int]) -> dict[int, list[np.ndarray]]:
    """The requested frames of each camera's video, decoded (RGB): stills for a contact sheet
    when the cameras were rendered elsewhere."""
    from cinestage.film.video import frames_at

    found = [frames_at(out / camera_files(name)["video"], frames) for name in names]
    return {f: [images[f] for images in found] for f in frames if all(f in images for images in found)}


def write_summary(out: Path, performance: Performance, opts: RenderOptions, names: Sequence[str],
                  stills: dict[int, list[np.ndarray]] | None = None, extra: dict[str, dict] | None = None) -> dict:
    """The contact sheet and manifest of a render output whose cameras' files are in
    out/cameras (stills decoded from the videos when not given); `extra`: more JSON files
    (name -> data) written with them. render_seconds adds up the cameras' shares of their
    render passes. Returns the manifest."""
    out = Path(out)
    entries = [camera_entry(out, n) for n in names]
    renders = [json.loads((out / e["files"]["meta"]).read_text()).get("render", {}) for e in entries]
    render_seconds = sum(float(r.get("seconds", 0.0)) for r in renders)
    if stills is None:
        stills = read_stills(out, names, still_frames(performance.n_frames))
    contact_sheet(list(names), stills, performance.fps, out / "contact_sheet.png")
    manifest = {
        "cinestage": __version__,
        "performance": {"name": performance.name, "fps": performance.fps, "n_frames": performance.n_frames,
                        "duration": performance.duration, "actors": [a.name for a in performance.actors],
                        "venue": _venue(performance.venue)},
        "video": {"width": opts.width, "height": opts.height, "codec": "h264", "crf": opts.crf},
        "renderer": renders[0].get("renderer") or engine(opts.display).kind,
        "render_seconds": round(render_seconds, 3),
        "camera_frames_per_second": round(performance.n_frames * len(names) / max(render_seconds, 1e-9), 1),
        "cameras": entries,
        "contact_sheet": "contact_sheet.png",
        "files": sorted(extra or {}),
    }
    for name, data in (extra or {}).items():
        save_json(out / name, data)
    save_json(out / MANIFEST, manifest)
    return manifest


def render_performance(performance: Performance, tracks: Sequence[CameraTrack], out: Path, opts: RenderOptions,
                       progress: Callable[[int, int], None] | None = None,
                       extra: dict[str, dict] | None = None) -> RenderResult:
    """`extra`: more JSON files (name -> data) that belong to the same output, written with it."""
    with staged_directory(out) as stage:
        group = render_group(performance, tracks, stage / "cameras", opts, progress, still_frames(performance.n_frames))
        manifest = write_summary(stage, performance, opts, group.cameras, group.stills, extra)
    return RenderResult(Path(out), group.cameras, manifest)


def _venue(venue: Venue) -> dict:
    """The floor plan a report draws: the stage (centred on x = 0, audience at y < 0) and the
    walls cameras stay inside, in metres."""
    low, high = house_bounds(venue)
    return {"stage_width": venue.stage_width, "stage_depth": venue.stage_depth,
            "house": {"min": [float(low[0]), float(low[1])], "max": [float(high[0]), float(high[1])]}}
