"""Articulated mannequins: a body plan per actor from its skeleton, posed from joint positions.

The plan works for any skeleton that has the 7 canonical joints: the torso, neck and head come
from the canonical joints, arms and legs from the skeleton's subtrees below the shoulders and
hips. The same capsules drive drawing (render) and visibility / occlusion (metadata), so what
the metadata says is what the pixels show.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cinestage.render.meshes import Mesh, box, cylinder, sphere
from cinestage.stage.performance import Actor

SKIN = (0.80, 0.60, 0.48)
HAIR = (0.12, 0.08, 0.06)
SHOES = (0.06, 0.05, 0.05)
EYES = (0.04, 0.03, 0.03)

HEAD, NECK, LSH, RSH, HIPS, LHIP, RHIP = range(7)


@dataclass(frozen=True)
class Limb:
    """A bone drawn as a tapered cylinder from joint a to joint b."""

    a: int
    b: int
    r_a: float
    r_b: float
    colour: tuple[float, float, float]


def _children(parents: tuple[int, ...]) -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for c, p in enumerate(parents):
        kids.setdefault(p, []).append(c)
    return kids


def _chain(start: int, kids: dict[int, list[int]], length: int) -> list[int]:
    """The joints from start down the first child at each level (the main limb chain)."""
    chain = [start]
    while len(chain) < length and kids.get(chain[-1]):
        chain.append(kids[chain[-1]][0])
    return chain


class Body:
    """The mannequin of one actor: limbs, torso and head, sized from the actor's own skeleton."""

    def __init__(self, actor: Actor):
        self.actor = actor
        c = actor.canonical
        self.joint = {name: c[i] for i, name in enumerate(("head", "neck", "lsh", "rsh", "hips", "lhip", "rhip"))}
        kids = _children(actor.motion.skeleton.parents)
        costume = np.asarray(actor.costume)
        trousers = tuple(costume * 0.35 + 0.05)
        sleeve = tuple(costume)
        self.limbs: list[Limb] = []
        self.hands: list[int] = []
        self.feet: list[tuple[int, int | None]] = []
        for sh in (c[LSH], c[RSH]):
            arm = _chain(sh, kids, 3)
            radii = (0.058, 0.046, 0.036)
            for k in range(len(arm) - 1):
                self.limbs.append(Limb(arm[k], arm[k + 1], radii[k], radii[k + 1], sleeve))
            if len(arm) == 3:
                self.hands.append(arm[2])
        for hip in (c[LHIP], c[RHIP]):
            leg = _chain(hip, kids, 4)
            radii = (0.085, 0.062, 0.045)
            for k in range(min(len(leg) - 1, 2)):
                self.limbs.append(Limb(leg[k], leg[k + 1], radii[k], radii[k + 1], trousers))
            if len(leg) >= 3:
                self.feet.append((leg[2], leg[3] if len(leg) > 3 else None))
        self.limbs.append(Limb(c[NECK], c[HEAD], 0.05, 0.045, SKIN))
        self.costume = tuple(costume)
        self.trousers = trousers

    # --- frames of reference -------------------------------------------------------------
    def _frame(self, p: np.ndarray):
        """Torso origin/axes for positions p (..., J, 3): hip centre, up, left, front."""
        j = self.joint
        hip_c = (p[..., j["lhip"], :] + p[..., j["rhip"], :]) / 2
        sh_c = (p[..., j["lsh"], :] + p[..., j["rsh"], :]) / 2
        up = _unit(sh_c - hip_c)
        left = p[..., j["lsh"], :] - p[..., j["rsh"], :]
        left = _unit(left - up * np.sum(left * up, -1, keepdims=True))
        front = np.cross(left, up)
        return hip_c, sh_c, up, left, front

    # --- geometry for metadata -----------------------------------------------------------
    def capsules(self, p: np.ndarray):
        """Capsules (starts (..., C, 3), ends (..., C, 3), radii (C,)) covering the body."""
        hip_c, sh_c, up, left, front = self._frame(p)
        width = np.linalg.norm(p[..., self.joint["lsh"], :] - p[..., self.joint["rsh"], :], axis=-1)
        starts = [p[..., l.a, :] for l in self.limbs]
        ends = [p[..., l.b, :] for l in self.limbs]
        radii = [max(l.r_a, l.r_b) for l in self.limbs]
        # Torso as two side-by-side capsules so a narrow body is not modelled as a barrel.
        for s in (-0.22, 0.22):
            off = left * np.expand_dims(width * s, -1)
            starts.append(hip_c - up * 0.05 + off)
            ends.append(sh_c - up * 0.04 + off)
            radii.append(0.13)
        head = p[..., self.joint["head"], :]
        starts.append(head - up * 0.07)
        ends.append(head + up * 0.07)
        radii.append(0.1)
        return np.stack(starts, -2), np.stack(ends, -2), np.asarray(radii)

    # --- drawing ---------------------------------------------------------------------------
    def part_meshes(self, flat: bool) -> list[Mesh]:
        """Unit meshes in the order of part_matrices; flat=True paints everything the costume colour."""
        pick = (lambda rgb: self.costume) if flat else (lambda rgb: rgb)
        meshes = [cylinder(l.r_a, 1.0, 12, l.r_b).coloured(pick(l.colour)) for l in self.limbs]
        meshes += [sphere(max(l.r_a, l.r_b) * 1.02, 6, 10).coloured(pick(l.colour)) for l in self.limbs]
        meshes += [sphere(0.045, 6, 10).coloured(pick(SKIN)) for _ in self.hands]
        meshes += [box((0.10, 1.0, 0.07), (0.0, 0.5, 0.0)).coloured(pick(SHOES)) for _ in self.feet]
        torso = Mesh.merge([
            cylinder(0.5, 1.0, 16, 0.5).coloured(pick(self.costume)),
            cylinder(0.5, 0.28, 16, 0.5).transformed(np.diag([0.92, 1.0, 0.95, 1.0])).coloured(pick(self.trousers)),
        ])
        skull = sphere(1.0, 10, 14).transformed(np.diag([0.085, 0.095, 0.115, 1.0])).coloured(pick(SKIN))
        hair_m = np.diag([0.09, 0.09, 0.1, 1.0])
        hair_m[:3, 3] = (0.0, -0.012, 0.022)
        hair = sphere(1.0, 10, 14).transformed(hair_m).coloured(pick(HAIR))
        nose = _at(sphere(0.018, 4, 6), (0.0, 0.088, -0.005)).coloured(pick(SKIN))
        # Eyes and ears: pose estimators (MoveNet) tell a face from the back of a head by them,
        # and without them mistake left for right on a third of the frames.
        eyes = [_at(sphere(0.014, 4, 6), (side * 0.032, 0.084, 0.02)).coloured(pick(EYES)) for side in (-1, 1)]
        ears = [_at(sphere(1.0, 4, 6).transformed(np.diag([0.012, 0.02, 0.026, 1.0])), (side * 0.086, 0.0, 0.0))
                .coloured(pick(SKIN)) for side in (-1, 1)]
        return meshes + [torso, Mesh.merge([skull, hair, nose, *eyes, *ears])]

    def part_matrices(self, p: np.ndarray) -> np.ndarray:
        """(P, 4, 4) column-vector transforms of the unit part meshes for one frame p (J, 3)."""
        hip_c, sh_c, up, left, front = self._frame(p)
        mats = []
        for l in self.limbs:
            mats.append(_segment(p[l.a], p[l.b]))
        for l in self.limbs:
            mats.append(_translate(p[l.b]))
        for h in self.hands:
            mats.append(_translate(p[h]))
        for ankle, toe in self.feet:
            tip = p[toe] if toe is not None else p[ankle] + front * 0.2
            d = tip - p[ankle]
            d[2] = 0.0
            n = np.linalg.norm(d)
            d = d / n if n > 1e-6 else front
            m = np.eye(4)
            m[:3, 0] = np.cross(d, [0.0, 0.0, 1.0])
            m[:3, 1] = d * max(n + 0.05, 0.2)
            m[:3, 2] = (0.0, 0.0, 1.0)
            m[:3, 3] = (p[ankle][0], p[ankle][1], max(p[ankle][2] - 0.05, 0.035))
            mats.append(m)
        width = np.linalg.norm(p[self.joint["lsh"]] - p[self.joint["rsh"]])
        torso_len = np.linalg.norm(sh_c - hip_c) + 0.18
        m = np.eye(4)
        m[:3, 0] = -left * (width + 0.10)
        m[:3, 1] = up * torso_len
        m[:3, 2] = front * 0.24
        m[:3, 3] = hip_c - up * 0.12
        mats.append(m)
        head_up = _unit(p[self.joint["head"]] - p[self.joint["neck"]])
        head_front = _unit(front - head_up * np.dot(front, head_up))
        m = np.eye(4)
        m[:3, 0] = np.cross(head_front, head_up)
        m[:3, 1] = head_front
        m[:3, 2] = head_up
        m[:3, 3] = p[self.joint["head"]]
        mats.append(m)
        return np.stack(mats)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _translate(t: np.ndarray) -> np.ndarray:
    m = np.eye(4)
    m[:3, 3] = t
    return m


def _segment(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Maps the unit +Y segment onto a→b without scaling the cross-section."""
    d = b - a
    length = max(np.linalg.norm(d), 1e-6)
    y = d / length
    helper = np.array([0.0, 0.0, 1.0]) if abs(y[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    x = _unit(np.cross(y, helper))
    z = np.cross(x, y)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = x, y * length, z, a
    return m


def _at(mesh: Mesh, offset) -> Mesh:
    m = np.eye(4)
    m[:3, 3] = offset
    return mesh.transformed(m)
