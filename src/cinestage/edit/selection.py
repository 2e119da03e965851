"""Choosing a camera: every camera's measures fused into one score in [0, 1], higher better, with
each measure's share of it reported, and the best camera named with the reason it won.

Fusion is a weighted mean of each measure's goodness (`Measure.goodness`: its value mapped onto
[0, 1], 1 best, whatever the measure's range and direction), so measures on different scales and
with opposite directions add up without hand-made conversions. A component's contribution is
weight x goodness / total weight: the contributions of one camera sum to its fused score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from cinestage.assess.measure import Measure
from cinestage.errors import CinestageError

FUSED_UNIT = "weighted mean goodness of the camera's measures (0 worst, 1 best)"
GOODNESS_UNIT = "the measure's value mapped onto 0 worst .. 1 best"
CONTRIBUTION_UNIT = "weight x goodness / total weight; a camera's contributions sum to its fused score"

# Weights of every measure cinestage produces (assess.rules, assess.image_quality,
# assess.aesthetics, assess.vsfa). Why these values:
# - both_visible 3, occlusion 2: the scene is a two-hander; a camera that loses or hides an actor
#   fails at its one job, whatever its composition.
# - the framing rules, camera steadiness and level horizon 1 each: equal say among the craft rules.
# - aesthetic_score 2: the learned model sums up composition as people rate it; weighed like a
#   framing failure but below losing an actor.
# - vsfa 1 and the pixel statistics 0.25-0.5: every camera renders the same lit stage, so they
#   separate cameras little and should not drown the framing.
# - 0: shot_size and colourfulness describe a shot, they do not judge it (DESCRIPTIVE); sharpness's
#   unbounded range is squashed by Measure.goodness to ~1 for any real frame, so it cannot rank;
#   the attribute_* predictions are already inside aesthetic_score.
DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType({
    "both_visible": 3.0, "occlusion": 2.0, "headroom": 1.0, "look_room": 1.0, "thirds": 1.0, "balance": 1.0,
    "shot_size": 0.0, "shot_size_stability": 1.0, "smoothness": 1.0, "horizon": 1.0,
    "aesthetic_score": 2.0, "vsfa": 1.0,
    "niqe": 0.5, "exposure_error": 0.5, "clipped_shadows": 0.25, "clipped_highlights": 0.25, "contrast": 0.25,
    "sharpness": 0.0, "colourfulness": 0.0,
    **{f"attribute_{a}": 0.0 for a in ("rule_of_thirds", "balancing_elements", "depth_of_field", "object_emphasis",
                                       "symmetry", "repetition")},
})
# Their "better" direction is only a convention (higher = closer, more colourful): never quality.
DESCRIPTIVE = frozenset({"shot_size", "colourfulness"})


@dataclass(frozen=True)
class FusionWeights:
    """Measure name -> weight (>= 0). `weights` overrides DEFAULT_WEIGHTS name by name, so
    FusionWeights({"thirds": 0}) is the defaults without the thirds rule. A name cinestage does
    not produce, a negative or non-finite weight, or a weight on a DESCRIPTIVE measure is a
    CinestageError naming it."""

    weights: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        merged = dict(DEFAULT_WEIGHTS)
        for name, w in self.weights.items():
            source = f"fusion weight {name!r}"
            if name not in DEFAULT_WEIGHTS:
                raise CinestageError(source, f"no such measure; known: {', '.join(sorted(DEFAULT_WEIGHTS))}")
            try:
                w = float(w)
            except (TypeError, ValueError):
                raise CinestageError(source, f"must be a number, not {w!r}") from None
            if not (np.isfinite(w) and w >= 0):
                raise CinestageError(source, f"must be a finite number >= 0, not {w}")
            if name in DESCRIPTIVE and w != 0:
                raise CinestageError(source, "describes the shot, does not judge it (its direction is not "
                                             "quality): its weight must stay 0")
            merged[name] = w
        if not any(merged.values()):
            raise CinestageError("fusion weights", "every weight is 0: nothing would be scored")
        object.__setattr__(self, "weights", MappingProxyType(merged))


def goodness_curve(measure: Measure) -> np.ndarray | None:
    """The measure's per-frame curve mapped onto [0, 1], 1 best, exactly as `Measure.goodness`
    maps its value (NaN stays NaN); None when it has no curve."""
    if measure.curve is None:
        return None
    lo, hi, v = measure.low, measure.high, np.asarray(measure.curve, float)
    if np.isfinite(lo) and np.isfinite(hi):
        g = (np.clip(v, lo, hi) - lo) / (hi - lo) if hi > lo else np.where(np.isnan(v), np.nan, 1.0)
    else:
        ref = lo if np.isfinite(lo) else (hi if np.isfinite(hi) else 0.0)
        g = 1.0 - 1.0 / (1.0 + np.abs(v - ref))
        if not np.isfinite(lo) and np.isfinite(hi):
            g = 1.0 - g
    return g if measure.better == "higher" else 1.0 - g


def fused_measure(value: float, curve: np.ndarray | None = None) -> Measure:
    """A fused score as a Measure: its range and direction, for reports that have no CameraScore."""
    return Measure("fused", value, 0.0, 1.0, "higher", curve, FUSED_UNIT)


@dataclass(frozen=True)
class CameraScore:
    """camera: its name; value: fused score in [0, 1], higher better (NaN when nothing could be
    scored); contributions: measure -> weight x goodness / total weight (they sum to value);
    weights: the weight of each measure given; measures: the raw measures as given; skipped:
    measure -> why it is not in the score; curve: (T,) per-frame fused score in [0, 1] from the
    measures with curves (NaN at frames none of them defines), None when none has a curve."""

    camera: str
    value: float
    contributions: Mapping[str, float]
    weights: Mapping[str, float]
    measures: tuple[Measure, ...]
    skipped: Mapping[str, str]
    curve: np.ndarray | None = field(default=None, compare=False)

    def as_measure(self) -> Measure:
        return fused_measure(self.value, self.curve)

    def to_json(self) -> dict:
        """Every score is a Measure's JSON: value, range and better direction (weights are plain
        numbers: settings, not scores)."""
        total = sum(self.weights[n] for n in self.contributions)
        components = []
        for m in self.measures:
            w = self.weights[m.name]
            entry = {"name": m.name, "weight": w, "measure": m.to_json(),
                     "goodness": Measure("goodness", m.goodness(), 0.0, 1.0, "higher", unit=GOODNESS_UNIT).to_json()}
            if m.name in self.contributions:
                entry["contribution"] = Measure("contribution", self.contributions[m.name], 0.0, w / total, "higher",
                                                unit=CONTRIBUTION_UNIT).to_json()
            components.append(entry)
        return {"camera": self.camera, "fused": self.as_measure().to_json(), "components": components,
                "skipped": dict(self.skipped)}


def fuse(measures: Sequence[Measure], weights: FusionWeights = FusionWeights(), *, camera: str) -> CameraScore:
    """One camera's measures fused into a CameraScore. Measures with weight 0 are kept in the
    report with no contribution; NaN measures and weighted measures not given are listed in
    `skipped`. Unknown or repeated measure names, and curves of different lengths, are a
    CinestageError naming the camera."""
    names = [m.name for m in measures]
    if len(set(names)) != len(names):
        raise CinestageError(camera, f"measures repeat: {sorted({n for n in names if names.count(n) > 1})}")
    unknown = [n for n in names if n not in weights.weights]
    if unknown:
        raise CinestageError(camera, f"measure(s) {unknown} have no fusion weight; add them to "
                                     "selection.DEFAULT_WEIGHTS")
    skipped = {n: "not measured" for n, w in weights.weights.items() if w > 0 and n not in names}
    used = []
    for m in measures:
        if weights.weights[m.name] == 0:
            continue
        if np.isnan(m.goodness()):
            skipped[m.name] = "value is NaN"
        else:
            used.append(m)
    total = sum(weights.weights[m.name] for m in used)
    contributions = {m.name: weights.weights[m.name] * m.goodness() / total for m in used}
    value = float(sum(contributions.values())) if used else float("nan")
    return CameraScore(camera, value, MappingProxyType(contributions),
                       MappingProxyType({n: weights.weights[n] for n in names}), tuple(measures),
                       MappingProxyType(skipped), _fused_curve(camera, used, weights))


def _fused_curve(camera: str, used: list[Measure], weights: FusionWeights) -> np.ndarray | None:
    curves = [(weights.weights[m.name], goodness_curve(m), m.name) for m in used if m.curve is not None]
    if not curves:
        return None
    lengths = {name: len(g) for _, g, name in curves}
    if len(set(lengths.values())) != 1:
        raise CinestageError(camera, f"measure curves differ in length: {lengths}")
    w = np.array([c[0] for c in curves])[:, None]
    g = np.stack([c[1] for c in curves])
    # Per frame, a measure undefined there drops out of that frame's mean, as NaN measures do overall.
    present = ~np.isnan(g)
    weight = (w * present).sum(axis=0)
    total = (w * np.where(present, g, 0.0)).sum(axis=0)
    return np.divide(total, weight, out=np.full_like(total, np.nan), where=weight > 0)


def best_camera(scores: Sequence[CameraScore]) -> tuple[str, str]:
    """The camera with the highest fused score (the first listed on a tie) and one sentence on why:
    its score against the runner-up's and the components whose contributions differ most."""
    if not scores:
        raise CinestageError("cameras", "no camera to choose from")
    ranked = sorted((s for s in scores if not np.isnan(s.value)), key=lambda s: -s.value)
    if not ranked:
        raise CinestageError("cameras", f"no camera could be scored (skipped: {dict(scores[0].skipped)})")
    best = ranked[0]
    scale = "fused score, 0-1, higher is better"
    if len(ranked) == 1:
        return best.camera, f"{best.camera} is the only camera that could be scored ({best.value:.2f}, {scale})."
    runner = ranked[1]
    if best.value == runner.value:
        return best.camera, (f"{best.camera} ties with {runner.camera} at {best.value:.2f} ({scale}); "
                             f"{best.camera} is listed first.")
    gaps = {n: best.contributions.get(n, 0.0) - runner.contributions.get(n, 0.0)
            for n in set(best.contributions) | set(runner.contributions)}
    deciding = sorted((n for n in gaps if gaps[n] > 0), key=lambda n: (-gaps[n], n))[:2]
    # A second reason a quarter the size of the first explains nothing: name it only if it counts.
    deciding = [n for n in deciding if gaps[n] >= 0.25 * gaps[deciding[0]]]
    why = " and ".join(f"{n} (+{gaps[n]:.2g})" for n in deciding)
    return best.camera, (f"{best.camera} scores {best.value:.2f} against {runner.value:.2f} for the runner-up "
                         f"{runner.camera} ({scale}), mostly for {why}.")
