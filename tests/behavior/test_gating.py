"""Gating variants: a probability vector per clip, every parameter used, padding-invariant."""

import pytest
import torch

from cinestage.behavior.gating import (
    FEATURES,
    GATING_HIDDEN,
    GATING_VARIANTS,
    gating_network,
)

ALL_NAMES = (*GATING_VARIANTS, "lstm-sa9")
HIDDEN = 18  # divisible by 1, 3, 9 heads and by the SE reduction 2; keeps the tests fast


def _net(name, experts=4, seed=0):
    torch.manual_seed(seed)
    return gating_network(name, experts=experts, hidden=HIDDEN).eval()


def test_variants_are_the_ablation_rows_in_order():
    assert GATING_VARIANTS == ("gru", "lstm", "lstm-se", "lstm-sa1", "lstm-sa3", "lstm-sa3-skip", "lstm-sa9-skip")


@pytest.mark.parametrize("name", ALL_NAMES)
def test_default_width_builds(name):
    net = gating_network(name)
    assert net.hidden == GATING_HIDDEN and net.head.out_features == 9


@pytest.mark.parametrize("name", ALL_NAMES)
def test_weights_are_a_distribution_and_logits_their_scores(name):
    net = _net(name)
    x = torch.randn(3, 11, FEATURES)
    alpha = net(x)
    assert alpha.shape == (3, 4)
    torch.testing.assert_close(alpha.sum(1), torch.ones(3))
    torch.testing.assert_close(alpha, torch.softmax(net.logits(x), dim=1))


@pytest.mark.parametrize("name", ALL_NAMES)
def test_every_parameter_gets_a_gradient(name):
    net = _net(name).train()
    lengths = torch.tensor([9, 5])
    # Softmax rows sum to 1, so a plain sum would have zero gradient: weigh the experts.
    (net(torch.randn(2, 9, FEATURES), lengths) * torch.randn(2, 4)).sum().backward()
    unused = [n for n, p in net.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert unused == []


@pytest.mark.parametrize("name", ALL_NAMES)
def test_padding_with_lengths_equals_the_unpadded_sequence(name):
    net = _net(name)
    short, long = torch.randn(1, 7, FEATURES), torch.randn(1, 12, FEATURES)
    padded = torch.cat([torch.cat([short, torch.randn(1, 5, FEATURES) * 100], dim=1), long])
    with torch.no_grad():
        batch = net(padded, torch.tensor([7, 12]))
        torch.testing.assert_close(batch[0], net(short)[0], atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(batch[1], net(long)[0], atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("name", ["lstm-sa3", "lstm-sa9"])
def test_skip_adds_no_parameters_but_changes_the_output(name):
    plain, skip = _net(name), _net(name + "-skip")
    assert [(n, p.shape) for n, p in plain.named_parameters()] == [(n, p.shape) for n, p in skip.named_parameters()]
    x = torch.randn(2, 10, FEATURES)
    with torch.no_grad():
        assert not torch.allclose(plain(x), skip(x), atol=1e-4)


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown gating network 'transformer'.*gru, lstm, lstm-se"):
        gating_network("transformer")


def test_width_must_split_into_heads():
    with pytest.raises(ValueError, match="divisible by 9"):
        gating_network("lstm-sa9-skip", hidden=512)


def test_bad_lengths_are_refused():
    net = _net("lstm")
    with pytest.raises(ValueError, match="lengths"):
        net(torch.randn(2, 5, FEATURES), torch.tensor([5, 6]))
