"""A real clip -> shots, tracks, main pairs and per-frame features, in one streamed decoding pass.

Each frame is decoded straight to the pose network's input size (the decoder's scaler is the
only resampling a frame gets) and feeds the shot detector and the pose estimator; only the
poses are kept, so memory grows with the number of people-frames, never with pixels. After a
cut one frame is decoded at the largest input size to choose the size for the new shot.
Tracking, the main pair and the feature network then run per shot on the stored poses.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from cinestage.errors import VideoError
from cinestage.film.feature_net import FeatureEstimator, from_pretrained
from cinestage.film.main_pair import PairChoice, choose_pair
from cinestage.film.pair_features import MainPair, pair_features
from cinestage.film.pose import FramePoses, MoveNetMultiPose, PoseEstimator, anybody, choose_input_size
from cinestage.film.shots import Shot, ShotDetector
from cinestage.film.tracking import Track, TrackingOptions, track_people
from cinestage.film.video import VideoInfo, read_frames

INPUT_SIZES = (256, 384, 512)
RECHOOSE_FRAMES = 10
NEVER = 1 << 62


@dataclass(frozen=True)
class AnalysisOptions:
    input_size: int | None = None  # the pose network's input long side; None: chosen per shot
    # Adaptive: a cut must stand out from the frame-to-frame change around it, so whip pans of a
    # handheld camera (mmaction2_demo.mp4: 4 false cuts with the content detector) are not cuts.
    shot_method: str = "adaptive"
    min_shot_frames: int = 15
    short_shots: str = "merge"
    tracking: TrackingOptions = field(default_factory=TrackingOptions)
    pairs: tuple[tuple[int, int], ...] = ()  # user's main pairs by track id, for the shots they live in


@dataclass(frozen=True)
class ShotResult:
    shot: Shot
    input_size: int
    pair: MainPair | None
    problem: str | None  # why there is no main pair


@dataclass(frozen=True)
class FilmAnalysis:
    info: VideoInfo
    times: np.ndarray  # (N,) seconds of every decoded frame
    shots: list[ShotResult]
    tracks: list[Track]
    pose_model: str
    feature_model: dict
    seconds: float
    warnings: list[str]

    @property
    def pairs(self) -> list[MainPair]:
        return [s.pair for s in self.shots if s.pair is not None]


Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Observation:
    """What the decoding pass sees: shots, the pose input size per frame, tracks."""

    info: VideoInfo
    times: np.ndarray
    shots: list[Shot]
    input_sizes: np.ndarray  # (N,) pose network input long side per frame
    tracks: list[Track]
    warnings: list[str]
    pose_model: str

    def pair(self, shot: Shot, pairs: tuple[tuple[int, int], ...] = ()) -> PairChoice | str:
        """The shot's main pair (a user's choice among `pairs` when both its tracks are in it)."""
        ids = {t.id for t in self.tracks if t.shot == shot.index}
        return choose_pair(self.tracks, shot.index, next((p for p in pairs if set(p) <= ids), None))


def observe(path: str | Path, options: AnalysisOptions = AnalysisOptions(), estimator: PoseEstimator | None = None,
            progress: Progress | None = None) -> Observation:
    poses, times, sizes, shots, info, warnings, name = _scan(Path(path), options, estimator, progress)
    tracks = track_people(poses, [(s.start, s.end) for s in shots], (info.width, info.height), options.tracking)
    return Observation(info, times, shots, sizes, tracks, warnings, name)


def analyze(path: str | Path, options: AnalysisOptions = AnalysisOptions(), estimator: PoseEstimator | None = None,
            features: FeatureEstimator | None = None, progress: Progress | None = None) -> FilmAnalysis:
    start = time.perf_counter()
    seen = observe(path, options, estimator, progress)
    features = features or from_pretrained()
    info = seen.info
    results = []
    for shot in seen.shots:
        choice = seen.pair(shot, options.pairs)
        size = int(np.bincount(seen.input_sizes[shot.start:shot.end]).argmax())
        if isinstance(choice, PairChoice):
            results.append(ShotResult(shot, size, pair_features(choice, info.width, info.height, features), None))
        else:
            results.append(ShotResult(shot, size, None, f"no main pair in shot {shot.index}: {choice}"))
    return FilmAnalysis(info, seen.times, results, seen.tracks, seen.pose_model, dict(features.info),
                        time.perf_counter() - start, seen.warnings)


def _scan(path: Path, options: AnalysisOptions, estimator: PoseEstimator | None, progress: Progress | None):
    poses: list[FramePoses] = []
    times: list[float] = []
    sizes: list[int] = []
    fixed = options.input_size
    with read_frames(path, max_side=fixed or max(INPUT_SIZES)) as reader:
        info = reader.info  # a bad file has failed by now, before any model is loaded
        estimator = estimator or MoveNetMultiPose()
        detector = ShotDetector(info.fps, options.shot_method, min_shot_frames=options.min_shot_frames,
                                short_shots=options.short_shots)
        # The input size is chosen on a shot's first frame (decoded at the largest size), and
        # again while nobody has been found: a shot that opens on an empty stage or a camera far
        # away says nothing about the size its people will need. The wait doubles each time
        # (RECHOOSE_FRAMES, twice that, ...), so a clip without people costs a few choices, not
        # one every RECHOOSE_FRAMES.
        size, choose_at, chosen_at = fixed, 0 if fixed is None else NEVER, -options.min_shot_frames
        empty = 0  # choices in a row that found nobody
        total = info.estimated_frames
        for frame in reader:
            cut = detector.feed(frame.index, frame.time, frame.image)
            if frame.index >= choose_at:
                size, found = choose_input_size(estimator, frame.image, INPUT_SIZES)
                chosen_at = frame.index
                empty = 0 if anybody(found) else empty + 1
                choose_at = frame.index + RECHOOSE_FRAMES * 2 ** (empty - 1) if empty else NEVER
            else:
                found = estimator.estimate(frame.image, size)
                # Whip pans flag many candidate cuts that the detector later merges: choose again
                # at most once per shortest shot.
                if fixed is None and cut and frame.index - chosen_at >= options.min_shot_frames:
                    choose_at, empty = frame.index + 1, 0
            # A choice's frame is decoded at the largest size, every other straight to the chosen one.
            reader.max_side = max(INPUT_SIZES) if frame.index + 1 >= choose_at else size
            poses.append(found.scaled(info.width / frame.image.shape[1]))
            times.append(frame.time)
            sizes.append(size)
            if progress:
                progress(frame.index + 1, max(total, frame.index + 1))
        warnings = list(reader.warnings)
    if not poses:
        raise VideoError(str(path), "no frames could be decoded")
    return poses, np.asarray(times), np.asarray(sizes), detector.finish(), info, warnings, estimator.name
