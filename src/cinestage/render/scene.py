"""The Panda3D scene graph of a performance: venue mesh, lit by the stage shader, and mannequins."""

from __future__ import annotations

from importlib import resources

import numpy as np
from panda3d.core import LMatrix4f, NodePath, PTA_LVecBase2f, PTA_LVecBase3f, Shader, Vec2, Vec3, Vec4

from cinestage.render.mannequin import Body
from cinestage.render.scenery import venue_mesh
from cinestage.render.lighting import MAX_SPOTS, LightRig, bake, light_rig
from cinestage.stage.performance import Performance, default_lights

FLAT_BACKGROUND = (0.5, 0.5, 0.5)


def _shader(fragment: str) -> Shader:
    folder = resources.files("cinestage.render") / "shaders"
    return Shader.make(Shader.SL_GLSL, (folder / "stage.vert").read_text(), (folder / f"{fragment}.frag").read_text())


def panda_matrix(m: np.ndarray) -> LMatrix4f:
    """Panda3D multiplies row vectors: its matrix is the transpose of our column-vector one."""
    return LMatrix4f(*np.asarray(m, np.float64).T.ravel())


class StageScene:
    """Everything the cameras see; pose(frame) moves the actors to that frame."""

    def __init__(self, performance: Performance, flat: bool = False):
        self.performance = performance
        lights = performance.lights or default_lights(performance.venue)
        rig = light_rig(lights)
        self.root = NodePath("stage")
        self.root.setTwoSided(True)
        self.root.setShaderInput("tint", Vec4(1, 1, 1, 1))
        baked = _shader("baked")
        venue = venue_mesh(performance.venue, lights)
        if flat:
            venue = venue.coloured(FLAT_BACKGROUND)
        else:
            venue.colours[:, :3] = bake(venue.vertices.astype(np.float64), venue.normals.astype(np.float64),
                                        venue.colours[:, :3].astype(np.float64), rig)
        venue_np = self.root.attachNewNode(venue.node("venue"))
        venue_np.setShader(baked)
        # Actors first: they hide much of the venue, and early depth rejection then skips it.
        venue_np.setBin("fixed", 10)
        self.bodies: list[Body] = []
        self.parts: list[list[NodePath]] = []
        for actor in performance.actors:
            body = Body(actor)
            holder = self.root.attachNewNode(actor.name)
            holder.setShader(baked if flat else _shader("lit"))
            holder.setBin("fixed", 0)
            self.parts.append([holder.attachNewNode(m.node(f"{actor.name}-{i}")) for i, m in enumerate(body.part_meshes(flat))])
            self.bodies.append(body)
        self._set_lights(rig)

    def _set_lights(self, rig: LightRig) -> None:
        r = self.root
        r.setShaderInput("ambient", Vec3(*rig.ambient))
        r.setShaderInput("key_dir", Vec3(*rig.key_dir))
        r.setShaderInput("key_colour", Vec3(*rig.key_colour))
        arrays = {name: (PTA_LVecBase3f.emptyArray(MAX_SPOTS), Vec3) for name in ("spot_pos", "spot_dir", "spot_colour")}
        arrays["spot_cone"] = (PTA_LVecBase2f.emptyArray(MAX_SPOTS), Vec2)
        for name, (array, vec) in arrays.items():
            for i, value in enumerate(getattr(rig, name)):
                array[i] = vec(*value)
            r.setShaderInput(name, array)
        r.setShaderInput("n_spots", len(rig.spot_pos))

    def pose(self, frame: int) -> None:
        for actor, body, parts in zip(self.performance.actors, self.bodies, self.parts):
            for node, m in zip(parts, body.part_matrices(actor.motion.positions[frame])):
                node.setMat(panda_matrix(m))
