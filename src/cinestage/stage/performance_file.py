"""PERFORMANCE.yaml → Performance: venue, actors (BVH or built-in motion) placed on one clock.

    name: duet in the round
    fps: 25
    duration: 12            # optional: default is when the last actor's motion ends
    venue: {stage_width: 12, stage_depth: 7}
    actors:
      - {name: Ana, motion: moves/dance.bvh, position: [-1.5, 0.5], heading: 90, start: 1.0}
      - {name: Ben, builtin: duet-b, costume: gold}
    lights:                 # optional: default is a warm front wash, a centre spot, a backlight
      - {kind: spot, position: [0, -6, 7], target: [0, 0, 0], angle: 40, colour: [1, 0.9, 0.8]}

Motion paths are relative to the YAML file. heading (degrees) turns the motion about its first
root position, then position moves that point on stage (x right, y upstage, metres).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cinestage.errors import PerformanceError
from cinestage.stage import procedural
from cinestage.stage.bvh import load_bvh
from cinestage.stage.joints import canonical_indices
from cinestage.stage.motion import Motion
from cinestage.stage.performance import Actor, Light, Performance, Venue
from cinestage.yaml_files import first_problem, read_yaml

COSTUMES = {
    "crimson": (0.78, 0.10, 0.12),
    "royal": (0.12, 0.28, 0.80),
    "gold": (0.85, 0.65, 0.12),
    "emerald": (0.08, 0.55, 0.30),
    "violet": (0.50, 0.20, 0.70),
    "orange": (0.90, 0.42, 0.08),
    "teal": (0.05, 0.55, 0.60),
    "white": (0.90, 0.90, 0.88),
}
BUILTINS = ("duet-a", "duet-b")
MAX_DURATION = 3600.0

Colour = tuple[float, float, float]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ActorSpec(_Strict):
    name: str = Field(min_length=1, max_length=64)
    motion: str | None = None
    builtin: Literal["duet-a", "duet-b"] | None = None
    position: tuple[float, float] = (0.0, 0.0)
    heading: float = 0.0
    start: float = Field(0.0, ge=0.0)
    costume: str | tuple[float, float, float] | None = None
    units: Literal["auto", "m", "cm", "mm", "inch"] = "auto"
    loop: bool = False

    @field_validator("costume", mode="before")
    @classmethod
    def _costume(cls, value):
        if isinstance(value, str) and value not in COSTUMES:
            raise ValueError(f"unknown costume colour {value!r}; use [r, g, b] or one of {', '.join(COSTUMES)}")
        if isinstance(value, (list, tuple)) and (len(value) != 3 or not all(isinstance(c, (int, float)) and 0.0 <= c <= 1.0 for c in value)):
            raise ValueError("costume must be a colour name or [r, g, b] with values in 0..1")
        return value

    @model_validator(mode="after")
    def _one_source(self):
        if (self.motion is None) == (self.builtin is None):
            raise ValueError("give exactly one of 'motion' (a BVH file) or 'builtin' (duet-a, duet-b)")
        return self


class VenueSpec(_Strict):
    stage_width: float = Field(12.0, ge=4.0, le=40.0)
    stage_depth: float = Field(7.0, ge=3.0, le=30.0)
    stage_height: float = Field(1.0, ge=0.0, le=3.0)
    proscenium_height: float = Field(6.0, ge=3.0, le=20.0)
    rows: int = Field(10, ge=0, le=40)
    curtain_colour: Colour = (0.42, 0.03, 0.06)
    floor_colour: Colour = (0.46, 0.30, 0.17)


class LightSpec(_Strict):
    name: str | None = None
    kind: Literal["spot", "key"] = "spot"
    position: tuple[float, float, float]
    target: tuple[float, float, float] = (0.0, 0.0, 0.0)
    colour: Colour = (1.0, 1.0, 1.0)
    intensity: float = Field(1.0, ge=0.0, le=10.0)
    angle: float = Field(40.0, gt=1.0, lt=170.0)


class PerformanceSpec(_Strict):
    name: str = "performance"
    fps: float = Field(25.0, gt=1.0, le=120.0)
    duration: float | None = Field(None, gt=0.0, le=MAX_DURATION)
    venue: VenueSpec = VenueSpec()
    actors: list[ActorSpec] = Field(min_length=1, max_length=8)
    lights: list[LightSpec] | None = Field(None, max_length=9)


def load_performance(path: Path) -> Performance:
    path = Path(path)
    return build_performance(read_yaml(path, PerformanceError), str(path), path.parent)


def build_performance(data: object, source: str, base: Path) -> Performance:
    try:
        spec = PerformanceSpec.model_validate(data)
    except ValidationError as exc:
        raise PerformanceError(source, first_problem(exc)) from None
    names = [a.name for a in spec.actors]
    if len(set(names)) != len(names):
        raise PerformanceError(source, f"actor names repeat: {names}")
    sources = [_motion(a, base, spec.duration, spec.fps) for a in spec.actors]
    duration = spec.duration or max(a.start + m.duration for a, m in zip(spec.actors, sources))
    n = max(1, int(round(duration * spec.fps)))
    times = np.arange(n) / spec.fps
    actors = []
    # Actors without a costume get palette colours nobody chose, so no two look alike.
    chosen = {COSTUMES[a.costume] if isinstance(a.costume, str) else a.costume for a in spec.actors if a.costume}
    spare = iter([c for c in COSTUMES.values() if c not in chosen] + list(COSTUMES.values()))
    for a, m in zip(spec.actors, sources):
        local = times - a.start
        if a.loop:
            # Whole frames, not seconds: a float remainder would show the last frame twice.
            local = np.mod(np.round(np.maximum(local, 0.0) * m.fps, 6), m.n_frames) / m.fps
        canonical = canonical_indices(m.skeleton.names, m.source)
        placed = Motion(m.skeleton, _place(m.sample(local), a, canonical[4]), spec.fps, m.source)
        costume = (COSTUMES[a.costume] if isinstance(a.costume, str) else a.costume) if a.costume else next(spare)
        actors.append(Actor(a.name, placed, tuple(costume), canonical))
    venue = Venue(**spec.venue.model_dump())
    lights = tuple(Light(l.name or f"light-{i}", l.kind, l.position, l.target, l.colour, l.intensity, l.angle)
                   for i, l in enumerate(spec.lights or ()))
    return Performance(spec.name, spec.fps, tuple(actors), venue, lights)


def _motion(a: ActorSpec, base: Path, duration: float | None, fps: float) -> Motion:
    if a.builtin is not None:
        pair = procedural.duet(duration=max(duration or 20.0, 4.0), fps=fps)
        return pair[BUILTINS.index(a.builtin)]
    path = (base / a.motion).resolve()
    return load_bvh(path, a.units)


def _place(p: np.ndarray, a: ActorSpec, hips: int) -> np.ndarray:
    """Turn by heading about the first hips position, move it to position; built-ins keep their script.

    The hips, not joint 0: many captures (Bandai-Namco's joint_Root) have a root that stays on
    the floor at the origin while the body walks away from it.
    """
    target = np.array([a.position[0], a.position[1], 0.0])
    origin = np.zeros(3) if a.builtin is not None else np.array([p[0, hips, 0], p[0, hips, 1], 0.0])
    c, s = np.cos(np.radians(a.heading)), np.sin(np.radians(a.heading))
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return (p - origin) @ rot.T + target


def demo_performance(duration: float = 10.0, fps: float = 25.0) -> Performance:
    """The built-in duet: two actors enter, meet, turn to each other, gesture and part."""
    data = {
        "name": "duet",
        "fps": fps,
        "duration": duration,
        "actors": [
            {"name": "A", "builtin": "duet-a", "costume": "crimson"},
            {"name": "B", "builtin": "duet-b", "costume": "royal"},
        ],
    }
    return build_performance(data, "built-in duet", Path("."))

