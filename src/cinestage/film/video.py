"""Streaming decoding of real clips with PyAV: one frame at a time, RGB, in display orientation.

Bad input never escapes as a PyAV exception: opening problems become a `VideoError` naming the
file; damage found while decoding (corrupt packets, a cut-off tail) ends or thins the stream
and is recorded in `FrameReader.decode_warnings`, because the frames before it are still useful.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from cinestage.errors import VideoError

log = logging.getLogger(__name__)

MIN_SIDE = 32  # pixels; below this no person or composition can be analysed

# FFmpegError covers every av.error.*; plain OSError/ValueError also come out of PyAV's Python layer.
_AV_ERRORS = (av.error.FFmpegError, OSError, ValueError)


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    width: int  # displayed size in pixels, after rotation (sample aspect ratio is not applied)
    height: int
    fps: float  # average frame rate
    duration: float  # seconds; 0.0 when neither stream nor container says (raw elementary streams)
    frame_count: int | None  # as the container states it, None when it does not say
    rotation: int  # counter-clockwise degrees (0, 90, 180, 270) applied to decoded pictures for display
    codec: str
    container: str
    has_audio: bool

    @property
    def estimated_frames(self) -> int:
        if self.frame_count is not None:
            return self.frame_count
        return max(1, round(self.duration * self.fps))


@dataclass(frozen=True)
class Frame:
    index: int  # 0-based, consecutive in presentation order
    time: float  # seconds from the stream start, from the frame's pts; strictly increasing
    image: np.ndarray  # (H, W, 3) uint8 RGB, display orientation, C-contiguous


def _reason(exc: BaseException) -> str:
    # PyAV's str() repeats the file name; strerror is the bare FFmpeg reason.
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text.splitlines()[0]


def _not_a_video(container: av.container.InputContainer) -> str | None:
    """Why FFmpeg's demuxer guess is no film, although it offers a video stream."""
    name = container.format.name
    if name == "image2" or name.endswith("_pipe"):
        return "not a video (a single image)"
    if name == "tty":  # FFmpeg renders .txt/.nfo files as ANSI-art video
        return "not a video (a text file)"
    return None


def scaled_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """(width, height) shrunk so the long side is at most `max_side`; never enlarged."""
    if max_side is None or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


class FrameReader:
    """Iterator over a clip's frames. Opens and decodes the first frame at once, so bad input
    fails at construction; holds only the frame being converted. Use `with` or exhaust it to
    release the file (garbage collection also closes it)."""

    def __init__(self, path: str | Path, max_side: int | None = None):
        if max_side is not None and max_side < 1:
            raise ValueError(f"max_side must be positive, got {max_side}")
        self.path = Path(path)
        self.max_side = max_side
        self.decode_warnings: list[str] = []
        self._container, self._stream = _open(self.path)
        try:
            self._decoded = self._decode()
            first = next(self._decoded, None)
            if first is None:
                detail = f" ({self.decode_warnings[-1]})" if self.decode_warnings else ""
                raise VideoError(str(self.path), f"has no decodable video frames{detail}")
            self.info = self._describe(first)
        except BaseException:
            self.close()
            raise
        self._frames = self._convert(first)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the images from now on; `max_side` may change between frames."""
        return scaled_size(self.info.width, self.info.height, self.max_side)

    @property
    def warnings(self) -> list[str]:
        return self.decode_warnings

    def __iter__(self) -> FrameReader:
        return self

    def __next__(self) -> Frame:
        return next(self._frames)

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self._container.close()

    def _warn(self, message: str) -> None:
        self.decode_warnings.append(message)
        log.warning("%s: %s", self.path, message)

    def _describe(self, first: av.VideoFrame) -> VideoInfo:
        stream, container = self._stream, self._container
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        frame_count = stream.frames or None
        if stream.duration:
            duration = float(stream.duration * stream.time_base)
        elif container.duration:
            duration = container.duration / av.time_base
        else:
            duration = 0.0
        if rate:
            fps = float(rate)
        elif frame_count and duration > 0:
            fps = frame_count / duration
        else:
            raise VideoError(str(self.path), "frame rate is unknown")
        rotation = round(first.rotation / 90) * 90 % 360
        width, height = first.width, first.height
        if rotation in (90, 270):
            width, height = height, width
        return VideoInfo(self.path, width, height, fps, duration, frame_count, rotation,
                         stream.codec_context.name, container.format.name, bool(container.streams.audio))

    def _decode(self) -> Iterator[av.VideoFrame]:
        """Decoded frames in presentation order; corrupt packets are skipped, a broken tail ends it."""
        packets = self._container.demux(self._stream)
        skipped = 0
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except _AV_ERRORS as exc:
                self._warn(f"reading stopped early: {_reason(exc)}")
                # The decoder still holds reordered/threaded frames that came before the damage.
                try:
                    yield from self._stream.decode(None)
                except _AV_ERRORS:
                    pass
                break
            try:
                frames = packet.decode()
            except _AV_ERRORS:
                skipped += 1
                continue
            yield from frames
        if skipped:
            self._warn(f"skipped {skipped} corrupt packet(s)")

    def _convert(self, first: av.VideoFrame) -> Iterator[Frame]:
        info = self.info
        step = 1.0 / info.fps
        start = self._stream.start_time
        if start is None:
            start = first.pts or 0
        time_base = self._stream.time_base
        turns = info.rotation // 90
        # Frames with no pts, or with one that goes back in time (damaged or concatenated
        # streams), continue from the last good pts at the average rate.
        anchor_time, anchor_index, previous = 0.0, 0, -math.inf
        count = 0
        frame = first
        try:
            while frame is not None:
                time = None if frame.pts is None else float((frame.pts - start) * time_base)
                if time is None or time <= previous:
                    time = anchor_time + (count - anchor_index) * step
                else:
                    anchor_time, anchor_index = time, count
                width, height = scaled_size(frame.width, frame.height, self.max_side)
                # One swscale thread: its default thread pool fights the decoder's threads (4x slower
                # on 2 cores); AREA is the clean way down and also the fastest here.
                image = frame.to_ndarray(width=width, height=height, format="rgb24", interpolation="AREA",
                                         threads=1)
                if turns:
                    image = np.ascontiguousarray(np.rot90(image, turns))
                yield Frame(count, time, image)
                previous = time
                count += 1
                frame = None  # let the decoded picture go before decoding the next one
                frame = next(self._decoded, None)
            if info.frame_count is not None and count < info.frame_count:
                self._warn(f"only {count} of {info.frame_count} frames could be decoded")
        finally:
            self.close()


def _open(path: Path) -> tuple[av.container.InputContainer, av.video.stream.VideoStream]:
    source = str(path)
    if not path.exists():
        raise VideoError(source, "file not found")
    if path.is_dir():
        raise VideoError(source, "is a directory, not a video file")
    try:
        container = av.open(source, metadata_errors="replace")
    except _AV_ERRORS as exc:
        raise VideoError(source, f"cannot be opened: truncated or not a video ({_reason(exc)})") from exc
    try:
        refusal = _not_a_video(container)
        if refusal:
            raise VideoError(source, refusal)
        if not container.streams.video:
            audio = " (audio only)" if container.streams.audio else ""
            raise VideoError(source, f"has no video stream{audio}")
        stream = container.streams.video[0]
        if stream.codec_context is None:
            raise VideoError(source, "video codec is not supported")
        width, height = stream.codec_context.width, stream.codec_context.height
        if min(width, height) < MIN_SIDE:
            raise VideoError(source, f"too small: {width}x{height} pixels (at least {MIN_SIDE} on each side)")
        stream.thread_type = "AUTO"
    except BaseException:
        container.close()
        raise
    return container, stream


def probe(path: str | Path) -> VideoInfo:
    """Size, rate, duration, rotation and codec of a clip; decodes only its first frame."""
    with FrameReader(path) as reader:
        return reader.info


def read_frames(path: str | Path, max_side: int | None = None) -> FrameReader:
    """Stream the clip's frames (an Iterator[Frame]); `max_side` shrinks them during conversion."""
    return FrameReader(path, max_side)


def frames_at(path: str | Path, indices, max_side: int | None = None) -> dict[int, np.ndarray]:
    """The frames at `indices` (RGB, at most `max_side`), decoding no further than the last of
    them; an index past the end is absent from the result."""
    wanted = set(int(i) for i in indices)
    found: dict[int, np.ndarray] = {}
    if not wanted:
        return found
    stop = max(wanted)
    with read_frames(path, max_side) as reader:
        for frame in reader:
            if frame.index in wanted:
                found[frame.index] = frame.image
            if frame.index >= stop:
                break
    return found
