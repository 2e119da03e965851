"""Real clips from ../shared/data/videos and small clips written with PyAV on the fly (in tmp dirs)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

VIDEOS = Path(__file__).parents[2].parent / "shared" / "data" / "videos"
ABSENT = "../shared/data/videos absent: the real test clips live beside the project, not in it"

# name: (width, height, fps, duration in seconds, has audio), as published with the clips
REAL_CLIPS = {
    "mmaction2_demo_skeleton.mp4": (1920, 1080, 28.0, 2.6, False),
    "mmaction2_demo.mp4": (340, 256, 28.0, 10.0, False),
    "mmaction2_test_video_structuralize.mp4": (426, 240, 29.97, 10.0, False),
    "konvid1k_10053703034.mp4": (960, 540, 29.97, 8.0, True),
    "vsfa_test.mp4": (960, 540, 29.97, 8.0, True),
}


@pytest.fixture(scope="session")
def videos() -> Path:
    if not VIDEOS.is_dir():
        pytest.skip(ABSENT)
    return VIDEOS


def pytest_generate_tests(metafunc):
    # Test modules cannot import this file (importlib mode), so the clip table reaches them here.
    if "clip_name" in metafunc.fixturenames:
        metafunc.parametrize("clip_name", list(REAL_CLIPS))


@pytest.fixture
def clip_facts(clip_name):
    """(width, height, fps, duration, has_audio) of the parametrized real clip."""
    return REAL_CLIPS[clip_name]


def write_clip(path: Path, images, fps: float = 25, rotation: int | None = None, pts=None,
               time_base: Fraction | None = None, options: dict | None = None) -> Path:
    """H.264 MP4 from RGB images; `pts` (in `time_base` units) makes it variable-rate."""
    images = [np.ascontiguousarray(image) for image in images]
    with av.open(str(path), "w", options=options or {}) as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.height, stream.width = images[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        if time_base is not None:
            stream.codec_context.time_base = time_base
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i, image in enumerate(images):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i if pts is None else pts[i]
            if time_base is not None:
                frame.time_base = time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def texture(seed: int, height: int, width: int) -> np.ndarray:
    """A smooth random colour texture, so a sliding window of it looks like a slow pan."""
    rng = np.random.default_rng(seed)
    cells = rng.integers(0, 256, (height // 16 + 2, width // 16 + 2, 3), dtype=np.uint8)
    return cv2.resize(cells, (width, height), interpolation=cv2.INTER_CUBIC)


def panning_segments(lengths, seeds=None, lift=None, height: int = 144, width: int = 256) -> list[np.ndarray]:
    """Consecutive shots, shot k a slow pan over texture `seeds[k]` with `lift[k]` added to its
    pixels (two shots with one seed and different lifts differ only in exposure)."""
    seeds = seeds or list(range(len(lengths)))
    lift = lift or [0] * len(lengths)
    total = sum(lengths)
    images = []
    for k, length in enumerate(lengths):
        base = texture(seeds[k], height, width + 2 * total).astype(np.int16) + lift[k]
        start = sum(lengths[:k])
        for j in range(start, start + length):
            images.append(np.clip(base[:, 2 * j:2 * j + width], 0, 255).astype(np.uint8))
    return images


@pytest.fixture(scope="session")
def clip_writer():
    return write_clip


@pytest.fixture(scope="session")
def segments():
    return panning_segments


@pytest.fixture(scope="session")
def segments_clip(tmp_path_factory) -> Path:
    """Three shots of 40, 50 and 60 frames at 25 fps."""
    return write_clip(tmp_path_factory.mktemp("clips") / "segments.mp4", panning_segments([40, 50, 60]))


@pytest.fixture(scope="session")
def faststart_clip(tmp_path_factory) -> Path:
    """60 frames with the index (moov) first, so a file cut short still opens."""
    return write_clip(tmp_path_factory.mktemp("clips") / "faststart.mp4", panning_segments([60]),
                      options={"movflags": "faststart"})
