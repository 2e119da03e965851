"""Metrics against scipy.stats and against small cases worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import optimize, stats

from cinestage.assess.metrics import (
    accuracy,
    binary_accuracy_from_means,
    correlations,
    emd,
    emd_loss,
    f1,
    krcc,
    logistic_fit,
    mse,
    plcc,
    rmse,
    srcc,
)

BETA = (4.5, 1.2, 0.3, 0.8)  # β₁ (top), β₂ (bottom), β₃ (centre), β₄ (width)


def logistic(x, b1, b2, b3, b4):
    return b2 + (b1 - b2) / (1 + np.exp(-(x - b3) / abs(b4)))


@pytest.fixture
def scores():
    rng = np.random.default_rng(7)
    truth = rng.uniform(1, 5, 60)
    pred = np.round(truth + rng.normal(0, 0.6, 60), 1)  # rounding makes ties, which rank methods must handle
    return pred, truth


# --- correlations --------------------------------------------------------------------------

def test_rank_correlations_match_scipy(scores):
    pred, truth = scores
    assert srcc(pred, truth) == pytest.approx(stats.spearmanr(pred, truth).statistic, abs=1e-12)
    assert krcc(pred, truth) == pytest.approx(stats.kendalltau(pred, truth).statistic, abs=1e-12)
    assert srcc(pred, -truth) == pytest.approx(-srcc(pred, truth))


def test_plcc_is_pearson_after_the_logistic_fit(scores):
    pred, truth = scores
    fitted = logistic_fit(pred, truth)(pred)
    assert plcc(pred, truth) == pytest.approx(stats.pearsonr(fitted, truth).statistic, abs=1e-12)


def test_logistic_fit_recovers_known_parameters():
    x = np.linspace(-3, 3, 80)
    y = logistic(x, *BETA) + np.random.default_rng(0).normal(0, 1e-3, x.size)
    fit = logistic_fit(x, y)
    assert fit.kind == "logistic"
    b1, b2, b3, b4 = fit.params
    assert (b1, b2, b3, abs(b4)) == pytest.approx(BETA, abs=0.01)
    assert fit([BETA[2]]) == pytest.approx([(BETA[0] + BETA[1]) / 2], abs=0.01)


def test_rmse_is_root_mean_not_root_sum():
    # Each x appears twice with residuals +δ and −δ around the true curve, so the least-squares
    # logistic is the true curve itself and every residual is exactly ±δ: RMSE = δ, √SSE = δ√N.
    delta = 0.1
    x = np.tile(np.linspace(-3, 3, 20), 2)
    y = logistic(x, *BETA) + np.repeat([delta, -delta], 20)
    assert rmse(x, y) == pytest.approx(delta, rel=1e-4)
    assert np.sqrt(np.sum(np.full(x.size, delta) ** 2)) == pytest.approx(delta * np.sqrt(40))


def test_plcc_and_rmse_undo_a_monotone_nonlinearity():
    x = np.linspace(-3, 3, 50)
    y = logistic(x, *BETA)
    assert stats.pearsonr(x, y).statistic < 0.99
    assert plcc(x, y) == pytest.approx(1.0, abs=1e-9)
    assert rmse(x, y) == pytest.approx(0.0, abs=1e-5)


def test_correlations_reports_all_four_consistently(scores):
    pred, truth = scores
    result = correlations(pred, truth)
    assert list(result) == ["SRCC", "KRCC", "PLCC", "RMSE"]
    assert result == pytest.approx({"SRCC": srcc(pred, truth), "KRCC": krcc(pred, truth),
                                    "PLCC": plcc(pred, truth), "RMSE": rmse(pred, truth)})


def test_failed_logistic_fit_falls_back_to_a_line_with_a_warning(monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("Optimal parameters not found")

    monkeypatch.setattr(optimize, "curve_fit", fail)
    x = np.array([1.0, 2.0, 3.0, 4.0])
    y = 2 * x + 1
    with pytest.warns(RuntimeWarning, match="linear fit"):
        fit = logistic_fit(x, y)
    assert fit.kind == "linear"
    assert fit.params == pytest.approx((2.0, 1.0))
    with pytest.warns(RuntimeWarning):
        assert rmse(x, y) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("metric", [srcc, krcc, plcc, rmse, correlations])
@pytest.mark.parametrize("pred, truth, message", [
    ([1, 2, 3, 4], [1, 2, 3], "differ in length"),
    ([1, 2], [2, 1], "at least 3"),
    ([1, np.nan, 3], [1, 2, 3], "NaN"),
    ([1, 2, 3], [1, 2, np.inf], "NaN or infinite"),
    ([2, 2, 2], [1, 2, 3], "constant"),
    ([[1, 2, 3]], [[1, 2, 3]], "1-D"),
])
def test_correlations_reject_bad_input(metric, pred, truth, message):
    with pytest.raises(ValueError, match=message):
        metric(pred, truth)


# --- EMD -----------------------------------------------------------------------------------

P = [0.2, 0.3, 0.5]
Q = [0.5, 0.3, 0.2]
# CDFs 0.2, 0.5, 1.0 and 0.5, 0.8, 1.0: differences 0.3, 0.3, 0.
EMD_R2 = np.sqrt((0.09 + 0.09 + 0) / 3)
EMD_R1 = (0.3 + 0.3 + 0) / 3


def test_emd_of_two_3_bin_distributions_by_hand():
    assert emd(P, Q) == pytest.approx(EMD_R2)
    assert emd(P, Q, r=1) == pytest.approx(EMD_R1)
    assert emd(P, P) == 0.0
    assert emd(Q, P) == pytest.approx(EMD_R2)


def test_emd_is_batched_over_leading_axes():
    p = np.array([[P, Q], [Q, Q]])
    q = np.array([[Q, Q], [P, Q]])
    assert emd(p, q) == pytest.approx(np.array([[EMD_R2, 0.0], [EMD_R2, 0.0]]))


def test_emd_of_10_bin_distributions_moves_with_the_mass():
    one_step = np.eye(10)[[4, 5]]
    far = np.eye(10)[[0, 9]]
    near, apart = emd(one_step[0], one_step[1]), emd(far[0], far[1])
    assert near == pytest.approx(np.sqrt(1 / 10))  # one CDF step of height 1 out of 10 bins
    assert apart == pytest.approx(np.sqrt(9 / 10))


@pytest.mark.parametrize("p, q, message", [
    ([0.5, 0.5], [0.2, 0.3, 0.5], "differ in shape"),
    ([0.5, 0.6, -0.1], P, "negative"),
    ([2, 3, 5], P, "sum to 1"),
    ([np.nan, 0.5, 0.5], P, "NaN"),
    ([1.0], [1.0], "at least 2 bins"),
])
def test_emd_rejects_bad_distributions(p, q, message):
    with pytest.raises(ValueError, match=message):
        emd(p, q)


def test_torch_emd_loss_equals_numpy_mean_and_has_gradients():
    rng = np.random.default_rng(3)
    q = rng.dirichlet(np.ones(10), size=8)
    logits = torch.tensor(rng.normal(size=(8, 10)), requires_grad=True)
    p = torch.softmax(logits, dim=-1)
    loss = emd_loss(p, torch.tensor(q))
    assert loss.item() == pytest.approx(float(np.mean(emd(p.detach().numpy(), q))), rel=1e-12)
    loss.backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0
    for r in (1, 2):
        assert emd_loss(torch.tensor([P]), torch.tensor([Q]), r=r).item() == pytest.approx(emd(P, Q, r=r))


def test_torch_emd_loss_gradient_is_correct_and_finite_at_a_perfect_prediction():
    p = torch.tensor([P, Q], dtype=torch.float64, requires_grad=True)
    q = torch.tensor([Q, Q], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda a: emd_loss(a, q), (p,))
    same = torch.tensor([Q], dtype=torch.float64, requires_grad=True)
    emd_loss(same, torch.tensor([Q], dtype=torch.float64)).backward()
    assert torch.isfinite(same.grad).all()


# --- classification and regression ---------------------------------------------------------

def test_accuracy_and_ava_binary_accuracy():
    assert accuracy([1, 0, 1, 1], [1, 1, 1, 0]) == 0.5
    # "good" means a mean above 5: 5.0 itself is not good.
    pred = [5.5, 4.9, 5.0, 6.2]
    true = [5.1, 5.2, 4.0, 5.0]
    assert binary_accuracy_from_means(pred, true) == 0.5
    with pytest.raises(ValueError, match="differ in shape"):
        accuracy([1, 0], [1, 0, 1])


def test_f1_pools_over_all_videos_by_hand():
    pred = [{"dance", "stage"}, {"song"}, set()]
    true = [{"dance"}, {"song", "crowd"}, {"solo"}]
    # hits 1 + 1 + 0 = 2; predicted 3, true 4: P = 2/3, R = 1/2, F1 = 2·(1/3)/(7/6) = 4/7.
    # (Averaging per-video F1s would give (2/3 + 2/3 + 0)/3 = 4/9 instead.)
    assert f1(pred, true) == pytest.approx(4 / 7)


def test_f1_accepts_binary_matrices():
    tags = ["dance", "stage", "song", "crowd", "solo"]
    pred = [{"dance", "stage"}, {"song"}, set()]
    true = [{"dance"}, {"song", "crowd"}, {"solo"}]
    as_matrix = lambda sets: np.array([[t in s for t in tags] for s in sets])  # noqa: E731
    assert f1(as_matrix(pred), as_matrix(true)) == pytest.approx(4 / 7)
    assert f1(as_matrix(pred).astype(int).tolist(), as_matrix(true)) == pytest.approx(4 / 7)
    assert f1(as_matrix(true), as_matrix(true)) == 1.0
    assert f1([set(), set()], [{"a"}, set()]) == 0.0


@pytest.mark.parametrize("pred, true, message", [
    ([{"a"}], [{"a"}, {"b"}], "differ in length"),
    ([], [], "at least 1"),
    (np.array([[0, 2]]), np.array([[0, 1]]), "binary"),
])
def test_f1_rejects_bad_input(pred, true, message):
    with pytest.raises(ValueError, match=message):
        f1(pred, true)


def test_mse_by_hand():
    assert mse([1.0, 2.0, 4.0], [1.0, 3.0, 1.0]) == pytest.approx((0 + 1 + 9) / 3)
    with pytest.raises(ValueError, match="differ in length"):
        mse([1.0], [1.0, 2.0])
