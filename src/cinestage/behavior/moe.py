"""Mixture-of-experts camera trajectory predictor (Jiang et al. 2020, after Holden et al.'s PFNN).

Each layer holds E experts' weights and blends them with the style code alpha before applying
them: W = sum_e alpha_e W_e, b = sum_e alpha_e b_e. With ELU between layers this is a different
network from blending the outputs of E separately evaluated expert MLPs: a blended network is
one MLP whose every layer sits between the experts, so styles interpolate inside the
non-linearities instead of averaging E unrelated trajectories.

Input per sample: 60 past frames x 9 character features, 60 future frames x 9 character features
and 60 past frames x 5 camera features (1380 values); output 30 future frames x 5 camera features.
(Predicting offsets from the last past camera instead was tried and measured: every step's small
bias then integrates, and 10 s roll-outs drifted three times further.)
"""

from __future__ import annotations

import itertools
import json
import math
import os

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from cinestage.behavior.gating import GatingNetwork, gating_network
from cinestage.errors import ModelError
from cinestage.files import load_torch, save_torch

FORMAT = "cinestage.behaviour/2"  # /2: with the behaviour recogniser
NOISE_AMPLITUDE = (0.1, 0.1, 0.1, 0.5, 0.1)
HOLD_FRAMES = (5, 55)


class MoELinear(nn.Module):
    """A linear layer whose weights are the alpha-blend of E experts' weights, per sample."""

    def __init__(self, in_features: int, out_features: int, experts: int):
        super().__init__()
        self.in_features, self.out_features, self.experts = in_features, out_features, experts
        # Each expert starts like an nn.Linear of its own. (The reference code initialises the
        # 3-D tensor at once, so its fan-in counts out*in and the weights start near zero.)
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(experts, out_features, in_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(experts, out_features).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        """x (B, in), alpha (B, E) -> (B, out).

        (sum_e alpha_e W_e) x = sum_e alpha_e (W_e x) for one layer, so the blend is computed on
        the experts' outputs (B x E x out floats) rather than on the weights (B x out x in, 360 MB
        for the first layer of a 256-sample batch): the same layer-by-layer blend, cheaper."""
        per_expert = torch.einsum("eoi,bi->beo", self.weight, x) + self.bias
        return torch.einsum("be,beo->bo", alpha, per_expert)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, experts={self.experts}"


class MoEPredictor(nn.Module):
    """Three MoE linear layers in -> hidden -> hidden -> horizon*cam with ELU between."""

    def __init__(self, experts: int = 9, hidden: int = 512, past: int = 60, future: int = 60, horizon: int = 30,
                 char: int = 9, cam: int = 5, dropout: float = 0.0):
        super().__init__()
        self.config = {"experts": experts, "hidden": hidden, "past": past, "future": future, "horizon": horizon,
                       "char": char, "cam": cam, "dropout": dropout}
        self.experts, self.past, self.future, self.horizon, self.char, self.cam = experts, past, future, horizon, char, cam
        self.in_features = past * char + future * char + past * cam
        sizes = (self.in_features, hidden, hidden, horizon * cam)
        self.layers = nn.ModuleList(MoELinear(a, b, experts) for a, b in itertools.pairwise(sizes))
        self.dropout = nn.Dropout(dropout)

    def forward(self, character_past: torch.Tensor, character_future: torch.Tensor, camera_past: torch.Tensor,
                alpha: torch.Tensor) -> torch.Tensor:
        batch = alpha.shape[0]
        for name, tensor, shape in (("character_past", character_past, (self.past, self.char)),
                                    ("character_future", character_future, (self.future, self.char)),
                                    ("camera_past", camera_past, (self.past, self.cam)),
                                    ("alpha", alpha, (self.experts,))):
            if tuple(tensor.shape) != (batch, *shape):
                raise ValueError(f"{name} must be {(batch, *shape)}, got {tuple(tensor.shape)}")
        x = torch.cat([character_past.flatten(1), character_future.flatten(1), camera_past.flatten(1)], dim=1)
        for layer in self.layers[:-1]:
            x = F.elu(layer(self.dropout(x), alpha))
        return self.layers[-1](self.dropout(x), alpha).reshape(batch, self.horizon, self.cam)


def first_frame_weighted_mse(pred: torch.Tensor, target: torch.Tensor, first_weight: float = 10.0) -> torch.Tensor:
    """Weighted mean of squared errors over batch, frames and channels; frame 0 weighs first_weight.

    loss = sum_{b,t,c} w_t (pred - target)^2 / (B * C * sum_t w_t), w_0 = first_weight, else 1.
    Normalising by the total weight keeps the value on the scale of a plain MSE (first_weight = 1
    gives exactly torch's MSE). Autoregressive inference keeps only frame 0 of each prediction.
    """
    weights = torch.ones(pred.shape[1], dtype=pred.dtype, device=pred.device)
    weights[0] = first_weight
    per_frame = ((pred - target) ** 2).mean(dim=(0, 2))
    return (per_frame * weights).sum() / weights.sum()


def augment_past_camera(camera_past: torch.Tensor, generator: torch.Generator, noise_probability: float = 0.5,
                        hold_probability: float = 1 / 3, amplitude=NOISE_AMPLITUDE) -> torch.Tensor:
    """Jiang et al.'s training augmentations of the (B, P, 5) past cameras, P > 55.

    The amplitudes are in feature units (screen coordinates, radians): augment before standardising,
    or pass `amplitude` divided by the standard deviations.

    Noise: with noise_probability per sample, add U(-0.5, 0.5) x NOISE_AMPLITUDE per channel to
    every past frame, so the network does not copy its own (at inference, predicted) past blindly.
    Hold: with hold_probability per sample, draw k in HOLD_FRAMES and give frames 0..k-1 the value
    of frame k: inference starts from a still camera (the past window is the first camera
    repeated), and the held prefix joins the real motion without a jump. The hold comes after the
    noise so the prefix is exactly constant, as at inference. The probabilities (1/2, 1/3) are
    the reference code's; the same generator state gives the same result. (The reference code
    also holds the past character features, which the caller may do with its own data; its
    np.repeat interleaves channels instead of repeating frames, which is not copied.)
    """
    batch, frames, channels = camera_past.shape
    if channels != len(amplitude) or frames <= HOLD_FRAMES[1]:
        raise ValueError(f"camera_past must be (B, >{HOLD_FRAMES[1]}, {len(amplitude)}), "
                         f"got {tuple(camera_past.shape)}")
    device = generator.device
    amplitude = torch.tensor(np.asarray(amplitude, np.float64), dtype=camera_past.dtype, device=device)
    noisy = torch.rand(batch, 1, 1, generator=generator, device=device) < noise_probability
    noise = torch.rand(batch, frames, channels, generator=generator, device=device, dtype=camera_past.dtype) - 0.5
    held = torch.rand(batch, generator=generator, device=device) < hold_probability
    k = torch.randint(HOLD_FRAMES[0], HOLD_FRAMES[1] + 1, (batch,), generator=generator, device=device)
    out = camera_past + (noise * amplitude * noisy).to(camera_past.device)
    # Frame t copies frame max(t, k); k = 0 leaves a sample as it is.
    source = torch.maximum(torch.arange(frames, device=device)[None, :], torch.where(held, k, 0)[:, None])
    return out.gather(1, source.to(camera_past.device)[..., None].expand(batch, frames, channels))


class BehaviourModel(nn.Module):
    """A gating network (reference clip -> style alpha), the MoE predictor it steers, and a linear
    recogniser from the style code to the canonical behaviours.

    The recogniser is trained with the rest (a small cross-entropy term): it shapes the style
    space so the canonical behaviours form separate regions, which the trajectory loss alone
    leaves overlapping, and it names a reference's behaviour. It reads log alpha, so a saved
    style code is enough to recognise it again."""

    def __init__(self, gating: GatingNetwork, predictor: MoEPredictor, behaviours: int = 4):
        super().__init__()
        if gating.experts != predictor.experts:
            raise ValueError(f"gating has {gating.experts} experts, the predictor {predictor.experts}")
        self.gating, self.predictor = gating, predictor
        self.recogniser = nn.Linear(gating.experts, behaviours)

    def style(self, reference: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.gating(reference, lengths)

    def recognise(self, alpha: torch.Tensor) -> torch.Tensor:
        """(B, behaviours) logits of the canonical behaviours for style codes (B, E)."""
        return self.recogniser(torch.log(alpha.clamp_min(1e-12)))

    def predict(self, alpha: torch.Tensor, character_past: torch.Tensor, character_future: torch.Tensor,
                camera_past: torch.Tensor) -> torch.Tensor:
        return self.predictor(character_past, character_future, camera_past, alpha)

    def forward(self, reference: torch.Tensor, lengths: torch.Tensor | None, character_past: torch.Tensor,
                character_future: torch.Tensor, camera_past: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        alpha = self.style(reference, lengths)
        return self.predict(alpha, character_past, character_future, camera_past), alpha


def parameter_bytes(model: nn.Module) -> int:
    """Size of the model's parameters stored as float32."""
    return 4 * sum(p.numel() for p in model.parameters())


def save_behaviour(model: BehaviourModel, path: str | os.PathLike, info: dict, normalisation: dict) -> None:
    """Write a checkpoint through a temporary sibling and a rename (a reader never sees half a file)."""
    config = {"gating": model.gating.name, "gating_hidden": model.gating.hidden,
              "behaviours": model.recogniser.out_features, **model.predictor.config}
    checkpoint = {
        "format": FORMAT,
        "config": config,
        # Half precision on disk: seven ablation checkpoints ship in the package; loading casts back.
        "state_dict": {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()},
        "normalisation": {key: np.asarray(value, np.float64).tolist() for key, value in normalisation.items()},
        # A JSON round trip fails here, at save time, on values (numpy scalars, paths) that
        # torch.load(weights_only=True) would refuse to read back later.
        "info": json.loads(json.dumps(info)),
    }
    save_torch(checkpoint, path)


def load_behaviour(path: str | os.PathLike) -> tuple[BehaviourModel, dict[str, np.ndarray], dict]:
    """(model in eval mode, normalisation arrays as float32, info) from a save_behaviour file."""
    source = str(path)
    checkpoint = load_torch(path, FORMAT, "behaviour checkpoint not found")
    try:
        config = dict(checkpoint["config"])
        gating = gating_network(config.pop("gating"), config["experts"], config.pop("gating_hidden"))
        behaviours = config.pop("behaviours")
        model = BehaviourModel(gating, MoEPredictor(**config), behaviours)
        normalisation = {key: np.asarray(value, np.float32) for key, value in checkpoint["normalisation"].items()}
        info = dict(checkpoint["info"])
        state = checkpoint["state_dict"]
        if not isinstance(state, dict):
            raise TypeError("state_dict is not a dict")
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(source, f"malformed {FORMAT} checkpoint: {type(exc).__name__} {exc}") from None
    problem = _state_dict_problem(model.state_dict(), state)
    if problem:
        raise ModelError(source, f"state dict does not fit the network: {problem}")
    model.load_state_dict(state, strict=True)
    return model.eval(), normalisation, info


def _state_dict_problem(expected: dict[str, torch.Tensor], found: dict[str, torch.Tensor]) -> str:
    """One line naming what differs: missing and unexpected keys, then wrong shapes."""
    problems = []
    missing = [key for key in expected if key not in found]
    unexpected = [key for key in found if key not in expected]
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected {', '.join(unexpected)}")
    for key, tensor in expected.items():
        shape = tuple(getattr(found.get(key), "shape", ()))
        if key in found and shape != tuple(tensor.shape):
            problems.append(f"{key} has shape {shape}, expected {tuple(tensor.shape)}")
    return "; ".join(problems)
