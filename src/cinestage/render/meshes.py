"""Triangle meshes built in numpy and handed to Panda3D as one GeomNode each.

Every mesh carries position, normal and RGBA colour per vertex (float32), the layout the
stage shader reads. Unit primitives are posed by node transforms, so the per-frame cost of
an actor is a handful of matrix updates, never new geometry.
"""

from __future__ import annotations

import numpy as np
from panda3d.core import (
    Geom,
    GeomEnums,
    GeomNode,
    GeomTriangles,
    GeomVertexArrayFormat,
    GeomVertexData,
    GeomVertexFormat,
    InternalName,
)


def _format() -> GeomVertexFormat:
    array = GeomVertexArrayFormat()
    array.addColumn(InternalName.getVertex(), 3, GeomEnums.NT_float32, GeomEnums.C_point)
    array.addColumn(InternalName.getNormal(), 3, GeomEnums.NT_float32, GeomEnums.C_normal)
    array.addColumn(InternalName.getColor(), 4, GeomEnums.NT_float32, GeomEnums.C_color)
    return GeomVertexFormat.registerFormat(GeomVertexFormat(array))


_FORMAT = None


class Mesh:
    """Vertices (N,3), normals (N,3), colours (N,4) and triangles (M,3) that can be merged."""

    def __init__(self, vertices, normals, colours, triangles):
        self.vertices = np.asarray(vertices, np.float32).reshape(-1, 3)
        self.normals = np.asarray(normals, np.float32).reshape(-1, 3)
        self.colours = np.asarray(colours, np.float32).reshape(-1, 4)
        self.triangles = np.asarray(triangles, np.uint32).reshape(-1, 3)

    def transformed(self, matrix: np.ndarray) -> "Mesh":
        """Apply a 4x4 (column-vector) transform; normals use the inverse transpose."""
        m = np.asarray(matrix, np.float64)
        v = self.vertices @ m[:3, :3].T + m[:3, 3]
        n = self.normals @ np.linalg.inv(m[:3, :3])
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
        return Mesh(v, n, self.colours, self.triangles)

    def coloured(self, rgb) -> "Mesh":
        c = np.empty_like(self.colours)
        c[:, :3] = rgb
        c[:, 3] = 1.0
        return Mesh(self.vertices, self.normals, c, self.triangles)

    @staticmethod
    def merge(meshes: list["Mesh"]) -> "Mesh":
        offsets = np.cumsum([0] + [len(m.vertices) for m in meshes[:-1]])
        return Mesh(
            np.concatenate([m.vertices for m in meshes]),
            np.concatenate([m.normals for m in meshes]),
            np.concatenate([m.colours for m in meshes]),
            np.concatenate([m.triangles + o for m, o in zip(meshes, offsets)]),
        )

    def node(self, name: str) -> GeomNode:
        global _FORMAT
        if _FORMAT is None:
            _FORMAT = _format()
        data = GeomVertexData(name, _FORMAT, GeomEnums.UH_static)
        data.uncleanSetNumRows(len(self.vertices))
        interleaved = np.concatenate([self.vertices, self.normals, self.colours], axis=1)
        memoryview(data.modifyArray(0)).cast("B").cast("f")[:] = interleaved.ravel()
        prim = GeomTriangles(GeomEnums.UH_static)
        prim.setIndexType(GeomEnums.NT_uint32)
        handle = prim.modifyVertices()
        handle.uncleanSetNumRows(self.triangles.size)
        memoryview(handle).cast("B").cast("I")[:] = self.triangles.ravel()
        geom = Geom(data)
        geom.addPrimitive(prim)
        node = GeomNode(name)
        node.addGeom(geom)
        return node


def _grey(n: int) -> np.ndarray:
    return np.ones((n, 4), np.float32)


def box(size=(1.0, 1.0, 1.0), centre=(0.0, 0.0, 0.0), cell: float | None = None) -> Mesh:
    """An axis-aligned box with flat-shaded faces, each face a grid of cells no wider than cell.

    Static lighting is baked into vertex colours, so big faces need vertices where the light
    changes; grids (not split triangles) keep edges shared and the surface free of cracks.
    """
    size = np.asarray(size, np.float64)
    half = size / 2
    verts, norms, tris = [], [], []
    for axis in range(3):
        u, w = [a for a in range(3) if a != axis]
        nu = 1 if cell is None else max(1, int(np.ceil(size[u] / cell)))
        nw = 1 if cell is None else max(1, int(np.ceil(size[w] / cell)))
        gu, gw = np.meshgrid(np.linspace(-half[u], half[u], nu + 1), np.linspace(-half[w], half[w], nw + 1), indexing="ij")
        for sign in (-1.0, 1.0):
            n = np.zeros(3)
            n[axis] = sign
            p = np.zeros((nu + 1, nw + 1, 3))
            p[..., axis] = sign * half[axis]
            p[..., u], p[..., w] = gu, gw
            base = len(verts)
            verts.extend((p + centre).reshape(-1, 3))
            norms.extend([n] * p[..., 0].size)
            idx = base + np.arange((nu + 1) * (nw + 1)).reshape(nu + 1, nw + 1)
            a, b, c, d = idx[:-1, :-1], idx[1:, :-1], idx[1:, 1:], idx[:-1, 1:]
            quads = np.stack([a, b, c, d], -1).reshape(-1, 4)
            # Counter-clockwise seen from outside: the (u, w) order flips with the face's side.
            if np.dot(np.cross(np.eye(3)[u], np.eye(3)[w]), n) < 0:
                quads = quads[:, ::-1]
            tris.extend(quads[:, [0, 1, 2]])
            tris.extend(quads[:, [0, 2, 3]])
    return Mesh(verts, norms, _grey(len(verts)), tris)


def cylinder(radius=1.0, length=1.0, segments=12, radius_end=None) -> Mesh:
    """A capped (possibly tapered) cylinder along +Y from y=0 to y=length."""
    r0, r1 = radius, radius if radius_end is None else radius_end
    a = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    ring = np.stack([np.cos(a), np.zeros_like(a), np.sin(a)], axis=1)
    slope = (r0 - r1) / length
    side_n = ring + np.array([0.0, slope, 0.0])
    side_n /= np.linalg.norm(side_n, axis=1, keepdims=True)
    bottom = ring * r0
    top = ring * r1 + np.array([0.0, length, 0.0])
    verts = [bottom, top]
    norms = [side_n, side_n]
    tris = []
    for i in range(segments):
        j = (i + 1) % segments
        tris += [(i, segments + j, j), (i, segments + i, segments + j)]
    base = 2 * segments
    for cap_y, r, ny, order in ((0.0, r0, -1.0, 1), (length, r1, 1.0, -1)):
        centre_idx = base
        verts.append(np.array([[0.0, cap_y, 0.0]]))
        verts.append(ring * r + np.array([0.0, cap_y, 0.0]))
        norms.append(np.tile([0.0, ny, 0.0], (segments + 1, 1)))
        for i in range(segments):
            j = (i + 1) % segments
            t = (centre_idx, centre_idx + 1 + i, centre_idx + 1 + j)
            tris.append(t if order > 0 else (t[0], t[2], t[1]))
        base += segments + 1
    v = np.concatenate(verts)
    return Mesh(v, np.concatenate(norms), _grey(len(v)), tris)


def sphere(radius=1.0, rings=8, segments=12) -> Mesh:
    """A UV sphere centred at the origin."""
    lat = np.linspace(-np.pi / 2, np.pi / 2, rings + 1)
    lon = np.linspace(0, 2 * np.pi, segments + 1)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    n = np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=-1).reshape(-1, 3)
    tris = []
    w = segments + 1
    for i in range(rings):
        for j in range(segments):
            a, b, c, d = i * w + j, i * w + j + 1, (i + 1) * w + j + 1, (i + 1) * w + j
            tris += [(a, b, c), (a, c, d)]
    return Mesh(n * radius, n, _grey(len(n)), tris)
