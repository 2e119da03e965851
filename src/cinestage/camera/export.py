"""Write a CameraTrack as JSON, CSV or glTF 2.0, and read the JSON and CSV back.

Conventions shared by every format (the project's, see DESIGN.md): world right-handed, Z up,
metres and seconds; the camera looks along its local +Y with +X right and +Z up. A frame's
orientation quaternion is (x, y, z, w), unit length, and rotates camera-local axes into the
world: its matrix has columns right, forward, up. Quaternions are sign-continuous from frame to
frame (the first has w >= 0) so that interpolating between neighbours never takes the long way
round. Frame i is at time i / fps.

JSON (`write_json` / `read_json`): schema "cinestage.camera_track", version 1. The file states
its own conventions under "conventions"; per frame it holds frame, time, position, quaternion,
fov_y_deg and fov_x_deg (both full angles in degrees; fov_x follows from fov_y and the aspect),
plus the track's name, fps, aspect, rig and params. Floats are written with full precision, so a
round trip returns the track to within rounding of the quaternion conversion (~1e-15).

CSV (`write_csv` / `read_csv`): a header row then one row per frame:
    frame, time, x, y, z, qx, qy, qz, qw, yaw_deg, pitch_deg, roll_deg, fov_y_deg, fov_x_deg
yaw/pitch/roll are Panda3D's heading/pitch/roll, R = Rz(yaw) @ Rx(pitch) @ Ry(roll):
    yaw   about world +Z; 0 looks along +Y, positive turns toward -X (counter-clockwise from above);
    pitch about the camera's right axis; positive tilts the view up;
    roll  about the view direction; positive tips the right edge of the image down.
They are for people and spreadsheets only (they lock at pitch +-90 degrees): `read_csv` uses the
quaternion. A CSV does not carry rig, params or fps, so `read_csv` takes fps from the time column
(or the `fps` argument) and the aspect from the two fields of view.

glTF (`write_gltf`): one self-contained .gltf (JSON with its binary buffer as a base64 data URI).
glTF is Y up and its cameras look down local -Z with +Y up, so positions map (x, y, z) ->
(x, z, -y) and a node's rotation has columns [right, up, -forward] in glTF world coordinates.
One node carries a perspective camera (yfov of the first frame, aspectRatio, znear 0.05, zfar
1000); one animation moves it with LINEAR translation and rotation channels, one key per frame.
Core glTF cannot animate a camera's field of view, so when fov_y varies the animation also has
  - extras.yfov_per_frame: the vertical field of view in radians for every frame, and
  - a KHR_animation_pointer channel on "/cameras/0/perspective/yfov", declared in extensionsUsed
    but not extensionsRequired, so loaders that do not know the extension still load the file.

Every writer writes a temporary file in the destination's directory and renames it over the
destination, so a reader never sees a half-written file under the real name.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import os
import uuid
import warnings
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from cinestage import __version__
from cinestage.camera.track import CameraTrack
from cinestage.errors import CameraError

JSON_SCHEMA = "cinestage.camera_track"
JSON_VERSION = 1

CSV_COLUMNS = (
    "frame", "time", "x", "y", "z", "qx", "qy", "qz", "qw",
    "yaw_deg", "pitch_deg", "roll_deg", "fov_y_deg", "fov_x_deg",
)

GLTF_ZNEAR = 0.05
GLTF_ZFAR = 1000.0
YFOV_POINTER = "/cameras/0/perspective/yfov"

# World Z-up -> glTF Y-up: (x, y, z) -> (x, z, -y).
ZUP_TO_YUP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
# Our camera axes (right, forward, up) -> glTF camera axes (right, up, -forward).
OURS_TO_GLTF_CAMERA = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])

_CONVENTIONS = {
    "units": "metres, seconds; angles in degrees",
    "axes": "right-handed world, Z up",
    "camera": "looks along its local +Y; local +X is right, local +Z is up",
    "quaternion": "x, y, z, w; rotates camera-local axes into world axes (matrix columns: "
    "right, forward, up); sign-continuous across frames",
    "fov": "fov_y_deg: full vertical angle; fov_x_deg: full horizontal angle, "
    "2*atan(tan(fov_y/2)*aspect)",
    "time": "frame / fps",
}


# ---------------------------------------------------------------------------- shared helpers


def _quaternions(track: CameraTrack) -> np.ndarray:
    """(T, 4) xyzw quaternions of the track's rotations, sign-continuous."""
    r = np.asarray(track.rotations, dtype=float)
    # A reflection or a sheared matrix has no quaternion; converting it anyway would silently
    # export a different camera.
    gram_error = np.abs(np.einsum("tji,tjk->tik", r, r) - np.eye(3)).max(axis=(1, 2))
    bad = np.flatnonzero((gram_error > 1e-6) | (np.linalg.det(r) <= 0.0))
    if bad.size:
        raise CameraError(track.name, f"rotation at frame {int(bad[0])} is not a proper rotation matrix")
    return _sign_continuous(Rotation.from_matrix(r).as_quat())


def _sign_continuous(q: np.ndarray) -> np.ndarray:
    """Flip xyzw quaternions so neighbours are in the same hemisphere (first has w >= 0)."""
    q = q.copy()
    if q[0, 3] < 0.0:
        q[0] = -q[0]
    for i in range(1, len(q)):
        if np.dot(q[i], q[i - 1]) < 0.0:
            q[i] = -q[i]
    return q


def _rotations_from_quaternions(source: str, q: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(q, axis=1)
    if np.any(~np.isfinite(norms)) or np.any(np.abs(norms - 1.0) > 1e-3):
        raise CameraError(source, "a quaternion is not of unit length")
    return Rotation.from_quat(q / norms[:, None]).as_matrix()


def _times(track: CameraTrack) -> np.ndarray:
    return np.arange(track.n_frames, dtype=float) / float(track.fps)


def _write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write data to path through a temporary sibling and a rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        # os.open with 0o666 lets the umask decide the final mode, as for a plain open().
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    except OSError as e:
        raise CameraError(str(path), f"cannot write file: {e.strerror or e}") from None


def _read_text(path: str | os.PathLike) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise CameraError(str(path), f"cannot read file: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise CameraError(str(path), "file is not UTF-8 text") from None


def _jsonable(value, source: str):
    """params may hold numpy values; JSON needs plain Python ones."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v, source) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, source) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist(), source)
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise CameraError(source, f"camera parameter of type {type(value).__name__} cannot be written as JSON")


def _f(x) -> float:
    return float(x)


# ---------------------------------------------------------------------------------- JSON


def write_json(track: CameraTrack, path: str | os.PathLike) -> None:
    """Write the track as self-describing JSON (schema cinestage.camera_track v1)."""
    q = _quaternions(track)
    times = _times(track)
    fov_y = np.degrees(track.fov_y)
    fov_x = np.degrees(track.fov_x)
    doc = {
        "schema": JSON_SCHEMA,
        "version": JSON_VERSION,
        "generator": f"cinestage {__version__}",
        "conventions": _CONVENTIONS,
        "name": track.name,
        "fps": _f(track.fps),
        "aspect": _f(track.aspect),
        "rig": track.rig,
        "params": _jsonable(track.params, track.name),
        "n_frames": track.n_frames,
        "frames": [
            {
                "frame": i,
                "time": _f(times[i]),
                "position": [_f(v) for v in track.positions[i]],
                "quaternion": [_f(v) for v in q[i]],
                "fov_y_deg": _f(fov_y[i]),
                "fov_x_deg": _f(fov_x[i]),
            }
            for i in range(track.n_frames)
        ],
    }
    # allow_nan=False: a NaN in params would make a file other JSON readers reject.
    try:
        text = json.dumps(doc, indent=1, allow_nan=False)
    except ValueError:
        raise CameraError(track.name, "camera parameters contain NaN or infinity") from None
    _write_atomic(path, (text + "\n").encode("utf-8"))


def read_json(path: str | os.PathLike) -> CameraTrack:
    """Read a track written by `write_json`."""
    source = str(path)
    try:
        doc = json.loads(_read_text(path))
    except json.JSONDecodeError as e:
        raise CameraError(source, f"not valid JSON (line {e.lineno}): {e.msg}") from None
    if not isinstance(doc, dict) or doc.get("schema") != JSON_SCHEMA:
        raise CameraError(source, f"not a camera track (expected schema {JSON_SCHEMA!r})")
    if doc.get("version") != JSON_VERSION:
        raise CameraError(source, f"unsupported camera track version {doc.get('version')!r} (this reads {JSON_VERSION})")
    try:
        frames = doc["frames"]
        positions = np.array([fr["position"] for fr in frames], dtype=float).reshape(-1, 3)
        q = np.array([fr["quaternion"] for fr in frames], dtype=float).reshape(-1, 4)
        fov_y = np.radians(np.array([fr["fov_y_deg"] for fr in frames], dtype=float))
        name, fps, aspect = str(doc["name"]), float(doc["fps"]), float(doc["aspect"])
        rig, params = str(doc.get("rig", "custom")), dict(doc.get("params") or {})
    except (KeyError, TypeError, ValueError) as e:
        raise CameraError(source, f"malformed camera track: {e}") from None
    if not (fps > 0 and math.isfinite(fps) and aspect > 0 and math.isfinite(aspect)):
        raise CameraError(source, "fps and aspect must be positive numbers")
    rotations = _rotations_from_quaternions(source, q)
    return CameraTrack(name, fps, positions, rotations, fov_y, aspect, rig=rig, params=params)


# ----------------------------------------------------------------------------------- CSV


def _yaw_pitch_roll_deg(rotations: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        # Gimbal lock at pitch +-90: scipy warns and still returns a valid decomposition.
        warnings.simplefilter("ignore", UserWarning)
        return Rotation.from_matrix(rotations).as_euler("ZXY", degrees=True)


def write_csv(track: CameraTrack, path: str | os.PathLike) -> None:
    """Write one row per frame; see the module docstring for the columns and angles."""
    q = _quaternions(track)
    ypr = _yaw_pitch_roll_deg(track.rotations)
    times = _times(track)
    fov_y = np.degrees(track.fov_y)
    fov_x = np.degrees(track.fov_x)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for i in range(track.n_frames):
        # repr of a Python float is the shortest string that reads back to the same float.
        w.writerow([i, _f(times[i]), *map(_f, track.positions[i]), *map(_f, q[i]),
                    *map(_f, ypr[i]), _f(fov_y[i]), _f(fov_x[i])])
    _write_atomic(path, buf.getvalue().encode("utf-8"))


def read_csv(path: str | os.PathLike, *, name: str | None = None, fps: float | None = None) -> CameraTrack:
    """Read a CSV written by `write_csv`. Orientation comes from the quaternion columns.

    name defaults to the file's stem; fps defaults to the one implied by the time column (a
    one-frame file needs it given).
    """
    source = str(path)
    rows = list(csv.reader(_read_text(path).splitlines()))
    if not rows or tuple(c.strip() for c in rows[0]) != CSV_COLUMNS:
        raise CameraError(source, "not a camera CSV (header must be: " + ",".join(CSV_COLUMNS) + ")")
    body = [r for r in rows[1:] if r]
    if not body:
        raise CameraError(source, "the CSV has no frames")
    try:
        data = np.array(body, dtype=float)
    except ValueError:
        raise CameraError(source, "every CSV cell must be a number, and every row have 14 of them") from None
    if data.ndim != 2 or data.shape[1] != len(CSV_COLUMNS):
        raise CameraError(source, f"every row must have {len(CSV_COLUMNS)} values")
    col = {c: data[:, i] for i, c in enumerate(CSV_COLUMNS)}
    if fps is None:
        last_frame, last_time = col["frame"][-1], col["time"][-1]
        if len(data) < 2 or last_time <= 0:
            raise CameraError(source, "cannot tell the frame rate from a one-frame CSV: pass fps")
        fps = float(last_frame / last_time)
    fov_y = np.radians(col["fov_y_deg"])
    fov_x = np.radians(col["fov_x_deg"])
    aspect = float(np.mean(np.tan(fov_x / 2.0) / np.tan(fov_y / 2.0)))
    rotations = _rotations_from_quaternions(source, data[:, 5:9])
    positions = data[:, 2:5].copy()
    return CameraTrack(name or Path(path).stem, fps, positions, rotations, fov_y, aspect)


# ---------------------------------------------------------------------------------- glTF


def _gltf_quaternions(track: CameraTrack) -> np.ndarray:
    r_ours = np.asarray(track.rotations, dtype=float)
    r_gltf = ZUP_TO_YUP @ r_ours @ OURS_TO_GLTF_CAMERA
    return _sign_continuous(Rotation.from_matrix(r_gltf).as_quat())


def write_gltf(track: CameraTrack, path: str | os.PathLike) -> None:
    """Write the track as one self-contained glTF 2.0 file; see the module docstring."""
    _quaternions(track)  # rejects improper rotations with a clear error
    times = _times(track).astype(np.float32)
    translations = (np.asarray(track.positions, dtype=float) @ ZUP_TO_YUP.T).astype(np.float32)
    rotations = _gltf_quaternions(track).astype(np.float32)
    fov_y = np.asarray(track.fov_y, dtype=float)
    fov_varies = bool(np.ptp(fov_y) > 0.0)

    # Each block is float32, so every offset stays a multiple of 4 without padding.
    blocks: list[tuple[np.ndarray, str, bool]] = [
        (times, "SCALAR", True),  # sampler inputs must carry min/max
        (translations, "VEC3", True),
        (rotations, "VEC4", False),
    ]
    if fov_varies:
        blocks.append((fov_y.astype(np.float32), "SCALAR", False))

    buffer_views, accessors, chunks, offset = [], [], [], 0
    for i, (arr, kind, with_bounds) in enumerate(blocks):
        raw = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        buffer_views.append({"buffer": 0, "byteOffset": offset, "byteLength": len(raw)})
        acc = {"bufferView": i, "componentType": 5126, "count": int(arr.shape[0]), "type": kind}
        if with_bounds:
            a2 = arr.reshape(arr.shape[0], -1)
            acc["min"] = [float(v) for v in a2.min(axis=0)]
            acc["max"] = [float(v) for v in a2.max(axis=0)]
        accessors.append(acc)
        chunks.append(raw)
        offset += len(raw)
    blob = b"".join(chunks)

    samplers = [
        {"input": 0, "output": 1, "interpolation": "LINEAR"},
        {"input": 0, "output": 2, "interpolation": "LINEAR"},
    ]
    channels = [
        {"sampler": 0, "target": {"node": 0, "path": "translation"}},
        {"sampler": 1, "target": {"node": 0, "path": "rotation"}},
    ]
    animation: dict = {"name": f"{track.name} camera", "samplers": samplers, "channels": channels}
    doc: dict = {
        "asset": {
            "version": "2.0",
            "generator": f"cinestage {__version__}",
            "extras": {
                "source_conventions": "converted from a right-handed Z-up world, (x, y, z) -> (x, z, -y)",
                "camera_name": track.name,
                "fps": _f(track.fps),
                "rig": track.rig,
            },
        },
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{
            "name": track.name,
            "camera": 0,
            "translation": [float(v) for v in translations[0]],
            "rotation": [float(v) for v in rotations[0]],
        }],
        "cameras": [{
            "name": track.name,
            "type": "perspective",
            "perspective": {
                "yfov": _f(fov_y[0]),
                "aspectRatio": _f(track.aspect),
                "znear": GLTF_ZNEAR,
                "zfar": GLTF_ZFAR,
            },
        }],
        "animations": [animation],
        "buffers": [{
            "byteLength": len(blob),
            "uri": "data:application/octet-stream;base64," + base64.b64encode(blob).decode("ascii"),
        }],
        "bufferViews": buffer_views,
        "accessors": accessors,
    }
    if fov_varies:
        samplers.append({"input": 0, "output": 3, "interpolation": "LINEAR"})
        channels.append({
            "sampler": 2,
            "target": {"path": "pointer", "extensions": {"KHR_animation_pointer": {"pointer": YFOV_POINTER}}},
        })
        animation["extras"] = {"yfov_per_frame": [_f(v) for v in fov_y], "yfov_units": "radians"}
        doc["extensionsUsed"] = ["KHR_animation_pointer"]
    _write_atomic(path, (json.dumps(doc, indent=1) + "\n").encode("utf-8"))
