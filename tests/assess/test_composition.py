"""The saliency fit that stands in for SAMP's learned pattern distribution without a trained head."""

from __future__ import annotations

import numpy as np
import pytest

from cinestage.assess.aesthetics import PATTERNS
from cinestage.assess.composition import LEARNED, SALIENCY_FIT, pattern_distribution, saliency_fit

S = 56


def _map(region: tuple[slice, slice]) -> np.ndarray:
    saliency = np.zeros((S, S))
    saliency[region] = 1.0
    return saliency


@pytest.mark.parametrize("region, pattern", [
    ((slice(None), slice(0, S // 2)), "vertical_halves"),
    ((slice(S // 2, None), slice(None)), "horizontal_halves"),
    ((slice(S // 4, 3 * S // 4), slice(S // 4, 3 * S // 4)), "centre_surround"),
])
def test_the_partition_that_separates_what_stands_out_wins(region, pattern):
    p = saliency_fit(_map(region))
    assert p.shape == (len(PATTERNS),) and p.sum() == pytest.approx(1.0)
    assert PATTERNS[int(np.argmax(p))] == pattern


def test_a_lower_left_triangle_is_the_diagonal():
    v, u = np.mgrid[0:S, 0:S] + 0.5
    p = saliency_fit((v > u).astype(float))
    assert PATTERNS[int(np.argmax(p))] == "diagonal_triangles"


def test_a_flat_map_favours_no_pattern():
    np.testing.assert_allclose(saliency_fit(np.full((S, S), 0.3)), 1 / len(PATTERNS))


def test_frames_without_a_trained_head_get_the_fit_labelled_so():
    frame = np.zeros((90, 160, 3), np.uint8)
    frame[30:60, 10:40] = 255  # a bright patch on the left
    found = pattern_distribution([frame, frame])
    assert found.source == SALIENCY_FIT != LEARNED
    doc = found.to_json()
    assert list(doc["probabilities"]) == list(PATTERNS) and doc["dominant"] == found.dominant
