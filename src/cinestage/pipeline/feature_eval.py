"""End-to-end check of the feature estimation: held-out synthetic shots rendered by the `render`
package, analysed like any real clip (MoveNet, tracking, main pair, network), and compared with
the cameras that rendered them.

The analysis names A the actor left on screen when the pair first appears, the synthetic shot
names A the one left in its first frame; where the two disagree (the pair appears later, after
crossing) the known angles are recomputed for the analysis' order before comparing.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from cinestage.behavior.synthetic import SyntheticShot, synthetic_shot
from cinestage.errors import CinestageError
from cinestage.film.analysis import AnalysisOptions, analyze
from cinestage.film.feature_net import FeatureEstimator
from cinestage.film.feature_training import TEST_SEED_BASE, angle_error, error_summary
from cinestage.film.joints2d import HEAD
from cinestage.geometry import toric_features
from cinestage.pipeline.render_job import render_performance
from cinestage.render.renderer import RenderOptions

RENDER_SEED_BASE = TEST_SEED_BASE + 500_000


def known_angles(shot: SyntheticShot, frames: np.ndarray, a_first: bool) -> tuple[np.ndarray, np.ndarray]:
    ha, hb = shot.joints3d[frames, 0, HEAD], shot.joints3d[frames, 1, HEAD]
    if not a_first:
        ha, hb = hb, ha
    t = shot.track
    cam = toric_features(ha, hb, t.positions[frames], t.rotations[frames], t.fov_y[frames], t.aspect)
    return cam[:, 3], cam[:, 4]


def evaluate_rendered(estimator: FeatureEstimator, clips: int = 4, duration: float = 10.0, width: int = 640,
                      log: Callable[[str], None] = print) -> dict:
    theta_err, phi_err, base_theta, base_phi = [], [], [], []
    found = total = 0
    seed = RENDER_SEED_BASE
    done = 0
    with tempfile.TemporaryDirectory(prefix="cinestage-eval-") as tmp:
        while done < clips:
            seed += 1
            shot = synthetic_shot(seed, duration=duration)
            height = int(round(width / shot.aspect / 2)) * 2
            try:
                render_performance(shot.performance, [shot.track], Path(tmp) / f"r{seed}", RenderOptions(width=width, height=height))
            except CinestageError:
                continue  # a random camera outside the theatre or inside an actor: take the next seed
            done += 1
            video = next((Path(tmp) / f"r{seed}" / "cameras").glob("*.mp4"))
            analysis = analyze(video, AnalysisOptions(), features=estimator)
            total += shot.n_frames
            for pair in analysis.pairs:
                f = pair.frames
                xa_known = shot.screen[f, 0, HEAD, 0]
                a_first = np.mean(np.abs(pair.camera[:, 0] - xa_known)) <= np.mean(np.abs(pair.camera[:, 1] - xa_known))
                theta, phi = known_angles(shot, f, a_first)
                theta_err.append(angle_error(pair.camera[:, 3], theta))
                phi_err.append(angle_error(pair.camera[:, 4], phi))
                base_theta.append(angle_error(estimator.info["theta_mean"], theta))
                base_phi.append(angle_error(estimator.info["phi_mean"], phi))
                found += len(f)
            log(f"clip {done}/{clips}: {shot.behaviour}/{shot.shot}, main pair in {sum(len(p.frames) for p in analysis.pairs)}"
                f"/{shot.n_frames} frames")
    cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0)  # noqa: E731
    if not theta_err:
        return {"frames": 0, "pair_frames": 0}
    return {
        "clips": clips, "frames": total, "pair_frames": found,
        "theta": error_summary("theta", cat(theta_err)), "phi": error_summary("phi", cat(phi_err)),
        "theta_baseline": error_summary("theta (training mean)", cat(base_theta)),
        "phi_baseline": error_summary("phi (training mean)", cat(base_phi)),
    }
