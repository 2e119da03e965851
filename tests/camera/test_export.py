"""Camera track export: JSON and CSV round trips, glTF 2.0 checked with pygltflib and trimesh."""

from __future__ import annotations

import base64
import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest

from cinestage.camera.export import (
    CSV_COLUMNS,
    GLTF_ZFAR,
    GLTF_ZNEAR,
    YFOV_POINTER,
    read_csv,
    read_json,
    write_csv,
    write_gltf,
    write_json,
)
from cinestage.camera.track import CameraTrack
from cinestage.errors import CameraError

pygltflib = pytest.importorskip("pygltflib")


def _rotation(forward: np.ndarray, roll: float) -> np.ndarray:
    """Columns right, forward, up for a camera looking along forward, rolled about it."""
    f = forward / np.linalg.norm(forward)
    right = np.cross(f, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, f)
    # Positive roll tips the right edge down: right-handed rotation about forward.
    c, s = np.cos(roll), np.sin(roll)
    right, up = c * right - s * up, s * right + c * up
    return np.stack([right, f, up], axis=1)


def orbit_track(n: int = 50, fov_varies: bool = True) -> CameraTrack:
    """A camera circling a point 1.5 m up, with pitch, roll and zoom all changing."""
    t = np.arange(n) / 24.0
    angle = np.linspace(0.0, 1.7 * np.pi, n)  # passes the +-180 degree yaw seam
    radius = 4.0 + 0.5 * np.sin(t)
    height = 1.2 + 1.5 * np.sin(np.linspace(0.0, np.pi, n))  # from eye level to above
    positions = np.stack([radius * np.cos(angle), radius * np.sin(angle), height], axis=1)
    target = np.array([0.0, 0.0, 1.5])
    roll = np.radians(12.0) * np.sin(np.linspace(0.0, 2 * np.pi, n))
    rotations = np.stack([_rotation(target - p, r) for p, r in zip(positions, roll)])
    fov_y = np.radians(np.linspace(30.0, 55.0, n) if fov_varies else np.full(n, 40.0))
    return CameraTrack("orbit A", 24.0, positions, rotations, fov_y, 16 / 9,
                       rig="orbit", params={"radius": 4.0, "target": [0.0, 0.0, 1.5], "n": np.int64(3)})


def assert_tracks_close(a: CameraTrack, b: CameraTrack, tol: float) -> None:
    assert a.n_frames == b.n_frames
    assert b.fps == pytest.approx(a.fps, abs=tol)
    assert b.aspect == pytest.approx(a.aspect, abs=tol)
    np.testing.assert_allclose(b.positions, a.positions, atol=tol, rtol=0)
    np.testing.assert_allclose(b.rotations, a.rotations, atol=tol, rtol=0)
    np.testing.assert_allclose(b.fov_y, a.fov_y, atol=tol, rtol=0)


# ---------------------------------------------------------------------------------- JSON


def test_json_round_trip(tmp_path: Path) -> None:
    track = orbit_track()
    path = tmp_path / "cam.json"
    write_json(track, path)
    back = read_json(path)
    assert_tracks_close(track, back, 1e-9)
    assert back.name == track.name and back.rig == "orbit"
    assert back.params == {"radius": 4.0, "target": [0.0, 0.0, 1.5], "n": 3}


def test_json_is_self_describing(tmp_path: Path) -> None:
    track = orbit_track()
    path = tmp_path / "cam.json"
    write_json(track, path)
    doc = json.loads(path.read_text())
    assert doc["schema"] == "cinestage.camera_track" and doc["version"] == 1
    assert {"units", "axes", "quaternion", "fov"} <= set(doc["conventions"])
    frame = doc["frames"][7]
    assert set(frame) == {"frame", "time", "position", "quaternion", "fov_y_deg", "fov_x_deg"}
    assert frame["time"] == pytest.approx(7 / 24.0)
    assert frame["fov_y_deg"] == pytest.approx(np.degrees(track.fov_y[7]))
    assert frame["fov_x_deg"] == pytest.approx(np.degrees(track.fov_x[7]))
    q = np.array([f["quaternion"] for f in doc["frames"]])
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-12)
    assert np.all(np.sum(q[1:] * q[:-1], axis=1) > 0), "quaternions must be sign-continuous"


@pytest.mark.parametrize("text, problem", [
    ("{not json", "not valid JSON"),
    ('{"schema": "something.else", "version": 1}', "not a camera track"),
    ('{"schema": "cinestage.camera_track", "version": 99}', "unsupported"),
    ('{"schema": "cinestage.camera_track", "version": 1, "frames": []}', "malformed"),
])
def test_json_rejects_bad_files(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(CameraError, match=problem):
        read_json(path)


def test_improper_rotation_is_refused(tmp_path: Path) -> None:
    track = orbit_track(5)
    rotations = track.rotations.copy()
    rotations[2, :, 0] *= -1  # a mirror: no quaternion describes it
    bad = CameraTrack("mirror", 24.0, track.positions, rotations, track.fov_y, 1.5)
    with pytest.raises(CameraError, match="frame 2"):
        write_json(bad, tmp_path / "m.json")
    assert not any(tmp_path.iterdir())


# ----------------------------------------------------------------------------------- CSV


def test_csv_round_trip(tmp_path: Path) -> None:
    track = orbit_track()
    path = tmp_path / "cam.csv"
    write_csv(track, path)
    back = read_csv(path)
    assert_tracks_close(track, back, 1e-6)
    assert back.name == "cam"


def test_csv_columns_and_angles(tmp_path: Path) -> None:
    track = orbit_track()
    path = tmp_path / "cam.csv"
    write_csv(track, path)
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == track.n_frames
    for i, row in enumerate(rows):
        yaw, pitch, roll = (np.radians(float(row[k])) for k in ("yaw_deg", "pitch_deg", "roll_deg"))
        forward = track.rotations[i][:, 1]
        # Documented: yaw 0 looks along +Y, positive toward -X; pitch up positive.
        expected = [-np.sin(yaw) * np.cos(pitch), np.cos(yaw) * np.cos(pitch), np.sin(pitch)]
        np.testing.assert_allclose(forward, expected, atol=1e-9)
        assert float(row["pitch_deg"]) == pytest.approx(np.degrees(np.arcsin(forward[2])))
        assert float(row["fov_x_deg"]) == pytest.approx(np.degrees(track.fov_x[i]))
    # The orbit's roll was built with positive = right edge down; frame 12 rolls positive.
    assert float(rows[12]["roll_deg"]) > 5.0
    assert track.rotations[12][2, 0] < 0  # right vector points down


def test_csv_needs_fps_for_one_frame(tmp_path: Path) -> None:
    track = orbit_track(1)
    path = tmp_path / "still.csv"
    write_csv(track, path)
    with pytest.raises(CameraError, match="fps"):
        read_csv(path)
    assert read_csv(path, fps=30.0).fps == 30.0


def test_csv_rejects_wrong_header(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(CameraError, match="header"):
        read_csv(path)


# ---------------------------------------------------------------------------------- glTF

YUP_TO_ZUP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])  # (x, y, z) -> (x, -z, y)


def _quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """xyzw -> 3x3, written out so the test does not share the writer's conversion code."""
    x, y, z, w = q / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def _buffer_bytes(gltf) -> bytes:
    uri = gltf.buffers[0].uri
    assert uri.startswith("data:application/octet-stream;base64,")
    return base64.b64decode(uri.split(",", 1)[1])


def _accessor(gltf, blob: bytes, index: int) -> np.ndarray:
    acc = gltf.accessors[index]
    view = gltf.bufferViews[acc.bufferView]
    assert acc.componentType == pygltflib.FLOAT
    width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4}[acc.type]
    start = view.byteOffset + (acc.byteOffset or 0)
    data = np.frombuffer(blob, dtype="<f4", count=acc.count * width, offset=start)
    return data.reshape(acc.count, width) if width > 1 else data


def read_gltf_track(path: Path):
    """(times, positions in our Z-up world, rotations with our column convention, gltf)."""
    gltf = pygltflib.GLTF2().load(str(path))
    blob = _buffer_bytes(gltf)
    anim = gltf.animations[0]
    by_path = {ch.target.path: anim.samplers[ch.sampler] for ch in anim.channels}
    times = _accessor(gltf, blob, by_path["translation"].input).astype(float)
    translations = _accessor(gltf, blob, by_path["translation"].output).astype(float)
    quats = _accessor(gltf, blob, by_path["rotation"].output).astype(float)
    positions = translations @ YUP_TO_ZUP.T
    rotations = []
    for q in quats:
        m = YUP_TO_ZUP @ _quat_to_matrix(q)  # columns: right, up, -forward in Z-up world
        rotations.append(np.stack([m[:, 0], -m[:, 2], m[:, 1]], axis=1))
    return times, positions, np.array(rotations), gltf


def test_gltf_poses_match_every_frame(tmp_path: Path) -> None:
    track = orbit_track()
    path = tmp_path / "cam.gltf"
    write_gltf(track, path)
    times, positions, rotations, gltf = read_gltf_track(path)
    np.testing.assert_allclose(times, np.arange(track.n_frames) / track.fps, atol=1e-6)
    np.testing.assert_allclose(positions, track.positions, atol=1e-5)
    np.testing.assert_allclose(rotations, track.rotations, atol=1e-5)
    node = gltf.nodes[0]
    assert node.camera == 0
    np.testing.assert_allclose(np.array(node.translation) @ YUP_TO_ZUP.T, track.positions[0], atol=1e-5)


def test_gltf_camera_looks_along_our_forward(tmp_path: Path) -> None:
    track = orbit_track()
    path = tmp_path / "cam.gltf"
    write_gltf(track, path)
    gltf = pygltflib.GLTF2().load(str(path))
    blob = _buffer_bytes(gltf)
    anim = gltf.animations[0]
    rot = next(anim.samplers[c.sampler] for c in anim.channels if c.target.path == "rotation")
    quats = _accessor(gltf, blob, rot.output).astype(float)
    for i, q in enumerate(quats):
        m = _quat_to_matrix(q)
        view_gltf = m @ [0.0, 0.0, -1.0]  # glTF cameras look down local -Z, +Y up
        up_gltf = m @ [0.0, 1.0, 0.0]
        np.testing.assert_allclose(YUP_TO_ZUP @ view_gltf, track.rotations[i][:, 1], atol=1e-5)
        np.testing.assert_allclose(YUP_TO_ZUP @ up_gltf, track.rotations[i][:, 2], atol=1e-5)
    # Linear interpolation must not take the long way round.
    assert np.all(np.sum(quats[1:] * quats[:-1], axis=1) > 0)


def test_gltf_is_structurally_valid(tmp_path: Path) -> None:
    track = orbit_track()
    path = tmp_path / "cam.gltf"
    write_gltf(track, path)
    raw = json.loads(path.read_text())
    gltf = pygltflib.GLTF2().load(str(path))
    blob = _buffer_bytes(gltf)
    n = track.n_frames

    assert gltf.asset.version == "2.0"
    assert gltf.scenes[gltf.scene].nodes == [0]
    assert gltf.buffers[0].byteLength == len(blob)
    for view in gltf.bufferViews:
        assert view.buffer == 0 and view.byteOffset % 4 == 0 and view.byteLength % 4 == 0
        assert view.byteOffset + view.byteLength <= len(blob)
    for acc in gltf.accessors:
        view = gltf.bufferViews[acc.bufferView]
        width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4}[acc.type]
        assert acc.count == n
        assert acc.count * width * 4 <= view.byteLength
        if acc.min:  # pygltflib reads an absent min as []
            data = _accessor(gltf, blob, gltf.accessors.index(acc)).reshape(n, width)
            assert acc.min == data.min(axis=0).tolist() and acc.max == data.max(axis=0).tolist()

    cam = gltf.cameras[0]
    assert cam.type == "perspective"
    assert cam.perspective.yfov == pytest.approx(track.fov_y[0])
    assert cam.perspective.aspectRatio == pytest.approx(track.aspect)
    assert (cam.perspective.znear, cam.perspective.zfar) == (GLTF_ZNEAR, GLTF_ZFAR)

    anim = gltf.animations[0]
    samplers = {c.target.path: anim.samplers[c.sampler] for c in anim.channels}
    assert all(s.interpolation == "LINEAR" for s in anim.samplers)
    times = gltf.accessors[samplers["translation"].input]
    assert times.min and times.max  # required on sampler inputs
    assert gltf.accessors[samplers["translation"].output].min  # bounds on translations too

    # Varying fov: extras list and an optional KHR_animation_pointer channel.
    assert raw["extensionsUsed"] == ["KHR_animation_pointer"]
    assert "extensionsRequired" not in raw
    np.testing.assert_allclose(raw["animations"][0]["extras"]["yfov_per_frame"], track.fov_y, atol=1e-12)
    pointer = next(c for c in raw["animations"][0]["channels"] if c["target"]["path"] == "pointer")
    assert "node" not in pointer["target"]
    assert pointer["target"]["extensions"]["KHR_animation_pointer"]["pointer"] == YFOV_POINTER
    fov_out = _accessor(gltf, blob, anim.samplers[pointer["sampler"]].output)
    np.testing.assert_allclose(fov_out, track.fov_y, atol=1e-6)


def test_gltf_constant_fov_has_no_extension(tmp_path: Path) -> None:
    track = orbit_track(10, fov_varies=False)
    path = tmp_path / "cam.gltf"
    write_gltf(track, path)
    raw = json.loads(path.read_text())
    assert "extensionsUsed" not in raw
    assert [c["target"]["path"] for c in raw["animations"][0]["channels"]] == ["translation", "rotation"]
    assert "extras" not in raw["animations"][0]


def test_gltf_loads_in_trimesh(tmp_path: Path) -> None:
    trimesh = pytest.importorskip("trimesh")
    track = orbit_track()
    path = tmp_path / "cam.gltf"
    write_gltf(track, path)
    scene = trimesh.load(str(path))
    # trimesh reads the node and its camera but not animations: it shows the first frame.
    assert isinstance(scene, trimesh.Scene)
    assert len(scene.geometry) == 0
    assert scene.camera.fov[1] == pytest.approx(np.degrees(track.fov_y[0]), abs=1e-4)
    # trimesh takes its horizontal fov as yfov * aspectRatio (linear, not through tan), so
    # fov[0] is not checked: that is trimesh's approximation, not the file's content.
    pose = scene.camera_transform  # glTF Y-up world
    np.testing.assert_allclose(YUP_TO_ZUP @ pose[:3, 3], track.positions[0], atol=1e-5)
    np.testing.assert_allclose(YUP_TO_ZUP @ (pose[:3, :3] @ [0, 0, -1]), track.rotations[0][:, 1], atol=1e-5)


# ----------------------------------------------------------------------------- atomicity


@pytest.mark.parametrize("writer", [write_json, write_csv, write_gltf])
def test_writes_are_atomic_and_replace(tmp_path: Path, writer) -> None:
    path = tmp_path / "out.file"
    path.write_text("old contents")
    writer(orbit_track(8), path)
    assert path.read_text() != "old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["out.file"]


def test_failed_write_leaves_old_file_and_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    path.write_text("old contents")
    track = orbit_track(4)
    bad = CameraTrack(track.name, 24.0, track.positions, track.rotations, track.fov_y, 1.5,
                      params={"x": float("nan")})
    with pytest.raises(CameraError):
        write_json(bad, path)
    assert path.read_text() == "old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_write_into_missing_directory_is_a_camera_error(tmp_path: Path) -> None:
    with pytest.raises(CameraError, match="cannot write"):
        write_json(orbit_track(3), tmp_path / "missing" / "cam.json")


def test_interrupted_replace_leaves_no_temp(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "cam.gltf"
    path.write_text("old contents")

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(CameraError, match="No space left"):
        write_gltf(orbit_track(3), path)
    assert path.read_text() == "old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["cam.gltf"]
