"""Camera-motion gating network: a reference clip -> softmax weights over the experts (style code).

Jiang et al. 2020 run an LSTM over the reference sequence (per frame 9 character + 5 camera
features) and map its last output to expert weights; Wu et al. 2023 insert self-attention after
the LSTM and report an ablation over the variants built here (METHODS section 1):
GRU, LSTM, LSTM+SE, LSTM+sa1, LSTM+sa3, LSTM+sa3+skip, LSTM+sa9+skip.

Width: one hidden size for every variant, so the ablation compares architectures and not widths.
The default 288 (= 2^5 * 9) is divisible by 1, 3 and 9 heads (head sizes 288, 96, 32) and by the
SE reduction 2; the papers' 512 is not divisible by 3 or 9, and 288 keeps the gating at about
2.7 MB (attention variants) of the 20 MB model budget, leaving the rest to the experts.

Skip variants: a plain residual `last + attention(...)` without LayerNorm. The ablation row says
only "a skip connection around it", and a normalisation would make it a different variant.

Padding: a batch of clips padded to one length T with `lengths` gives each clip the result it
gets alone: the recurrent layer is causal, so outputs up to a clip's last valid step do not see
the padding; the SE pooling averages valid steps only; attention masks padded keys.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

FEATURES = 14
GATING_HIDDEN = 288
GATING_VARIANTS = ("gru", "lstm", "lstm-se", "lstm-sa1", "lstm-sa3", "lstm-sa3-skip", "lstm-sa9-skip")


class _Spec(NamedTuple):
    cell: type[nn.RNNBase] = nn.LSTM
    squeeze_excitation: bool = False
    heads: int = 0
    skip: bool = False


# "lstm-sa9" is no ablation row but completes the sa1/sa3/sa9 series the skip rows are read against.
_SPECS = {
    "gru": _Spec(cell=nn.GRU),
    "lstm": _Spec(),
    "lstm-se": _Spec(squeeze_excitation=True),
    "lstm-sa1": _Spec(heads=1),
    "lstm-sa3": _Spec(heads=3),
    "lstm-sa9": _Spec(heads=9),
    "lstm-sa3-skip": _Spec(heads=3, skip=True),
    "lstm-sa9-skip": _Spec(heads=9, skip=True),
}


class _SqueezeExcitation(nn.Module):
    """Channel gates from the time-averaged LSTM outputs (reduction 2)."""

    def __init__(self, hidden: int):
        super().__init__()
        self.gate = nn.Sequential(nn.Linear(hidden, hidden // 2), nn.ReLU(), nn.Linear(hidden // 2, hidden), nn.Sigmoid())

    def forward(self, seq: torch.Tensor, last: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        pooled = (seq * valid[..., None]).sum(1) / valid.sum(1, keepdim=True)
        # Rescaling every step and then taking the last one equals rescaling the last one.
        return last * self.gate(pooled)


class _SelfAttention(nn.Module):
    """Multi-head self-attention over the LSTM outputs, read at the last valid step."""

    def __init__(self, hidden: int, heads: int, skip: bool):
        super().__init__()
        self.attention = nn.MultiheadAttention(hidden, heads, batch_first=True)
        self.skip = skip

    def forward(self, seq: torch.Tensor, last: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        # Only the last step reaches the classifier, so only its query is computed: the same
        # value as full self-attention there, in O(T) instead of O(T^2) for 400-frame clips.
        mixed, _ = self.attention(last[:, None], seq, seq, key_padding_mask=~valid, need_weights=False)
        mixed = mixed[:, 0]
        return last + mixed if self.skip else mixed


class GatingNetwork(nn.Module):
    """(B, T, 14) standardised reference sequence -> (B, E) expert weights. Build with gating_network()."""

    def __init__(self, name: str, spec: _Spec, experts: int, hidden: int):
        super().__init__()
        self.name, self.experts, self.hidden = name, experts, hidden
        self.recurrent = spec.cell(FEATURES, hidden, batch_first=True)
        if spec.squeeze_excitation:
            self.mixer: nn.Module | None = _SqueezeExcitation(hidden)
        elif spec.heads:
            self.mixer = _SelfAttention(hidden, spec.heads, spec.skip)
        else:
            self.mixer = None
        self.head = nn.Linear(hidden, experts)

    def logits(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Pre-softmax expert scores (B, E); lengths (B,) = valid steps of each padded sequence."""
        if x.ndim != 3 or x.shape[2] != FEATURES:
            raise ValueError(f"reference must be (B, T, {FEATURES}), got {tuple(x.shape)}")
        batch, steps = x.shape[:2]
        if lengths is None:
            lengths = torch.full((batch,), steps, dtype=torch.long, device=x.device)
        lengths = lengths.to(device=x.device, dtype=torch.long)
        if lengths.shape != (batch,) or bool(((lengths < 1) | (lengths > steps)).any()):
            raise ValueError(f"lengths must be (B,) = ({batch},) with values in 1..{steps}")
        seq, _ = self.recurrent(x)
        last = seq[torch.arange(batch, device=x.device), lengths - 1]
        if self.mixer is not None:
            valid = torch.arange(steps, device=x.device)[None, :] < lengths[:, None]
            last = self.mixer(seq, last, valid)
        return self.head(last)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return torch.softmax(self.logits(x, lengths), dim=-1)


def gating_network(name: str, experts: int = 9, hidden: int = GATING_HIDDEN) -> GatingNetwork:
    """The gating variant `name` (one of GATING_VARIANTS, or "lstm-sa9")."""
    spec = _SPECS.get(name)
    if spec is None:
        raise ValueError(f"unknown gating network {name!r}; valid names: {', '.join(_SPECS)}")
    if spec.heads and hidden % spec.heads:
        raise ValueError(f"gating network {name!r} needs a hidden size divisible by {spec.heads}, got {hidden}")
    if spec.squeeze_excitation and hidden % 2:
        raise ValueError(f"gating network {name!r} needs an even hidden size, got {hidden}")
    return GatingNetwork(name, spec, experts, hidden)
