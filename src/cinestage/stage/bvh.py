"""BVH motion capture → `Motion` (world joint positions, metres, Z up).

Conventions this reader follows, with the reasons:

- Rotation channels are applied in the order they are listed, as intrinsic rotations: channels
  listed c1, c2, c3 give R = R_c1 @ R_c2 @ R_c3 (the Biovision spec; what Blender and
  MotionBuilder write and read). Angles are degrees.
- Position channels *replace* the joint's OFFSET, component by component (a component without a
  channel keeps its OFFSET value). Files that put 6 channels on every joint (Bandai-Namco) write
  the rest offset into those channels, and the root's channels are its absolute position; adding
  them to OFFSET would double every bone (the Bandai actors would be 2.5 m tall).
- End Sites are not joints: they carry no animation and nothing downstream needs them.
- BVH is Y up; cinestage is Z up: (x, y, z) → (x, −z, y), a proper rotation, so left stays left.
- units="auto" reads the size of the skeleton: the longest joint-to-joint path along the bones
  (hand to foot, ~2 m for a human) is ≤ 5 units for metres, ≤ 500 for centimetres, more for
  millimetres. Inches (that path is ~80 in, which reads as centimetres) must be asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cinestage.errors import MotionError
from cinestage.stage.motion import Motion, Skeleton

UNIT_SCALES = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254}

_POSITION = {"xposition": 0, "yposition": 1, "zposition": 2}
_ROTATION = {"xrotation": 0, "yrotation": 1, "zrotation": 2}

# BVH (Y up) → cinestage (Z up): (x, y, z) → (x, −z, y).
_Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


@dataclass
class _Joint:
    name: str
    parent: int
    offset: np.ndarray | None = None
    channels: list[str] = field(default_factory=list)
    first_channel: int = 0


def load_bvh(path: str | Path, units: str = "auto") -> Motion:
    """Read a BVH file. Every problem is a `MotionError` naming the file."""
    source = str(path)
    p = Path(path)
    if not p.exists():
        raise MotionError(source, "file not found")
    if not p.is_file():
        raise MotionError(source, "not a file")
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise MotionError(source, f"cannot read the file: {e.strerror or e}") from None
    if b"\x00" in raw[:4096]:
        raise MotionError(source, "not a BVH file (binary content)")
    return parse_bvh(raw.decode("utf-8", errors="replace"), source, units)


def parse_bvh(text: str, source: str = "<memory>", units: str = "auto") -> Motion:
    """Parse BVH text; `source` names it in error messages and on the `Motion`."""
    if units not in UNIT_SCALES and units != "auto":
        raise MotionError(source, f"unknown units {units!r}: use auto, {', '.join(UNIT_SCALES)}")
    text = text.lstrip("\ufeff")
    head, tail = _split_motion(text, source)
    joints = _parse_hierarchy(head, source)
    n_channels = _assign_channels(joints)
    fps, values = _parse_motion(tail, n_channels, source)
    file_positions = _forward_kinematics(joints, values)
    if units == "auto":
        scale = _auto_scale(joints, file_positions)
    else:
        scale = UNIT_SCALES[units]
    positions = (file_positions * scale) @ _Y_UP_TO_Z_UP.T
    skeleton = Skeleton(tuple(j.name for j in joints), tuple(j.parent for j in joints))
    return Motion(skeleton, np.ascontiguousarray(positions), fps, source)


def _split_motion(text: str, source: str) -> tuple[str, str]:
    stripped = text.lstrip()
    if not stripped.upper().startswith("HIERARCHY"):
        raise MotionError(source, "not a BVH file (it does not start with HIERARCHY)")
    m = re.search(r"^\s*MOTION\s*$", text, flags=re.MULTILINE)
    if m is None:
        raise MotionError(source, "malformed BVH: no MOTION section")
    return text[: m.start()], text[m.end():]


def _parse_hierarchy(head: str, source: str) -> list[_Joint]:
    # Braces sometimes share a line with a keyword ("ROOT Hips {"); give each its own line.
    lines = re.sub(r"([{}])", r"\n\1\n", head).splitlines()
    joints: list[_Joint] = []
    stack: list[int] = []  # open blocks: joint index, or -1 for an End Site
    pending: int | None = None  # a declared joint or End Site waiting for its "{"
    closed_root = False

    def fail(problem: str) -> None:
        raise MotionError(source, f"malformed BVH hierarchy: {problem}")

    for line in lines:
        parts = line.split()
        if not parts:
            continue
        kw = parts[0].upper()
        if kw == "HIERARCHY":
            if joints or stack:
                fail("HIERARCHY appears twice")
            continue
        if closed_root:
            fail(f"unexpected {parts[0]!r} after the root joint was closed (several roots are not supported)")
        if pending is not None and kw != "{":
            fail(f"expected '{{' before {parts[0]!r}")
        if kw in ("ROOT", "JOINT"):
            name = line.strip()[len(parts[0]):].strip()
            if not name:
                fail(f"{parts[0]} without a name")
            if kw == "ROOT" and (stack or joints):
                fail(f"ROOT {name!r} inside another joint")
            if kw == "JOINT" and not stack:
                fail(f"JOINT {name!r} outside the ROOT")
            if stack and stack[-1] == -1:
                fail(f"JOINT {name!r} inside an End Site")
            joints.append(_Joint(name, stack[-1] if stack else -1))
            pending = len(joints) - 1
        elif kw == "END":
            if not stack or stack[-1] == -1:
                fail("End Site outside a joint")
            pending = -1
        elif kw == "{":
            if pending is None:
                fail("'{' without a ROOT, JOINT or End Site before it")
            stack.append(pending)
            pending = None
        elif kw == "}":
            if not stack:
                fail("'}' without a matching '{'")
            top = stack.pop()
            if top >= 0 and joints[top].offset is None:
                fail(f"joint {joints[top].name!r} has no OFFSET")
            closed_root = not stack
        elif kw == "OFFSET":
            if not stack:
                fail("OFFSET outside a joint")
            offset = _floats(parts[1:], 3, "OFFSET", fail)
            if stack[-1] >= 0:
                joints[stack[-1]].offset = offset
        elif kw == "CHANNELS":
            if not stack or stack[-1] == -1:
                fail("CHANNELS outside a joint")
            joints[stack[-1]].channels = _channels(parts[1:], joints[stack[-1]].name, fail)
        else:
            fail(f"unknown keyword {parts[0]!r}")
    if pending is not None or stack:
        fail("unclosed '{' (missing '}')")
    if not joints:
        fail("no ROOT joint")
    return joints


def _floats(tokens: list[str], n: int, what: str, fail) -> np.ndarray:
    if len(tokens) != n:
        fail(f"{what} needs {n} numbers, got {len(tokens)}")
    try:
        values = np.array([float(t) for t in tokens])
    except ValueError:
        fail(f"{what} has a non-numeric value in {' '.join(tokens)!r}")
    if not np.all(np.isfinite(values)):
        fail(f"{what} has a non-finite value")
    return values


def _channels(tokens: list[str], joint: str, fail) -> list[str]:
    if not tokens or not tokens[0].isdigit():
        fail(f"CHANNELS of {joint!r} must start with a channel count")
    count, names = int(tokens[0]), [t.lower() for t in tokens[1:]]
    if count != len(names):
        fail(f"CHANNELS of {joint!r} declares {count} channels but lists {len(names)}")
    for name in names:
        if name not in _POSITION and name not in _ROTATION:
            fail(f"unknown channel {name!r} on {joint!r}")
    if len(set(names)) != len(names):
        fail(f"a channel is repeated on {joint!r}")
    return names


def _assign_channels(joints: list[_Joint]) -> int:
    n = 0
    for j in joints:
        j.first_channel = n
        n += len(j.channels)
    return n


def _parse_motion(tail: str, n_channels: int, source: str) -> tuple[float, np.ndarray]:
    lines = tail.splitlines()
    i = 0

    def header(label: str, pattern: str) -> str:
        nonlocal i
        while i < len(lines) and not lines[i].strip():
            i += 1
        m = re.fullmatch(pattern, lines[i].strip(), flags=re.IGNORECASE) if i < len(lines) else None
        if m is None:
            raise MotionError(source, f"malformed BVH: expected a '{label}' line after MOTION")
        i += 1
        return m.group(1)

    frames_text = header("Frames:", r"Frames\s*:\s*(\S*)")
    time_text = header("Frame Time:", r"Frame\s+Time\s*:\s*(\S*)")
    try:
        n_frames = int(frames_text)
    except ValueError:
        raise MotionError(source, f"malformed BVH: frame count {frames_text!r} is not an integer") from None
    if n_frames <= 0:
        raise MotionError(source, "the motion has no frames")
    try:
        frame_time = float(time_text)
    except ValueError:
        frame_time = float("nan")
    if not (np.isfinite(frame_time) and frame_time > 0):
        raise MotionError(source, f"bad frame time {time_text!r}: it must be a positive number of seconds")

    tokens: list[str] = []
    rows = 0
    for line in lines[i:]:
        parts = line.split()
        if not parts:
            continue
        if len(parts) != n_channels:
            problem = f"frame {rows + 1} has {len(parts)} values, the hierarchy has {n_channels} channels"
            raise MotionError(source, problem)
        tokens.extend(parts)
        rows += 1
    if rows != n_frames:
        raise MotionError(source, f"the header says {n_frames} frames but the file holds {rows}")
    try:
        values = np.array(tokens, dtype=np.float64).reshape(n_frames, n_channels)
    except ValueError:
        bad = next(t for t in tokens if not _is_float(t))
        raise MotionError(source, f"non-numeric value {bad!r} in the frame data") from None
    if not np.all(np.isfinite(values)):
        raise MotionError(source, "non-finite value (nan or inf) in the frame data")
    return _snap_fps(1.0 / frame_time), values


def _is_float(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _snap_fps(fps: float) -> float:
    # Frame times are printed rounded (0.0333333); 30.00003 fps would make every later
    # resampling drift by a frame over a long clip.
    nearest = round(fps)
    return float(nearest) if nearest > 0 and abs(fps - nearest) < 1e-4 * nearest else fps


def _axis_rotations(axis: int, degrees: np.ndarray) -> np.ndarray:
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    r = np.zeros((len(a), 3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]  # the plane the rotation turns, right-handed
    r[:, axis, axis] = 1.0
    r[:, i, i] = c
    r[:, j, j] = c
    r[:, i, j] = -s
    r[:, j, i] = s
    return r


def _forward_kinematics(joints: list[_Joint], values: np.ndarray) -> np.ndarray:
    """World positions (T, J, 3) in file units and axes."""
    n_frames = values.shape[0]
    positions = np.zeros((n_frames, len(joints), 3))
    rotations: list[np.ndarray | None] = []  # None = identity, skips work for channel-less joints
    for index, joint in enumerate(joints):
        translation = np.broadcast_to(joint.offset, (n_frames, 3)).copy()
        rotation = None
        for k, channel in enumerate(joint.channels):
            column = values[:, joint.first_channel + k]
            if channel in _POSITION:
                translation[:, _POSITION[channel]] = column
            else:
                r = _axis_rotations(_ROTATION[channel], column)
                rotation = r if rotation is None else rotation @ r
        if joint.parent < 0:
            positions[:, index] = translation
            rotations.append(rotation)
            continue
        parent_rotation = rotations[joint.parent]
        if parent_rotation is not None:
            translation = np.einsum("tij,tj->ti", parent_rotation, translation)
            rotation = parent_rotation if rotation is None else parent_rotation @ rotation
        positions[:, index] = positions[:, joint.parent] + translation
        rotations.append(rotation)
    return positions


def _auto_scale(joints: list[_Joint], posed: np.ndarray) -> float:
    # The skeleton's longest joint-to-joint path along its bones (hand to foot for a human)
    # does not depend on pose, facing, up axis or where the root has walked to: ~2 m for
    # a human in metres, ~200 in centimetres.
    lengths = np.array([np.linalg.norm(j.offset) if j.parent >= 0 else 0.0 for j in joints])
    if lengths.sum() <= 1e-9:  # offsets all zero: the bones live in the position channels
        parents = [max(j.parent, 0) for j in joints]
        lengths = np.linalg.norm(posed[0] - posed[0, parents], axis=1)
    size = _tree_diameter([j.parent for j in joints], lengths)
    if size <= 5.0:
        return UNIT_SCALES["m"]
    if size <= 500.0:
        return UNIT_SCALES["cm"]
    return UNIT_SCALES["mm"]


def _tree_diameter(parents: list[int], lengths: np.ndarray) -> float:
    """Longest path between two joints, summing bone lengths (parents precede children)."""
    down = np.zeros(len(parents))  # longest path from a joint down into its subtree
    best = 0.0
    for child in range(len(parents) - 1, -1, -1):
        parent = parents[child]
        if parent < 0:
            continue
        reach = down[child] + lengths[child]
        best = max(best, down[parent] + reach)
        down[parent] = max(down[parent], reach)
    return float(best)
