"""Training the feature-estimation network on synthetic shots, and its evaluation on held-out ones.

Two kinds of synthetic windows: projected (3D joints projected where a 2D annotation would put
them, corrupted like a pose estimator's output) and rendered (duets rendered by the `render`
package and read back by MoveNet, so they carry its real errors). Projected shots give the
volume and variety; rendered ones teach what the pose estimator really does to a body.

Reproducible: `cinestage train feature-net` (same seed, same arguments -> the shipped
checkpoint's figures). Training and test shots come from disjoint seed ranges, so test shots
have motions (duet seeds, body heights), cameras and lenses never seen in training.

Augmentation imitates a pose estimator, with the spread measured by running MoveNet on rendered
synthetic shots: per-joint noise scaled to the person's size, a per-window bias of every joint,
a person's left and right taken for each other, joints lost for a frame (filled from the
window, as tracking interpolates) or for the whole window (filled at the neck's offset, as
joints2d.fill_missing does).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from cinestage.behavior.synthetic import SyntheticShot, synthetic_shot
from cinestage.film.feature_net import FeatureEstimator, FeatureNet, encode_targets
from cinestage.film.joints2d import (HEAD, HIPS, L_HIP, L_SHOULDER, NECK, R_HIP, R_SHOULDER, WINDOW, from_projected,
                                     network_frames, windows)
from cinestage.film.pose import MoveNetMultiPose
from cinestage.geometry import project
from cinestage.pipeline.rendered_shots import RenderedPair, rendered_pairs
from cinestage.stage.features import facing_direction

TEST_SEED_BASE = 1_000_000


@dataclass(frozen=True)
class WindowSet:
    """Windows (N, 28, 8) with their raw targets (N, 10) and per-window actor size (N, 2)."""

    inputs: np.ndarray
    targets: np.ndarray
    sizes: np.ndarray


def usable_frames(shot: SyntheticShot, margin: float = 1.05) -> np.ndarray:
    """Frames where both actors' head, neck and hips are in front of the camera and on screen."""
    key = shot.screen[:, :, [HEAD, NECK, HIPS]]
    on = (np.abs(key) <= margin).all(axis=(-1, -2, -3))
    front = (shot.depth[:, :, [HEAD, NECK, HIPS]] > 0.3).all(axis=(-1, -2))
    steady = np.ones(shot.n_frames, bool)
    jump = np.linalg.norm(np.diff(shot.track.positions, axis=0), axis=1) > 0.5  # a role swap
    steady[1:] &= ~jump
    steady[:-1] &= ~jump
    return on & front & steady


# COCO annotators (and so MoveNet) mark a shoulder at the top of the shoulder, the acromion, not
# at the ball joint a skeleton rotates about: about 3.5 cm higher along the spine.
ACROMION_RISE = 0.035
# The 2D head point averages the face keypoints (nose, eyes, ears), which sit in front of the
# skull's centre: about 5 cm along the way the person faces.
FACE_FORWARD = 0.05


def annotated_screen(shot: SyntheticShot) -> np.ndarray:
    """(T, 2, 7, 2) screen positions of the joints where a 2D pose annotation would put them."""
    j = shot.joints3d.copy()
    spine = j[:, :, NECK] - j[:, :, HIPS]
    up = spine / np.maximum(np.linalg.norm(spine, axis=-1, keepdims=True), 1e-9)
    j[:, :, [L_SHOULDER, R_SHOULDER]] += ACROMION_RISE * up[:, :, None]
    for k in range(2):
        j[:, k, HEAD, :2] += FACE_FORWARD * facing_direction(shot.joints3d[:, k])
    t = shot.track
    screen, _ = project(j, t.positions[:, None, None], t.rotations[:, None, None], t.fov_y[:, None, None], t.aspect)
    return screen


def shot_windows(shot: SyntheticShot, stride: int = 2) -> WindowSet:
    ok = usable_frames(shot)
    # Every frame of a window must be usable: erode the mask by the window's reach.
    full = np.convolve(ok.astype(int), np.ones(WINDOW, int), "full")[WINDOW // 2 - 1: WINDOW // 2 - 1 + len(ok)] == WINDOW
    centres = np.flatnonzero(full)[::stride]
    screen = from_projected(annotated_screen(shot))
    frames = network_frames(screen[:, 0], screen[:, 1], shot.aspect)
    x = windows(frames, centres)
    y = encode_targets(shot.camera[centres, 3], shot.camera[centres, 4], shot.character[centres])
    torso = np.linalg.norm(screen[centres, :, NECK] - screen[centres, :, HIPS], axis=-1)
    return WindowSet(x, y, torso.astype(np.float32))


def pair_windows(pair: RenderedPair) -> WindowSet:
    """Every frame of a main pair found by the pose estimator in a rendered shot."""
    x = windows(network_frames(pair.screen[0], pair.screen[1], pair.shot.aspect))
    y = encode_targets(pair.theta, pair.phi, pair.character)
    torso = np.stack([np.linalg.norm(s[:, NECK] - s[:, HIPS], axis=-1) for s in pair.screen], 1)
    return WindowSet(x, y, torso.astype(np.float32))


def rendered_windows(seeds, cameras: int = 4, progress: Callable[[int, int], None] | None = None) -> WindowSet:
    parts = []
    seeds = list(seeds)
    estimator = MoveNetMultiPose()
    for i, seed in enumerate(seeds):
        parts += [pair_windows(p) for p in rendered_pairs(seed, cameras, estimator=estimator)]
        if progress:
            progress(i + 1, len(seeds))
    return _concat(parts)


def _concat(parts: list[WindowSet]) -> WindowSet:
    return WindowSet(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("inputs", "targets", "sizes")))


def build_windows(seeds, stride: int = 2, progress: Callable[[int, int], None] | None = None) -> WindowSet:
    parts = []
    seeds = list(seeds)
    for i, seed in enumerate(seeds):
        parts.append(shot_windows(synthetic_shot(seed), stride))
        if progress:
            progress(i + 1, len(seeds))
    return _concat(parts)


# Per-joint spread of MoveNet's keypoints around the projected joints, in torso lengths, measured
# on rendered synthetic shots (robust std; head, neck, shoulders, hips, hip sides).
JOINT_NOISE = np.array([0.06, 0.05, 0.11, 0.11, 0.05, 0.10, 0.10], np.float32)
# How often the estimator takes a person's left for their right (a back seen as a front).
SIDE_SWAP = 0.2


def augment(x: np.ndarray, sizes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Pose-estimator-like corruption of (N, 28, 8) windows (a copy)."""
    n = len(x)
    j = x.reshape(n, 2, 7, 2, WINDOW).copy()
    scale = sizes[:, :, None, None, None]
    swap = rng.random((n, 2)) < SIDE_SWAP
    for a, b in ((L_SHOULDER, R_SHOULDER), (L_HIP, R_HIP)):
        j[:, :, [a, b]] = np.where(swap[:, :, None, None, None], j[:, :, [b, a]], j[:, :, [a, b]])
    sigma = JOINT_NOISE[None, None, :, None, None] * scale
    j += rng.normal(0, 1, j.shape).astype(np.float32) * sigma
    j += rng.normal(0, 0.04, (n, 2, 7, 2, 1)).astype(np.float32) * scale
    mean = j.mean(axis=-1, keepdims=True)
    lost_frame = rng.random((n, 2, 7, 1, WINDOW)) < 0.04
    j = np.where(lost_frame, mean, j)
    lost_window = rng.random((n, 2, 7, 1, 1)) < 0.03
    neck = j[:, :, NECK:NECK + 1]
    offset = (mean - neck.mean(axis=-1, keepdims=True)) * rng.normal(1.0, 0.15, (n, 2, 7, 1, 1)).astype(np.float32)
    j = np.where(lost_window, neck + offset, j)
    return j.reshape(n, 28, WINDOW)


@dataclass(frozen=True)
class TrainingConfig:
    shots: int = 600  # projected synthetic shots
    rendered: int = 72  # rendered duets (x 4 cameras) read back by the pose estimator
    epochs: int = 60
    batch: int = 512
    lr: float = 1e-3
    weight_decay: float = 1e-5
    gamma: float = 0.97
    seed: int = 0


def train(config: TrainingConfig, log: Callable[[str], None] = print) -> FeatureEstimator:
    """Adam 1e-3, weight decay 1e-5, learning rate x 0.97 per epoch, MSE on standardised targets."""
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    start = time.perf_counter()
    base = config.seed * 100_000
    data = build_windows(range(base, base + config.shots))
    log(f"{len(data.inputs)} windows from {config.shots} projected synthetic shots ({time.perf_counter() - start:.0f} s)")
    seen = rendered_windows(range(base + 50_000, base + 50_000 + config.rendered), progress=lambda i, n: log(
        f"rendered duet {i}/{n} read back ({time.perf_counter() - start:.0f} s)") if i % 4 == 0 or i == n else None) \
        if config.rendered else WindowSet(np.zeros((0, 28, WINDOW), np.float32), np.zeros((0, 10), np.float32), np.zeros((0, 2), np.float32))
    log(f"{len(seen.inputs)} windows from {config.rendered} rendered duets x 4 cameras")
    all_targets = np.concatenate([data.targets, seen.targets])
    mean, std = all_targets.mean(0), all_targets.std(0) + 1e-6
    targets = torch.from_numpy((all_targets - mean) / std)
    net = FeatureNet()
    opt = torch.optim.Adam(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, config.gamma)
    loss_fn = nn.MSELoss()
    curve = []
    for epoch in range(config.epochs):
        net.train()
        # Rendered windows already carry the pose estimator's own errors: no synthetic noise on them.
        x = torch.from_numpy(np.concatenate([augment(data.inputs, data.sizes, rng), seen.inputs]))
        order = torch.from_numpy(rng.permutation(len(x)))
        total = 0.0
        for i in range(0, len(x), config.batch):
            idx = order[i:i + config.batch]
            opt.zero_grad()
            loss = loss_fn(net(x[idx]), targets[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        curve.append(round(total / len(x), 5))
        if epoch % 5 == 0 or epoch == config.epochs - 1:
            log(f"epoch {epoch + 1}/{config.epochs}: loss {curve[-1]:.4f} ({time.perf_counter() - start:.0f} s)")
    info = {"trained_on": f"{config.shots} projected + {config.rendered}x4 rendered synthetic shots "
                          f"(procedural duets x canonical behaviours), seed {config.seed}",
            "epochs": config.epochs, "loss_curve": curve, "windows": int(len(x)), "seconds": round(time.perf_counter() - start, 1),
            "theta_mean": float(data.targets[:, 0].mean()),
            "phi_mean": float(np.arctan2(data.targets[:, 2].mean(), data.targets[:, 1].mean()))}
    return FeatureEstimator(net, mean, std, info)


def angle_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs((np.asarray(a) - np.asarray(b) + np.pi) % (2 * np.pi) - np.pi)


def error_summary(name: str, err: np.ndarray) -> dict:
    deg = np.degrees(err)
    return {"name": name, "median_deg": float(np.median(deg)), "p90_deg": float(np.percentile(deg, 90)), "n": int(len(deg))}


def evaluate_projected(estimator: FeatureEstimator, shots: int = 120, seed: int = 0) -> dict:
    """theta/phi errors on held-out synthetic shots (projected joints, estimator-like noise) vs
    the trivial baseline that always answers the training mean."""
    rng = np.random.default_rng(seed)
    data = build_windows(range(TEST_SEED_BASE + seed * 10_000, TEST_SEED_BASE + seed * 10_000 + shots))
    est = estimator.estimate(augment(data.inputs, data.sizes, rng))
    theta, phi = data.targets[:, 0], np.arctan2(data.targets[:, 2], data.targets[:, 1])
    base_theta, base_phi = estimator.info.get("theta_mean", float(theta.mean())), estimator.info.get("phi_mean", 0.0)
    return {
        "windows": int(len(theta)),
        "theta": error_summary("theta", angle_error(est.theta, theta)),
        "phi": error_summary("phi", angle_error(est.phi, phi)),
        "theta_baseline": error_summary("theta (training mean)", angle_error(base_theta, theta)),
        "phi_baseline": error_summary("phi (training mean)", angle_error(base_phi, phi)),
        "distance_mae_m": float(np.mean(np.abs(est.character[:, 0] - data.targets[:, 3]))),
    }
