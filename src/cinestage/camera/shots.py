"""Shot sizes as Toric screen layouts (Jiang et al.'s six shot types): where the two heads sit.

xA, xB: screen x of actor A's and B's heads; y: their mean screen y (normalised, y up).
The wider the heads are apart on screen, the closer the camera (Toric alpha grows).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cinestage.errors import CameraError


@dataclass(frozen=True)
class ShotLayout:
    xA: float
    xB: float
    y: float

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array([self.xA, self.y]), np.array([self.xB, self.y])


SHOTS: dict[str, ShotLayout] = {
    "close": ShotLayout(-0.45, 0.45, 0.30),
    "medium-left": ShotLayout(-0.62, -0.08, 0.38),
    "medium-mid": ShotLayout(-0.28, 0.28, 0.38),
    "medium-right": ShotLayout(0.08, 0.62, 0.38),
    "far-left": ShotLayout(-0.55, -0.18, 0.22),
    "far-right": ShotLayout(0.18, 0.55, 0.22),
}


def shot(name: str) -> ShotLayout:
    try:
        return SHOTS[name]
    except KeyError:
        raise CameraError("shot", f"unknown shot size {name!r}; choose one of {', '.join(SHOTS)}") from None


def nearest_shot(layout) -> str:
    """The shot size whose layout (xA, xB, y) is nearest a measured one (sum of absolute differences)."""
    xa, xb, y = np.asarray(layout, float)[:3]
    return min(SHOTS, key=lambda n: abs(SHOTS[n].xA - xa) + abs(SHOTS[n].xB - xb) + abs(SHOTS[n].y - y))
