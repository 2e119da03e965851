"""Camera-behaviour datasets: synthetic sequences of the 24 canonical categories, in one file.

A sequence is one stretch of a synthetic shot where the camera moves continuously (a Toric rig
re-establishes the line with a jump when the actors cross; a jump is a cut, so it ends the
sequence). Per frame it holds what the behaviour networks read and predict:

    character (T, 9)  stage.features order, A = the actor left on screen at the sequence start
    camera    (T, 5)  [xA, xB, mean y, theta, phi]; phi unwrapped along the sequence
    joints3d  (T, 2, 7, 3), joints2d (T, 2, 7, 2): canonical joints, world and screen

Deterministic by seed: `generate(per_category, seed)` gives identical files on any machine.
Stored as one .npz: every per-frame array concatenated, with sequence offsets and labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from cinestage.behavior.synthetic import BEHAVIOURS, SHOT_TYPES, SyntheticShot, synthetic_performance, synthetic_shot
from cinestage.errors import ModelError
from cinestage.files import atomic_path
from cinestage.geometry import unwrap_angles

CATEGORIES = tuple(f"{b}/{s}" for b in BEHAVIOURS for s in SHOT_TYPES)
FORMAT = "cinestage.behaviour-dataset/1"
FIELDS = ("character", "camera", "joints3d", "joints2d")


@dataclass(frozen=True)
class Sequence:
    category: int  # index into CATEGORIES
    seed: int
    character: np.ndarray
    camera: np.ndarray
    joints3d: np.ndarray
    joints2d: np.ndarray

    @property
    def behaviour(self) -> str:
        return CATEGORIES[self.category].split("/")[0]

    @property
    def shot(self) -> str:
        return CATEGORIES[self.category].split("/")[1]

    def __len__(self) -> int:
        return len(self.camera)

    def features(self) -> np.ndarray:
        """(T, 14) per-frame gating input: 9 character + 5 camera values."""
        return np.concatenate([self.character, self.camera], axis=1).astype(np.float32)


def continuous_stretches(shot: SyntheticShot, min_frames: int, jump: float = 0.5, turn: float = 0.25) -> list[slice]:
    """Frame ranges, long enough, between camera jumps (more than `jump` metres in one frame) and
    Toric singularities (theta or phi turning more than `turn` radians in one frame: the camera
    passing close to the line through the two heads, where phi is undefined)."""
    step = np.linalg.norm(np.diff(shot.track.positions, axis=0), axis=1)
    angles = np.column_stack([shot.camera[:, 3], unwrap_angles(shot.camera[:, 4])])
    spin = np.abs(np.diff(angles, axis=0)).max(axis=1)
    cuts = np.flatnonzero((step > jump) | (spin > turn)) + 1
    bounds = [0, *cuts.tolist(), shot.n_frames]
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b - a >= min_frames]


def shot_sequences(shot: SyntheticShot, category: int, min_frames: int) -> Iterator[Sequence]:
    for part in continuous_stretches(shot, min_frames):
        # After a jump the other actor may be on the left: keep "A is left at the start".
        a_first = bool(shot.screen[part.start, 0, 0, 0] <= shot.screen[part.start, 1, 0, 0])
        order = [0, 1] if a_first else [1, 0]
        j3, j2 = shot.joints3d[part][:, order], shot.screen[part][:, order]
        camera, character = shot.labels(part, a_first)
        camera[:, 4] = unwrap_angles(camera[:, 4])
        yield Sequence(category, shot.seed, character.astype(np.float32), camera.astype(np.float32),
                       j3.astype(np.float32), j2.astype(np.float32))


def generate(per_category: int, seed: int = 0, motion_seed: int | None = None, min_frames: int = 160,
             duration: float = 16.0, progress: Callable[[int, int], None] | None = None) -> list[Sequence]:
    """`per_category` synthetic shots of every category that yield at least one sequence each
    (a shot cut short by jumps is replaced by the next seed's).

    Cameras are drawn from `seed`, duets from `motion_seed` (default: the same), so held-out sets
    can keep one and change the other: the same behaviours on unseen motions, or unseen
    behaviours on the same motions."""
    motion_seed = seed if motion_seed is None else motion_seed
    out: list[Sequence] = []
    total = per_category * len(CATEGORIES)
    for k in range(total):
        category = k % len(CATEGORIES)
        behaviour, shot = CATEGORIES[category].split("/")
        for attempt in range(20):
            k_seed = attempt * total + k
            perf = synthetic_performance(motion_seed * 1_000_000 + k_seed, duration)
            s = synthetic_shot(seed * 1_000_000 + k_seed, behaviour=behaviour, shot=shot, performance=perf)
            found = list(shot_sequences(s, category, min_frames))
            if found:
                out.extend(found)
                break
        if progress:
            progress(k + 1, total)
    return out


def save(sequences: list[Sequence], path: Path) -> Path:
    path = Path(path)
    lengths = np.array([len(s) for s in sequences], np.int64)
    arrays = {f: np.concatenate([getattr(s, f) for s in sequences]) for f in FIELDS}
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, format=np.array(FORMAT), categories=np.array(CATEGORIES),
                            category=np.array([s.category for s in sequences]),
                            seed=np.array([s.seed for s in sequences]), offsets=np.concatenate([[0], np.cumsum(lengths)]),
                            **arrays)
    return path


def load(path: Path) -> list[Sequence]:
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["format"]) != FORMAT:
                raise ValueError(f"format {z['format']} is not {FORMAT}")
            off = z["offsets"]
            data = {f: z[f] for f in FIELDS}
            return [Sequence(int(c), int(sd), *(data[f][off[i]:off[i + 1]] for f in FIELDS))
                    for i, (c, sd) in enumerate(zip(z["category"], z["seed"]))]
    except FileNotFoundError:
        raise ModelError(str(path), "behaviour dataset not found; make one with `cinestage train behavior`") from None
    except (OSError, KeyError, ValueError) as exc:
        raise ModelError(str(path), f"not a cinestage behaviour dataset: {exc}") from None
