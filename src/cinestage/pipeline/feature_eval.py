"""End-to-end check of the feature estimation: held-out synthetic duets rendered by the `render`
package, read back like any real clip (MoveNet, shots, tracking, main pair) and passed through
the network, against the cameras that rendered them and the trivial baseline (the training mean).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from cinestage.film.feature_net import FeatureEstimator
from cinestage.film.joints2d import network_frames, windows
from cinestage.film.pose import MoveNetMultiPose
from cinestage.pipeline.feature_training import TEST_SEED_BASE, angle_error, error_summary
from cinestage.pipeline.rendered_shots import rendered_pairs

RENDER_SEED_BASE = TEST_SEED_BASE + 500_000


def evaluate_rendered(estimator: FeatureEstimator, duets: int = 4, cameras: int = 4, duration: float = 10.0,
                      width: int = 640, log: Callable[[str], None] = print) -> dict:
    errors: dict[str, list[np.ndarray]] = {"theta": [], "phi": [], "theta_baseline": [], "phi_baseline": []}
    pose = MoveNetMultiPose()
    frames = 0
    for i in range(duets):
        found = 0
        for pair in rendered_pairs(RENDER_SEED_BASE + i, cameras, duration, width, pose):
            est = estimator.estimate(windows(network_frames(pair.screen[0], pair.screen[1], pair.shot.aspect)))
            errors["theta"].append(angle_error(est.theta, pair.theta))
            errors["phi"].append(angle_error(est.phi, pair.phi))
            errors["theta_baseline"].append(angle_error(estimator.info["theta_mean"], pair.theta))
            errors["phi_baseline"].append(angle_error(estimator.info["phi_mean"], pair.phi))
            found += len(pair.frames)
        total = int(round(duration * 25)) * cameras
        frames += total
        log(f"duet {i + 1}/{duets}: main pair in {found}/{total} camera-frames")
    report = {"duets": duets, "cameras": cameras, "frames": frames, "pair_frames": int(sum(len(e) for e in errors["theta"]))}
    if report["pair_frames"]:
        names = {"theta": "theta", "phi": "phi", "theta_baseline": "theta (training mean)", "phi_baseline": "phi (training mean)"}
        report |= {k: error_summary(names[k], np.concatenate(v)) for k, v in errors.items()}
    return report
