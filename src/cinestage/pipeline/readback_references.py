"""Reference clips as the film analysis reads them: synthetic 10 s duets of every canonical
category rendered by the `render` package and read back like a real clip (MoveNet, shots,
tracking, main pair, the feature network), kept with their category.

The behaviour recogniser learns from these what the analysis really does to a camera's
features (a drift in phi as the actors turn reads like a swinging camera), which no simple
noise model reproduces; scripts/readback_errors.py measures the same references' errors.
Seeds are disjoint from the round trip's (`behaviour_roundtrip.ROUNDTRIP_SEED`) and from the
synthetic training sets'.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from cinestage.behavior.dataset import CATEGORIES
from cinestage.behavior.recognition import ReadBack
from cinestage.behavior.synthetic import SyntheticShot, synthetic_performance, synthetic_shot
from cinestage.film.analysis import PairChoice, observe
from cinestage.film.feature_net import FeatureEstimator
from cinestage.film.pair_features import MainPair, pair_features
from cinestage.geometry import unwrap_angles
from cinestage.pipeline.rendered_shots import reads_a_first
from cinestage.render.renderer import RenderOptions, render_videos

READBACK_SEED = 5_000_000
HELD_OUT = 100_000  # first reference index evaluation reads back: training reads back 0, 1, 2, ...


def readback_pairs(count: int, features: FeatureEstimator, width: int = 480, duration: float = 10.0,
                   min_frames: int = 60, progress: Callable[[int, int], None] | None = None, first: int = 0
                   ) -> Iterator[tuple[SyntheticShot, MainPair]]:
    """References first..first+count-1, reference k (category k mod 24) with the longest main-pair
    stretch the analysis found in it (references where it found none of `min_frames` are skipped)."""
    with tempfile.TemporaryDirectory(prefix="cinestage-readback-") as tmp:
        video = Path(tmp) / "reference.mp4"
        for i, k in enumerate(range(first, first + count)):
            behaviour, size = CATEGORIES[k % len(CATEGORIES)].split("/")
            perf = synthetic_performance(READBACK_SEED + k, duration)
            shot = synthetic_shot(READBACK_SEED + k, behaviour, size, performance=perf, aspect=16 / 9)
            render_videos(perf, [shot.track], [video], RenderOptions(width=width, height=int(width * 9 / 16) // 2 * 2))
            seen = observe(video)
            pairs = [pair_features(c, seen.info.width, seen.info.height, features)
                     for c in map(seen.pair, seen.shots) if isinstance(c, PairChoice)]
            pairs = [p for p in pairs if len(p.frames) >= min_frames]
            if pairs:
                yield shot, max(pairs, key=lambda p: len(p.frames))
            if progress:
                progress(i + 1, count)


def readback_references(count: int, features: FeatureEstimator, progress: Callable[[int, int], None] | None = None,
                        first: int = 0) -> list[ReadBack]:
    return [readback(shot, pair) for shot, pair in readback_pairs(count, features, progress=progress, first=first)]


def readback(shot: SyntheticShot, pair: MainPair) -> ReadBack:
    """The pair's features as read, and their errors against the shot's true features (in the
    analysis' actor order: it names A the actor on the left at the start)."""
    camera = pair.camera.astype(np.float32)
    camera[:, 4] = unwrap_angles(camera[:, 4])
    true_camera, true_character = shot.labels(pair.frames, reads_a_first(shot, pair.frames, pair.camera[:, 0], pair.camera[:, 1]))
    error = np.concatenate([pair.character - true_character, pair.camera - true_camera], 1)
    error[:, -1] = (error[:, -1] + np.pi) % (2 * np.pi) - np.pi
    return ReadBack(CATEGORIES.index(f"{shot.behaviour}/{shot.shot}"), camera, pair.character.astype(np.float32),
                    error.astype(np.float32))
