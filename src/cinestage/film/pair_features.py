"""Per-frame camera and character features of a shot's main pair (METHODS §3).

xA, xB and the mean y come straight from the head points; theta, phi and the character features
from the feature-estimation network, over 8-frame windows of both actors' canonical joints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cinestage.film.feature_net import FeatureEstimator
from cinestage.film.joints2d import HEAD, HIPS, NECK, fill_missing, from_coco, network_frames, windows
from cinestage.film.main_pair import FACING, PairChoice, facing


@dataclass(frozen=True)
class MainPair:
    """The main pair's features over the frames both are tracked (F of them).

    camera: (F, 5) [xA, xB, mean y, theta, phi]: heads in normalised screen coordinates (y up),
        Toric angles in radians (METHODS §2 convention).
    character: (F, 9) stage.features.FEATURE_NAMES; the one-hot says who is the main actor.
    confidence: (F,) in [0, 1]: the weaker actor's mean keypoint score on the 7 joints (0 for
        joints filled in rather than seen).
    facing: (F, 2) indices into main_pair.FACING for A and B.
    """

    shot: int
    a: int
    b: int
    frames: np.ndarray
    main: int
    camera: np.ndarray
    character: np.ndarray
    confidence: np.ndarray
    facing: np.ndarray

    @property
    def facing_names(self) -> tuple[str, ...]:
        return FACING


def to_screen(px: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pixels (x right, y down) -> normalised screen coordinates (x right, y up, [-1, 1])."""
    return np.stack([2.0 * px[..., 0] / width - 1.0, 1.0 - 2.0 * px[..., 1] / height], axis=-1)


def pair_joints(choice: PairChoice, width: int, height: int) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Per actor (A, B) over the pair's frames: canonical pixel joints (F, 7, 3) with gaps filled,
    the same in normalised screen coordinates (F, 7, 2), and the face keypoints' scores (F, 5)."""
    joints, screen, faces = [], [], []
    for track in (choice.a, choice.b):
        kp = track.keypoints[choice.frames - track.frames[0]]  # both are runs of consecutive frames
        canon = fill_missing(from_coco(kp))
        joints.append(canon)
        screen.append(to_screen(canon[..., :2], width, height))
        faces.append(kp[:, :5, 2])
    return joints, screen, faces


def pair_features(choice: PairChoice, width: int, height: int, estimator: FeatureEstimator) -> MainPair:
    joints, screen, faces = pair_joints(choice, width, height)
    est = estimator.estimate(windows(network_frames(screen[0], screen[1], width / height)))
    torso = [np.median(np.linalg.norm(j[:, NECK, :2] - j[:, HIPS, :2], axis=-1)) for j in joints]
    main = 0 if torso[0] >= torso[1] else 1
    one_hot = np.zeros((len(choice.frames), 2))
    one_hot[:, main] = 1.0
    camera = np.column_stack([screen[0][:, HEAD, 0], screen[1][:, HEAD, 0],
                              (screen[0][:, HEAD, 1] + screen[1][:, HEAD, 1]) / 2, est.theta, est.phi])
    confidence = np.minimum(*(j[..., 2].mean(-1) for j in joints))
    return MainPair(choice.shot, choice.a.id, choice.b.id, choice.frames, main, camera,
                    np.column_stack([est.character, one_hot]), confidence,
                    np.column_stack([facing(j, f) for j, f in zip(joints, faces)]))
