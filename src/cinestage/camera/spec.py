"""CAMERAS.yaml: a list of named cameras, each a rig with its parameters, validated up front.

    cameras:
      - {name: wide, rig: fixed, position: [0, -13, 2.5]}
      - {name: two-shot, rig: toric, behaviour: direct, shot: medium-mid}
      - {name: circle, rig: orbit, radius: 6, height: 2.2, speed: 12}

Every camera may set fov (vertical, degrees) and pair (the two actors it frames).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from cinestage.camera import rigs
from cinestage.camera.shots import SHOTS, shot
from cinestage.camera.track import CameraTrack
from cinestage.errors import CameraError, PerformanceError
from cinestage.geometry import screen_angle
from cinestage.stage.performance import Performance
from cinestage.yaml_files import first_problem, read_yaml

Vec3 = tuple[float, float, float]
ShotName = Literal[tuple(SHOTS)]  # type: ignore[valid-type]


class _Camera(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)
    fov: float = Field(40.0, gt=5.0, lt=120.0, description="vertical field of view, degrees")
    pair: tuple[str, str] | None = None


class Fixed(_Camera):
    rig: Literal["fixed"]
    position: Vec3
    target: Vec3 | None = None


class Orbit(_Camera):
    rig: Literal["orbit"]
    radius: float = Field(6.0, gt=0.3)
    height: float = 2.0
    speed: float = Field(10.0, description="degrees per second")
    start: float = Field(-90.0, description="start angle, degrees; -90 is in front of the stage")


class Dolly(_Camera):
    rig: Literal["dolly"]
    start: Vec3
    end: Vec3


class Learned(_Camera):
    rig: Literal["learned"]
    style: str = Field(description="a reference clip (analysed) or a style file from `cinestage style`")
    gating: str = "lstm-sa3"
    shot: int | None = Field(None, ge=0, description="which reference shot; default: the longest with a main pair")


class Follow(_Camera):
    rig: Literal["follow"]
    position: Vec3
    actor: str
    dead_zone: float = Field(0.25, ge=0.0, lt=1.0)


class Group(_Camera):
    rig: Literal["group"]
    screen_a: tuple[float, float] = (-1 / 3, 0.3)
    screen_b: tuple[float, float] = (1 / 3, 0.3)
    theta: float | None = Field(None, description="Toric theta, degrees (default: symmetric)")
    phi: float = Field(12.0, description="Toric phi, degrees (> 0 above the pair)")


class Toric(_Camera):
    rig: Literal["toric"]
    behaviour: Literal["direct", "relative", "sin_cos", "side_track"]
    shot: ShotName = "medium-mid"  # type: ignore[valid-type]
    phi: float = 12.0
    amplitude: float = 25.0
    period: float = Field(12.0, gt=0.5)


CameraSpec = Annotated[Union[Fixed, Orbit, Dolly, Follow, Group, Toric, Learned], Field(discriminator="rig")]


class CameraList(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cameras: list[CameraSpec] = Field(min_length=1)


def parse_cameras(data: object, source: str) -> list:
    try:
        specs = TypeAdapter(CameraList).validate_python(data).cameras
    except ValidationError as exc:
        raise CameraError(source, first_problem(exc)) from None
    names = [c.name for c in specs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise CameraError(source, f"camera names repeat: {', '.join(dup)}")
    return specs


def load_cameras(path: Path) -> list:
    """Cameras of a file; a learned camera's style path is relative to the file."""
    specs = parse_cameras(read_yaml(path, CameraError), str(path))
    return [c.model_copy(update={"style": str(Path(path).parent / c.style)}) if c.rig == "learned" else c for c in specs]


def shooting(spec, performance: Performance, aspect: float) -> rigs.Shooting:
    """The pair a camera frames (its `pair`, else the first two actors, A the one starting on the
    audience's left) with its lens."""
    if len(performance.actors) < 2 and spec.rig in ("group", "toric", "learned"):
        raise CameraError(spec.name, f"a {spec.rig} camera frames two actors; the performance has one")
    # A is whoever starts on the audience's left, so Toric layouts with A left of B put the
    # camera in the house, not behind the back curtain (Toric rigs keep that as actors cross).
    names = spec.pair or tuple(a.name for a in sorted(performance.actors[:2], key=lambda a: a.head()[0, 0]))
    try:
        a = performance.actor(names[0])
        b = performance.actor(names[-1])
    except PerformanceError as exc:
        raise CameraError(spec.name, exc.problem) from None
    return rigs.Shooting(performance, a, b, aspect, np.radians(spec.fov))


def learned_track(name: str, style, model, performance: Performance, aspect: float) -> CameraTrack:
    """A learned camera from a style already in hand (a shoot extracts them all from one analysis)."""
    spec = Learned(name=name, rig="learned", style=style.source or "-", gating=style.gating)
    return rigs.learned(shooting(spec, performance, aspect), name, style, model)


def build_track(spec, performance: Performance, aspect: float) -> CameraTrack:
    """Runs the camera's rig over the performance."""
    s = shooting(spec, performance, aspect)
    if spec.rig == "fixed":
        return rigs.fixed(s, spec.name, spec.position, spec.target)
    if spec.rig == "orbit":
        return rigs.orbit(s, spec.name, spec.radius, spec.height, spec.speed, spec.start)
    if spec.rig == "dolly":
        return rigs.dolly(s, spec.name, spec.start, spec.end)
    if spec.rig == "follow":
        try:
            actor = performance.actor(spec.actor)
        except PerformanceError as exc:
            raise CameraError(spec.name, exc.problem) from None
        return rigs.follow(s, spec.name, spec.position, actor, spec.dead_zone)
    if spec.rig == "learned":
        from cinestage.behavior.style import resolve_style  # torch loads only for learned cameras

        style, model = resolve_style(Path(spec.style), spec.gating, spec.shot)
        return rigs.learned(s, spec.name, style, model)
    if spec.rig == "group":
        pa, pb = np.array(spec.screen_a), np.array(spec.screen_b)
        alpha = float(screen_angle(pa, pb, s.fov_y, s.aspect))
        theta = np.pi - alpha if spec.theta is None else np.radians(spec.theta)
        return rigs.toric(s, spec.name, pa, pb, theta, np.radians(spec.phi), "group")
    return rigs.behaviour(s, spec.name, spec.behaviour, shot(spec.shot), None, np.radians(spec.phi),
                          spec.amplitude, spec.period)
