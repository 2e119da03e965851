"""Metrics for quality and aesthetics work (METHODS.md §4, §7, §8), written once so every
benchmark reports the same numbers the papers do.

Why not just call scipy.stats everywhere:

- PLCC and RMSE are reported after the 4-parameter logistic fit
  ŷ = β₂ + (β₁ − β₂) / (1 + exp(−(x − β₃)/|β₄|)) that maps predicted scores onto the subjective
  scale; comparing raw predictions with MOS penalises any monotone rescaling the model learned.
- RMSE is √(mean squared error). One popular IQA toolbox returns √SSE, which grows with the
  size of the test set (√N times too large) and makes numbers from different splits incomparable.
- EMD is the r-norm of the CDF difference *averaged* over bins, as NIMA trains with; papers mix
  r = 1 and r = 2, so r is an explicit argument.
- Bad input (different lengths, NaN, too few items, a constant series) raises `ValueError`
  instead of letting scipy return NaN that ends up silently in a table.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence, Set
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from scipy import optimize, special, stats

if TYPE_CHECKING:
    import torch

MIN_ITEMS = 3  # a rank or linear correlation of two points is always ±1
SUM_TOLERANCE = 1e-3  # how far a score distribution's sum may stray from 1 (float32 softmax, rounding)


def _paired(pred, truth, min_items: int) -> tuple[np.ndarray, np.ndarray]:
    """Two finite 1-D float arrays of equal length, at least `min_items` long."""
    x = np.asarray(pred, dtype=float)
    y = np.asarray(truth, dtype=float)
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError(f"pred and truth must be 1-D, got shapes {x.shape} and {y.shape}")
    if len(x) != len(y):
        raise ValueError(f"pred and truth differ in length: {len(x)} vs {len(y)}")
    if len(x) < min_items:
        raise ValueError(f"need at least {min_items} items, got {len(x)}")
    for name, a in (("pred", x), ("truth", y)):
        bad = ~np.isfinite(a)
        if bad.any():
            raise ValueError(f"{name} has {int(bad.sum())} NaN or infinite value(s), first at index {int(np.argmax(bad))}")
    return x, y


def _correlated(pred, truth) -> tuple[np.ndarray, np.ndarray]:
    x, y = _paired(pred, truth, MIN_ITEMS)
    for name, a in (("pred", x), ("truth", y)):
        if np.ptp(a) == 0:
            raise ValueError(f"{name} is constant ({a[0]:g}): a correlation with it is undefined")
    return x, y


def srcc(pred, truth) -> float:
    """Spearman rank-order correlation (ties get average ranks)."""
    x, y = _correlated(pred, truth)
    return float(stats.spearmanr(x, y).statistic)


def krcc(pred, truth) -> float:
    """Kendall rank-order correlation, tau-b (corrected for ties), as scipy and the VSFA code use."""
    x, y = _correlated(pred, truth)
    return float(stats.kendalltau(x, y).statistic)


def _logistic(x: np.ndarray, b1: float, b2: float, b3: float, b4: float) -> np.ndarray:
    return b2 + (b1 - b2) * special.expit((x - b3) / abs(b4))


def _logistic_jacobian(x: np.ndarray, b1: float, b2: float, b3: float, b4: float) -> np.ndarray:
    # Analytic, because MINPACK's finite differences step in proportion to each parameter:
    # β₃ started at mean x ≈ 0 gets a step of ~1e-25, a zero derivative, and never moves.
    s = abs(b4)
    g = special.expit((x - b3) / s)
    slope = (b1 - b2) * g * (1 - g)
    return np.stack([g, 1 - g, -slope / s, -slope * (x - b3) * np.sign(b4) / s**2], axis=1)


@dataclass(frozen=True)
class LogisticFit:
    """A fitted map from predictions to the subjective scale. kind "logistic": params are
    (β₁, β₂, β₃, β₄) of METHODS §8; kind "linear": (slope, intercept), used when the logistic
    fit did not converge."""

    params: tuple[float, ...]
    kind: Literal["logistic", "linear"]

    def __call__(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if self.kind == "logistic":
            return _logistic(x, *self.params)
        slope, intercept = self.params
        return slope * x + intercept


def logistic_fit(pred, truth) -> LogisticFit:
    """Least-squares 4-parameter logistic from `pred` to `truth`, started at
    [max y, min y, mean x, std x / 4]; falls back to a straight line (with a warning) if it fails."""
    x, y = _correlated(pred, truth)
    p0 = [y.max(), y.min(), x.mean(), x.std() / 4]
    try:
        with warnings.catch_warnings():
            # "Covariance could not be estimated" is about error bars we do not use.
            warnings.simplefilter("ignore", optimize.OptimizeWarning)
            beta, _ = optimize.curve_fit(_logistic, x, y, p0=p0, jac=_logistic_jacobian, maxfev=20000)
        if not np.all(np.isfinite(beta)) or beta[3] == 0:
            raise RuntimeError(f"degenerate parameters {beta}")
    except (RuntimeError, ValueError) as exc:
        warnings.warn(f"logistic fit failed ({exc}); PLCC/RMSE use a linear fit instead", RuntimeWarning, stacklevel=2)
        slope, intercept = np.polyfit(x, y, 1)
        return LogisticFit((float(slope), float(intercept)), "linear")
    return LogisticFit(tuple(float(b) for b in beta), "logistic")


def _plcc(fitted: np.ndarray, y: np.ndarray) -> float:
    if np.ptp(fitted) == 0:
        raise ValueError("the fitted predictions are constant: PLCC is undefined")
    return float(stats.pearsonr(fitted, y).statistic)


def _rmse(fitted: np.ndarray, y: np.ndarray) -> float:
    return float(np.sqrt(np.mean((fitted - y) ** 2)))


def plcc(pred, truth) -> float:
    """Pearson linear correlation between the logistic-fitted predictions and the truth."""
    x, y = _correlated(pred, truth)
    return _plcc(logistic_fit(x, y)(x), y)


def rmse(pred, truth) -> float:
    """√(mean squared error) between the logistic-fitted predictions and the truth (not √SSE)."""
    x, y = _correlated(pred, truth)
    return _rmse(logistic_fit(x, y)(x), y)


def correlations(pred, truth) -> dict[str, float]:
    """SRCC, KRCC, PLCC and RMSE together, with one logistic fit shared by PLCC and RMSE."""
    x, y = _correlated(pred, truth)
    fitted = logistic_fit(x, y)(x)
    return {"SRCC": srcc(x, y), "KRCC": krcc(x, y), "PLCC": _plcc(fitted, y), "RMSE": _rmse(fitted, y)}


def mse(pred, truth) -> float:
    """Mean squared error of raw predictions (no fit)."""
    x, y = _paired(pred, truth, 1)
    return float(np.mean((x - y) ** 2))


def _distributions(p, q) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    if p.shape != q.shape:
        raise ValueError(f"distributions differ in shape: {p.shape} vs {q.shape}")
    if p.ndim == 0 or p.shape[-1] < 2:
        raise ValueError(f"distributions need at least 2 bins on the last axis, got shape {p.shape}")
    for name, a in (("p", p), ("q", q)):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} has NaN or infinite values")
        if (a < 0).any():
            raise ValueError(f"{name} has negative probabilities")
        sums = a.sum(axis=-1)
        if np.any(np.abs(sums - 1) > SUM_TOLERANCE):
            worst = sums.flat[np.argmax(np.abs(sums - 1))]
            raise ValueError(f"{name} must sum to 1 over its last axis (found {worst:g}); normalise vote counts first")
    return p, q


def emd(p, q, r: float = 2) -> np.ndarray | float:
    """Earth mover's distance between score distributions over ordered bins (last axis),
    EMD = (mean_k |CDF_p(k) − CDF_q(k)|^r)^(1/r); batched over leading axes (a float for 1-D input)."""
    if r <= 0:
        raise ValueError(f"r must be positive, got {r}")
    p, q = _distributions(p, q)
    d = np.abs(np.cumsum(p, axis=-1) - np.cumsum(q, axis=-1))
    out = np.mean(d**r, axis=-1) ** (1.0 / r)
    return float(out) if out.ndim == 0 else out


def emd_loss(p: torch.Tensor, q: torch.Tensor, r: float = 2) -> torch.Tensor:
    """The NIMA training loss: `emd` over the last axis, averaged over the batch; differentiable.
    `p` is the predicted distribution (softmax output), `q` the target; shapes (..., bins)."""
    import torch  # here, not at the top: the numpy metrics must not pay for importing torch

    if p.shape != q.shape:
        raise ValueError(f"distributions differ in shape: {tuple(p.shape)} vs {tuple(q.shape)}")
    if r <= 0:
        raise ValueError(f"r must be positive, got {r}")
    bins = p.shape[-1]
    d = torch.cumsum(p, dim=-1) - torch.cumsum(q, dim=-1)
    # ‖d‖_r / bins^(1/r) equals (mean |d|^r)^(1/r); vector_norm's gradient at d = 0 is 0, where
    # the pow(·, 1/r) spelling gives NaN as soon as a prediction matches its target exactly.
    return (torch.linalg.vector_norm(d, ord=r, dim=-1) / bins ** (1.0 / r)).mean()


def accuracy(pred, truth) -> float:
    """Fraction of items whose predicted label equals the true label."""
    x = np.asarray(pred)
    y = np.asarray(truth)
    if x.shape != y.shape:
        raise ValueError(f"pred and truth differ in shape: {x.shape} vs {y.shape}")
    if x.size == 0:
        raise ValueError("need at least 1 item, got 0")
    return float(np.mean(x == y))


def binary_accuracy_from_means(pred_mean, true_mean, threshold: float = 5.0) -> float:
    """AVA binary accuracy: an image is "good" if its mean score is above `threshold`."""
    x, y = _paired(pred_mean, true_mean, 1)
    return accuracy(x > threshold, y > threshold)


def _label_sets(labels, name: str) -> list[Set]:
    """Per-video sets of labels, from sets or a binary (videos, tags) matrix (a set of column indices)."""
    if isinstance(labels, np.ndarray) or (len(labels) and not isinstance(labels[0], Set)):
        m = np.asarray(labels)
        if m.ndim != 2 or not np.isin(m, (0, 1)).all():
            raise ValueError(f"{name}: expected sets of labels or a binary (videos, tags) matrix, got shape {m.shape}")
        return [set(np.flatnonzero(row).tolist()) for row in m]
    if not all(isinstance(s, Set) for s in labels):
        raise ValueError(f"{name}: every item must be a set of labels")
    return list(labels)


def f1(pred_sets: Sequence[Set] | np.ndarray, true_sets: Sequence[Set] | np.ndarray) -> float:
    """Multi-label F1 pooled over all videos (METHODS §7): P = Σ|TG ∩ TP| / Σ|TP|,
    R = Σ|TG ∩ TP| / Σ|TG|, F1 = 2PR / (P + R). An empty denominator counts as 0, not an error,
    so a model that predicts nothing scores 0."""
    tp_sets = _label_sets(pred_sets, "pred_sets")
    tg_sets = _label_sets(true_sets, "true_sets")
    if len(tp_sets) != len(tg_sets):
        raise ValueError(f"pred_sets and true_sets differ in length: {len(tp_sets)} vs {len(tg_sets)}")
    if not tp_sets:
        raise ValueError("need at least 1 video, got 0")
    hits = sum(len(tp & tg) for tp, tg in zip(tp_sets, tg_sets))
    predicted = sum(len(tp) for tp in tp_sets)
    true = sum(len(tg) for tg in tg_sets)
    precision = hits / predicted if predicted else 0.0
    recall = hits / true if true else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0
