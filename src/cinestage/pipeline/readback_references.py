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

from functools import partial
from typing import Callable

import numpy as np

from cinestage.behavior.dataset import CATEGORIES
from cinestage.behavior.recognition import ReadBack
from cinestage.behavior.synthetic import SyntheticShot
from cinestage.film.analysis import PairChoice, observe
from cinestage.film.feature_net import FeatureEstimator
from cinestage.film.pair_features import MainPair, pair_features
from cinestage.geometry import unwrap_angles
from cinestage.pipeline.rendered_shots import reads_a_first, rendered_reference
from cinestage.service.executor import map_each

READBACK_SEED = 5_000_000
HELD_OUT = 100_000  # first reference index evaluation reads back: training reads back 0, 1, 2, ...


def readback_pair(k: int, features: FeatureEstimator, width: int = 480, duration: float = 10.0,
                  min_frames: int = 60) -> tuple[SyntheticShot, MainPair] | None:
    """Reference k (category k mod 24) with the longest main-pair stretch the analysis found in
    it; None where it found none of `min_frames`."""
    with rendered_reference(READBACK_SEED + k, CATEGORIES[k % len(CATEGORIES)], duration, width) as (shot, video):
        seen = observe(video)
    pairs = [pair_features(c, seen.info.width, seen.info.height, features)
             for c in map(seen.pair, seen.shots) if isinstance(c, PairChoice)]
    pairs = [p for p in pairs if len(p.frames) >= min_frames]
    return (shot, max(pairs, key=lambda p: len(p.frames))) if pairs else None


def readback_references(count: int, features: FeatureEstimator, progress: Callable[[int, int], None] | None = None,
                        first: int = 0, workers: int = 1) -> list[ReadBack]:
    """References first..first+count-1 read back, in order; with `workers` other than 1 (0: one
    per CPU core) each worker process renders and reads its own (the same references as one
    process reads: each is seeded by its index alone)."""
    done = 0

    def tick(*_) -> None:
        nonlocal done
        done += 1
        progress(done, count)

    found = map_each(partial(_read_one, features=features), range(first, first + count), workers,
                     on_result=tick if progress else None)
    return [r for r in found if r is not None]


def _read_one(k: int, features: FeatureEstimator) -> ReadBack | None:
    found = readback_pair(k, features)
    return readback(*found) if found else None


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
