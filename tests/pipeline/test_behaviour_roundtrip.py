"""The behaviour round trip: references rendered, read back, recognised and re-applied, summed up."""

import pytest

from cinestage.behavior.dataset import CATEGORIES
from cinestage.pipeline import behaviour_roundtrip as module
from cinestage.pipeline.behaviour_roundtrip import roundtrip, summary


def test_two_references_run_in_two_workers_come_back_in_category_order_with_their_layout_kept():
    logged = []
    trip = roundtrip(references=2, duration=6.0, workers=2, log=logged.append)
    assert [r["category"] for r in trip["rows"]] == list(CATEGORIES[:2]) and len(logged) == 2
    assert trip["references"] == trip["with_style"] == 2
    for row in trip["rows"]:
        assert row["found"] in CATEGORIES
        assert row["layout_error"] < 0.1
    # A direct camera's angles hold still: the recogniser names both references' behaviour.
    assert [r["found"].split("/")[0] for r in trip["rows"]] == ["direct", "direct"]
    assert trip["behaviour_accuracy"] == 1.0


def test_the_summary_counts_references_without_a_style_but_scores_only_those_with_one(monkeypatch):
    rows = {0: {"category": "direct/close", "found": "direct/close", "layout_error": 0.02},
            1: {"category": "direct/far-left", "found": "relative/far-left", "layout_error": 0.04},
            2: {"category": "direct/far-right", "found": None, "layout_error": None},
            3: {"category": "direct/medium-left", "found": "direct/medium-mid", "layout_error": 0.06}}
    monkeypatch.setattr(module, "reference_trip", lambda k, **_: rows[k])
    trip = roundtrip(references=4, log=lambda m: None)
    assert trip["references"] == 4 and trip["with_style"] == 3
    assert trip["behaviour_accuracy"] == pytest.approx(2 / 3) and trip["category_accuracy"] == pytest.approx(1 / 3)
    assert trip["layout_error"] == pytest.approx(0.04)
    first, by_size, missed = summary(trip)
    assert first == ("round trip, 4 rendered references read back (3 with a style): behaviour recognised 66.7%, "
                     "category 33.3%, re-applied layout error 0.04")
    assert by_size == "behaviour recognised by shot size: close 100% of 1, far 0% of 1, medium 100% of 1"
    assert missed == "behaviour missed: direct/far-left as relative"
