"""The composition-pattern distribution of a shot over the 8 SAMP patterns (METHODS.md §4).

With a trained aesthetic head it is what SAMP learned: its pattern weights, averaged over the
frames. Without one nothing learned means anything (see `aesthetics`), so a saliency fit stands
in, labelled so: for each pattern, the share of the frame's spectral-residual saliency variance
that its partition explains (between-partition over total variance), divided by its degrees of
freedom (parts - 1) so that a finer partition does not win merely by having more parts, then
normalised over the 8 patterns. It says which way of dividing the frame best separates what
stands out from what does not, which is what the learned weights pick a pattern for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cinestage.assess.aesthetics import PATTERN_PARTS, PATTERNS, AestheticScorer, partition_masks
from cinestage.assess.saliency import saliency_map

LEARNED = "learned"
SALIENCY_FIT = "saliency fit"
SOURCES = {
    LEARNED: "SAMP's pattern weights from the trained aesthetic head, averaged over the sampled frames",
    SALIENCY_FIT: "No trained aesthetic head, so a saliency fit: each pattern's share of the saliency variance "
                  "its partition explains, per degree of freedom, normalised over the 8 patterns",
}


@dataclass(frozen=True)
class PatternDistribution:
    """probabilities: (8,) over `PATTERNS`, summing to 1; source: LEARNED or SALIENCY_FIT."""

    probabilities: np.ndarray
    source: str

    @property
    def dominant(self) -> str:
        return PATTERNS[int(np.argmax(self.probabilities))]

    def to_json(self) -> dict:
        return {"source": self.source, "dominant": self.dominant,
                "probabilities": {name: round(float(p), 5) for name, p in zip(PATTERNS, self.probabilities)}}


def saliency_fit(saliency: np.ndarray) -> np.ndarray:
    """(8,) from one (S, S) saliency map; uniform when the map is flat (nothing stands out)."""
    saliency = np.asarray(saliency, np.float64)
    total = saliency.var()
    if total <= 1e-12:
        return np.full(len(PATTERNS), 1.0 / len(PATTERNS))
    fits = []
    for k, parts in enumerate(PATTERN_PARTS):
        masks = partition_masks(k, *saliency.shape).astype(np.float64)
        area = masks.sum(axis=(1, 2))
        means = (masks * saliency).sum(axis=(1, 2)) / area
        between = (area / area.sum() * (means - saliency.mean()) ** 2).sum()
        fits.append(between / total / (parts - 1))
    fits = np.asarray(fits)
    return fits / fits.sum()


def pattern_distribution(frames: Sequence[np.ndarray], scorer: AestheticScorer | None = None) -> PatternDistribution:
    """RGB uint8 frames of one shot; the learned distribution when `scorer` is trained."""
    if scorer is not None and scorer.trained:
        return PatternDistribution(np.asarray(scorer.score_frames(frames).pattern_distribution), LEARNED)
    return PatternDistribution(np.mean([saliency_fit(saliency_map(f)) for f in frames], axis=0), SALIENCY_FIT)
