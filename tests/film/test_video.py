"""Decoding real and generated clips: sizes, rates, times, rotation, streaming, and bad input."""

from __future__ import annotations

import tracemalloc
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from cinestage.errors import VideoError
from cinestage.film.video import probe, read_frames, scaled_size


def read_all(path, max_side=None):
    reader = read_frames(path, max_side)
    frames = list(reader)
    return frames, reader.decode_warnings


# --- real clips ---------------------------------------------------------------------------

def test_probe_reports_the_published_size_rate_and_duration(videos, clip_name, clip_facts):
    width, height, fps, duration, has_audio = clip_facts
    info = probe(videos / clip_name)
    assert (info.width, info.height) == (width, height)
    assert info.fps == pytest.approx(fps, rel=0.01)
    assert info.duration == pytest.approx(duration, abs=0.1)
    assert info.frame_count == pytest.approx(duration * fps, rel=0.03)
    assert info.estimated_frames == info.frame_count
    assert (info.rotation, info.codec, info.has_audio) == (0, "h264", has_audio)
    assert "mp4" in info.container


def test_every_frame_comes_in_order_with_pts_times(videos, clip_name):
    name = clip_name
    info = probe(videos / name)
    width, height = scaled_size(info.width, info.height, 320)
    reader = read_frames(videos / name, max_side=320)
    assert reader.info == info and reader.size == (width, height)
    frames, warnings = list(reader), reader.decode_warnings
    assert len(frames) == info.frame_count
    assert warnings == []
    assert [f.index for f in frames] == list(range(len(frames)))
    times = np.array([f.time for f in frames])
    assert times[0] == 0.0 and np.all(np.diff(times) > 0) and times[-1] < info.duration
    for frame in frames:
        assert frame.image.shape == (height, width, 3)
        assert frame.image.dtype == np.uint8 and frame.image.flags.c_contiguous
    steps = np.diff(times)
    if name == "mmaction2_demo_skeleton.mp4":
        # This clip's frames are not evenly spaced: one gap is six frames long. Times come from pts.
        assert steps.max() > 5 / 30
    else:
        np.testing.assert_allclose(times, np.arange(len(frames)) / info.fps, atol=1e-3)


def test_decoding_streams_frames_instead_of_collecting_them(videos):
    path = videos / "mmaction2_demo_skeleton.mp4"
    info = probe(path)
    frame_bytes = info.width * info.height * 3
    tracemalloc.start()
    try:
        count = 0
        for frame in read_frames(path):
            assert frame.image.shape == (info.height, info.width, 3)
            count += 1
            del frame
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == info.frame_count == 72
    assert peak < 3 * frame_bytes, f"peak {peak / 1e6:.1f} MB while one frame is {frame_bytes / 1e6:.1f} MB"


def test_first_half_of_a_clip_with_its_index_at_the_end_is_refused(videos, tmp_path):
    data = (videos / "mmaction2_demo.mp4").read_bytes()
    assert data.find(b"moov") > len(data) // 2, "this clip keeps its index (moov) at the end"
    half = tmp_path / "first_half.mp4"
    half.write_bytes(data[:len(data) // 2])
    with pytest.raises(VideoError, match="cannot be opened: truncated or not a video") as error:
        read_frames(half)
    assert str(half) in str(error.value)


# --- generated clips ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def corner_clip(tmp_path_factory, clip_writer):
    """Decoded pictures 96 wide and 64 high, with a white square in the top-left corner."""
    image = np.zeros((64, 96, 3), np.uint8)
    image[:16, :16] = 255
    folder = tmp_path_factory.mktemp("rotated")
    return image, {rotation: clip_writer(folder / f"rot{rotation}.mp4", [image] * 3, rotation=rotation)
                   for rotation in (0, 90, 180, 270)}


def bright_centre(image):
    return np.argwhere(image.mean(axis=2) > 128).mean(axis=0)


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
@pytest.mark.parametrize("max_side", [None, 48])
def test_rotation_metadata_turns_the_pictures_for_display(corner_clip, rotation, max_side):
    image, clips = corner_clip
    info = probe(clips[rotation])
    assert info.rotation == rotation
    # Counter-clockwise, as FFmpeg's players apply the display matrix.
    expected = np.rot90(image, rotation // 90)
    assert (info.height, info.width) == expected.shape[:2]
    reader = read_frames(clips[rotation], max_side)
    scale = 1.0 if max_side is None else max_side / 96
    assert reader.size == (round(expected.shape[1] * scale), round(expected.shape[0] * scale))
    for frame in reader:
        assert frame.image.shape == (*reader.size[::-1], 3)
        assert frame.image.flags.c_contiguous
        np.testing.assert_allclose(bright_centre(frame.image), bright_centre(expected) * scale, atol=1.5)


@pytest.mark.parametrize("max_side, shape", [(64, (36, 64, 3)), (256, (144, 256, 3)), (4000, (144, 256, 3))])
def test_max_side_shrinks_during_conversion_and_never_enlarges(faststart_clip, max_side, shape):
    frames, _ = read_all(faststart_clip, max_side)
    assert len(frames) == 60
    assert {frame.image.shape for frame in frames} == {shape}


def test_max_side_must_be_positive(faststart_clip):
    with pytest.raises(ValueError):
        read_frames(faststart_clip, max_side=0)


def test_variable_frame_rate_times_come_from_pts(tmp_path, clip_writer):
    pts_ms = [0, 40, 80, 200, 240, 250, 260, 500, 540, 1000]
    images = [np.full((48, 64, 3), 20 * i, np.uint8) for i in range(len(pts_ms))]
    path = clip_writer(tmp_path / "vfr.mp4", images, pts=pts_ms, time_base=Fraction(1, 1000))
    frames, _ = read_all(path)
    np.testing.assert_allclose([f.time for f in frames], np.array(pts_ms) / 1000, atol=1e-9)
    # The right picture sits at each time (grey levels 0, 20, 40, ... survive H.264 closely).
    np.testing.assert_allclose([f.image.mean() / 20 for f in frames], range(len(pts_ms)), atol=0.2)


def test_frames_without_pts_advance_at_the_average_rate(tmp_path):
    path = tmp_path / "raw.h264"  # an elementary stream: no container, so no timestamps
    with av.open(str(path), "w", format="h264") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 20 * i, np.uint8), format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    info = probe(path)
    assert info.frame_count is None and info.fps == 25
    frames, _ = read_all(path)
    np.testing.assert_allclose([f.time for f in frames], np.arange(10) / 25, atol=1e-9)


# --- bad input ----------------------------------------------------------------------------

def write_silence(path: Path) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate, frame.pts = 8000, 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def write_empty_video(path: Path) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        container.start_encoding()
    return path


def write_tiny(path: Path) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = 1, 1, "yuv444p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((1, 1, 3), np.uint8), format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def write_blanked(path: Path, source: Path) -> Path:
    """The index intact, every sample's bytes zeroed: packets that decode to nothing."""
    data = bytearray(source.read_bytes())
    payload = data.find(b"mdat") + 4
    data[payload:] = bytes(len(data) - payload)
    path.write_bytes(bytes(data))
    return path


def make_text(path: Path) -> Path:
    path.write_text("not a video\n" * 50)
    return path


def make_png(path: Path) -> Path:
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(path)
    return path


def make_empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


BAD_INPUTS = {
    # name: (how to make it, what the message says)
    "missing.mp4": (lambda path, clip: path, "file not found"),
    "folder.mp4": (lambda path, clip: path.mkdir() or path, "is a directory"),
    "notes.txt": (lambda path, clip: make_text(path), "not a video (a text file)"),
    "notes.mp4": (lambda path, clip: make_text(path), "cannot be opened: truncated or not a video"),
    "still.png": (lambda path, clip: make_png(path), "not a video (a single image)"),
    "silence.wav": (lambda path, clip: write_silence(path), "has no video stream (audio only)"),
    # The MP4 muxer leaves a track with no samples out of the index altogether.
    "no_frames.mp4": (lambda path, clip: write_empty_video(path), "has no video stream"),
    "blanked.mp4": (lambda path, clip: write_blanked(path, clip), "has no decodable video frames"),
    "tiny.mkv": (lambda path, clip: write_tiny(path), "too small: 1x1 pixels"),
    "empty.mp4": (lambda path, clip: make_empty(path), "cannot be opened: truncated or not a video"),
}


@pytest.mark.parametrize("name", BAD_INPUTS)
@pytest.mark.parametrize("entry", [probe, read_frames])
def test_bad_input_is_one_clear_video_error_naming_the_file(tmp_path, faststart_clip, name, entry):
    make, problem = BAD_INPUTS[name]
    path = make(tmp_path / name, faststart_clip)
    with pytest.raises(VideoError) as error:
        entry(path)
    message = str(error.value)
    assert message.startswith(f"{path}: ") and problem in message
    assert "\n" not in message and error.value.source == str(path)


@pytest.fixture
def cut_clip(faststart_clip, tmp_path):
    """The first two thirds of a clip whose index comes first: it opens, and ends early."""
    data = faststart_clip.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[:len(data) * 2 // 3])
    return cut


def test_a_file_cut_short_yields_the_frames_before_the_cut(faststart_clip, cut_clip):
    cut = cut_clip
    info = probe(cut)
    assert info.frame_count == 60
    reader = read_frames(cut)
    frames, warnings = list(reader), reader.decode_warnings
    assert reader.warnings is warnings
    assert 10 < len(frames) < 60
    assert any(f"only {len(frames)} of 60 frames" in warning for warning in warnings)
    # What did come out is the start of the clip, intact.
    complete, _ = read_all(faststart_clip)
    for frame, good in zip(frames[:5], complete, strict=False):
        assert np.abs(frame.image.astype(int) - good.image).mean() < 1


def test_damaged_bytes_never_escape_as_anything_but_video_errors(faststart_clip, tmp_path):
    data = faststart_clip.read_bytes()
    rng = np.random.default_rng(7)
    variants = [data[:n] for n in np.linspace(100, len(data) - 1, 8).astype(int)]
    for _ in range(6):
        damaged = bytearray(data)
        at = int(rng.integers(len(data) // 10, len(data) - 500))
        damaged[at:at + 500] = rng.integers(0, 256, 500, dtype=np.uint8).tobytes()
        variants.append(bytes(damaged))
    path = tmp_path / "damaged.mp4"
    outcomes = []
    for variant in variants:
        path.write_bytes(variant)
        try:
            frames, warnings = read_all(path)
        except VideoError as error:
            assert str(path) in str(error)
            outcomes.append("error")
        else:
            assert len(frames) <= 60 and all(np.diff([f.time for f in frames]) > 0)
            outcomes.append(len(frames))
    assert "error" in outcomes and any(isinstance(o, int) and o > 0 for o in outcomes), outcomes


def test_decoding_problems_are_also_logged(cut_clip, caplog):
    with caplog.at_level("WARNING", logger="cinestage.film.video"):
        read_all(cut_clip)
    assert any(str(cut_clip) in record.getMessage() for record in caplog.records)
