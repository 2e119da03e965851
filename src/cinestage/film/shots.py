"""Shot boundaries with PySceneDetect's detectors, fed the frames the analysis already decodes.

The detectors only report cuts. The short-shot policy is ours: they get a minimum scene
length of one frame, because scenedetect's own filter keeps one cut of a burst (the first or
the last) and can neither drop a short shot nor see the other detector's cuts.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scenedetect import AdaptiveDetector, ContentDetector, FrameTimecode

from cinestage.film.video import read_frames, scaled_size

METHODS = ("content", "adaptive", "both")
SHORT_SHOTS = ("merge", "drop")
ANALYSIS_SIDE = 256  # larger frames are shrunk first: scenedetect's thresholds assume ~256-320 px


@dataclass(frozen=True)
class Shot:
    index: int
    start: int  # first frame index
    end: int  # one past the last frame index
    start_time: float  # seconds
    end_time: float  # seconds, where the shot's last frame stops showing

    @property
    def frames(self) -> int:
        return self.end - self.start


class ShotDetector:
    """Online: feed every decoded frame in order (RGB, any size; <= 320 px long side is
    cheapest), then `finish()` once."""

    def __init__(self, fps: float, method: str = "both", content_threshold: float = 27.0,
                 adaptive_threshold: float = 3.0, min_shot_frames: int = 15, short_shots: str = "merge"):
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        if short_shots not in SHORT_SHOTS:
            raise ValueError(f"short_shots must be one of {SHORT_SHOTS}, got {short_shots!r}")
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps}")
        if min_shot_frames < 1:
            raise ValueError(f"min_shot_frames must be at least 1, got {min_shot_frames}")
        self.fps = float(fps)
        self.min_shot_frames = int(min_shot_frames)
        self.short_shots = short_shots
        self._content = ContentDetector(threshold=content_threshold, min_scene_len=1) \
            if method in ("content", "both") else None
        self._adaptive = AdaptiveDetector(adaptive_threshold=adaptive_threshold, min_scene_len=1) \
            if method in ("adaptive", "both") else None
        self._content_cuts: list[int] = []
        self._adaptive_cuts: list[int] = []
        self._times = array("d")
        # Content score per frame (difference to the previous frame): weighs the boundaries of a
        # short shot against each other when merging it into a neighbour.
        self._scores = array("f")
        self._shots: list[Shot] | None = None
        self._size: tuple[int, int] | None = None

    def feed(self, index: int, time: float, image: np.ndarray) -> bool:
        """True when this frame revealed a cut (the adaptive method places it a few frames back;
        a cut may still be merged away by `finish`)."""
        if self._shots is not None:
            raise RuntimeError("feed() after finish()")
        if index != len(self._times):
            raise ValueError(f"frames must be fed in order from 0: expected {len(self._times)}, got {index}")
        height, width = image.shape[:2]
        # One size for the whole clip (scenedetect compares consecutive frames pixel by pixel),
        # even when the caller decodes some frames larger than others.
        if self._size is None:
            self._size = scaled_size(width, height, ANALYSIS_SIDE)
        if self._size != (width, height):
            image = cv2.resize(image, self._size, interpolation=cv2.INTER_AREA)
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        timecode = FrameTimecode(index, fps=self.fps)
        score = 0.0
        found = False
        for detector, cuts in ((self._content, self._content_cuts), (self._adaptive, self._adaptive_cuts)):
            if detector is not None:
                new_cuts = [cut.frame_num for cut in detector.process_frame(timecode, bgr)]
                cuts.extend(new_cuts)
                found = found or bool(new_cuts)
                # scenedetect 0.7.2 keeps the frame's content score here; both detectors compute the same one.
                score = getattr(detector, "_frame_score", None) or 0.0
        self._times.append(float(time))
        self._scores.append(score)
        return found

    def finish(self) -> list[Shot]:
        """Shots in order, renumbered from 0. With "merge" they cover every fed frame; with
        "drop" shots shorter than `min_shot_frames` are left out (gaps)."""
        if self._shots is not None:
            return self._shots
        count = len(self._times)
        if count and self._adaptive is not None:
            last = FrameTimecode(count - 1, fps=self.fps)
            self._adaptive_cuts.extend(cut.frame_num for cut in self._adaptive.post_process(last))
        bounds = [0, *self._cuts(), count] if count else []
        spans = list(zip(bounds, bounds[1:]))
        if self.short_shots == "merge":
            spans = self._merge_short(spans)
        else:
            spans = [(start, end) for start, end in spans if end - start >= self.min_shot_frames]
        self._shots = [Shot(i, start, end, self._times[start], self._end_time(end))
                       for i, (start, end) in enumerate(spans)]
        return self._shots

    def _cuts(self) -> list[int]:
        """The union of both detectors' cuts; an adaptive cut within `min_shot_frames` of a
        content cut is the same cut (content places it exactly, adaptive may lag a frame)."""
        count = len(self._times)
        cuts = set(self._content_cuts)
        for cut in self._adaptive_cuts:
            if not any(abs(cut - other) < self.min_shot_frames for other in self._content_cuts):
                cuts.add(cut)
        return sorted(cut for cut in cuts if 0 < cut < count)

    def _merge_short(self, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Merge the shortest too-short shot into a neighbour across its weaker cut, until none is left."""
        spans = list(spans)
        while len(spans) > 1:
            lengths = [end - start for start, end in spans]
            shortest = min(range(len(spans)), key=lengths.__getitem__)
            if lengths[shortest] >= self.min_shot_frames:
                break
            if shortest == 0:
                into_previous = False
            elif shortest == len(spans) - 1:
                into_previous = True
            else:
                start, end = spans[shortest]
                into_previous = self._scores[start] <= self._scores[end]
            left = shortest - 1 if into_previous else shortest
            spans[left:left + 2] = [(spans[left][0], spans[left + 1][1])]
        return spans

    def _end_time(self, end: int) -> float:
        if end < len(self._times):
            return self._times[end]
        return self._times[end - 1] + 1.0 / self.fps


def detect_shots(path: str | Path, max_side: int = ANALYSIS_SIDE, **options) -> list[Shot]:
    """Decode a clip once and return its shots; `options` go to `ShotDetector`."""
    with read_frames(path, max_side=max_side) as frames:
        detector = ShotDetector(frames.info.fps, **options)
        for frame in frames:
            detector.feed(frame.index, frame.time, frame.image)
    return detector.finish()
