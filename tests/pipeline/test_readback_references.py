"""Read-back references: a rendered synthetic duet read back by the film analysis, with its category."""

import numpy as np
import pytest

from cinestage.behavior.dataset import CATEGORIES
from cinestage.behavior.synthetic import synthetic_performance, synthetic_shot
from cinestage.film.feature_net import from_pretrained
from cinestage.errors import RenderError
from cinestage.film.pair_features import MainPair
from cinestage.pipeline import readback_references as module
from cinestage.pipeline.readback_references import READBACK_SEED, readback, readback_references


def test_rendered_references_are_read_back_in_order_with_their_categories_by_two_workers():
    seen = []
    refs = readback_references(2, from_pretrained(), progress=lambda i, n: seen.append((i, n)), workers=2)
    assert seen == [(1, 2), (2, 2)]
    assert [CATEGORIES[r.category] for r in refs] == list(CATEGORIES[:2])
    ref = refs[0]
    assert CATEGORIES[ref.category] == "direct/close"
    assert ref.camera.shape[1] == 5 and ref.character.shape == (len(ref.camera), 9) and len(ref.camera) >= 60
    # A direct camera holds its layout and Toric angles; the analysis reads them back to within its errors.
    shot = synthetic_shot(READBACK_SEED, "direct", "close", performance=synthetic_performance(READBACK_SEED, 10.0),
                          aspect=16 / 9)
    truth = np.median(shot.camera, axis=0)
    assert np.abs(np.median(ref.camera[:, :3], 0) - truth[:3]).max() < 0.05
    assert abs(np.median(ref.camera[:, 3]) - truth[3]) < 0.5
    assert ref.error.shape == (len(ref.camera), 14) and np.abs(ref.error[:, 13]).max() <= np.pi


def _read(shot, frames, camera, character):
    f = len(frames)
    return MainPair(0, 0, 1, frames, 0, camera, character, np.ones(f), np.zeros((f, 2), int))


def test_a_readings_errors_are_what_it_read_minus_the_truth_in_its_own_actor_order():
    shot = synthetic_shot(READBACK_SEED + 7, "sin_cos", "medium-left",
                          performance=synthetic_performance(READBACK_SEED + 7, 4.0), aspect=16 / 9)
    frames = np.arange(10, 90)
    camera, character = shot.labels(frames)
    exact = readback(shot, _read(shot, frames, camera, character))
    assert np.abs(exact.error).max() < 1e-5 and CATEGORIES[exact.category] == "sin_cos/medium-left"
    off = camera.copy()
    off[:, 3] += 0.3
    off[:, 4] += 2 * np.pi - 0.1  # phi a turn and a little off: its error is the little
    read = readback(shot, _read(shot, frames, off, character))
    assert np.allclose(read.error[:, 12], 0.3, atol=1e-5) and np.allclose(read.error[:, 13], -0.1, atol=1e-5)
    # An analysis that names the actors the other way round is compared with the truth in its order.
    camera_ba, character_ba = shot.labels(frames, a_first=False)
    swapped = readback(shot, _read(shot, frames, camera_ba, character_ba))
    assert np.abs(swapped.error).max() < 1e-5


def test_a_reference_without_a_main_pair_is_left_out_and_a_failing_one_raises_its_own_error(monkeypatch):
    monkeypatch.setattr(module, "readback_pair", lambda k, features: None)
    seen = []
    assert readback_references(3, None, progress=lambda i, n: seen.append(i)) == [] and seen == [1, 2, 3]

    def broken(k, features):
        raise RenderError(f"reference {k}", "no EGL display")

    monkeypatch.setattr(module, "readback_pair", broken)
    with pytest.raises(RenderError, match="reference 0"):
        readback_references(2, None)
