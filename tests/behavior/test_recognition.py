"""The behaviour recogniser: the shipped network on unseen synthetic references, reading long and
short references, training, saving and loading, and a damaged checkpoint."""

import numpy as np
import pytest
import torch

from cinestage.behavior.dataset import generate
from cinestage.behavior.recognition import (
    WINDOW,
    ReadBack,
    RecogniserConfig,
    RecogniserNet,
    evaluate_recogniser,
    from_pretrained,
    held_out_references,
    _transplanted,
    train_recogniser,
)
from cinestage.behavior.synthetic import BEHAVIOURS
from cinestage.behavior.training import behaviour_of
from cinestage.errors import ModelError


@pytest.fixture(scope="module")
def shipped():
    return from_pretrained()


@pytest.fixture(scope="module")
def unseen():
    return held_out_references(per_category=1)


def test_the_shipped_recogniser_names_unseen_references(shipped, unseen):
    report = evaluate_recogniser(shipped, unseen)
    assert report["exact"]["accuracy"] >= 0.9, report["exact"]
    assert report["estimated"]["accuracy"] >= 0.8, report["estimated"]
    confusion = np.array(report["exact"]["confusion"])
    assert confusion.shape == (4, 4) and confusion.sum() == len(unseen) and "read back" not in report
    # References read back are scored as they are: exact ones score what the exact features do.
    read = evaluate_recogniser(shipped, unseen[:8], readbacks=[ReadBack(s.category, s.camera, s.character) for s in unseen[:8]])
    assert read["read back"]["confusion"] == evaluate_recogniser(shipped, unseen[:8])["exact"]["confusion"]
    assert read["read back"]["references"] == 8


def test_every_behaviour_is_told_from_a_still_camera(shipped, unseen):
    # The confusion that motivated the recogniser: a swinging camera read as a direct one.
    swinging = [s for s in unseen if s.behaviour == "sin_cos" and np.ptp(s.camera[:, 3]) > 0.6]
    assert swinging
    assert [shipped.behaviour(s.camera, s.character) for s in swinging] == ["sin_cos"] * len(swinging)
    still = next(s for s in unseen if s.behaviour == "direct")
    assert shipped.behaviour(still.camera, still.character) == "direct"


def test_probabilities_of_short_long_and_wrapped_references(shipped, unseen):
    s = max(unseen, key=len)
    # A long reference, continuous: the shot played forwards, backwards and forwards again.
    camera = np.concatenate([s.camera, s.camera[::-1], s.camera])
    character = np.concatenate([s.character, s.character[::-1], s.character])
    assert len(camera) >= 2 * WINDOW
    p = shipped.probabilities(camera, character)
    assert p.shape == (len(BEHAVIOURS),) and np.isclose(p.sum(), 1.0, atol=1e-5)
    short = shipped.probabilities(camera[:30], character[:30])
    assert short.shape == (4,) and np.isclose(short.sum(), 1.0, atol=1e-5)
    # phi read as wrapped angles (the film analysis gives atan2 values) names the same behaviour.
    wrapped = camera.copy()
    wrapped[:, 4] = np.angle(np.exp(1j * (wrapped[:, 4] + 3.0))) - 3.0
    assert np.allclose(shipped.probabilities(wrapped, character), p, atol=1e-4)
    # A long reference is read in windows: its first window alone gives different odds.
    first = shipped.probabilities(camera[:WINDOW], character[:WINDOW])
    assert not np.allclose(first, p)


def test_a_short_training_run_saves_and_loads(tmp_path):
    sequences = generate(1, seed=3)[:24]
    threads = torch.get_num_threads()
    rec = train_recogniser(RecogniserConfig(steps=30, batch=8, per_category=1), sequences, log=lambda m: None)
    assert torch.get_num_threads() == threads
    assert rec.info["sequences"] == len(sequences) and np.isfinite(rec.info["final_loss"])
    path = rec.save(tmp_path / "rec.pt")
    again = from_pretrained(path)
    s = sequences[0]
    assert np.allclose(again.probabilities(s.camera, s.character), rec.probabilities(s.camera, s.character), atol=1e-6)
    assert again.info["sequences"] == len(sequences) and len(again.info["sha256"]) == 16


def test_training_transplants_the_errors_read_back_references_had(tmp_path):
    sequences = generate(1, seed=3)[:24]
    s = sequences[5]
    # A reference read 0.3 rad off in theta throughout: every transplanted crop carries that offset.
    error = np.zeros((64, 14), np.float32)
    error[:, 12] = 0.3
    read = ReadBack(s.category, s.camera[:64] + error[:, 9:], s.character[:64], error)
    character, camera = _transplanted(s.character[None, :300:2].copy(), s.camera[None, :300:2].copy(), [error],
                                      np.random.default_rng(0))
    assert np.allclose(camera[0, :, 3] - s.camera[:300:2, 3], 0.3, atol=1e-6)
    assert np.allclose(character[0], s.character[:300:2]) and np.allclose(camera[0, :, :3], s.camera[:300:2, :3])
    # A changing error shorter than the crop is mirrored in time, never cut or extrapolated.
    ramp = np.zeros((20, 14), np.float32)
    ramp[:, 12] = np.linspace(0.0, 1.0, 20)
    _, camera = _transplanted(s.character[None, :300:2], s.camera[None, :300:2], [ramp], np.random.default_rng(1))
    added = camera[0, :, 3] - s.camera[:300:2, 3]
    assert added.min() >= -1e-6 and added.max() <= 1.0 + 1e-6 and np.abs(np.diff(added)).max() < 0.12
    rec = train_recogniser(RecogniserConfig(steps=10, batch=8, per_category=1, estimated=0.0, transplanted=1.0),
                           sequences, log=lambda m: None, readbacks=[read])
    assert rec.info["readbacks"] == 1 and np.isfinite(rec.info["final_loss"])


def test_the_net_ignores_padding():
    torch.manual_seed(0)
    net = RecogniserNet(16).eval()
    x = torch.randn(1, 20, 14)
    padded = torch.cat([x, x[:, -1:].repeat(1, 15, 1)], 1)
    with torch.inference_mode():
        a = net(x, torch.tensor([20]))
        b = net(torch.cat([padded, torch.randn(1, 35, 14)]), torch.tensor([20, 35]))[:1]
    assert torch.allclose(a, b, atol=1e-5)


def test_a_damaged_or_missing_checkpoint_is_a_clear_error(tmp_path):
    bad = tmp_path / "recogniser.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="recogniser.pt"):
        from_pretrained(bad)
    with pytest.raises(ModelError, match="not found"):
        from_pretrained(tmp_path / "missing.pt")


def test_labels_follow_the_category_order():
    assert [behaviour_of(c) for c in (0, 5, 6, 23)] == [0, 0, 1, 3]
