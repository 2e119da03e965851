"""MoE predictor: weight blending, the weighted loss, augmentations, checkpoints, joint training."""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from cinestage.behavior.gating import FEATURES, gating_network
from cinestage.behavior.moe import (
    NOISE_AMPLITUDE,
    BehaviourModel,
    MoELinear,
    MoEPredictor,
    augment_past_camera,
    first_frame_weighted_mse,
    load_behaviour,
    parameter_bytes,
    save_behaviour,
)
from cinestage.errors import ModelError

SMALL = {"hidden": 16, "past": 6, "future": 6, "horizon": 4}  # 6*9 + 6*9 + 6*5 = 138 inputs


def _inputs(batch, past=6, future=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, past, 9, generator=g), torch.randn(batch, future, 9, generator=g),
            torch.randn(batch, past, 5, generator=g))


def test_moe_linear_blends_weights_per_sample():
    torch.manual_seed(0)
    layer = MoELinear(7, 5, experts=3)
    x, alpha = torch.randn(4, 7), torch.softmax(torch.randn(4, 3), dim=1)
    expected = []
    for i in range(4):
        w = sum(alpha[i, e] * layer.weight[e] for e in range(3))
        b = sum(alpha[i, e] * layer.bias[e] for e in range(3))
        expected.append(w @ x[i] + b)
    torch.testing.assert_close(layer(x, alpha), torch.stack(expected))


def test_one_hot_alpha_is_that_experts_linear_layer():
    torch.manual_seed(0)
    layer = MoELinear(7, 5, experts=3)
    x = torch.randn(4, 7)
    alpha = F.one_hot(torch.tensor([2, 0, 2, 1]), 3).float()
    expected = torch.stack([F.linear(x[i], layer.weight[e], layer.bias[e]) for i, e in enumerate([2, 0, 2, 1])])
    torch.testing.assert_close(layer(x, alpha), expected)


def test_default_predictor_sizes():
    net = MoEPredictor()
    assert net.in_features == 1380 and net.experts == 9
    assert [(layer.in_features, layer.out_features) for layer in net.layers] == [(1380, 512), (512, 512), (512, 150)]
    out = net(*_inputs(2, 60, 60), torch.full((2, 9), 1 / 9))
    assert out.shape == (2, 30, 5)


def test_blending_weights_is_not_blending_expert_outputs():
    torch.manual_seed(0)
    net = MoEPredictor(experts=2, **SMALL)
    inputs = _inputs(3)
    half = torch.full((3, 2), 0.5)
    per_expert = [net(*inputs, F.one_hot(torch.full((3,), e), 2).float()) for e in range(2)]
    assert not torch.allclose(net(*inputs, half), 0.5 * per_expert[0] + 0.5 * per_expert[1], atol=1e-4)


def test_predictor_refuses_wrong_shapes():
    char_past, char_future, cam_past = _inputs(2)
    with pytest.raises(ValueError, match="camera_past must be"):
        MoEPredictor(experts=2, **SMALL)(char_past, char_future, cam_past[:, 1:], torch.full((2, 2), 0.5))


def test_loss_hand_computed():
    pred = torch.tensor([[[1.0, 0.0], [2.0, 0.0], [3.0, 1.0]]])  # (1, 3 frames, 2 channels)
    target = torch.zeros(1, 3, 2)
    # Squared errors per frame summed over channels: 1, 4, 10; weights 10, 1, 1; 2 channels.
    assert first_frame_weighted_mse(pred, target).item() == pytest.approx((10 * 1 + 4 + 10) / (2 * 12))
    assert first_frame_weighted_mse(pred, target, first_weight=1.0).item() == pytest.approx(F.mse_loss(pred, target).item())
    assert first_frame_weighted_mse(pred, pred.clone()).item() == 0.0


def _augment(seed, **kw):
    camera = torch.randn(8, 60, 5, generator=torch.Generator().manual_seed(99))
    return camera, augment_past_camera(camera, torch.Generator().manual_seed(seed), **kw)


def test_noise_is_bounded_per_channel():
    camera, out = _augment(1, noise_probability=1.0, hold_probability=0.0)
    delta = (out - camera).abs().amax(dim=(0, 1))
    amplitude = torch.tensor(NOISE_AMPLITUDE)
    assert bool((delta <= amplitude / 2 + 1e-6).all()) and bool((delta > 0.4 * amplitude).all())


def test_hold_repeats_frame_k_over_the_prefix():
    camera, out = _augment(2, noise_probability=0.0, hold_probability=1.0)
    for sample_in, sample_out in zip(camera, out):
        k = int(torch.nonzero((sample_out == sample_in).all(dim=1))[0])
        assert 5 <= k <= 55
        torch.testing.assert_close(sample_out[:k], sample_in[k].expand(k, 5), rtol=0, atol=0)
        torch.testing.assert_close(sample_out[k:], sample_in[k:], rtol=0, atol=0)


def test_augmentation_is_deterministic_and_seed_dependent():
    _, a = _augment(3)
    _, b = _augment(3)
    _, c = _augment(4)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(a, c)


def _model(seed=0):
    torch.manual_seed(seed)
    return BehaviourModel(gating_network("lstm-sa3", experts=3, hidden=12), MoEPredictor(experts=3, **SMALL))


def test_save_load_round_trip(tmp_path):
    model = _model().eval()
    path = tmp_path / "sub" / "behaviour.pt"
    normalisation = {"reference_mean": np.arange(14.0), "reference_std": np.ones(14)}
    save_behaviour(model, path, info={"steps": 30, "data": "toy"}, normalisation=normalisation)
    loaded, norm, info = load_behaviour(path)
    assert info == {"steps": 30, "data": "toy"} and not loaded.training
    np.testing.assert_array_equal(norm["reference_mean"], np.arange(14.0, dtype=np.float32))
    reference = torch.randn(2, 9, FEATURES)
    with torch.no_grad():
        expected = model(reference, torch.tensor([9, 4]), *_inputs(2))
        got = loaded(reference, torch.tensor([9, 4]), *_inputs(2))
    # Weights are stored in half precision: the same network to within float16 rounding.
    for a, b in zip(expected, got):
        torch.testing.assert_close(a, b, rtol=2e-2, atol=2e-3)
    assert [p.name for p in path.parent.iterdir()] == ["behaviour.pt"]


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(ModelError, match=r"nothing\.pt: behaviour checkpoint not found"):
        load_behaviour(tmp_path / "nothing.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x00not a zip or pickle" * 10)
    with pytest.raises(ModelError, match=r"corrupt\.pt: not a readable torch file"):
        load_behaviour(corrupt)


def test_wrong_format_and_mismatched_state(tmp_path):
    other = tmp_path / "other.pt"
    torch.save({"format": "cinestage.feature_net/1", "state_dict": {}}, other)
    with pytest.raises(ModelError, match=r"other\.pt: not a cinestage\.behaviour/2 checkpoint"):
        load_behaviour(other)
    path = tmp_path / "bad.pt"
    save_behaviour(_model(), path, info={}, normalisation={})
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["state_dict"].pop("gating.head.bias")
    checkpoint["state_dict"]["predictor.layers.0.bias"] = torch.zeros(3, 17)
    torch.save(checkpoint, path)
    with pytest.raises(ModelError) as err:
        load_behaviour(path)
    message = str(err.value)
    assert "\n" not in message and message.startswith(str(path))
    assert "missing gating.head.bias" in message and "predictor.layers.0.bias has shape (3, 17)" in message


def test_parameter_bytes_counts_float32():
    layer = MoELinear(7, 5, experts=3)
    assert parameter_bytes(layer) == 4 * (3 * 5 * 7 + 3 * 5)


def test_gating_and_experts_learn_two_behaviours_together():
    """The past camera is the same for both behaviours: only the reference clip tells them apart."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    model = BehaviourModel(gating_network("lstm-sa3", experts=4, hidden=24), MoEPredictor(experts=4, hidden=32, **{
        k: v for k, v in SMALL.items() if k != "hidden"}))
    batch = 32
    behaviour = torch.arange(batch) % 2
    sign = (behaviour * 2 - 1).float()
    reference = torch.randn(batch, 12, FEATURES, generator=g) * 0.3
    reference[:, :, 9:] += sign[:, None, None]
    character_past, character_future, _ = _inputs(batch)
    camera_past = torch.zeros(batch, 6, 5)
    target = sign[:, None, None] * torch.linspace(0.5, 2.0, 4)[None, :, None].expand(batch, 4, 5)
    blind = first_frame_weighted_mse(torch.zeros_like(target), target).item()  # best behaviour-blind guess
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        prediction, alpha = model(reference, None, character_past, character_future, camera_past)
        loss = first_frame_weighted_mse(prediction, target)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0] and losses[-1] < 0.5 * blind
    assert (alpha[behaviour == 0].mean(0) - alpha[behaviour == 1].mean(0)).abs().sum() > 0.1
