"""Performance: the scene model every later stage reads — venue, actors on one clock, lights."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cinestage.errors import PerformanceError
from cinestage.stage.motion import Motion


@dataclass(frozen=True)
class Actor:
    """One performer. motion is already placed on stage and on the performance clock."""

    name: str
    motion: Motion
    costume: tuple[float, float, float]
    canonical: tuple[int, ...]  # indices of the 7 canonical joints (stage.joints.CANONICAL)

    def canonical_positions(self) -> np.ndarray:
        """(T, 7, 3) head, neck, left/right shoulder, hips, left/right hip."""
        return self.motion.positions[:, list(self.canonical)]

    def head(self) -> np.ndarray:
        """(T, 3) head joint: the target Toric cameras frame."""
        return self.motion.positions[:, self.canonical[0]]


@dataclass(frozen=True)
class Light:
    """A stage light. kind: 'spot' (position, target, cone angle) or 'key' (direction only)."""

    name: str
    kind: str
    position: tuple[float, float, float]
    target: tuple[float, float, float]
    colour: tuple[float, float, float] = (1.0, 1.0, 1.0)
    intensity: float = 1.0
    angle: float = 30.0  # full cone angle, degrees


@dataclass(frozen=True)
class Venue:
    """A proscenium theatre. The stage floor is z = 0, centred on x = 0; the audience is at y < 0."""

    stage_width: float = 12.0
    stage_depth: float = 7.0
    stage_height: float = 1.0  # stage floor above the auditorium floor
    proscenium_height: float = 6.0
    rows: int = 10
    curtain_colour: tuple[float, float, float] = (0.42, 0.03, 0.06)
    floor_colour: tuple[float, float, float] = (0.46, 0.30, 0.17)


def house_bounds(v: Venue) -> tuple[np.ndarray, np.ndarray]:
    """Inner corners (min, max) of the theatre's walls: cameras must stay inside them."""
    back = v.stage_depth / 2 + 1.5
    front = -v.stage_depth / 2 - max(2.5 + v.rows * 1.0 + 4.0, 25.0)
    half = max(v.stage_width / 2 + 8.0, 15.0)
    return np.array([-half, front, -v.stage_height]), np.array([half, back, v.proscenium_height + 8.0])


def set_pieces(v: Venue) -> list[tuple[np.ndarray, np.ndarray]]:
    """The solid parts of the set above the stage floor, as (centre, size) boxes in metres: the
    proscenium arch's two legs and header, then the house curtain drawn open inside it (two
    legs and a border). The renderer builds them from here; cameras must not stand in them."""
    w, top = v.stage_width, v.proscenium_height
    y = -v.stage_depth / 2 + 0.6
    boxes = [((-w / 2 - 0.6, y, (top + 2.5) / 2 - 0.5), (1.2, 0.5, top + 2.5)),
             ((w / 2 + 0.6, y, (top + 2.5) / 2 - 0.5), (1.2, 0.5, top + 2.5)),
             ((0.0, y, top + 1.0), (w + 2.4, 0.5, 2.0)),
             ((-w / 2 + 0.45, y + 0.35, top / 2), (0.9, 0.15, top)),
             ((w / 2 - 0.45, y + 0.35, top / 2), (0.9, 0.15, top)),
             ((0.0, y + 0.35, top - 0.45), (w, 0.15, 0.9))]
    return [(np.array(c, float), np.array(size, float)) for c, size in boxes]


FIRST_ROW_GAP = 2.5  # metres from the stage front to the first row of seats
ROW_PITCH, ROW_RISE = 1.0, 0.28  # the seating's row spacing and rake


def lowest_view(v: Venue, y: np.ndarray) -> np.ndarray:
    """Lowest height (z) from which a camera at depth y sees the stage over the seat rows in
    front of it: a standing operator's eye level, 1.6 m above the raked floor of the row it
    stands in (behind the last row, the last row's floor). -inf in front of the first row."""
    y = np.asarray(y, float)
    first = -v.stage_depth / 2 - FIRST_ROW_GAP
    row = np.clip(np.floor(first + ROW_PITCH / 2 - y), 0, v.rows - 1)
    return np.where(y < first + ROW_PITCH / 2, -v.stage_height + ROW_RISE * row + 1.6, -np.inf)


def default_lights(venue: Venue) -> tuple[Light, ...]:
    front = -venue.stage_depth / 2 - 4.0
    return (
        Light("key", "key", (0.0, front, 8.0), (0.0, 0.0, 1.0), (0.25, 0.24, 0.22)),
        Light("front-left", "spot", (-4.0, front, 7.0), (-1.5, 0.0, 0.0), (1.0, 0.86, 0.68), 1.0, 50.0),
        Light("front-right", "spot", (4.0, front, 7.0), (1.5, 0.0, 0.0), (1.0, 0.86, 0.68), 1.0, 50.0),
        Light("centre", "spot", (0.0, -2.0, 8.0), (0.0, 0.0, 0.0), (0.9, 0.9, 1.0), 1.0, 45.0),
        Light("back", "spot", (0.0, venue.stage_depth / 2, 7.5), (0.0, -0.5, 1.0), (0.35, 0.45, 1.0), 1.0, 60.0),
    )


@dataclass(frozen=True)
class Performance:
    """Actors' motions share one clock: n_frames at fps."""

    name: str
    fps: float
    actors: tuple[Actor, ...]
    venue: Venue = field(default_factory=Venue)
    lights: tuple[Light, ...] = ()

    def __post_init__(self) -> None:
        if not self.actors:
            raise PerformanceError(self.name, "a performance needs at least one actor")
        counts = {a.motion.n_frames for a in self.actors}
        if len(counts) != 1:
            raise PerformanceError(self.name, f"actors' motions differ in length: {sorted(counts)}")
        names = [a.name for a in self.actors]
        if len(set(names)) != len(names):
            raise PerformanceError(self.name, f"actor names repeat: {names}")

    @property
    def n_frames(self) -> int:
        return self.actors[0].motion.n_frames

    @property
    def duration(self) -> float:
        return self.n_frames / self.fps

    def actor(self, name: str) -> Actor:
        for a in self.actors:
            if a.name == name:
                return a
        raise PerformanceError(self.name, f"no actor named {name!r} (actors: {[a.name for a in self.actors]})")
