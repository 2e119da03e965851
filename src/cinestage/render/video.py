"""Streaming H.264 MP4 writing with PyAV: frames go straight to the encoder, never kept."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from cinestage.errors import RenderError
from cinestage.files import temporary_sibling


class VideoWriter:
    """Writes to a unique hidden sibling and renames on close, so a finished name means a finished
    file and two jobs writing the same name never interleave."""

    def __init__(self, path: Path, width: int, height: int, fps: float, crf: int = 20, preset: str = "veryfast",
                 pixel_format: str = "rgb24"):
        self.path = Path(path)
        self.partial = temporary_sibling(self.path)
        self.pixel_format = pixel_format
        try:
            self.container = av.open(str(self.partial), mode="w")
        except OSError as exc:
            raise RenderError(str(self.path), f"cannot write video: {exc.strerror or exc}") from None
        rate = Fraction(fps).limit_denominator(1001)
        self.stream = self.container.add_stream("libx264", rate=rate)
        self.stream.width, self.stream.height = width, height
        self.stream.pix_fmt = "yuv420p"
        self.stream.options = {"crf": str(crf), "preset": preset}
        # Many cameras encode at once: one x264 thread each keeps the cores for rendering.
        self.stream.codec_context.thread_count = 1
        self.frames = 0

    def write(self, image: np.ndarray) -> None:
        frame = av.VideoFrame.from_ndarray(image, format=self.pixel_format)
        frame.pts = self.frames
        self.frames += 1
        self.container.mux(self.stream.encode(frame))

    def close(self) -> Path:
        self.container.mux(self.stream.encode(None))
        self.container.close()
        os.replace(self.partial, self.path)
        return self.path

    def abort(self) -> None:
        try:
            self.container.close()
        finally:
            self.partial.unlink(missing_ok=True)
