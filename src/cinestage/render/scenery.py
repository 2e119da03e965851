"""A procedural proscenium theatre as one static mesh: stage, curtain, arch, wings, seats, house."""

from __future__ import annotations

import numpy as np

from cinestage.render.meshes import Mesh, box, cylinder
from cinestage.stage.performance import FIRST_ROW_GAP, ROW_PITCH, ROW_RISE, Light, Venue, house_bounds, set_pieces


def _block(size, centre, rgb, cell: float | None = 1.0) -> Mesh:
    return box(size, centre, cell).coloured(rgb)


def _stage(v: Venue) -> list[Mesh]:
    w, d, h = v.stage_width, v.stage_depth, v.stage_height
    planks = []
    n = int(round(d / 0.25))
    for i in range(n):
        y = -d / 2 + (i + 0.5) * d / n
        shade = 0.88 + 0.12 * ((i * 7919) % 5) / 4
        planks.append(_block((w, d / n - 0.006, 0.02), (0.0, y, -0.01), np.multiply(v.floor_colour, shade), 0.25))
    body = _block((w, d, h - 0.02), (0.0, 0.0, -h / 2 - 0.01), (0.08, 0.06, 0.05), None)
    return planks + [body]


def _curtain(v: Venue) -> Mesh:
    """A pleated back curtain: alternating fold normals read as fabric under side light."""
    w, d, top = v.stage_width + 4.0, v.stage_depth, v.proscenium_height + 0.5
    folds = int(w / 0.35)
    x = np.linspace(-w / 2, w / 2, folds + 1)
    y = d / 2 + 0.12 * (np.arange(folds + 1) % 2)
    z = np.linspace(0.0, top, int(np.ceil(top / 0.3)) + 1)
    verts, norms, tris = [], [], []
    for i in range(folds):
        p0, p1 = np.array([x[i], y[i]]), np.array([x[i + 1], y[i + 1]])
        t = p1 - p0
        n = np.array([t[1], -t[0], 0.0]) / np.linalg.norm(t)
        n = -n if n[1] > 0 else n
        base = len(verts)
        for zk in z:
            verts += [(p0[0], p0[1], zk), (p1[0], p1[1], zk)]
        norms += [n] * (2 * len(z))
        for k in range(len(z) - 1):
            a = base + 2 * k
            tris += [(a, a + 1, a + 3), (a, a + 3, a + 2)]
    rgb = np.array(v.curtain_colour)
    return Mesh(verts, norms, np.tile(np.append(rgb, 1.0), (len(verts), 1)), tris)


def _wings(v: Venue) -> list[Mesh]:
    """Black masking flats ("legs") at both sides, so side cameras see no backstage."""
    w, d, top = v.stage_width, v.stage_depth, v.proscenium_height + 0.5
    black = (0.035, 0.03, 0.035)
    flats = []
    for k, y in enumerate(np.linspace(-d / 2 + 1.6, d / 2 - 0.6, 3)):
        for side in (-1, 1):
            flats.append(_block((1.6, 0.08, top), (side * (w / 2 + 0.4 - 0.1 * k), y, top / 2), black, None))
    return flats


def _proscenium(v: Venue) -> list[Mesh]:
    frame = (0.30, 0.22, 0.10)
    legs = np.multiply(v.curtain_colour, 0.8)
    # The arch (two legs and a header), then the house curtain, drawn open, in the wings inside it.
    return [_block(size, centre, rgb) for (centre, size), rgb in zip(set_pieces(v), [frame] * 3 + [legs] * 3)]


def _auditorium(v: Venue) -> list[Mesh]:
    w, d, h = v.stage_width, v.stage_depth, v.stage_height
    seat = (0.36, 0.05, 0.07)
    meshes = []
    y0 = -d / 2 - FIRST_ROW_GAP
    for r in range(v.rows):
        y = y0 - r * ROW_PITCH
        floor = -h + ROW_RISE * r  # raked seating
        meshes.append(_block((w + 4, ROW_PITCH, ROW_RISE * r + 0.1), (0.0, y, -h + (ROW_RISE * r + 0.1) / 2 - 0.1),
                             (0.12, 0.1, 0.1)))
        n = int((w + 2) / 0.6)
        for s in range(n):
            x = -(w + 2) / 2 + (s + 0.5) * (w + 2) / n
            if abs(x) < 0.7:
                continue  # the centre aisle
            meshes.append(_block((0.5, 0.45, 0.1), (x, y + 0.05, floor + 0.45), seat, None))
            meshes.append(_block((0.5, 0.08, 0.55), (x, y - 0.2, floor + 0.72), seat, None))
    return meshes


def _house(v: Venue) -> list[Mesh]:
    """Walls, ceiling and floor so no camera sees into the void."""
    lo, hi = house_bounds(v)
    size = hi - lo
    c = (lo + hi) / 2
    wall = (0.07, 0.06, 0.07)
    return [
        _block((size[0], size[1], 0.1), (c[0], c[1], lo[2] - 0.05), (0.1, 0.08, 0.08), 2.0),
        _block((size[0], size[1], 0.1), (c[0], c[1], hi[2] + 0.05), wall, None),
        _block((0.1, size[1], size[2]), (lo[0] - 0.05, c[1], c[2]), wall, None),
        _block((0.1, size[1], size[2]), (hi[0] + 0.05, c[1], c[2]), wall, None),
        _block((size[0], 0.1, size[2]), (c[0], hi[1] + 0.05, c[2]), (0.03, 0.03, 0.03), None),
        _block((size[0], 0.1, size[2]), (c[0], lo[1] - 0.05, c[2]), wall, None),
    ]


def _fixtures(lights: tuple[Light, ...]) -> list[Mesh]:
    """The lamp housings of the spots, pointed at their targets."""
    meshes = []
    for light in lights:
        if light.kind != "spot":
            continue
        p, t = np.array(light.position), np.array(light.target)
        f = (t - p) / np.linalg.norm(t - p)
        side = np.cross(f, [0.0, 0.0, 1.0])
        side = side / np.linalg.norm(side) if np.linalg.norm(side) > 1e-6 else np.array([1.0, 0.0, 0.0])
        up = np.cross(side, f)
        m = np.eye(4)
        m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = side, f, up, p
        meshes.append(cylinder(0.14, 0.45, 10, 0.18).coloured((0.05, 0.05, 0.05)).transformed(m))
    return meshes


def venue_mesh(venue: Venue, lights: tuple[Light, ...]) -> Mesh:
    return Mesh.merge(_stage(venue) + [_curtain(venue)] + _wings(venue) + _proscenium(venue)
                      + _auditorium(venue) + _house(venue) + _fixtures(lights))
