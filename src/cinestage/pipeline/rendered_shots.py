"""Synthetic shots rendered and read back like real clips: the pose estimator's view of them,
with the known camera for every frame.

One random duet is filmed by several random canonical-behaviour cameras in one render pass
(tiles of one buffer share its size, so the cameras share an aspect ratio). Each video is then
observed like any real clip (MoveNet, shots, tracks, main pair), and every main-pair frame gets
the labels of the camera that rendered it, in the analysis' actor order: the analysis names A
the actor on the left when the pair first appears, the synthetic shot the one on the left in
its first frame; where the two disagree the labels are recomputed for the analysis' order.
"""

from __future__ import annotations

import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from cinestage.behavior.synthetic import ASPECTS, SyntheticShot, synthetic_performance, synthetic_shot
from cinestage.film.analysis import AnalysisOptions, observe
from cinestage.film.joints2d import HEAD
from cinestage.film.main_pair import PairChoice
from cinestage.film.pair_features import pair_joints
from cinestage.film.pose import MoveNetMultiPose
from cinestage.render.renderer import RenderOptions, render_videos


@dataclass(frozen=True)
class RenderedPair:
    """A main pair found in a rendered shot: F frames, actors in the analysis' order."""

    shot: SyntheticShot
    frames: np.ndarray  # (F,)
    screen: tuple[np.ndarray, np.ndarray]  # A's and B's canonical joints (F, 7, 2), normalised screen
    theta: np.ndarray  # (F,) the rendering camera's Toric angles for (A, B)
    phi: np.ndarray
    character: np.ndarray  # (F, 9)


@contextmanager
def rendered_reference(seed: int, category: str, duration: float = 10.0, width: int = 480
                       ) -> Iterator[tuple[SyntheticShot, Path]]:
    """A reference clip: a duet drawn from `seed` filmed by a camera of `category` ("behaviour/
    shot", drawn from the same seed) at 16:9, rendered to a temporary video that lasts as long
    as the context."""
    behaviour, size = category.split("/")
    perf = synthetic_performance(seed, duration)
    shot = synthetic_shot(seed, behaviour, size, performance=perf, aspect=16 / 9)
    with tempfile.TemporaryDirectory(prefix="cinestage-reference-") as tmp:
        video = Path(tmp) / "reference.mp4"
        render_videos(perf, [shot.track], [video], RenderOptions(width=width, height=int(width * 9 / 16) // 2 * 2))
        yield shot, video


def rendered_pairs(seed: int, cameras: int = 4, duration: float = 10.0, width: int = 640,
                   estimator: MoveNetMultiPose | None = None) -> Iterator[RenderedPair]:
    rng = np.random.default_rng([seed, 2])
    aspect = float(ASPECTS[rng.integers(len(ASPECTS))])
    perf = synthetic_performance(seed, duration)
    shots = [synthetic_shot(seed * 16 + k, performance=perf, aspect=aspect) for k in range(cameras)]
    height = int(round(width / aspect / 2)) * 2
    estimator = estimator or MoveNetMultiPose()
    with tempfile.TemporaryDirectory(prefix="cinestage-rendered-") as tmp:
        paths = [Path(tmp) / f"camera-{k}.mp4" for k in range(cameras)]
        render_videos(perf, [s.track for s in shots], paths, RenderOptions(width=width, height=height))
        for shot, path in zip(shots, paths):
            seen = observe(path, AnalysisOptions(), estimator)
            for s in seen.shots:
                choice = seen.pair(s)
                if isinstance(choice, PairChoice):
                    yield _labelled(shot, choice, seen.info.width, seen.info.height)


def _labelled(shot: SyntheticShot, choice: PairChoice, width: int, height: int) -> RenderedPair:
    _, screen, _ = pair_joints(choice, width, height)
    f = choice.frames
    camera, character = shot.labels(f, reads_a_first(shot, f, screen[0][:, HEAD, 0], screen[1][:, HEAD, 0]))
    return RenderedPair(shot, f, (screen[0], screen[1]), camera[:, 3], camera[:, 4], character)


def reads_a_first(shot: SyntheticShot, frames: np.ndarray, a_x: np.ndarray, b_x: np.ndarray) -> bool:
    """Whether the analysis' actor A (head at screen x `a_x` over `frames`) is the shot's A: its
    head is nearer A's than the analysis' B is."""
    known = shot.screen[frames, 0, HEAD, 0]
    return bool(np.mean(np.abs(a_x - known)) <= np.mean(np.abs(b_x - known)))
