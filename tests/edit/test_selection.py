"""Fused camera scores on real geometry: two standing mannequins filmed by a clean two-shot and by
the same camera panned off one actor for half the shot."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cinestage.assess.measure import Measure
from cinestage.assess.rules import shot_rules
from cinestage.edit.selection import DEFAULT_WEIGHTS, FusionWeights, best_camera, fuse, goodness_curve
from cinestage.errors import CinestageError

EYE, AIM = (0.0, -5.0, 1.3), (0.0, 0.15, 1.2)
AWAY = (-2.5, 0.15, 1.2)  # panned 27 degrees left: B leaves the frame, A stays


@pytest.fixture(scope="module")
def rules(stage):
    """Measures of the clean camera and of the one that loses B for the second half."""
    half = stage.frames // 2
    tracks = [stage.camera("clean", EYE, AIM), stage.camera("half", EYE, [AIM] * half + [AWAY] * half)]
    return {t.name: shot_rules(stage.performance, t, stage.meta(t)) for t in tracks}


def test_losing_an_actor_half_the_time_scores_lower_and_says_why(rules):
    clean, half = (fuse(rules[n], camera=n) for n in ("clean", "half"))
    assert {m.name: m.value for m in rules["half"]}["both_visible"] == 0.5
    assert 0.0 <= half.value < clean.value <= 1.0
    assert clean.value > 0.95 and half.value < 0.8
    name, reason = best_camera([half, clean])
    assert name == "clean"
    assert "half" in reason and "both_visible" in reason.split("mostly for")[1].split(" and ")[0]


def test_the_per_frame_score_drops_where_the_actor_is_lost(rules):
    half = fuse(rules["half"], camera="half")
    n = len(half.curve)
    assert half.curve.shape == (n,) and np.all((half.curve >= 0) & (half.curve <= 1))
    assert half.curve[: n // 2 - 1].min() > 0.95
    assert half.curve[n // 2 + 1:].max() < 0.5


def test_contributions_sum_to_the_fused_score(rules):
    for name, measures in rules.items():
        score = fuse(measures, camera=name)
        assert sum(score.contributions.values()) == pytest.approx(score.value, abs=1e-12)
        total = sum(score.weights[n] for n in score.contributions)
        for m in measures:
            if m.name in score.contributions:
                assert score.contributions[m.name] == pytest.approx(score.weights[m.name] * m.goodness() / total)


def _unscaled_numbers(node, scaled=False, key=None, path="$") -> list[str]:
    """Paths of numbers that are not inside an object carrying a range and a better direction
    (weights are settings, not scores, and are allowed bare)."""
    if isinstance(node, dict):
        inside = scaled or ("range" in node and "better" in node)
        return [p for k, v in node.items() for p in _unscaled_numbers(v, inside, k, f"{path}.{k}")]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _unscaled_numbers(v, scaled, key, f"{path}[{i}]")]
    if isinstance(node, (int, float)) and not isinstance(node, bool) and not scaled and key != "weight":
        return [path]
    return []


def test_every_number_in_the_json_carries_its_range_and_direction(rules):
    doc = fuse(rules["half"], camera="half").to_json()
    json.dumps(doc, allow_nan=False)
    assert _unscaled_numbers(doc) == []
    assert doc["fused"]["range"] == [0.0, 1.0] and doc["fused"]["better"] == "higher"
    assert len(doc["fused"]["curve"]) == len(rules["half"][0].curve)
    for c in doc["components"]:
        assert c["measure"]["better"] in ("higher", "lower") and len(c["measure"]["range"]) == 2
    assert _unscaled_numbers({"x": 1.0}) == ["$.x"]  # the check itself catches a bare score


def test_shot_size_is_descriptive_and_never_moves_the_score(rules):
    measures = rules["clean"]
    closer = [Measure(m.name, m.value * 3, m.low, m.high, m.better, m.curve * 3, m.unit) if m.name == "shot_size" else m
              for m in measures]
    assert fuse(closer, camera="c").value == fuse(measures, camera="c").value
    assert "shot_size" not in fuse(measures, camera="c").contributions
    with pytest.raises(CinestageError, match="shot_size.*its weight must stay 0"):
        FusionWeights({"shot_size": 1.0})


def test_weights_override_the_defaults_and_bad_ones_are_named():
    w = FusionWeights({"thirds": 0, "both_visible": 5})
    assert w.weights["thirds"] == 0 and w.weights["both_visible"] == 5
    assert w.weights["occlusion"] == DEFAULT_WEIGHTS["occlusion"]
    with pytest.raises(CinestageError, match="'thrids'.*no such measure"):
        FusionWeights({"thrids": 1.0})
    with pytest.raises(CinestageError, match="'occlusion'.*>= 0"):
        FusionWeights({"occlusion": -1})
    with pytest.raises(CinestageError, match="'occlusion'.*number"):
        FusionWeights({"occlusion": "high"})
    with pytest.raises(CinestageError, match="every weight is 0"):
        FusionWeights({n: 0.0 for n in DEFAULT_WEIGHTS})


def test_a_weight_moves_the_score_toward_its_component(rules):
    measures = rules["half"]
    heavy = fuse(measures, FusionWeights({"both_visible": 100.0}), camera="half")
    assert heavy.value == pytest.approx(0.5, abs=0.03)  # both_visible's goodness (0.5) dominates
    assert heavy.value < fuse(measures, camera="half").value


def test_nan_and_missing_measures_are_skipped_and_listed(rules):
    measures = [m for m in rules["clean"] if m.name != "horizon"]
    broken = [Measure(m.name, float("nan"), m.low, m.high, m.better) if m.name == "thirds" else m for m in measures]
    score = fuse(broken, camera="clean")
    assert score.skipped["thirds"] == "value is NaN"
    assert score.skipped["horizon"] == "not measured" and score.skipped["aesthetic_score"] == "not measured"
    assert "thirds" not in score.contributions and "horizon" not in score.contributions
    assert sum(score.contributions.values()) == pytest.approx(score.value)
    assert fuse(broken, camera="clean").to_json()["skipped"]["thirds"] == "value is NaN"


def test_fusion_refuses_unknown_repeated_and_misaligned_measures(rules):
    with pytest.raises(CinestageError, match="cam: measure\\(s\\) \\['mystery'\\] have no fusion weight"):
        fuse([Measure("mystery", 1.0, 0.0, 1.0, "higher")], camera="cam")
    with pytest.raises(CinestageError, match="cam: measures repeat"):
        fuse([rules["clean"][0], rules["clean"][0]], camera="cam")
    short = Measure("thirds", 0.5, 0.0, 1.0, "higher", np.full(3, 0.5))
    with pytest.raises(CinestageError, match="cam: measure curves differ in length"):
        fuse([rules["clean"][0], short], camera="cam")


def test_a_camera_with_nothing_to_score_is_nan_and_never_chosen(rules):
    empty = fuse([Measure("thirds", float("nan"), 0.0, 1.0, "higher")], camera="blind")
    assert np.isnan(empty.value) and empty.curve is None
    assert best_camera([empty, fuse(rules["half"], camera="half")])[0] == "half"
    with pytest.raises(CinestageError, match="no camera could be scored"):
        best_camera([empty])
    with pytest.raises(CinestageError, match="no camera to choose from"):
        best_camera([])


def test_best_camera_on_one_camera_and_on_a_tie(rules):
    one = fuse(rules["clean"], camera="clean")
    assert best_camera([one]) == ("clean", best_camera([one])[1]) and "only camera" in best_camera([one])[1]
    twin = fuse(rules["clean"], camera="twin")
    name, reason = best_camera([twin, one])
    assert name == "twin" and "ties with clean" in reason


ranges = st.sampled_from([(0.0, 1.0), (1.0, 10.0), (0.0, float("inf")), (-float("inf"), 0.0),
                          (-float("inf"), float("inf")), (2.0, 2.0), (-1.0, 1.0)])


@given(ranges, st.sampled_from(["higher", "lower"]),
       st.lists(st.floats(-20, 20, allow_nan=False) | st.just(float("nan")), min_size=1, max_size=8))
def test_goodness_curve_maps_every_frame_as_goodness_maps_the_value(bounds, better, values):
    lo, hi = bounds
    m = Measure("x", 0.0, lo, hi, better, np.array(values))
    curve = goodness_curve(m)
    for v, g in zip(values, curve):
        expected = Measure("x", v, lo, hi, better).goodness()
        assert (np.isnan(g) and np.isnan(expected)) or g == pytest.approx(expected, abs=1e-12)
    assert goodness_curve(Measure("x", 0.0, lo, hi, better)) is None


def test_the_reason_names_only_components_that_decide():
    def camera(name, thirds, balance):
        return fuse([Measure("thirds", thirds, 0.0, 1.0, "higher"), Measure("balance", balance, 0.0, 1.0, "higher")],
                    FusionWeights({"thirds": 1.0, "balance": 1.0}), camera=name)

    name, reason = best_camera([camera("a", 0.9, 0.801), camera("b", 0.5, 0.8)])
    assert name == "a" and "thirds (+0.2)" in reason and "balance" not in reason
    _, reason = best_camera([camera("a", 0.9, 0.9), camera("b", 0.5, 0.6)])
    assert "thirds (+0.2) and balance (+0.15)" in reason
