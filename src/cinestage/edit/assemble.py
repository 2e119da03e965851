"""programme.mp4: the shots of a programme copied out of the cameras' videos, in order.

Every camera video is streamed once, front to back, and only as far as its last shot: a reader
per camera stays open and skips forward to each of its shots, so memory holds one frame per
camera and nothing is decoded twice. Frames are re-encoded by the project's writer, which
writes under a temporary name and renames at the end: a failure leaves no programme.mp4.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import av

from cinestage.edit.programme import Programme
from cinestage.errors import RenderError
from cinestage.film.video import FrameReader, VideoInfo, probe, read_frames
from cinestage.render.video import VideoWriter

FPS_TOLERANCE = 1e-3  # relative: containers store rates as rationals


def assemble(programme: Programme, videos: Mapping[str, str | os.PathLike], out: str | os.PathLike,
             crf: int = 20) -> Path:
    """Write the programme to `out` from `videos` (camera -> its MP4). The cameras on air must
    all have a video, one size, the programme's frame rate and the same frame count, at least the
    programme's; otherwise a RenderError (or a VideoError for an unreadable file) names the video
    at fault before anything is written."""
    out = Path(out)
    on_air = list(dict.fromkeys(s.camera for s in programme.shots))
    missing = [c for c in on_air if c not in videos]
    if missing:
        raise RenderError(str(out), f"no video for camera(s) {missing} of the programme")
    infos = {c: probe(videos[c]) for c in on_air}
    width, height = _check(programme, infos)

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RenderError(str(out), f"cannot create the folder: {exc.strerror}") from None
    writer = VideoWriter(out, width, height, programme.fps, crf=crf)
    readers: dict[str, FrameReader] = {}
    try:
        for shot in programme.shots:
            if shot.camera not in readers:
                readers[shot.camera] = read_frames(videos[shot.camera])
            reader = readers[shot.camera]
            for index in range(shot.start, shot.end):
                frame = next(reader, None)
                while frame is not None and frame.index < index:
                    frame = next(reader, None)
                if frame is None:
                    raise RenderError(str(videos[shot.camera]), f"ends before frame {index}, which the programme "
                                                                f"shows from camera {shot.camera!r}")
                writer.write(frame.image)
        path = writer.close()
    except (av.error.FFmpegError, OSError) as exc:
        writer.abort()
        raise RenderError(str(out), f"cannot write the programme: {getattr(exc, 'strerror', None) or exc}") from None
    except BaseException:
        writer.abort()
        raise
    finally:
        for reader in readers.values():
            reader.close()
    return path


def _check(programme: Programme, infos: Mapping[str, VideoInfo]) -> tuple[int, int]:
    """(width, height) shared by the videos, after checking they fit together and the programme."""
    first = next(iter(infos.values()))
    for info in infos.values():
        if (info.width, info.height) != (first.width, first.height):
            raise RenderError(str(info.path), f"is {info.width}x{info.height} but {first.path.name} is {first.width}x"
                                              f"{first.height}: the cameras of a programme share one size")
        if abs(info.fps - programme.fps) > FPS_TOLERANCE * programme.fps:
            raise RenderError(str(info.path), f"runs at {info.fps:g} fps, the programme at {programme.fps:g}")
        if info.frame_count is not None:
            if first.frame_count is not None and info.frame_count != first.frame_count:
                raise RenderError(str(info.path), f"has {info.frame_count} frames but {first.path.name} has "
                                                  f"{first.frame_count}: the cameras filmed different lengths")
            if info.frame_count < programme.n_frames:
                raise RenderError(str(info.path), f"has {info.frame_count} frames, the programme needs "
                                                  f"{programme.n_frames}")
    return first.width, first.height
