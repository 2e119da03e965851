"""Read-back references: a rendered synthetic duet read back by the film analysis, with its category."""

import numpy as np

from cinestage.behavior.dataset import CATEGORIES
from cinestage.film.feature_net import from_pretrained
from cinestage.pipeline.readback_references import readback_pairs, readback_references


def test_a_rendered_reference_is_read_back_with_its_category():
    features = from_pretrained()
    seen = []
    (ref,) = readback_references(1, features, progress=lambda i, n: seen.append((i, n)))
    assert seen == [(1, 1)]
    assert CATEGORIES[ref.category] == "direct/close"
    assert ref.camera.shape[1] == 5 and ref.character.shape == (len(ref.camera), 9) and len(ref.camera) >= 60
    # A direct camera holds its Toric angles; the analysis reads them back to within its errors.
    (shot, pair), = readback_pairs(1, features)
    truth = shot.camera[pair.frames]
    assert np.abs(np.median(pair.camera[:, :3], 0) - np.median(truth[:, :3], 0)).max() < 0.05  # the layout
    assert abs(np.median(pair.camera[:, 3]) - np.median(truth[:, 3])) < 0.5
    # The same render read again: the same reading, to within the renderer's and MoveNet's threads.
    assert np.abs(ref.camera[:, :4] - pair.camera[:, :4]).max() < 0.02
