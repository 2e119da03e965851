"""A small real render for tests: three of the demo's cameras on 3 s of the built-in duet, small
enough to render in seconds, large enough for NIQE."""

from __future__ import annotations

from pathlib import Path

from cinestage.camera.spec import load_cameras
from cinestage.pipeline.render_job import render_performance, shoot_tracks
from cinestage.render.renderer import RenderOptions
from cinestage.stage.performance_file import demo_performance

CAMERAS_YAML = Path(__file__).parents[1] / "src" / "cinestage" / "camera" / "demo_cameras.yaml"
FPS = 25.0
FRAMES = 75  # 3 s
# 256x192: the smallest 4:3 frame NIQE accepts (2x2 patches of 96 pixels)
SIZE = RenderOptions(width=256, height=192)
CAMERAS = ("wide", "two-shot", "orbit")


def render_small(out: Path) -> Path:
    performance = demo_performance(FRAMES / FPS, FPS)
    specs = [s for s in load_cameras(CAMERAS_YAML) if s.name in CAMERAS]
    render_performance(performance, shoot_tracks(performance, specs, SIZE), out, SIZE)
    return out
