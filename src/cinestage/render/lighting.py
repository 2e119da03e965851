"""Stage lighting: one model evaluated by the actors' fragment shader and, for the static venue,
baked into vertex colours once in numpy (the same formula, no specular), because per-pixel
lighting of the whole theatre costs ~8x the frame time on a software rasteriser.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cinestage.stage.performance import Light

MAX_SPOTS = 8
AMBIENT = (0.16, 0.15, 0.17)
SPOT_GAIN = 2.2


@dataclass(frozen=True)
class LightRig:
    """Shader-ready lights: key (directional) and up to MAX_SPOTS soft-edged spots."""

    ambient: np.ndarray  # (3,)
    key_dir: np.ndarray  # (3,) unit, the direction light travels
    key_colour: np.ndarray  # (3,)
    spot_pos: np.ndarray  # (S, 3)
    spot_dir: np.ndarray  # (S, 3) unit
    spot_colour: np.ndarray  # (S, 3)
    spot_cone: np.ndarray  # (S, 2) cos of the inner (full) and outer (zero) half-angles


def _unit(v):
    v = np.asarray(v, np.float64)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def light_rig(lights: tuple[Light, ...]) -> LightRig:
    keys = [l for l in lights if l.kind == "key"]
    spots = [l for l in lights if l.kind == "spot"][:MAX_SPOTS]
    key = keys[0] if keys else None
    half = np.radians([s.angle for s in spots]) / 2
    return LightRig(
        ambient=np.array(AMBIENT),
        key_dir=_unit(np.subtract(key.target, key.position)) if key else np.array([0.0, 0.0, -1.0]),
        key_colour=np.multiply(key.colour, key.intensity) if key else np.zeros(3),
        spot_pos=np.array([s.position for s in spots], np.float64).reshape(-1, 3),
        spot_dir=_unit(np.subtract([s.target for s in spots], [s.position for s in spots]).reshape(-1, 3)) if spots else np.zeros((0, 3)),
        spot_colour=np.array([np.multiply(s.colour, s.intensity * SPOT_GAIN) for s in spots]).reshape(-1, 3),
        # Full intensity inside 80% of the cone, fading to zero at its edge.
        spot_cone=np.stack([np.cos(half * 0.8), np.cos(half)], -1).reshape(-1, 2),
    )


def _smoothstep(e0, e1, x):
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def tone(rgb: np.ndarray) -> np.ndarray:
    """The display transform of stage.frag: a soft shoulder, then a gamma lift."""
    rgb = rgb / (1.0 + 0.35 * rgb)
    return np.clip(rgb * 1.25, 0.0, None) ** (1.0 / 1.6)


def bake(points: np.ndarray, normals: np.ndarray, albedo: np.ndarray, rig: LightRig) -> np.ndarray:
    """Diffuse lighting of static surfaces, tone-mapped: the colours to store per vertex."""
    light = rig.ambient + rig.key_colour * np.maximum(normals @ -rig.key_dir, 0.0)[:, None]
    for pos, d, colour, cone in zip(rig.spot_pos, rig.spot_dir, rig.spot_colour, rig.spot_cone):
        to_light = pos - points
        dist = np.maximum(np.linalg.norm(to_light, axis=1), 1e-6)
        l = to_light / dist[:, None]
        amount = _smoothstep(cone[1], cone[0], np.sum(-l * d, axis=1))
        amount *= np.maximum(np.sum(normals * l, axis=1), 0.0) / (1.0 + 0.02 * dist**2)
        light = light + colour * amount[:, None]
    return tone(albedo * light)
