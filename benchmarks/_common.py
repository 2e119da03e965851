"""Shared set-up for the render benchmarks: the demo duet through the six demo cameras."""

from __future__ import annotations

import statistics
from importlib import resources

from cinestage.camera.spec import load_cameras
from cinestage.pipeline.render_job import shoot_tracks
from cinestage.render.renderer import RenderOptions
from cinestage.stage.performance_file import demo_performance


def demo_setup(duration: float, width: int = 640, height: int = 360):
    opts = RenderOptions(width=width, height=height)
    perf = demo_performance(duration, 25.0)
    with resources.as_file(resources.files("cinestage.camera") / "demo_cameras.yaml") as path:
        specs = load_cameras(path)
    return perf, shoot_tracks(perf, specs, opts), opts


def median(xs):
    return statistics.median(xs)
