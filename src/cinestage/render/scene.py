"""The Panda3D scene graph of a performance: venue mesh, lit by the stage shader, and mannequins."""

from __future__ import annotations

from importlib import resources

import numpy as np
from panda3d.core import LMatrix4f, NodePath, PTA_LVecBase2f, PTA_LVecBase3f, Shader, Vec3, Vec4

from cinestage.render.mannequin import Body
from cinestage.render.scenery import venue_mesh
from cinestage.stage.performance import Light, Performance, default_lights

MAX_SPOTS = 8
FLAT_BACKGROUND = (0.5, 0.5, 0.5)


def _shader() -> Shader:
    folder = resources.files("cinestage.render") / "shaders"
    return Shader.make(Shader.SL_GLSL, (folder / "stage.vert").read_text(), (folder / "stage.frag").read_text())


def panda_matrix(m: np.ndarray) -> LMatrix4f:
    """Panda3D multiplies row vectors: its matrix is the transpose of our column-vector one."""
    return LMatrix4f(*np.asarray(m, np.float64).T.ravel())


class StageScene:
    """Everything the cameras see; pose(frame) moves the actors to that frame."""

    def __init__(self, performance: Performance, flat: bool = False):
        self.performance = performance
        self.root = NodePath("stage")
        self.root.setShader(_shader())
        self.root.setTwoSided(True)
        self.root.setShaderInput("tint", Vec4(1, 1, 1, 1))
        self._light(performance.lights or default_lights(performance.venue), flat)
        venue = venue_mesh(performance.venue, performance.lights or default_lights(performance.venue))
        if flat:
            venue = venue.coloured(FLAT_BACKGROUND)
        self.root.attachNewNode(venue.node("venue")).flattenStrong()
        self.bodies: list[Body] = []
        self.parts: list[list[NodePath]] = []
        for actor in performance.actors:
            body = Body(actor)
            holder = self.root.attachNewNode(actor.name)
            self.parts.append([holder.attachNewNode(m.node(f"{actor.name}-{i}")) for i, m in enumerate(body.part_meshes(flat))])
            self.bodies.append(body)

    def _light(self, lights: tuple[Light, ...], flat: bool) -> None:
        r = self.root
        r.setShaderInput("flat_mode", int(flat))
        r.setShaderInput("ambient", Vec3(0.16, 0.15, 0.17))
        keys = [l for l in lights if l.kind == "key"]
        spots = [l for l in lights if l.kind == "spot"][:MAX_SPOTS]
        key = keys[0] if keys else None
        if key is not None:
            d = np.subtract(key.target, key.position)
            r.setShaderInput("key_dir", Vec3(*(d / np.linalg.norm(d))))
            r.setShaderInput("key_colour", Vec3(*(np.multiply(key.colour, key.intensity))))
        else:
            r.setShaderInput("key_dir", Vec3(0, 0, -1))
            r.setShaderInput("key_colour", Vec3(0, 0, 0))
        pos, dirs, cols, cones = (PTA_LVecBase3f.emptyArray(MAX_SPOTS), PTA_LVecBase3f.emptyArray(MAX_SPOTS),
                                  PTA_LVecBase3f.emptyArray(MAX_SPOTS), PTA_LVecBase2f.emptyArray(MAX_SPOTS))
        for i, s in enumerate(spots):
            d = np.subtract(s.target, s.position)
            pos[i] = Vec3(*s.position)
            dirs[i] = Vec3(*(d / np.linalg.norm(d)))
            cols[i] = Vec3(*(np.multiply(s.colour, s.intensity * 2.2)))
            half = np.radians(s.angle) / 2
            # Soft edge: full intensity inside 80% of the cone, fading to zero at its edge.
            cones[i] = (float(np.cos(half * 0.8)), float(np.cos(half)))
        r.setShaderInput("n_spots", len(spots))
        r.setShaderInput("spot_pos", pos)
        r.setShaderInput("spot_dir", dirs)
        r.setShaderInput("spot_colour", cols)
        r.setShaderInput("spot_cone", cones)

    def pose(self, frame: int) -> None:
        for actor, body, parts in zip(self.performance.actors, self.bodies, self.parts):
            for node, m in zip(parts, body.part_matrices(actor.motion.positions[frame])):
                node.setMat(panda_matrix(m))
