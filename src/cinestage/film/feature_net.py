"""Feature-estimation network (Jiang et al. 2020, METHODS.md §3): 2D joints -> Toric angles and
character features.

Input: 28 channels (7 canonical joints x (x, y) x actors A, B; joints2d.network_frames) over an
8-frame window. Three Conv1d branches see three variants of the window: with the mean y taken
out (theta: how far apart and how big the actors look, not where they sit vertically), with the
mean x taken out (phi: the vertical structure), and with both taken out (the actors' own
relation: distance and facing cosines).

Outputs, per window: theta; phi as (cos, sin) so a camera on the far side of the pair (phi near
pi) is not a wrap-around jump for the regression; and the 7 non-one-hot character features.
Targets are standardised with statistics stored in the checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cinestage.errors import ModelError
from cinestage.files import digest, load_packaged, save_torch
from cinestage.film.joints2d import CHANNELS, WINDOW

CHARACTER_OUTPUTS = 7
OUTPUTS = 1 + 2 + CHARACTER_OUTPUTS  # theta, (cos phi, sin phi), character features
DEFAULT_CHECKPOINT = "feature_net.pt"
FORMAT = "cinestage.feature_net/1"


def _branch() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(CHANNELS, 64, 3, padding=1), nn.BatchNorm1d(64), nn.ReLU(), nn.MaxPool1d(2),
        nn.Conv1d(64, 128, 3, padding=1), nn.BatchNorm1d(128), nn.ReLU(), nn.MaxPool1d(2),
        nn.Flatten(),  # 128 x 2 = 256
    )


def _head(k: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(128 * (WINDOW // 4), 128), nn.ReLU(), nn.Linear(128, k))


class FeatureNet(nn.Module):
    """(N, 28, 8) windows -> (N, 10) standardised [theta, cos phi, sin phi, 7 character]."""

    def __init__(self) -> None:
        super().__init__()
        self.theta_branch, self.phi_branch, self.character_branch = _branch(), _branch(), _branch()
        self.theta_head, self.phi_head, self.character_head = _head(1), _head(2), _head(CHARACTER_OUTPUTS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xs, ys = x[:, 0::2], x[:, 1::2]
        mean_x = xs.mean(dim=(1, 2), keepdim=True)
        mean_y = ys.mean(dim=(1, 2), keepdim=True)
        no_y = torch.stack([xs, ys - mean_y], 2).flatten(1, 2)
        no_x = torch.stack([xs - mean_x, ys], 2).flatten(1, 2)
        no_both = torch.stack([xs - mean_x, ys - mean_y], 2).flatten(1, 2)
        return torch.cat([
            self.theta_head(self.theta_branch(no_y)),
            self.phi_head(self.phi_branch(no_x)),
            self.character_head(self.character_branch(no_both)),
        ], dim=1)


@dataclass(frozen=True)
class FeatureEstimates:
    """Per-window estimates: theta, phi (radians) and the 7 character features (stage order)."""

    theta: np.ndarray  # (N,)
    phi: np.ndarray  # (N,)
    character: np.ndarray  # (N, 7)


class FeatureEstimator:
    """A trained FeatureNet with its target statistics; `estimate` takes windows, gives values."""

    def __init__(self, net: FeatureNet, target_mean: np.ndarray, target_std: np.ndarray, info: dict | None = None):
        self.net = net.eval()
        self.target_mean = np.asarray(target_mean, np.float32)
        self.target_std = np.asarray(target_std, np.float32)
        self.info = dict(info or {})

    def estimate(self, windows: np.ndarray, batch: int = 4096) -> FeatureEstimates:
        if len(windows) == 0:
            return FeatureEstimates(np.zeros(0), np.zeros(0), np.zeros((0, CHARACTER_OUTPUTS)))
        outs = []
        with torch.inference_mode():
            for i in range(0, len(windows), batch):
                outs.append(self.net(torch.from_numpy(np.ascontiguousarray(windows[i:i + batch], np.float32))).numpy())
        y = np.concatenate(outs) * self.target_std + self.target_mean
        return decode_outputs(y)

    def save(self, path: Path) -> None:
        save_torch({"format": FORMAT, "state_dict": self.net.state_dict(), "target_mean": self.target_mean.tolist(),
                    "target_std": self.target_std.tolist(), "info": self.info}, path)


# Distance is non-negative, the six cosines lie in [-1, 1].
_CHARACTER_LOW = np.array([0.0] + [-1.0] * 6)
_CHARACTER_HIGH = np.array([np.inf] + [1.0] * 6)


def decode_outputs(y: np.ndarray) -> FeatureEstimates:
    """Un-standardised (N, 10) network outputs -> angles and features."""
    return FeatureEstimates(theta=y[:, 0].astype(np.float64), phi=np.arctan2(y[:, 2], y[:, 1]).astype(np.float64),
                            character=np.clip(y[:, 3:], _CHARACTER_LOW, _CHARACTER_HIGH).astype(np.float64))


def encode_targets(theta: np.ndarray, phi: np.ndarray, character: np.ndarray) -> np.ndarray:
    """(N, 10) raw targets: theta, cos phi, sin phi, the first 7 character features."""
    return np.column_stack([theta, np.cos(phi), np.sin(phi), character[:, :CHARACTER_OUTPUTS]]).astype(np.float32)


def from_pretrained(path_or_name: str | Path = "default") -> FeatureEstimator:
    """The shipped checkpoint ("default") or a file written by `cinestage train feature-net`."""
    ckpt, path = load_packaged(path_or_name, "cinestage.film", DEFAULT_CHECKPOINT, FORMAT,
                               "feature-estimation checkpoint", "cinestage train feature-net")
    try:
        net = FeatureNet()
        net.load_state_dict(ckpt["state_dict"], strict=True)
        mean, std = np.asarray(ckpt["target_mean"], np.float32), np.asarray(ckpt["target_std"], np.float32)
        if mean.shape != (OUTPUTS,) or std.shape != (OUTPUTS,):
            raise ValueError("target statistics have the wrong shape")
    except Exception as exc:  # torch raises many unrelated types for a damaged file
        raise ModelError(str(path), f"cannot load the feature-estimation checkpoint: {_first_line(exc)}") from None
    info = dict(ckpt.get("info", {}))
    info["sha256"] = digest(path)
    return FeatureEstimator(net, mean, std, info)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
