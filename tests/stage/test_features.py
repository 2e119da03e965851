"""Character feature (METHODS.md §3) on hand-built pairs, and facing on real walking captures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cinestage.stage.bvh import load_bvh
from cinestage.stage.features import FEATURE_NAMES, character_features, facing_direction
from cinestage.stage.joints import canonical_positions

MOCAP = Path(__file__).parents[2].parent / "shared" / "data" / "mocap"
ABSENT = "../shared/data absent: the real Bandai-Namco BVH captures live beside the project, not in it"

F = {name: k for k, name in enumerate(FEATURE_NAMES)}


def actor(x, y, facing_deg, head_deg=None, frames=1, z=0.0):
    """Canonical joints (T, 7, 3) of an upright actor at (x, y) facing `facing_deg` (0 = +x,
    counter-clockwise seen from above); the head points `head_deg` (default: with the body)."""
    f = np.radians(facing_deg)
    h = np.radians(facing_deg if head_deg is None else head_deg)
    left = np.array([-np.sin(f), np.cos(f), 0.0])  # z × forward
    look = np.array([np.cos(h), np.sin(h), 0.0])
    hips = np.array([x, y, 0.95 + z])
    neck = hips + [0, 0, 0.55]
    joints = np.array([
        neck + 0.1 * look + [0, 0, 0.12],  # head, in front of the neck
        neck,
        neck + 0.19 * left - [0, 0, 0.05],  # left shoulder
        neck - 0.19 * left - [0, 0, 0.05],  # right shoulder
        hips,
        hips + 0.1 * left,
        hips - 0.1 * left,
    ])
    return np.repeat(joints[None], frames, axis=0)


def test_actors_facing_each_other():
    a, b = actor(0, 0, 0), actor(2, 0, 180)
    feat = character_features(a, b, main=0)
    assert feat.shape == (1, 9)
    expected = {
        "distance": 2.0,
        "cos_head_a_head_b": -1.0,
        "cos_shoulder_a_shoulder_b": -1.0,
        "cos_shoulder_a_line": 0.0,
        "cos_shoulder_b_line": 0.0,
        "cos_head_a_line": 1.0,  # A looks at B
        "cos_head_b_line": -1.0,  # B looks back along B → A
        "main_is_a": 1.0,
        "main_is_b": 0.0,
    }
    np.testing.assert_allclose(feat[0], [expected[n] for n in FEATURE_NAMES], atol=1e-12)


def test_actors_side_by_side_looking_the_same_way():
    # Both face +y; B stands at A's right (+x), so A's left shoulder points away from B.
    a, b = actor(0, 0, 90), actor(1.5, 0, 90)
    feat = character_features(a, b, main=1)[0]
    np.testing.assert_allclose(
        feat, [1.5, 1.0, 1.0, -1.0, -1.0, 0.0, 0.0, 0.0, 1.0], atol=1e-12)


def test_head_turned_towards_the_partner_while_the_body_faces_away():
    a = actor(0, 0, 90, head_deg=0)  # body faces +y, head turned to B at +x
    b = actor(3, 0, 90, head_deg=135)
    feat = character_features(a, b, 0)[0]
    assert feat[F["cos_head_a_line"]] == pytest.approx(1.0)
    assert feat[F["cos_head_b_line"]] == pytest.approx(np.cos(np.radians(135)))
    assert feat[F["cos_head_a_head_b"]] == pytest.approx(np.cos(np.radians(135)))
    assert feat[F["cos_shoulder_a_shoulder_b"]] == pytest.approx(1.0)


def test_distance_is_exact_on_the_ground_plane():
    a = actor(0, 0, 10, z=0.0)
    b = actor(3, 4, 10, z=0.4)  # height difference is ignored
    assert character_features(a, b, 0)[0, F["distance"]] == 5.0


def test_one_hot_main_actor_and_bad_arguments():
    a, b = actor(0, 0, 0, frames=4), actor(1, 0, 180, frames=4)
    np.testing.assert_array_equal(character_features(a, b, 0)[:, 7:], [[1, 0]] * 4)
    np.testing.assert_array_equal(character_features(a, b, 1)[:, 7:], [[0, 1]] * 4)
    with pytest.raises(ValueError, match="main"):
        character_features(a, b, 2)
    with pytest.raises(ValueError, match="frames"):
        character_features(a, b[:3], 0)
    with pytest.raises(ValueError, match=r"\(T, 7, 3\)"):
        character_features(a[:, :6], b, 0)


def test_degenerate_input_gives_zero_cosines_not_nan():
    same_point = np.zeros((3, 7, 3))
    feat = character_features(same_point, same_point, 0)
    assert np.all(np.isfinite(feat))
    np.testing.assert_array_equal(feat[:, :7], 0.0)
    # coincident hips: the line has no direction, head/shoulder cosines between actors still hold
    a, b = actor(0, 0, 0), actor(0, 0, 180)
    feat = character_features(a, b, 0)[0]
    assert feat[F["distance"]] == 0.0
    assert feat[F["cos_shoulder_a_shoulder_b"]] == pytest.approx(-1.0)
    np.testing.assert_array_equal(feat[[3, 4, 5, 6]], 0.0)
    # head straight above the neck (seen from above: no direction)
    a = actor(0, 0, 0)
    a[:, 0, :2] = a[:, 1, :2]
    assert character_features(a, actor(2, 0, 180), 0)[0, F["cos_head_a_line"]] == 0.0
    assert np.all(np.isfinite(facing_direction(same_point)))
    np.testing.assert_array_equal(facing_direction(same_point), 0.0)


@settings(max_examples=50, deadline=None)
@given(
    pose=st.tuples(*[st.floats(-5, 5)] * 2, st.floats(-180, 180), st.floats(-180, 180)),
    pose_b=st.tuples(*[st.floats(-5, 5)] * 2, st.floats(-180, 180), st.floats(-180, 180)),
    turn=st.floats(-np.pi, np.pi),
    shift=st.tuples(st.floats(-50, 50), st.floats(-50, 50)),
)
def test_features_ignore_where_the_pair_is_and_which_way_the_world_turns(pose, pose_b, turn, shift):
    a = actor(pose[0], pose[1], pose[2], pose[3])
    b = actor(pose_b[0], pose_b[1], pose_b[2], pose_b[3])
    c, s = np.cos(turn), np.sin(turn)
    rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    moved = [j @ rot.T + [shift[0], shift[1], 0] for j in (a, b)]
    before, after = character_features(a, b, 0), character_features(*moved, 0)
    assert np.all(np.abs(before[:, 1:7]) <= 1.0)
    np.testing.assert_allclose(after, before, atol=1e-7)


@pytest.mark.parametrize("deg", [0, 30, 90, 180, -120])
def test_facing_direction_of_a_hand_built_actor(deg):
    got = facing_direction(actor(1, 2, deg, head_deg=deg + 60, frames=2))
    np.testing.assert_allclose(got, [[np.cos(np.radians(deg)), np.sin(np.radians(deg))]] * 2, atol=1e-12)


# ---------------------------------------------------------------- real captures

WALKS_FORWARD = [
    "bandai-namco-1/dataset-1_walk_normal_001.bvh",
    "bandai-namco-1/dataset-1_walk_happy_001.bvh",
    "bandai-namco-1/dataset-1_walk_sad_001.bvh",
    "bandai-namco-1/dataset-1_run_normal_001.bvh",
    "bandai-namco-2/dataset-2_walk_normal_001.bvh",
    "bandai-namco-2/dataset-2_walk-turn-left_normal_001.bvh",
]


def _walk(name):
    path = MOCAP / name
    if not path.is_file():
        pytest.skip(ABSENT)
    motion = load_bvh(path)
    joints = canonical_positions(motion)
    velocity = np.gradient(joints[:, 4, :2], axis=0) * motion.fps
    moving = np.linalg.norm(velocity, axis=1) > 0.3
    return joints, velocity, moving


@pytest.mark.parametrize("name", WALKS_FORWARD, ids=[Path(n).stem for n in WALKS_FORWARD])
def test_walkers_move_the_way_they_face(name):
    joints, velocity, moving = _walk(name)
    along = np.einsum("ti,ti->t", facing_direction(joints), velocity)
    assert moving.mean() > 0.9
    assert np.mean(along[moving] > 0) > 0.9


def test_walking_backwards_moves_against_the_facing():
    joints, velocity, moving = _walk("bandai-namco-1/dataset-1_walk-back_normal_001.bvh")
    along = np.einsum("ti,ti->t", facing_direction(joints), velocity)
    assert np.mean(along[moving] < 0) > 0.9


def test_turning_left_turns_counter_clockwise_seen_from_above():
    """Left is left after the Y-up → Z-up conversion: a left turn raises the facing angle."""
    joints, _, _ = _walk("bandai-namco-2/dataset-2_walk-turn-left_normal_001.bvh")
    facing = facing_direction(joints)
    angle = np.unwrap(np.arctan2(facing[:, 1], facing[:, 0]))
    assert np.degrees(angle[-1] - angle[0]) > 60


def test_real_pair_face_to_face():
    """One captured actor and a copy turned 180° and placed 2 m in front of them."""
    joints, _, _ = _walk("bandai-namco-1/dataset-1_walk_normal_001.bvh")
    a = joints[:1]
    front = np.append(facing_direction(a)[0], 0.0)
    b = 2 * a[:, 4:5] - a + 2.0 * front  # point reflection through A's hips, then 2 m ahead
    b[..., 2] = a[..., 2]
    feat = character_features(a, b, 0)[0]
    assert feat[F["distance"]] == pytest.approx(2.0, abs=0.01)
    assert feat[F["cos_shoulder_a_shoulder_b"]] == pytest.approx(-1.0)
    assert feat[F["cos_shoulder_a_line"]] == pytest.approx(0.0, abs=1e-9)
    assert feat[F["cos_shoulder_b_line"]] == pytest.approx(0.0, abs=1e-9)
    # Bandai's Head joint sits 6.4 cm almost straight above the Neck: Head − Neck on the
    # ground is 0.3-2 cm long and points wherever the head tilts (forward or back), so its
    # cosines are legitimate but carry posture, not gaze. They are still mirror images here.
    assert feat[F["cos_head_a_head_b"]] == pytest.approx(-1.0)
    assert feat[F["cos_head_a_line"]] == pytest.approx(-feat[F["cos_head_b_line"]])


@pytest.mark.parametrize("path", sorted(MOCAP.glob("*/*.bvh")) if MOCAP.is_dir() else
                         [pytest.param(None, marks=pytest.mark.skip(reason=ABSENT))],
                         ids=lambda p: getattr(p, "stem", "no-data"))
def test_toes_point_the_way_the_shoulders_say_the_actor_faces(path):
    motion = load_bvh(path)
    names = motion.skeleton.names
    facing = facing_direction(canonical_positions(motion))
    for side in "LR":
        p = motion.positions
        toes = p[:, names.index(f"Toes_{side}"), :2] - p[:, names.index(f"Foot_{side}"), :2]
        cos = np.einsum("ti,ti->t", toes, facing) / np.linalg.norm(toes, axis=1)
        # the median, because a walking foot rolls onto its toes and briefly points anywhere
        assert np.median(cos) > 0.7
