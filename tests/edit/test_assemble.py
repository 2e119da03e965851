"""programme.mp4 from tiny synthetic camera videos: each camera's right half is its own solid
colour and its left half counts the frame in two grey blocks (decimal, 25 levels a digit, far
beyond the codec's error), so every decoded frame tells which camera and which source frame it
came from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cinestage.edit.assemble import assemble
from cinestage.edit.programme import ProgrammeOptions, View, score_path
from cinestage.errors import RenderError
from cinestage.film.video import read_frames
from cinestage.render.video import VideoWriter

FPS = 25.0
N = 75  # 3 s
W, H = 64, 48
COLOURS = {"red": (230, 20, 20), "green": (20, 230, 20), "blue": (20, 20, 230)}
DIGIT = 25  # grey levels per decimal digit of the frame number


def _video(path: Path, colour, frames: int = N, size: tuple[int, int] = (W, H)) -> Path:
    w, h = size
    writer = VideoWriter(path, w, h, FPS)
    for i in range(frames):
        image = np.empty((h, w, 3), np.uint8)
        image[: h // 2, : w // 2] = DIGIT * (i // 10)
        image[h // 2:, : w // 2] = DIGIT * (i % 10)
        image[:, w // 2:] = colour
        writer.write(image)
    return writer.close()


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cameras")
    return {name: _video(folder / f"{name}.mp4", colour) for name, colour in COLOURS.items()}


def _programme(on_air: list[str]):
    names = list(dict.fromkeys(on_air))
    views = {c: View(np.tile([np.cos(i), np.sin(i), 0.0], (N, 1)), np.full(N, 3.0)) for i, c in enumerate(names)}
    return score_path(on_air, {c: np.full(N, 0.5) for c in names}, views, {c: np.zeros(N) for c in names}, FPS,
                      ProgrammeOptions(min_shot=0.2))


def _camera_and_frame(image: np.ndarray) -> tuple[str, int]:
    right = image[8:-8, W // 2 + 8: -8].reshape(-1, 3).mean(axis=0)
    camera = min(COLOURS, key=lambda c: np.abs(right - COLOURS[c]).max())
    assert np.abs(right - COLOURS[camera]).max() < 12, right  # H.264 tolerance on a flat colour
    high, low = (image[rows, 8: W // 2 - 8].mean() / DIGIT for rows in (slice(4, H // 2 - 4), slice(H // 2 + 4, -4)))
    return camera, round(high) * 10 + round(low)


def test_every_frame_comes_from_the_camera_and_frame_the_programme_says(videos, tmp_path):
    on_air = ["green"] * 20 + ["red"] * 10 + ["blue"] * 25 + ["green"] * 20
    p = _programme(on_air)
    assert [s.camera for s in p.shots] == ["green", "red", "blue", "green"]
    out = assemble(p, videos, tmp_path / "programme.mp4")
    assert out == tmp_path / "programme.mp4"
    with read_frames(out) as reader:
        assert reader.info.fps == pytest.approx(FPS) and (reader.info.width, reader.info.height) == (W, H)
        decoded = [_camera_and_frame(f.image) for f in reader]
    assert decoded == [(camera, i) for i, camera in enumerate(on_air)]
    assert sorted(f.name for f in tmp_path.iterdir()) == ["programme.mp4"]


def test_a_camera_video_of_another_size_is_refused_before_writing(videos, tmp_path):
    odd = _video(tmp_path / "odd.mp4", (200, 200, 0), size=(96, 48))
    with pytest.raises(RenderError, match="odd.mp4: is 96x48 but .* is 64x48"):
        assemble(_programme(["red"] * 40 + ["odd"] * 35), {**videos, "odd": odd}, tmp_path / "programme.mp4")
    assert not (tmp_path / "programme.mp4").exists()


def test_camera_videos_of_other_lengths_are_refused(videos, tmp_path):
    short = _video(tmp_path / "short.mp4", (200, 200, 0), frames=50)
    with pytest.raises(RenderError, match="short.mp4: has 50 frames but red.mp4 has 75"):
        assemble(_programme(["red"] * 40 + ["short"] * 35), {**videos, "short": short}, tmp_path / "programme.mp4")
    with pytest.raises(RenderError, match="short.mp4: has 50 frames, the programme needs 75"):
        assemble(_programme(["short"] * N), {"short": short}, tmp_path / "programme.mp4")
    with pytest.raises(RenderError, match="no video for camera\\(s\\) \\['blue'\\]"):
        assemble(_programme(["red"] * 40 + ["blue"] * 35), {"red": videos["red"]}, tmp_path / "programme.mp4")
    assert not (tmp_path / "programme.mp4").exists()


def test_a_failure_while_writing_leaves_no_programme_behind(videos, tmp_path, monkeypatch):
    write = VideoWriter.write

    def disk_full_after_ten_frames(self, image):
        if self.frames == 10:
            raise OSError(28, "No space left on device")
        write(self, image)

    monkeypatch.setattr(VideoWriter, "write", disk_full_after_ten_frames)
    with pytest.raises(RenderError, match="programme.mp4: cannot write the programme: No space left on device"):
        assemble(_programme(["red"] * 40 + ["blue"] * 35), videos, tmp_path / "programme.mp4")
    assert list(tmp_path.iterdir()) == []
