"""`cinestage highlights`: a clip's best segments as looping GIFs, a thumbnail and the ranking.

    DIR/highlight-<k>.gif   the k-th best segment (k = 1 .. top), within the byte budget
    DIR/thumbnail.jpg       the middle frame of the best segment
    DIR/highlights.json     every segment with its score (range, direction), which ranker, the GIFs

Each file is written under a temporary name and renamed, so DIR may be any folder (a render
output, say) and nothing in it is touched but these names; highlights.json is written last and
lists the GIFs of this run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cinestage import __version__
from cinestage.edit.gif import GifInfo, GifOptions, write_gif, write_image
from cinestage.edit.highlights import (
    HighlightRanker,
    Segment,
    SegmentScores,
    VideoSegments,
    from_pretrained,
    rank,
    segment_options,
    segment_video,
)
from cinestage.errors import CinestageError
from cinestage.film.video import read_frames
from cinestage.pipeline.output import save_json

THUMBNAIL = "thumbnail.jpg"
RESULT = "highlights.json"

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class HighlightsResult:
    video: VideoSegments
    scores: SegmentScores
    chosen: list[int]  # segment indices, best first
    gifs: list[GifInfo]
    thumbnail: Path
    document: Path


def grab(path: Path, segments: Sequence[Segment], fps: float, max_side: int) -> tuple[list[list[np.ndarray]], float]:
    """Frames of each segment, thinned to at most `fps` per second, and the rate they keep."""
    with read_frames(path, max_side=max_side) as reader:
        step = max(1, math.ceil(reader.info.fps / fps - 1e-9))
        frames: list[list[np.ndarray]] = [[] for _ in segments]
        last = max(s.end for s in segments)
        for frame in reader:
            if frame.index >= last:
                break
            for k, s in enumerate(segments):
                if s.start <= frame.index < s.end and (frame.index - s.start) % step == 0:
                    frames[k].append(frame.image)
        return frames, reader.info.fps / step


def make_highlights(video: Path, out: Path, top: int = 3, ranker: Path | None = None,
                    gif: GifOptions | None = None, window: float | None = None,
                    progress: Progress | None = None) -> HighlightsResult:
    """gif: `GifOptions()` by default; window: seconds per segment (see `segment_options`)."""
    gif = gif or GifOptions()
    if top < 1:
        raise CinestageError("--top", f"must be at least 1, got {top}")
    if out.exists() and not out.is_dir():
        raise CinestageError(str(out), "exists and is not a folder; choose another --out")
    model: HighlightRanker | None = from_pretrained(ranker) if ranker is not None else None  # before any decoding
    segments = segment_video(video, segment_options(model, window), progress=progress)
    scores = rank(segments, model)
    chosen = [int(i) for i in scores.order()[:top]]
    clips, rate = grab(video, [segments.segments[i] for i in chosen], gif.fps, gif.max_side)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CinestageError(str(out), f"cannot create the output folder: {exc.strerror}") from None
    gifs = [write_gif(frames, rate, out / f"highlight-{k}.gif", gif) for k, frames in enumerate(clips, start=1)]
    middle = len(clips[0]) // 2
    write_image(clips[0][middle], out / THUMBNAIL, gif.max_side)
    thumbnail_time = segments.segments[chosen[0]].start_time + middle / rate
    save_json(out / RESULT, _document(video, segments, scores, chosen, gifs, thumbnail_time, top))
    return HighlightsResult(segments, scores, chosen, gifs, out / THUMBNAIL, out / RESULT)


def _document(video: Path, segments: VideoSegments, scores: SegmentScores, chosen: list[int], gifs: list[GifInfo],
              thumbnail_time: float, top: int) -> dict:
    ranks = np.empty(len(segments.segments), int)
    ranks[scores.order()] = np.arange(1, len(ranks) + 1)
    notes = list(segments.warnings)
    if len(chosen) < top:
        notes.append(f"the clip has {len(chosen)} segment(s), fewer than the {top} asked for")
    return {
        "cinestage": __version__,
        "video": str(video),
        "fps": segments.fps,
        "frames": segments.frames,
        "duration_s": round(segments.duration, 4),
        "ranker": scores.ranker,
        "score": {"name": "highlight_score", "range": scores.measure(0).to_json()["range"], "better": "higher",
                  "unit": scores.unit},
        "segments": [{
            "index": s.index, "shot": s.shot, "start_frame": s.start, "end_frame": s.end,
            "start_s": round(s.start_time, 4), "end_s": round(s.end_time, 4),
            "rank": int(ranks[s.index]),
            "score": {k: v for k, v in scores.measure(s.index).to_json().items() if k != "unit"},  # unit: above
            **({"components": {k: round(float(v[s.index]), 4) for k, v in scores.components.items()}}
               if scores.components else {}),
        } for s in segments.segments],
        "highlights": [{
            "rank": k, "segment": i, "file": g.path.name, "start_s": round(segments.segments[i].start_time, 4),
            "end_s": round(segments.segments[i].end_time, 4), "bytes": g.bytes, "width": g.width, "height": g.height,
            "fps": round(g.fps, 3), "frames": g.frames, "encodings": g.attempts,
        } for k, (i, g) in enumerate(zip(chosen, gifs, strict=True), start=1)],
        "thumbnail": {"file": THUMBNAIL, "segment": chosen[0], "time_s": round(thumbnail_time, 4)},
        "notes": notes,
    }
