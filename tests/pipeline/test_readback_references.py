"""Read-back references: a rendered synthetic duet read back by the film analysis, with its category."""

import numpy as np

from cinestage.behavior.dataset import CATEGORIES
from cinestage.behavior.synthetic import synthetic_performance, synthetic_shot
from cinestage.film.feature_net import from_pretrained
from cinestage.pipeline.readback_references import READBACK_SEED, readback_references


def test_a_rendered_reference_is_read_back_with_its_category():
    seen = []
    (ref,) = readback_references(1, from_pretrained(), progress=lambda i, n: seen.append((i, n)))
    assert seen == [(1, 1)]
    assert CATEGORIES[ref.category] == "direct/close"
    assert ref.camera.shape[1] == 5 and ref.character.shape == (len(ref.camera), 9) and len(ref.camera) >= 60
    # A direct camera holds its layout and Toric angles; the analysis reads them back to within its errors.
    shot = synthetic_shot(READBACK_SEED, "direct", "close", performance=synthetic_performance(READBACK_SEED, 10.0),
                          aspect=16 / 9)
    truth = np.median(shot.camera, axis=0)
    assert np.abs(np.median(ref.camera[:, :3], 0) - truth[:3]).max() < 0.05
    assert abs(np.median(ref.camera[:, 3]) - truth[3]) < 0.5
