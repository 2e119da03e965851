"""Re-applying a style: the predictor run autoregressively over a whole performance.

At every frame the model sees the last 60 cameras it chose (the style's start camera, held,
before the first), the last 60 and next 60 frames of the performance's character features
(edges held), and the style code; of the 30 frames it predicts only the first is kept
(METHODS §3). The result is a per-frame Toric camera [xA, xB, mean y, theta, phi].

The layout (xA, xB, mean y: the shot size and composition) is held at the reference's: every
canonical behaviour holds its layout and moves in theta and phi, and the predictor's own layout,
fed back frame after frame, drifted from the reference's by 0.17 on average over a 10 s duet.
The predictor still sees the layout among its past cameras, as in training.
"""

from __future__ import annotations

import numpy as np
import torch

from cinestage.behavior.style import Style, StyleModel
from cinestage.behavior.training import FUTURE, PAST
from cinestage.geometry import gaussian_smooth


def roll_out(model: StyleModel, style: Style, character: np.ndarray, theta_range: tuple[float, float] = (0.05, 6.2),
             phi_range: tuple[float, float] = (-0.5, 1.0), style_radius: int = 10) -> np.ndarray:
    """(T, 5) camera features for a performance's (T, 9) character features.

    theta is kept inside `theta_range` (the Toric interval the layout and lens allow) and phi
    inside `phi_range` (from a little below the actors' eyes to steeply above, the span of the
    canonical behaviours) at every step: fed back unclipped, an angle past its range only runs
    further, and a phi near pi turns the camera upside down."""
    norm = model.norm
    t_len = len(character)
    ch = norm.character(np.asarray(character, np.float32))
    padded = np.concatenate([np.repeat(ch[:1], PAST, 0), ch, np.repeat(ch[-1:], FUTURE, 0)]).astype(np.float32)
    start = norm.camera(np.asarray(style.start, np.float32))
    theta_norm = (np.asarray(theta_range) - norm.camera_mean[3]) / norm.camera_std[3]
    phi_norm = (np.asarray(phi_range) - norm.camera_mean[4]) / norm.camera_std[4]
    cams = np.repeat(start[None], PAST + t_len, axis=0)
    # A constant code smoothed over +-10 frames is itself; the smoothing matters when the code
    # changes (one style per reference shot), so a switch eases in instead of jumping.
    codes = gaussian_smooth(np.repeat(np.asarray(style.code, np.float32)[None], t_len, 0), style_radius)
    with torch.inference_mode():
        for t in range(t_len):
            p = t + PAST
            pred = model.model.predict(torch.from_numpy(codes[t][None].astype(np.float32)),
                                       torch.from_numpy(padded[None, t:p]), torch.from_numpy(padded[None, p:p + FUTURE]),
                                       torch.from_numpy(cams[None, t:p]))
            cams[p, 3:] = pred[0, 0, 3:].numpy()
            cams[p, 3] = np.clip(cams[p, 3], *theta_norm)
            cams[p, 4] = np.clip(cams[p, 4], *phi_norm)
    return norm.camera_back(cams[PAST:]).astype(np.float64)
