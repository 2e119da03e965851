"""Render a performance through a list of cameras into the standard output layout.

    DIR/cameras/<name>.mp4, <name>.track.{json,csv,gltf}, <name>.meta.json
    DIR/contact_sheet.png
    DIR/manifest.json
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from cinestage import __version__
from cinestage.camera.export import write_csv, write_gltf, write_json
from cinestage.camera.spec import build_track
from cinestage.camera.track import CameraTrack
from cinestage.pipeline.contact_sheet import contact_sheet, still_frames
from cinestage.pipeline.output import MANIFEST, save_json, staged_directory
from cinestage.render.engine import engine
from cinestage.render.mannequin import Body
from cinestage.render.metadata import camera_meta, check_clearance
from cinestage.render.renderer import RenderOptions, render_videos
from cinestage.stage.performance import Performance


@dataclass(frozen=True)
class RenderResult:
    out: Path
    cameras: tuple[str, ...]
    manifest: dict

    def files(self, camera: str) -> dict[str, Path]:
        return {k: self.out / v for k, v in self.manifest["cameras"][self.cameras.index(camera)]["files"].items()}


def shoot_tracks(performance: Performance, specs: Sequence, opts: RenderOptions) -> list[CameraTrack]:
    return [build_track(spec, performance, opts.width / opts.height) for spec in specs]


def render_performance(performance: Performance, tracks: Sequence[CameraTrack], out: Path, opts: RenderOptions,
                       progress: Callable[[int, int], None] | None = None,
                       extra: dict[str, dict] | None = None) -> RenderResult:
    """`extra`: more JSON files (name -> data) that belong to the same output, written with it."""
    bodies = [Body(a) for a in performance.actors]
    check_clearance(performance, bodies, list(tracks))
    started = time.perf_counter()
    with staged_directory(out) as stage:
        cams = stage / "cameras"
        cams.mkdir()
        videos = [cams / f"{t.name}.mp4" for t in tracks]
        stills = render_videos(performance, tracks, videos, opts, progress, still_frames(performance.n_frames))
        render_seconds = time.perf_counter() - started
        entries = []
        for track, video in zip(tracks, videos):
            base = cams / track.name
            write_json(track, base.with_suffix(".track.json"))
            write_csv(track, base.with_suffix(".track.csv"))
            write_gltf(track, base.with_suffix(".track.gltf"))
            meta = camera_meta(performance, bodies, track)
            save_json(base.with_suffix(".meta.json"), meta.to_json(performance))
            entries.append({
                "name": track.name,
                "rig": track.rig,
                "params": track.params,
                "files": {kind: f"cameras/{track.name}{suffix}" for kind, suffix in (
                    ("video", ".mp4"), ("track_json", ".track.json"), ("track_csv", ".track.csv"),
                    ("track_gltf", ".track.gltf"), ("meta", ".meta.json"))},
                "both_actors_on_screen": float(((meta.on_screen > 0.5).all(axis=1)).mean()),
            })
        contact_sheet([t.name for t in tracks], stills, performance.fps, stage / "contact_sheet.png")
        manifest = {
            "cinestage": __version__,
            "performance": {"name": performance.name, "fps": performance.fps, "n_frames": performance.n_frames,
                            "duration": performance.duration, "actors": [a.name for a in performance.actors]},
            "video": {"width": opts.width, "height": opts.height, "codec": "h264", "crf": opts.crf},
            "renderer": engine(opts.display).kind,
            "render_seconds": round(render_seconds, 3),
            "camera_frames_per_second": round(performance.n_frames * len(tracks) / render_seconds, 1),
            "cameras": entries,
            "contact_sheet": "contact_sheet.png",
            "files": sorted(extra or {}),
        }
        for name, data in (extra or {}).items():
            save_json(stage / name, data)
        save_json(stage / MANIFEST, manifest)
    return RenderResult(Path(out), tuple(t.name for t in tracks), manifest)
