"""BVH reading: real Bandai-Namco captures, hand-computed forward kinematics, units, errors."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from cinestage.errors import MotionError
from cinestage.stage.bvh import load_bvh, parse_bvh
from cinestage.stage.joints import canonical_indices, foot_indices

DATA = Path(__file__).parents[2].parent / "shared" / "data"
MOCAP = DATA / "mocap"
BVH_FILES = sorted(MOCAP.glob("*/*.bvh")) if MOCAP.is_dir() else []
ABSENT = "../shared/data absent: the real Bandai-Namco BVH captures live beside the project, not in it"


def real_files():
    if not BVH_FILES:
        return [pytest.param(None, marks=pytest.mark.skip(reason=ABSENT), id="no-data")]
    return [pytest.param(p, id=p.stem) for p in BVH_FILES]


# ---------------------------------------------------------------- real data


@pytest.mark.parametrize("path", real_files())
def test_every_real_file_loads_with_its_declared_frames(path):
    motion = load_bvh(path)
    declared = int(re.search(r"Frames:\s*(\d+)", path.read_text()).group(1))
    assert motion.n_frames == declared
    assert motion.fps == 30.0  # Frame Time 0.0333333 snapped to the rate it stands for
    assert len(motion.skeleton.names) == 22  # End Sites are not joints
    assert motion.skeleton.parents[0] == -1
    assert motion.source == str(path)


@pytest.mark.parametrize("path", real_files())
def test_real_actors_are_human_sized_and_stand_on_the_floor(path):
    """Bandai's Head joint is the base of the skull, not its crown, ~0.2-0.3 m below the top
    of the head: over these clips it sits 1.29-1.37 m above the lowest foot joint, and the
    hip joints ~0.9 m — an adult of ~1.6-1.7 m. The lowest foot joint (Toes) is 3-5 cm above
    z = 0 when standing (joints lie inside the foot), so the floor needs no offset."""
    motion = load_bvh(path)
    names = motion.skeleton.names
    head, _, _, _, hips, _, _ = canonical_indices(names, str(path))
    feet = list(foot_indices(names))
    lowest_foot = motion.positions[:, feet, 2].min(axis=1)
    head_height = np.median(motion.positions[:, head, 2] - lowest_foot)
    hip_height = np.median(motion.positions[:, hips, 2] - lowest_foot)
    assert 1.2 < head_height < 1.9
    assert 0.75 < hip_height < 1.1
    assert -0.15 < lowest_foot.min() < 0.15
    # Some foot is on the floor nearly all the time; only the dance leaves it (jumps to 0.2 m).
    assert np.percentile(lowest_foot, 95) < 0.15


def test_biggest_real_file_loads_well_under_a_second():
    if not BVH_FILES:
        pytest.skip(ABSENT)
    biggest = max(BVH_FILES, key=lambda p: p.stat().st_size)
    start = time.perf_counter()
    motion = load_bvh(biggest)
    elapsed = time.perf_counter() - start
    assert motion.n_frames > 1500
    assert elapsed < 0.5, f"{biggest.name}: {elapsed:.3f} s"


def test_real_file_loads_the_same_from_text_and_in_explicit_centimetres():
    if not BVH_FILES:
        pytest.skip(ABSENT)
    path = BVH_FILES[0]
    auto = load_bvh(path)
    np.testing.assert_allclose(load_bvh(path, units="cm").positions, auto.positions)
    np.testing.assert_allclose(parse_bvh(path.read_text(), str(path)).positions, auto.positions)


# ---------------------------------------------------------------- hand-built files


def bvh(joints, frames, frame_time="0.04"):
    """BVH text. joints: (name, parent index, offset, channels) in file order; the parent
    precedes its children, and a joint with no children gets an End Site."""
    children = {i: [k for k, j in enumerate(joints) if j[1] == i] for i in range(len(joints))}

    def block(i, depth):
        name, parent, offset, channels = joints[i]
        pad = "  " * depth
        lines = [f"{pad}{'ROOT' if parent < 0 else 'JOINT'} {name}", f"{pad}{{"]
        lines.append(f"{pad}  OFFSET {' '.join(str(v) for v in offset)}")
        lines.append(f"{pad}  CHANNELS {len(channels)} {' '.join(channels)}")
        for c in children[i]:
            lines += block(c, depth + 1)
        if not children[i]:
            lines += [f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET 0 0.1 0", f"{pad}  }}"]
        lines.append(f"{pad}}}")
        return lines

    rows = [" ".join(f"{v:.10g}" for v in row) for row in np.atleast_2d(frames)]
    return "\n".join(
        ["HIERARCHY", *block(0, 0), "MOTION", f"Frames: {len(rows)}", f"Frame Time: {frame_time}", *rows, ""]
    )


ROOT6 = ["Xposition", "Yposition", "Zposition", "Zrotation", "Yrotation", "Xrotation"]
ROT_ZXY = ["Zrotation", "Xrotation", "Yrotation"]
CHAIN = [
    ("Hips", -1, (0, 0, 0), ROOT6),
    ("Spine", 0, (0, 1, 0), ROT_ZXY),
    ("Head", 1, (0, 1, 0), ROT_ZXY),
    ("Arm", 0, (1, 0, 0), ROT_ZXY),
]


def test_forward_kinematics_matches_hand_computed_positions():
    frames = [
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        # root moved to (1, 2, 3) and turned 90° about Y-up's Z; Spine turned 90° about X
        [1, 2, 3, 90, 0, 0, 0, 90, 0, 0, 0, 0, 0, 0, 0],
        # root Zrotation 90 then Yrotation 90: R = Rz @ Ry, so Arm's (1,0,0) → Ry → (0,0,-1)
        [0, 0, 0, 90, 90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    ]
    motion = parse_bvh(bvh(CHAIN, frames), "hand.bvh", units="m")
    assert motion.skeleton.names == ("Hips", "Spine", "Head", "Arm")
    assert motion.skeleton.parents == (-1, 0, 1, 0)
    assert motion.fps == 25.0

    def z_up(p):  # BVH (x, y, z) → cinestage (x, -z, y)
        return [p[0], -p[2], p[1]]

    expected = [
        [z_up(p) for p in [(0, 0, 0), (0, 1, 0), (0, 2, 0), (1, 0, 0)]],
        # Rz(90)(0,1,0) = (-1,0,0); Rz(90) Rx(90) (0,1,0) = Rz(90)(0,0,1) = (0,0,1); Rz(90)(1,0,0) = (0,1,0)
        [z_up(p) for p in [(1, 2, 3), (0, 2, 3), (0, 2, 4), (1, 3, 3)]],
        # Rz Ry (0,1,0) = (-1,0,0); Rz Ry (1,0,0) = Rz (0,0,-1) = (0,0,-1). Ry Rz would give (0,1,0).
        [z_up(p) for p in [(0, 0, 0), (-1, 0, 0), (-2, 0, 0), (0, 0, -1)]],
    ]
    np.testing.assert_allclose(motion.positions, expected, atol=1e-12)


def test_z_up_conversion_is_a_rotation_so_left_stays_left():
    # A Y-up actor facing +Z with its left arm on +X must, Z up, have its left arm on the
    # left of its facing direction (z × facing).
    joints = [("Hips", -1, (0, 1, 0), ROOT6), ("Nose", 0, (0, 0.5, 0.1), []), ("LeftArm", 0, (0.2, 0.4, 0), [])]
    p = parse_bvh(bvh(joints, [[0, 1, 0, 0, 0, 0]]), "h.bvh", units="m").positions[0]
    facing, left = p[1] - p[0], p[2] - p[0]
    assert np.cross([0, 0, 1], facing[:2].tolist() + [0])[:2] @ left[:2] > 0
    assert p[0, 2] == pytest.approx(1.0)  # up is +Z


def _write_with_orders(parents, offsets, rotations, root_pos, orders, root_pos_first=True):
    """Write the same poses (rotation matrices) with each joint's own rotation order."""
    joints, columns = [], []
    for j in range(len(parents)):
        order = orders[j]
        rot_channels = [f"{axis}rotation" for axis in order]
        if parents[j] < 0:
            pos_channels = ["Xposition", "Yposition", "Zposition"]
            # position channels first (the usual) or between the rotation channels
            channels = pos_channels + rot_channels if root_pos_first else [rot_channels[0], *pos_channels,
                                                                          *rot_channels[1:]]
        else:
            channels = rot_channels
        joints.append((f"J{j}", parents[j], tuple(offsets[j]), channels))
        eul = Rotation.from_matrix(rotations[:, j]).as_euler(order.upper(), degrees=True)
        cols = {f"{a}rotation": eul[:, k] for k, a in enumerate(order)}
        if parents[j] < 0:
            cols.update({f"{a}position": root_pos[:, k] for k, a in enumerate("XYZ")})
        columns += [cols[c] for c in channels]
    return bvh(joints, np.column_stack(columns))


def _reference_positions(parents, offsets, rotations, root_pos):
    n = rotations.shape[0]
    world_r = np.zeros((n, len(parents), 3, 3))
    pos = np.zeros((n, len(parents), 3))
    for j, p in enumerate(parents):
        if p < 0:
            world_r[:, j] = rotations[:, j]
            pos[:, j] = root_pos
        else:
            world_r[:, j] = world_r[:, p] @ rotations[:, j]
            pos[:, j] = pos[:, p] + np.einsum("tij,j->ti", world_r[:, p], offsets[j])
    return pos[..., [0, 2, 1]] * [1, -1, 1]


ORDERS = ["XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX"]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), orders=st.lists(st.sampled_from(ORDERS), min_size=5, max_size=5),
       root_pos_first=st.booleans())
def test_any_rotation_order_gives_the_same_positions(seed, orders, root_pos_first):
    """The same poses written with any per-joint rotation order (and position channels anywhere
    among them) read back to the same positions, which match an independent FK built on
    scipy's intrinsic Euler convention (uppercase axes = the BVH order)."""
    rng = np.random.default_rng(seed)
    parents = [-1, 0, 1, 2, 1]
    offsets = rng.uniform(-1, 1, (5, 3))
    rotations = Rotation.random(7 * 5, random_state=seed).as_matrix().reshape(7, 5, 3, 3)
    root_pos = rng.uniform(-2, 2, (7, 3))
    reference = _reference_positions(parents, offsets, rotations, root_pos)
    text = _write_with_orders(parents, offsets, rotations, root_pos, orders, root_pos_first)
    got = parse_bvh(text, "orders.bvh", units="m").positions
    np.testing.assert_allclose(got, reference, atol=1e-7)


def test_six_channels_on_every_joint_reads_like_three():
    """Bandai writes position channels on every joint holding the bone offset: they replace
    OFFSET (adding them would double each bone)."""
    rng = np.random.default_rng(1)
    angles = rng.uniform(-90, 90, (4, 4, 3))
    root = rng.uniform(-1, 1, (4, 3))
    three = np.column_stack([root, *[angles[:, j] for j in range(4)]])
    six_joints = [(n, p, o, ROOT6[:3] + ROT_ZXY) for n, p, o, _ in CHAIN]
    six_cols = []
    for j, (_, _, offset, _) in enumerate(CHAIN):
        six_cols += [root if j == 0 else np.tile(offset, (4, 1)), angles[:, j]]
    chain3 = [(n, p, o, ROOT6[:3] + ROT_ZXY if p < 0 else c) for n, p, o, c in CHAIN]
    a = parse_bvh(bvh(chain3, three), "three.bvh", units="m").positions
    b = parse_bvh(bvh(six_joints, np.column_stack(six_cols)), "six.bvh", units="m").positions
    np.testing.assert_allclose(a, b, atol=1e-12)


def test_channel_subsets_keep_offsets_for_missing_components():
    joints = [
        ("Root", -1, (5, 7, 9), ["Xposition", "Zposition"]),  # Y stays at the OFFSET's 7
        ("Child", 0, (0, 0, 1), ["Yrotation"]),
        ("Tip", 1, (0, 0, 1), []),
    ]
    p = parse_bvh(bvh(joints, [[1, 2, 90]]), "subset.bvh", units="m").positions[0]
    # BVH: Root (1,7,2); Child (1,7,3); Ry(90)(0,0,1) = (1,0,0) → Tip (2,7,3)
    np.testing.assert_allclose(p, [[1, -2, 7], [1, -3, 7], [2, -3, 7]], atol=1e-12)


# ---------------------------------------------------------------- units and frame time

HUMAN = [  # a 1.7 m person in metres, Y up
    ("Hips", -1, (0, 0.95, 0), ROOT6),
    ("Chest", 0, (0, 0.45, 0), ROT_ZXY),
    ("Head", 1, (0, 0.3, 0), ROT_ZXY),
    ("LeftArm", 1, (0.2, 0.2, 0), ROT_ZXY),
    ("LeftHand", 3, (0.6, 0, 0), ROT_ZXY),
    ("LeftUpLeg", 0, (0.1, 0, 0), ROT_ZXY),
    ("LeftFoot", 5, (0, -0.9, 0), ROT_ZXY),
]


def _human(scale):
    joints = [(n, p, tuple(np.multiply(o, scale)), c) for n, p, o, c in HUMAN]
    frame = np.zeros(6 + 3 * (len(HUMAN) - 1))
    frame[:3] = np.array([0.3, 0.95, -0.2]) * scale
    frame[6:9] = [10, 20, 30]
    return bvh(joints, np.vstack([frame, frame]))


@pytest.mark.parametrize(("scale", "units"), [(1, "m"), (100, "cm"), (1000, "mm"), (1 / 0.0254, "inch")])
def test_explicit_units(scale, units):
    expected = parse_bvh(_human(1), "m.bvh", units="m").positions
    np.testing.assert_allclose(parse_bvh(_human(scale), "x.bvh", units=units).positions, expected, atol=1e-9)


@pytest.mark.parametrize("scale", [1, 100, 1000])
def test_auto_units_tell_metres_centimetres_and_millimetres_apart(scale):
    expected = parse_bvh(_human(1), "m.bvh", units="m").positions
    np.testing.assert_allclose(parse_bvh(_human(scale), "x.bvh").positions, expected, atol=1e-9)


def test_auto_units_ignore_how_far_the_root_has_walked():
    # 40 m from the origin in centimetres is 4000 units: the size must come from the bones.
    text = _human(100).replace("\n30 95 -20 ", "\n4000 95 -20 ")
    motion = parse_bvh(text, "far.bvh")
    assert motion.positions[0, 0, 0] == pytest.approx(40.0)
    head = motion.positions[1, 2, 2] - motion.positions[1, 6, 2]
    assert 1.0 < head < 2.0


def test_unknown_units_is_a_motion_error():
    with pytest.raises(MotionError, match="unknown units 'furlong'"):
        parse_bvh(_human(1), "u.bvh", units="furlong")


@pytest.mark.parametrize(("frame_time", "fps"), [("0.0333333", 30.0), ("0.04", 25.0), ("0.0416667", 24.0),
                                                  ("0.008333", 120.0), ("0.1", 10.0), ("0.3", 1 / 0.3)])
def test_frame_time(frame_time, fps):
    motion = parse_bvh(bvh(CHAIN, np.zeros((3, 15)), frame_time=frame_time), "t.bvh", units="m")
    assert motion.fps == pytest.approx(fps, rel=1e-9)


def test_braces_on_the_keyword_line_and_crlf_are_accepted():
    text = bvh(CHAIN, np.zeros((2, 15)))
    compact = re.sub(r"\n\s*\{", " {", text).replace("\n", "\r\n")
    np.testing.assert_allclose(parse_bvh(compact, "c.bvh", units="m").positions,
                               parse_bvh(text, "t.bvh", units="m").positions)


# ---------------------------------------------------------------- errors

GOOD = bvh(CHAIN, np.zeros((2, 15)))


MALFORMED = {
    "not a bvh": "hello world\n1 2 3\n",
    "empty": "",
    "no motion": GOOD.split("MOTION")[0],
    "unclosed brace": GOOD.replace("}\nMOTION", "MOTION"),
    "extra close brace": GOOD.replace("MOTION", "}\nMOTION"),
    "joint outside root": "HIERARCHY\nJOINT A\n{\nOFFSET 0 0 0\n}\nMOTION\nFrames: 1\nFrame Time: 0.1\n\n",
    "two roots": GOOD.replace("MOTION", "ROOT B\n{\nOFFSET 0 0 0\nCHANNELS 0\n}\nMOTION"),
    "short offset": GOOD.replace("OFFSET 0 1 0", "OFFSET 0 1", 1),
    "text offset": GOOD.replace("OFFSET 0 1 0", "OFFSET 0 one 0", 1),
    "missing offset": GOOD.replace("  OFFSET 0 0 0\n", "", 1),
    "channel count": GOOD.replace("CHANNELS 3 Zrotation", "CHANNELS 4 Zrotation", 1),
    "unknown channel": GOOD.replace("Zrotation Xrotation Yrotation", "Zrotation Xrotation Wrotation", 1),
    "repeated channel": GOOD.replace("Zrotation Xrotation Yrotation", "Zrotation Xrotation Xrotation", 1),
    "unknown keyword": GOOD.replace("  OFFSET 0 1 0", "  OFSET 0 1 0", 1),
    "missing brace after joint": GOOD.replace("JOINT Spine\n  {", "JOINT Spine", 1),
    "short frame line": GOOD.rstrip("\n").rsplit(" ", 1)[0] + "\n",
    "long frame line": GOOD.rstrip("\n") + " 0\n",
    "fewer frames than declared": GOOD.replace("Frames: 2", "Frames: 3"),
    "more frames than declared": GOOD.replace("Frames: 2", "Frames: 1"),
    "zero frames": GOOD.replace("Frames: 2", "Frames: 0").rsplit("Frame Time: 0.04", 1)[0] + "Frame Time: 0.04\n",
    "frames not a number": GOOD.replace("Frames: 2", "Frames: two"),
    "non-numeric value": GOOD.rstrip("\n").rsplit(" ", 1)[0] + " abc\n",
    "nan value": GOOD.rstrip("\n").rsplit(" ", 1)[0] + " nan\n",
    "zero frame time": GOOD.replace("Frame Time: 0.04", "Frame Time: 0"),
    "negative frame time": GOOD.replace("Frame Time: 0.04", "Frame Time: -0.04"),
    "text frame time": GOOD.replace("Frame Time: 0.04", "Frame Time: fast"),
    "no frame time": GOOD.replace("Frame Time: 0.04\n", ""),
    "no frames line": GOOD.replace("Frames: 2\n", ""),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_file_is_a_motion_error_naming_the_path(tmp_path, case):
    path = tmp_path / f"{case.replace(' ', '_')}.bvh"
    path.write_text(MALFORMED[case])
    with pytest.raises(MotionError) as info:
        load_bvh(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message
    assert info.value.source == str(path)


def test_the_good_file_used_for_the_malformed_cases_is_fine(tmp_path):
    path = tmp_path / "good.bvh"
    path.write_text(GOOD)
    assert load_bvh(path, units="m").n_frames == 2


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("short frame line", "frame 2 has 14 values, the hierarchy has 15 channels"),
        ("zero frames", "no frames"),
        ("non-numeric value", "non-numeric value 'abc'"),
        ("zero frame time", "bad frame time '0'"),
        ("not a bvh", "not a BVH file"),
        ("unclosed brace", "malformed BVH hierarchy"),
        ("fewer frames than declared", "the header says 3 frames but the file holds 2"),
    ],
)
def test_error_messages_say_what_is_wrong(case, words):
    with pytest.raises(MotionError, match=re.escape(words)):
        parse_bvh(MALFORMED[case], "x.bvh")


def test_missing_file_and_directory_and_binary(tmp_path):
    with pytest.raises(MotionError, match="file not found") as info:
        load_bvh(tmp_path / "nope.bvh")
    assert str(tmp_path / "nope.bvh") in str(info.value)
    with pytest.raises(MotionError, match="not a file"):
        load_bvh(tmp_path)
    binary = tmp_path / "model.glb"
    binary.write_bytes(b"glTF\x02\x00\x00\x00" + bytes(range(256)))
    with pytest.raises(MotionError, match="not a BVH"):
        load_bvh(binary)
