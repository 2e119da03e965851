"""Motion: joint positions per frame for one skeleton — the value every stage module passes on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cinestage.errors import MotionError


@dataclass(frozen=True)
class Skeleton:
    """Joint names and the parent of each joint (-1 for a root)."""

    names: tuple[str, ...]
    parents: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.names) != len(self.parents):
            raise ValueError("names and parents differ in length")

    def bones(self) -> list[tuple[int, int]]:
        """(parent, child) index pairs, one per joint that has a parent."""
        return [(p, c) for c, p in enumerate(self.parents) if p >= 0]


@dataclass(frozen=True)
class Motion:
    """World joint positions of one skeleton.

    positions: (T, J, 3) float64, metres, world frame (right-handed, Z up).
    """

    skeleton: Skeleton
    positions: np.ndarray
    fps: float
    source: str = "<memory>"

    def __post_init__(self) -> None:
        p = self.positions
        if p.ndim != 3 or p.shape[2] != 3 or p.shape[1] != len(self.skeleton.names):
            raise MotionError(self.source, f"positions must be (T, {len(self.skeleton.names)}, 3), got {p.shape}")
        if p.shape[0] == 0:
            raise MotionError(self.source, "the motion has no frames")
        if not np.all(np.isfinite(p)):
            raise MotionError(self.source, "the motion has non-finite joint positions")
        if not self.fps > 0:
            raise MotionError(self.source, f"frame rate must be positive, got {self.fps}")

    @property
    def n_frames(self) -> int:
        return int(self.positions.shape[0])

    @property
    def duration(self) -> float:
        return self.n_frames / self.fps

    def index(self, name: str) -> int:
        return self.skeleton.names.index(name)

    def sample(self, times: np.ndarray) -> np.ndarray:
        """Positions at arbitrary times (seconds), linearly interpolated, held at both ends."""
        t = np.clip(np.asarray(times, dtype=np.float64) * self.fps, 0.0, self.n_frames - 1)
        i0 = np.floor(t).astype(int)
        i1 = np.minimum(i0 + 1, self.n_frames - 1)
        w = (t - i0)[:, None, None]
        return self.positions[i0] * (1.0 - w) + self.positions[i1] * w
