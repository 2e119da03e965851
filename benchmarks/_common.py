"""Shared set-up for the benchmarks: the demo duet through the six demo cameras; clips looped
to a longer length."""

from __future__ import annotations

import statistics
from importlib import resources
from pathlib import Path

import av

from cinestage.camera.spec import load_cameras
from cinestage.film.video import read_frames
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


def looped(clip: Path, times: int, out: Path, frames: int | None = None) -> Path:
    """The clip's first `frames` frames (all by default) `times` over, re-encoded at even size:
    a longer clip with the same content, for memory that must not grow with length."""
    with av.open(str(out), "w") as dst:
        stream = None
        n = 0
        for _ in range(times):
            with read_frames(clip) as reader:
                if stream is None:
                    stream = dst.add_stream("libx264", rate=round(reader.info.fps))
                    stream.width, stream.height = (reader.size[0] // 2) * 2, (reader.size[1] // 2) * 2
                    stream.pix_fmt = "yuv420p"
                for f in reader:
                    if f.index == frames:
                        break
                    frame = av.VideoFrame.from_ndarray(f.image[:stream.height, :stream.width], format="rgb24")
                    frame.pts = n
                    n += 1
                    dst.mux(stream.encode(frame))
        dst.mux(stream.encode(None))
    return out
