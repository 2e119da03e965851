"""The two main actors of a shot, and how each of them faces the camera.

METHODS §3: the main pair is the two tracks with the longest overlap. A is the one whose head is
left on screen when they first appear together (the convention the synthetic training data
follows), so A keeps its identity if the two later cross.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from cinestage.film.joints2d import HEAD, L_SHOULDER, R_SHOULDER
from cinestage.film.tracking import Track


@dataclass(frozen=True)
class PairChoice:
    """Tracks a and b (ids) of one shot, A left of B at the start of their common frames."""

    shot: int
    a: Track
    b: Track
    frames: np.ndarray  # (F,) frame indices both tracks cover


def overlap(t1: Track, t2: Track) -> np.ndarray:
    return np.intersect1d(t1.frames, t2.frames)


def choose_pair(tracks: Sequence[Track], shot: int, override: tuple[int, int] | None = None,
                min_frames: int = 1) -> PairChoice | str:
    """The main pair of a shot, or the reason there is none (a sentence for the result file)."""
    mine = [t for t in tracks if t.shot == shot]
    if override is not None:
        by_id = {t.id: t for t in mine}
        missing = [i for i in override if i not in by_id]
        if missing:
            return f"chosen tracks {missing} are not in shot {shot}"
        pair = (by_id[override[0]], by_id[override[1]])
    elif len(mine) < 2:
        return f"{'nobody' if not mine else 'only one person'} tracked long enough in shot {shot}"
    else:
        pair = max(((t1, t2) for i, t1 in enumerate(mine) for t2 in mine[i + 1:]), key=lambda p: len(overlap(*p)))
    frames = overlap(*pair)
    if len(frames) < min_frames:
        return f"the two longest tracks of shot {shot} share only {len(frames)} frames"
    first = [t.keypoints[t.at(int(frames[0])), :, 0] for t in pair]
    a, b = pair if _head_x(first[0]) <= _head_x(first[1]) else pair[::-1]
    return PairChoice(shot, a, b, frames)


def _head_x(x: np.ndarray) -> float:
    return float(np.mean(x[:5]))  # nose, eyes, ears; interpolated positions are fine for ordering


FACING = ("camera", "away", "screen-left", "screen-right")


def facing(joints: np.ndarray, face_scores: np.ndarray, min_score: float = 0.2) -> np.ndarray:
    """(T,) index into FACING from canonical pixel joints (T, 7, 3) and the 5 face scores (T, 5).

    A person facing the camera shows their left shoulder on the image's right and their face;
    facing away, the reverse and no nose or eyes. When the shoulders are nearly end-on (narrow
    next to the torso) the person is in profile, looking toward the side their nose is on.
    """
    x_l, x_r = joints[:, L_SHOULDER, 0], joints[:, R_SHOULDER, 0]
    width = np.abs(x_l - x_r)
    torso = np.linalg.norm(joints[:, 1, :2] - joints[:, 4, :2], axis=-1)
    nose_seen = face_scores[:, 0] >= min_score
    eyes_seen = (face_scores[:, 1:3] >= min_score).sum(1)
    profile = width < 0.25 * np.maximum(torso, 1e-6)
    out = np.where(x_l > x_r, 0, 1)
    out = np.where(~profile & (eyes_seen == 0) & ~nose_seen, 1, out)
    out = np.where(~profile & (eyes_seen == 2) & nose_seen, 0, out)
    side = np.where(joints[:, HEAD, 0] < (x_l + x_r) / 2, 2, 3)
    return np.where(profile, side, out)
