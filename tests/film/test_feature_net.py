"""The feature-estimation network: loading, training, and the shipped checkpoint's accuracy."""

import numpy as np
import pytest
import torch

from cinestage.errors import ModelError
from cinestage.film.feature_net import FeatureNet, from_pretrained
from cinestage.pipeline.feature_training import TrainingConfig, evaluate_projected, train


def test_network_shapes_match_the_method():
    net = FeatureNet().eval()
    y = net(torch.zeros(5, 28, 8))
    assert y.shape == (5, 10)
    conv = net.theta_branch[0]
    assert (conv.in_channels, conv.out_channels, conv.kernel_size) == (28, 64, (3,))
    assert net.theta_head[0].in_features == 256


def test_missing_and_corrupt_checkpoints_are_clear_errors(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        from_pretrained(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ModelError, match="not a readable torch file") as e:
        from_pretrained(bad)
    assert str(bad) in str(e.value) and "\n" not in str(e.value)
    other = tmp_path / "other.pt"
    torch.save({"weights": [1, 2, 3]}, other)
    with pytest.raises(ModelError, match="not a cinestage.feature_net/1 checkpoint"):
        from_pretrained(other)


def test_training_lowers_the_loss_and_the_checkpoint_round_trips(tmp_path):
    est = train(TrainingConfig(shots=12, rendered=0, epochs=4), log=lambda m: None)
    curve = est.info["loss_curve"]
    assert curve[-1] < 0.8 * curve[0]
    est.save(tmp_path / "fn.pt")
    again = from_pretrained(tmp_path / "fn.pt")
    x = np.random.default_rng(0).normal(size=(6, 28, 8)).astype(np.float32)
    a, b = est.estimate(x), again.estimate(x)
    np.testing.assert_allclose(a.theta, b.theta, atol=1e-6)
    np.testing.assert_allclose(a.character, b.character, atol=1e-6)


def test_shipped_checkpoint_beats_the_training_mean_on_held_out_shots():
    report = evaluate_projected(from_pretrained(), shots=16)
    assert report["windows"] > 1000
    assert report["theta"]["median_deg"] < 0.6 * report["theta_baseline"]["median_deg"]
    assert report["phi"]["median_deg"] < 0.5 * report["phi_baseline"]["median_deg"]
    assert report["phi"]["p90_deg"] < 0.5 * report["phi_baseline"]["p90_deg"]
