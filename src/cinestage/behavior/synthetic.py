"""Synthetic camera work with known answers: random duets shot by the canonical behaviours.

Jiang et al. 2020 train both the feature-estimation network and the behaviour networks on
two-character animations filmed by the 4 canonical behaviours x 6 shot types, where every
frame's 3D joints, 2D joints and Toric camera values are known. cinestage makes its own: a
procedural duet with a random seed and body heights, a behaviour rig with random parameters
(layout jittered around the shot type, Toric angles, lens, aspect), and per frame everything a
network may learn from.

Actor order: A is the actor whose head is left on screen in the first frame. That is the rule
the film analysis applies to a real shot, so the labels here mean what its predictions mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cinestage.camera.rigs import Shooting, behaviour as behaviour_rig
from cinestage.camera.shots import SHOTS, ShotLayout
from cinestage.camera.track import CameraTrack
from cinestage.geometry import project, screen_angle, toric_features
from cinestage.stage import procedural
from cinestage.stage.features import character_features
from cinestage.stage.joints import canonical_indices
from cinestage.stage.performance import Actor, Performance, Venue, default_lights
from cinestage.stage.performance_file import COSTUMES

BEHAVIOURS = ("direct", "relative", "sin_cos", "side_track")
SHOT_TYPES = tuple(SHOTS)
ASPECTS = (16 / 9, 4 / 3, 1.85)


@dataclass(frozen=True)
class SyntheticShot:
    """One shot with known camera and actors; T frames, actors ordered (A, B).

    joints3d: (T, 2, 7, 3) canonical joints (stage.joints.CANONICAL order), world metres.
    screen: (T, 2, 7, 2) the same joints projected, normalised screen (y up).
    depth: (T, 2, 7) distance in front of the camera (<= 0: behind it).
    camera: (T, 5) [xA, xB, mean y, theta, phi] of the heads.
    character: (T, 9) character features, main actor = the one nearer the camera.
    """

    seed: int
    behaviour: str
    shot: str
    performance: Performance
    track: CameraTrack
    joints3d: np.ndarray
    screen: np.ndarray
    depth: np.ndarray
    camera: np.ndarray
    character: np.ndarray

    @property
    def n_frames(self) -> int:
        return int(self.camera.shape[0])

    @property
    def aspect(self) -> float:
        return self.track.aspect

    def labels(self, frames, a_first: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Camera (F, 5) and character (F, 9) features of `frames` with the actors in order
        (A, B) or, a_first False, (B, A): how another reading of the same shot names them."""
        j = self.joints3d[frames]
        ja, jb = (j[:, 0], j[:, 1]) if a_first else (j[:, 1], j[:, 0])
        t = self.track
        camera = toric_features(ja[:, 0], jb[:, 0], t.positions[frames], t.rotations[frames], t.fov_y[frames], t.aspect)
        main = int(self.character[0, 8] > 0.5)
        return camera, character_features(ja, jb, main if a_first else 1 - main)


def duet_performance(seed: int, duration: float, fps: float, heights: tuple[float, float]) -> Performance:
    a, b = procedural.duet(duration=duration, fps=fps, seed=seed, heights=heights)
    venue = Venue()
    actors = tuple(Actor(name, m, COSTUMES[costume], canonical_indices(m.skeleton.names, m.source))
                   for name, m, costume in (("A", a, "crimson"), ("B", b, "royal")))
    return Performance(f"duet-{seed}", fps, actors, venue, default_lights(venue))


def _jittered(layout: ShotLayout, rng: np.random.Generator) -> ShotLayout:
    xa, xb = sorted((layout.xA + rng.uniform(-0.08, 0.08), layout.xB + rng.uniform(-0.08, 0.08)))
    if xb - xa < 0.12:
        xa, xb = xa - 0.06, xb + 0.06
    return ShotLayout(float(xa), float(xb), float(layout.y + rng.uniform(-0.1, 0.1)))


def synthetic_performance(seed: int, duration: float | None = None, fps: float = 25.0) -> Performance:
    """A random duet: seed, length (8-24 s unless given) and both actors' heights drawn from `seed`."""
    rng = np.random.default_rng(seed)
    duration = duration or float(rng.uniform(8.0, 24.0))
    heights = (float(rng.uniform(1.55, 1.92)), float(rng.uniform(1.55, 1.92)))
    return duet_performance(int(rng.integers(1 << 30)), duration, fps, heights)


def synthetic_shot(seed: int, behaviour: str | None = None, shot: str | None = None, duration: float | None = None,
                   fps: float = 25.0, performance: Performance | None = None, aspect: float | None = None) -> SyntheticShot:
    """A deterministic random shot: the same arguments give identical arrays. The camera is drawn
    from `seed`; so is the performance unless one is given (several cameras on one duet)."""
    perf = performance or synthetic_performance(seed, duration, fps)
    rng = np.random.default_rng([seed, 1])
    behaviour = behaviour or BEHAVIOURS[rng.integers(len(BEHAVIOURS))]
    shot = shot or SHOT_TYPES[rng.integers(len(SHOT_TYPES))]
    drawn = float(ASPECTS[rng.integers(len(ASPECTS))])
    aspect = aspect or drawn
    fov_y = float(np.radians(rng.uniform(25.0, 60.0)))
    layout = _jittered(SHOTS[shot], rng)
    s = Shooting(perf, perf.actors[0], perf.actors[1], aspect, fov_y)
    alpha = float(screen_angle(*layout.points(), fov_y, aspect))
    span = 2 * (np.pi - alpha)
    # The pure Toric path (clear_view off): a production camera moves in past the proscenium arch,
    # but a behaviour's examples must not carry those dodges (they jump several metres).
    track = behaviour_rig(s, f"{behaviour}-{shot}-{seed}", behaviour, layout, theta0=float(rng.uniform(0.3, 0.7) * span),
                          phi0=float(rng.uniform(-0.25, 0.6)), amplitude_deg=float(rng.uniform(10.0, 35.0)),
                          period=float(rng.uniform(6.0, 16.0)), clear_view=False)
    return _measure(seed, behaviour, shot, perf, track)


def _measure(seed: int, behaviour: str, shot: str, perf: Performance, track: CameraTrack) -> SyntheticShot:
    joints = np.stack([a.canonical_positions() for a in perf.actors[:2]], axis=1)  # (T, 2, 7, 3)
    pos, rot, fov = track.positions, track.rotations, track.fov_y
    screen, depth = project(joints, pos, rot, fov, track.aspect)
    if screen[0, 0, 0, 0] > screen[0, 1, 0, 0]:
        joints, screen, depth = joints[:, ::-1], screen[:, ::-1], depth[:, ::-1]
    camera = toric_features(joints[:, 0, 0], joints[:, 1, 0], pos, rot, fov, track.aspect)
    dist = np.linalg.norm(joints[:, :, 0] - pos[:, None], axis=-1)
    main = int((dist[:, 1] < dist[:, 0]).mean() > 0.5)
    character = character_features(joints[:, 0], joints[:, 1], main)
    return SyntheticShot(seed, behaviour, shot, perf, track, np.ascontiguousarray(joints), np.ascontiguousarray(screen),
                         np.ascontiguousarray(depth), camera, character)
