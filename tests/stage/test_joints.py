"""Canonical joints found by name in Bandai-Namco, CMU, Mixamo, Daz, 3ds Max and our own skeletons."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cinestage.errors import MotionError
from cinestage.stage.bvh import load_bvh
from cinestage.stage.joints import CANONICAL, canonical_indices, canonical_positions, foot_indices, parse_name
from cinestage.stage.motion import Motion, Skeleton

MOCAP = Path(__file__).parents[2].parent / "shared" / "data" / "mocap"
BVH_FILES = sorted(MOCAP.glob("*/*.bvh")) if MOCAP.is_dir() else []
ABSENT = "../shared/data absent: the real Bandai-Namco BVH captures live beside the project, not in it"

BANDAI = ("joint_Root", "Hips", "Spine", "Chest", "Neck", "Head", "Shoulder_L", "UpperArm_L", "LowerArm_L",
          "Hand_L", "Shoulder_R", "UpperArm_R", "LowerArm_R", "Hand_R", "UpperLeg_L", "LowerLeg_L", "Foot_L",
          "Toes_L", "UpperLeg_R", "LowerLeg_R", "Foot_R", "Toes_R")
CMU = ("Hips", "LHipJoint", "LeftUpLeg", "LeftLeg", "LeftFoot", "LeftToeBase", "RHipJoint", "RightUpLeg",
       "RightLeg", "RightFoot", "RightToeBase", "LowerBack", "Spine", "Spine1", "Neck", "Neck1", "Head",
       "LeftShoulder", "LeftArm", "LeftForeArm", "LeftHand", "RightShoulder", "RightArm", "RightForeArm",
       "RightHand")
CMU_ASF = ("root", "lhipjoint", "lfemur", "ltibia", "lfoot", "ltoes", "rhipjoint", "rfemur", "rtibia", "rfoot",
           "rtoes", "lowerback", "upperback", "thorax", "lowerneck", "upperneck", "head", "lclavicle",
           "lhumerus", "lradius", "lwrist", "lhand", "rclavicle", "rhumerus", "rradius", "rwrist", "rhand")
MIXAMO = tuple(f"mixamorig:{n}" for n in (
    "Hips", "Spine", "Spine1", "Spine2", "Neck", "Head", "HeadTop_End", "LeftShoulder", "LeftArm", "LeftForeArm",
    "LeftHand", "RightShoulder", "RightArm", "RightForeArm", "RightHand", "LeftUpLeg", "LeftLeg", "LeftFoot",
    "LeftToeBase", "RightUpLeg", "RightLeg", "RightFoot", "RightToeBase"))
PROCEDURAL = ("Hips", "Spine", "Chest", "Neck", "Head", "LeftShoulder", "LeftElbow", "LeftWrist", "RightShoulder",
              "RightElbow", "RightWrist", "LeftHip", "LeftKnee", "LeftAnkle", "LeftToe", "RightHip", "RightKnee",
              "RightAnkle", "RightToe")
DAZ = ("hip", "abdomen", "chest", "neck", "head", "lCollar", "lShldr", "lForeArm", "lHand", "rCollar", "rShldr",
       "rForeArm", "rHand", "lThigh", "lShin", "lFoot", "rThigh", "rShin", "rFoot")
MAX_BIPED = ("Bip01", "Bip01 Pelvis", "Bip01 Spine", "Bip01 Neck", "Bip01 Head", "Bip01 L Clavicle",
             "Bip01 L UpperArm", "Bip01 R Clavicle", "Bip01 R UpperArm", "Bip01 L Thigh", "Bip01 R Thigh",
             "Bip01 L Foot", "Bip01 R Foot")


def picked(names):
    return tuple(names[i] for i in canonical_indices(names, "test"))


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (BANDAI, ("Head", "Neck", "UpperArm_L", "UpperArm_R", "Hips", "UpperLeg_L", "UpperLeg_R")),
        (CMU, ("Head", "Neck", "LeftArm", "RightArm", "Hips", "LeftUpLeg", "RightUpLeg")),
        (CMU_ASF, ("head", "lowerneck", "lhumerus", "rhumerus", "root", "lfemur", "rfemur")),
        (MIXAMO, tuple(f"mixamorig:{n}" for n in ("Head", "Neck", "LeftArm", "RightArm", "Hips", "LeftUpLeg",
                                                   "RightUpLeg"))),
        (tuple(n.replace("mixamorig:", "mixamorig1:") for n in MIXAMO),
         tuple(f"mixamorig1:{n}" for n in ("Head", "Neck", "LeftArm", "RightArm", "Hips", "LeftUpLeg",
                                            "RightUpLeg"))),
        (PROCEDURAL, ("Head", "Neck", "LeftShoulder", "RightShoulder", "Hips", "LeftHip", "RightHip")),
        (DAZ, ("head", "neck", "lShldr", "rShldr", "hip", "lThigh", "rThigh")),
        (MAX_BIPED, ("Bip01 Head", "Bip01 Neck", "Bip01 L UpperArm", "Bip01 R UpperArm", "Bip01 Pelvis",
                     "Bip01 L Thigh", "Bip01 R Thigh")),
    ],
    ids=["bandai", "cmu", "cmu-asf", "mixamo", "mixamo1", "procedural", "daz", "3dsmax"],
)
def test_known_skeletons_map_to_the_canonical_joints(names, expected):
    assert picked(names) == expected


def test_shoulder_prefers_the_upper_arm_ball_over_the_clavicle_whatever_the_order():
    assert picked(tuple(reversed(CMU)))[2:4] == ("LeftArm", "RightArm")
    assert picked(BANDAI)[2:4] == ("UpperArm_L", "UpperArm_R")


def test_case_separators_and_namespaces_do_not_matter():
    names = ("ARMATURE|HIPS", "spine", "NECK", "head", "left_upper_arm", "RIGHT_UPPER_ARM", "Left-Thigh",
             "right.thigh")
    assert picked(names) == ("head", "NECK", "left_upper_arm", "RIGHT_UPPER_ARM", "ARMATURE|HIPS", "Left-Thigh",
                             "right.thigh")


@pytest.mark.parametrize(
    ("name", "parsed"),
    [
        ("mixamorig:LeftArm", ("left", "arm")),
        ("mixamorig_RightUpLeg", ("right", "upleg")),
        ("UpperArm_L", ("left", "upperarm")),
        ("LeftForeArm", ("left", "forearm")),  # not the shoulder
        ("joint_Root", (None, "root")),
        ("lhumerus", ("left", "humerus")),
        ("LEFTARM", ("left", "arm")),
        ("Arm.R", ("right", "arm")),
        ("lowerback", (None, "lowerback")),  # a leading "l" is not always a side
        ("HeadTop_End", (None, "headtop")),  # not the head
    ],
)
def test_parse_name(name, parsed):
    assert parse_name(name) == parsed


def test_missing_joint_is_a_motion_error_listing_the_names():
    names = ("Hips", "Spine", "Neck", "Head", "LeftArm", "RightArm", "RightUpLeg")
    with pytest.raises(MotionError) as info:
        canonical_indices(names, "pair.bvh")
    assert str(info.value) == (
        "pair.bvh: no joint for 'left_hip' among: Hips, Spine, Neck, Head, LeftArm, RightArm, RightUpLeg"
    )


def test_head_is_not_taken_from_a_head_end_and_hips_not_from_a_side_hip():
    with pytest.raises(MotionError, match="no joint for 'head'"):
        canonical_indices(("Hips", "Neck", "HeadTop_End", "LeftArm", "RightArm", "LeftUpLeg", "RightUpLeg"), "x")
    with pytest.raises(MotionError, match="no joint for 'hips'"):
        canonical_indices(("Head", "Neck", "LeftArm", "RightArm", "LeftHip", "RightHip"), "x")


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (BANDAI, ("Foot_L", "Toes_L", "Foot_R", "Toes_R")),
        (CMU, ("LeftFoot", "LeftToeBase", "RightFoot", "RightToeBase")),
        (PROCEDURAL, ("LeftAnkle", "LeftToe", "RightAnkle", "RightToe")),
        (CMU_ASF, ("lfoot", "ltoes", "rfoot", "rtoes")),
    ],
)
def test_foot_indices(names, expected):
    assert tuple(names[i] for i in foot_indices(names)) == expected


def test_canonical_positions_selects_in_canonical_order():
    rng = np.random.default_rng(0)
    positions = rng.normal(size=(5, len(PROCEDURAL), 3))
    parents = (-1,) + (0,) * (len(PROCEDURAL) - 1)
    motion = Motion(Skeleton(PROCEDURAL, parents), positions, 30.0, "proc")
    out = canonical_positions(motion)
    assert out.shape == (5, len(CANONICAL), 3)
    np.testing.assert_array_equal(out[:, 2], positions[:, PROCEDURAL.index("LeftShoulder")])
    np.testing.assert_array_equal(out[:, 6], positions[:, PROCEDURAL.index("RightHip")])


def test_canonical_positions_error_names_the_motion_source():
    motion = Motion(Skeleton(("Hips", "Head"), (-1, 0)), np.zeros((2, 2, 3)), 30.0, "tiny.bvh")
    with pytest.raises(MotionError, match=r"^tiny\.bvh: no joint for 'neck'"):
        canonical_positions(motion)


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in BVH_FILES]
                         or [pytest.param(None, marks=pytest.mark.skip(reason=ABSENT), id="no-data")])
def test_real_files_have_an_anatomically_plausible_canonical_skeleton(path):
    j = canonical_positions(load_bvh(path))
    head, neck, ls, rs, hips, lh, rh = (j[:, k] for k in range(7))
    shoulder_width = np.linalg.norm(ls - rs, axis=1)
    hip_width = np.linalg.norm(lh - rh, axis=1)
    # Bandai's rig is narrow: upper-arm balls ~0.20 m apart, clavicle roots 0.10 m, hips 0.13 m.
    # The shoulder must be the ball (wider than the clavicles), never the hand or elbow.
    assert np.all((0.15 < shoulder_width) & (shoulder_width < 0.5))
    assert np.all((0.08 < hip_width) & (hip_width < 0.4))
    # the actor's left shoulder and left hip are on the same side of the body
    assert np.mean(np.einsum("ti,ti->t", ls - rs, lh - rh) > 0) > 0.95
    # upright most of the time: head above neck above hips
    assert np.mean((head[:, 2] > neck[:, 2]) & (neck[:, 2] > hips[:, 2])) > 0.9
