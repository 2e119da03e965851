"""All cameras of a performance rendered in one pass over time, each to its own streamed MP4.

The cameras share one offscreen buffer as tiles (one display region each): a frame of the
performance is posed once, drawn once per camera and read back from the GPU in one copy.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from panda3d.core import (
    Camera,
    FrameBufferProperties,
    GraphicsOutput,
    GraphicsPipe,
    NodePath,
    PerspectiveLens,
    RenderState,
    Texture,
    TransformState,
    WindowProperties,
)

from cinestage.camera.track import CameraTrack
from cinestage.errors import RenderError
from cinestage.render.engine import engine
from cinestage.render.scene import StageScene, panda_matrix
from cinestage.render.video import VideoWriter
from cinestage.stage.performance import Performance

MAX_BUFFER_SIDE = 4096
NEAR, FAR = 0.05, 300.0


@dataclass(frozen=True)
class RenderOptions:
    width: int = 640
    height: int = 360
    crf: int = 20
    preset: str = "veryfast"
    display: str = "auto"
    flat: bool = False  # unlit flat colours: a test mode where actors are found by colour

    def __post_init__(self) -> None:
        if not (16 <= self.width <= 4096 and 16 <= self.height <= 4096):
            raise RenderError("--width/--height", f"{self.width}x{self.height} is outside 16..4096 pixels per side")
        if self.width % 2 or self.height % 2:
            raise RenderError("--width/--height", f"{self.width}x{self.height}: H.264 needs even width and height")


def tile_grid(n: int, width: int, height: int) -> tuple[int, int]:
    """Columns and rows of tiles for n cameras, kept within the largest buffer side."""
    cols = max(1, min(n, MAX_BUFFER_SIDE // width))
    cols = min(cols, max(1, math.ceil(math.sqrt(n * height / width))) if n > cols else cols)
    rows = math.ceil(n / cols)
    if rows * height > MAX_BUFFER_SIDE:
        raise RenderError("cameras", f"{n} cameras at {width}x{height} do not fit one {MAX_BUFFER_SIDE}px buffer; lower the resolution or split the camera list")
    return cols, rows


class TiledTarget:
    """One offscreen buffer with a display region and a camera per track."""

    def __init__(self, scene_root: NodePath, tracks: Sequence[CameraTrack], opts: RenderOptions):
        eng = engine(opts.display)
        self.cols, self.rows = tile_grid(len(tracks), opts.width, opts.height)
        w, h = self.cols * opts.width, self.rows * opts.height
        fb = FrameBufferProperties()
        fb.setRgbColor(True)
        fb.setRgbaBits(8, 8, 8, 8)
        fb.setDepthBits(24)
        self.buffer = eng.graphics.makeOutput(eng.pipe, "cameras", -1, fb, WindowProperties.size(w, h),
                                              GraphicsPipe.BF_refuse_window, None, None)
        if self.buffer is None:
            raise RenderError("display", f"could not open a {w}x{h} offscreen buffer on {eng.kind}")
        self.engine = eng
        self.texture = Texture("frame")
        self.buffer.addRenderTexture(self.texture, GraphicsOutput.RTM_copy_ram)
        self.buffer.setClearColor((0.0, 0.0, 0.0, 1.0))
        self.width, self.height = opts.width, opts.height
        self.cameras: list[NodePath] = []
        self.lenses: list[PerspectiveLens] = []
        for i, track in enumerate(tracks):
            col, row = i % self.cols, i // self.cols
            region = self.buffer.makeDisplayRegion(col / self.cols, (col + 1) / self.cols,
                                                   1 - (row + 1) / self.rows, 1 - row / self.rows)
            lens = PerspectiveLens()
            lens.setNearFar(NEAR, FAR)
            cam = scene_root.attachNewNode(Camera(track.name, lens))
            region.setCamera(cam)
            self.cameras.append(cam)
            self.lenses.append(lens)

    def set_pose(self, i: int, track: CameraTrack, frame: int) -> None:
        m = np.eye(4)
        m[:3, :3] = track.rotations[frame]
        m[:3, 3] = track.positions[frame]
        self.cameras[i].setMat(panda_matrix(m))
        self.lenses[i].setFov(math.degrees(track.fov_x[frame]), math.degrees(track.fov_y[frame]))

    def grab(self) -> np.ndarray:
        """The whole buffer as (H, W, 4) BGRA, top row first."""
        self.engine.graphics.renderFrame()
        # ShowBase would do this every frame: without it the cache of per-frame transforms grows.
        TransformState.garbageCollect()
        RenderState.garbageCollect()
        data = memoryview(self.texture.getRamImage())
        image = np.frombuffer(data, np.uint8).reshape(self.rows * self.height, self.cols * self.width, 4)
        return image[::-1]

    def tile(self, image: np.ndarray, i: int) -> np.ndarray:
        col, row = i % self.cols, i // self.cols
        return image[row * self.height:(row + 1) * self.height, col * self.width:(col + 1) * self.width]

    def close(self) -> None:
        self.engine.graphics.removeWindow(self.buffer)


def render_videos(performance: Performance, tracks: Sequence[CameraTrack], paths: Sequence[Path],
                  opts: RenderOptions, progress: Callable[[int, int], None] | None = None,
                  stills: Sequence[int] = ()) -> dict[int, list[np.ndarray]]:
    """Render every track to its path (MP4) and return RGB stills of the requested frames, per camera.

    All or nothing: on failure no finished video name appears.
    """
    for t in tracks:
        if t.n_frames != performance.n_frames:
            raise RenderError(t.name, f"camera track has {t.n_frames} frames, the performance {performance.n_frames}")
        if abs(t.aspect - opts.width / opts.height) > 1e-3:
            raise RenderError(t.name, f"camera aspect {t.aspect:.4f} differs from the video's {opts.width}x{opts.height}")
    scene = StageScene(performance, flat=opts.flat)
    target = TiledTarget(scene.root, tracks, opts)
    writers = [VideoWriter(p, opts.width, opts.height, performance.fps, opts.crf, opts.preset, "bgra") for p in paths]
    # Encoding runs beside the next frame's rendering; PyAV releases the GIL inside x264.
    pool = ThreadPoolExecutor(max_workers=1)
    pending = None
    kept: dict[int, list[np.ndarray]] = {}
    wanted = set(stills)
    try:
        for frame in range(performance.n_frames):
            scene.pose(frame)
            for i, track in enumerate(tracks):
                target.set_pose(i, track, frame)
            image = target.grab().copy()
            if frame in wanted:
                kept[frame] = [target.tile(image, i)[..., 2::-1].copy() for i in range(len(tracks))]
            if pending is not None:
                pending.result()
            pending = pool.submit(_encode, writers, target, image)
            if progress is not None:
                progress(frame + 1, performance.n_frames)
        if pending is not None:
            pending.result()
        for w in writers:
            w.close()
        return kept
    except BaseException:
        for w in writers:
            w.abort()
        raise
    finally:
        pool.shutdown()
        target.close()
        scene.root.removeNode()


def _encode(writers: list[VideoWriter], target: TiledTarget, image: np.ndarray) -> None:
    for i, w in enumerate(writers):
        w.write(np.ascontiguousarray(target.tile(image, i)))
