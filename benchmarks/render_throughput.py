"""Camera-frames per second: a bare Panda3D + PyAV loop versus cinestage, same scene and cameras.

The reference is what one writes first with Panda3D: one offscreen buffer per camera copied to
RAM every frame, and each image encoded by PyAV right away. cinestage renders all cameras as
tiles of one buffer and encodes beside the next frame's rendering. Both draw the same
StageScene (venue, lights, mannequins) through the same camera tracks at 640x360.

Last line: ratio = cinestage / reference (median of the runs). Target >= 0.8, cinestage >= 100.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from panda3d.core import (Camera, FrameBufferProperties, GraphicsOutput, GraphicsPipe, PerspectiveLens, RenderState,
                          Texture, TransformState, WindowProperties)

sys.path.insert(0, str(Path(__file__).parent))
from _common import demo_setup, median  # noqa: E402

from cinestage.render.engine import engine  # noqa: E402
from cinestage.render.renderer import render_videos  # noqa: E402
from cinestage.render.scene import StageScene, panda_matrix  # noqa: E402
from cinestage.render.video import VideoWriter  # noqa: E402


def reference(perf, tracks, opts, folder: Path) -> float:
    eng = engine(opts.display)
    scene = StageScene(perf)
    fb = FrameBufferProperties()
    fb.setRgbColor(True)
    fb.setRgbaBits(8, 8, 8, 8)
    fb.setDepthBits(24)
    rigs = []
    for t in tracks:
        buf = eng.graphics.makeOutput(eng.pipe, t.name, -1, fb, WindowProperties.size(opts.width, opts.height),
                                      GraphicsPipe.BF_refuse_window, None, None)
        tex = Texture(t.name)
        buf.addRenderTexture(tex, GraphicsOutput.RTM_copy_ram)
        lens = PerspectiveLens()
        lens.setNearFar(0.05, 300.0)
        cam = scene.root.attachNewNode(Camera(t.name, lens))
        buf.makeDisplayRegion().setCamera(cam)
        writer = VideoWriter(folder / f"ref-{t.name}.mp4", opts.width, opts.height, perf.fps, opts.crf, opts.preset, "bgra")
        rigs.append((t, buf, tex, cam, lens, writer))
    start = time.perf_counter()
    for frame in range(perf.n_frames):
        scene.pose(frame)
        for t, buf, tex, cam, lens, writer in rigs:
            m = np.eye(4)
            m[:3, :3], m[:3, 3] = t.rotations[frame], t.positions[frame]
            cam.setMat(panda_matrix(m))
            lens.setFov(math.degrees(t.fov_x[frame]), math.degrees(t.fov_y[frame]))
        eng.graphics.renderFrame()
        TransformState.garbageCollect()
        RenderState.garbageCollect()
        for t, buf, tex, cam, lens, writer in rigs:
            img = np.frombuffer(memoryview(tex.getRamImage()), np.uint8).reshape(opts.height, opts.width, 4)[::-1]
            writer.write(np.ascontiguousarray(img))
    for *_, writer in rigs:
        writer.close()
    elapsed = time.perf_counter() - start
    for _, buf, *_ in rigs:
        eng.graphics.removeWindow(buf)
    scene.root.removeNode()
    return perf.n_frames * len(tracks) / elapsed


def cinestage(perf, tracks, opts, folder: Path) -> float:
    start = time.perf_counter()
    render_videos(perf, tracks, [folder / f"{t.name}.mp4" for t in tracks], opts)
    return perf.n_frames * len(tracks) / (time.perf_counter() - start)


def main(runs: int = 3, duration: float = 10.0) -> None:
    perf, tracks, opts = demo_setup(duration)
    ref, ours = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs):
            ref.append(reference(perf, tracks, opts, Path(tmp)))
            ours.append(cinestage(perf, tracks, opts, Path(tmp)))
            print(f"run: reference {ref[-1]:.1f}  cinestage {ours[-1]:.1f} camera-frames/s", flush=True)
    print(f"renderer: {engine().kind}; {len(tracks)} cameras x {perf.n_frames} frames at {opts.width}x{opts.height}")
    print(f"reference (bare Panda3D + PyAV loop): {median(ref):.1f} camera-frames/s (median of {runs})")
    print(f"cinestage: {median(ours):.1f} camera-frames/s (median of {runs})")
    print(f"ratio {median(ours) / median(ref):.3f}")


if __name__ == "__main__":
    main()
