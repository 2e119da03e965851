"""The 7 canonical joints every behaviour model uses, found in any common skeleton by name.

Names are compared after normalisation: a namespace ("mixamorig:", "mixamorig1:", "Armature|"),
3ds Max's "Bip01 " and filler words ("joint", "end") are dropped, the name is split into words
at separators and camelCase boundaries, and a side word (left/l, right/r, also fused as in
CMU's "lhumerus") is taken out. So "mixamorig:LeftArm", "UpperArm_L", "LeftShoulder",
"Bip01 L UpperArm" and "l_upperarm" all read as (side, words).

"Shoulder" means the shoulder ball (the upper-arm joint), not the clavicle: it is where the arm
visibly starts, it is what 2D pose estimators call a shoulder (the feature network is trained on
their output), and the clavicle joint sits close to the neck so the shoulder line through two
clavicles is short and noisy. Skeletons without a separate upper-arm joint (cinestage's own,
where "LeftShoulder" is the ball) fall back to the shoulder/clavicle names.
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from cinestage.errors import MotionError
from cinestage.stage.motion import Motion

CANONICAL = ("head", "neck", "left_shoulder", "right_shoulder", "hips", "left_hip", "right_hip")

# Shoulder ball first (CMU/Mixamo "Arm", Bandai "UpperArm", Daz "Shldr"), clavicle last.
_SHOULDER = ("arm", "upperarm", "uparm", "humerus", "shldr", "shoulder", "clavicle", "collar")
_HIP = ("upleg", "upperleg", "thigh", "hip", "femur")

# Canonical joint → (side, accepted joined words, best first).
_CANDIDATES: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "head": (None, ("head",)),
    "neck": (None, ("neck", "neck1", "lowerneck", "upperneck", "neck01")),
    # "root" only last: many roots are a floor projection (Bandai's joint_Root) beside a
    # "Hips"; in ASF-derived CMU files the root is the pelvis and nothing else is.
    "hips": (None, ("hips", "pelvis", "hip", "root")),
    "left_shoulder": ("left", _SHOULDER),
    "right_shoulder": ("right", _SHOULDER),
    "left_hip": ("left", _HIP),
    "right_hip": ("right", _HIP),
}

_FOOT_WORDS = ("ankle", "foot", "toe", "toes", "toebase", "heel", "ball", "tarsal")
_SIDE_WORDS = {"left": "left", "l": "left", "lf": "left", "right": "right", "r": "right", "rt": "right"}
_FILLER = {"joint", "jnt", "bone", "def", "end"}
# Words that CMU-style files fuse with a side letter ("lhumerus", "rfemur", "lshoulder").
_FUSABLE = {*_SHOULDER, *_HIP, "foot", "toes", "toe", "ankle", "heel"}


def parse_name(name: str) -> tuple[str | None, str]:
    """(side or None, the remaining words joined in lower case) for one joint name."""
    bare = re.split(r"[:|]", name)[-1]
    bare = re.sub(r"^(mixamorig\d*|bip\d+)[\s_]*", "", bare, flags=re.IGNORECASE)
    words: list[str] = []
    for chunk in re.split(r"[^A-Za-z0-9]+", bare):
        words += re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+", chunk)
    words = [w.lower() for w in words if w.lower() not in _FILLER]
    side = None
    kept = []
    for w in words:
        if side is None and w in _SIDE_WORDS:
            side = _SIDE_WORDS[w]
        else:
            kept.append(w)
    joined = "".join(kept)
    if side is None:
        for fused in ("left", "right", "l", "r"):  # "LEFTARM", "lefthand", CMU's "lhumerus"
            rest = joined[len(fused):]
            if joined.startswith(fused) and rest and (len(fused) > 1 or rest in _FUSABLE):
                side, joined = _SIDE_WORDS[fused], rest
                break
    return side, joined


def canonical_indices(names: Sequence[str], source: str = "<memory>") -> tuple[int, ...]:
    """Indices into `names` of the joints in `CANONICAL` order; `MotionError` if one is missing."""
    parsed = [parse_name(n) for n in names]
    found = []
    for canonical in CANONICAL:
        side, accepted = _CANDIDATES[canonical]
        index = _first_match(parsed, side, accepted)
        if index is None:
            raise MotionError(source, f"no joint for {canonical!r} among: {', '.join(names)}")
        found.append(index)
    return tuple(found)


def _first_match(parsed: list[tuple[str | None, str]], side: str | None, accepted: tuple[str, ...]) -> int | None:
    for word in accepted:  # preference order first, then skeleton order
        for index, (s, w) in enumerate(parsed):
            if s == side and w == word:
                return index
    return None


def canonical_positions(motion: Motion) -> np.ndarray:
    """(T, 7, 3) positions of the canonical joints, in `CANONICAL` order."""
    return motion.positions[:, list(canonical_indices(motion.skeleton.names, motion.source))]


def foot_indices(names: Sequence[str]) -> tuple[int, ...]:
    """Indices of ankle, foot, toe and heel joints (either side), in skeleton order; may be empty."""
    out = []
    for index, name in enumerate(names):
        _, joined = parse_name(name)
        if any(joined.startswith(w) or joined.endswith(w) for w in _FOOT_WORDS):
            out.append(index)
    return tuple(out)
