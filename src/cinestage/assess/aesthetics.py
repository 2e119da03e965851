"""The learned aesthetic model (METHODS.md §4): ImageNet MobileNetV2 features, a NIMA head,
saliency-augmented multi-pattern pooling (SAMP) over 8 composition patterns, an attribute
branch, and a gated fusion of the attribute and composition branches into a score distribution.

Shapes: a frame is resized (not cropped: cropping changes the composition being judged) to
224x224 -> MobileNetV2 features (1280, 7, 7); its spectral-residual saliency map is (56, 56).
Heads:

- NIMA: global average pooling -> Dropout(0.75) -> Linear(1280 -> bins) -> softmax. Trained
  beside the fused head on the same targets; it is the paper's NIMA(MobileNet) baseline row.
- SAMP: a 1x1 convolution first reduces 1280 channels to 256 (27 partitions x 1281 inputs x
  384 outputs would make a 53 MB checkpoint; this keeps it near 13 MB). For each pattern,
  every partition's features are average-pooled over the partition and concatenated with the
  partition's mean saliency; a Linear layer per pattern maps that to a 384-d pattern feature.
  Pattern weights softmax(Linear(GAP(features) -> 8)) are the composition-pattern distribution
  and weight the sum of the 8 pattern features.
- Attributes and composition: two Linear+ReLU branches from the SAMP feature; 6 attributes are
  predicted from the attribute branch; sigmoid gates (Linear -> 2) scale the two branches
  before an MLP gives the fused distribution.

Partitions are soft masks: each cell of a map holds the fraction of its area inside the
partition, so cells a diagonal cuts count half on each side and any map size works.

Without trained heads (no checkpoint) nothing learned is meaningful: `AestheticScorer.untrained()`
reports `trained=False` with a note, gives only the saliency centroid, and no measures, so a
shot's fused score is built from the other measures.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from cinestage.assess import backbone
from cinestage.assess.measure import Measure
from cinestage.assess.saliency import saliency_centroid, saliency_map
from cinestage.errors import ModelError
from cinestage.files import load_torch, save_torch

FORMAT = "cinestage.aesthetics/1"
IMAGE_SIZE = 224
AVA_BINS = 10
NIMA_DROPOUT = 0.75
DROPOUT = 0.5

PATTERNS: tuple[str, ...] = (
    "horizontal_halves",  # top | bottom
    "vertical_halves",  # left | right
    "diagonal_triangles",  # split by the top-left -> bottom-right diagonal
    "anti_diagonal_triangles",  # split by the top-right -> bottom-left diagonal
    "centre_surround",  # the centre half-size crop | the rest
    "quarters",  # 2 x 2
    "diagonal_cross",  # four triangles cut by both diagonals
    "rule_of_thirds",  # 3 x 3
)
PATTERN_PARTS: tuple[int, ...] = (2, 2, 2, 2, 2, 4, 4, 9)

# Six attributes, as SAMP-Net means to predict (its config loses one to a missing comma and
# predicts five). Values follow AADB/CADB: roughly -1 (hurts the picture) ... +1 (helps it).
ATTRIBUTES: tuple[str, ...] = ("rule_of_thirds", "balancing_elements", "depth_of_field", "object_emphasis",
                               "symmetry", "repetition")


def _partition_labels(pattern: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Partition index of points (u right, v down, both in [0, 1]) under one pattern."""
    if pattern == 0:
        return (v >= 0.5).astype(int)
    if pattern == 1:
        return (u >= 0.5).astype(int)
    if pattern == 2:
        return (v > u).astype(int)
    if pattern == 3:
        return (u + v > 1).astype(int)
    if pattern == 4:
        return ((np.abs(u - 0.5) >= 0.25) | (np.abs(v - 0.5) >= 0.25)).astype(int)
    if pattern == 5:
        return 2 * (v >= 0.5) + (u >= 0.5)
    if pattern == 6:
        return 2 * (v > u) + (u + v > 1)
    if pattern == 7:
        return 3 * np.minimum((3 * v).astype(int), 2) + np.minimum((3 * u).astype(int), 2)
    raise ValueError(f"no pattern {pattern}")


@lru_cache(maxsize=64)
def partition_masks(pattern: int, height: int, width: int, samples: int = 12) -> np.ndarray:
    """(parts, height, width) float32: the share of each cell's area in each partition
    (estimated on samples x samples points per cell); every cell's shares sum to 1."""
    offsets = (np.arange(samples) + 0.5) / samples
    v = (np.arange(height)[:, None] + offsets[None, :]).reshape(-1) / height
    u = (np.arange(width)[:, None] + offsets[None, :]).reshape(-1) / width
    parts = np.arange(PATTERN_PARTS[pattern])[:, None, None]
    # Sample points on a diagonal fall exactly on the dividing line; nudging them both ways and
    # averaging splits them half and half instead of giving them all to one side.
    onehot = sum(np.broadcast_to(_partition_labels(pattern, u[None, :], v[:, None] + nudge), (len(v), len(u)))[None]
                 == parts for nudge in (-1e-9, 1e-9)) / 2
    return onehot.reshape(-1, height, samples, width, samples).mean(axis=(2, 4)).astype(np.float32)


def _pooling_weights(pattern: int, height: int, width: int, device: torch.device) -> torch.Tensor:
    """Masks scaled so that a weighted sum over a partition is its mean."""
    m = partition_masks(pattern, height, width)
    return torch.from_numpy(m / m.sum(axis=(1, 2), keepdims=True)).to(device)


class SAMP(nn.Module):
    """Saliency-augmented multi-pattern pooling: (features (B, C, h, w), saliency (B, S, S)) ->
    (fused pattern feature (B, out_dim), pattern distribution (B, 8))."""

    def __init__(self, in_channels: int = backbone.FEATURE_CHANNELS, reduced: int = 256, out_dim: int = 384):
        super().__init__()
        self.reduce = nn.Sequential(nn.Conv2d(in_channels, reduced, 1), nn.ReLU(inplace=True))
        self.patterns = nn.ModuleList(
            nn.Sequential(nn.Dropout(DROPOUT), nn.Linear(parts * (reduced + 1), out_dim), nn.ReLU(inplace=True),
                          nn.Dropout(DROPOUT))
            for parts in PATTERN_PARTS)
        self.pattern_weights = nn.Sequential(nn.Dropout(DROPOUT), nn.Linear(in_channels, len(PATTERNS)))

    def forward(self, features: torch.Tensor, saliency: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        weights = torch.softmax(self.pattern_weights(features.mean(dim=(2, 3))), dim=1)
        x = self.reduce(features)
        (h, w), (sh, sw) = x.shape[-2:], saliency.shape[-2:]
        pooled = []
        for k, layer in enumerate(self.patterns):
            part_features = torch.einsum("bchw,phw->bpc", x, _pooling_weights(k, h, w, x.device))
            part_saliency = torch.einsum("bhw,phw->bp", saliency, _pooling_weights(k, sh, sw, x.device))
            pooled.append(layer(torch.cat([part_features, part_saliency.unsqueeze(-1)], dim=-1).flatten(1)))
        return (torch.stack(pooled, dim=1) * weights.unsqueeze(-1)).sum(dim=1), weights


@dataclass(frozen=True)
class HeadConfig:
    bins: int = AVA_BINS
    reduced: int = 256
    pattern_dim: int = 384
    attribute_dim: int = 192


@dataclass
class HeadOutputs:
    """distribution, nima: (B, bins) probabilities; patterns: (B, 8); attributes: (B, 6)."""

    distribution: torch.Tensor
    nima: torch.Tensor
    patterns: torch.Tensor
    attributes: torch.Tensor


class AestheticHeads(nn.Module):
    """Everything above the backbone: (features (B, 1280, h, w), saliency (B, 56, 56)) -> HeadOutputs."""

    def __init__(self, config: HeadConfig = HeadConfig()):
        super().__init__()
        self.config = config
        c = config
        self.nima = nn.Sequential(nn.Dropout(NIMA_DROPOUT), nn.Linear(backbone.FEATURE_CHANNELS, c.bins))
        self.samp = SAMP(backbone.FEATURE_CHANNELS, c.reduced, c.pattern_dim)
        self.attribute_branch = nn.Sequential(nn.Linear(c.pattern_dim, c.attribute_dim), nn.ReLU(inplace=True),
                                              nn.Dropout(DROPOUT))
        self.attribute_out = nn.Linear(c.attribute_dim, len(ATTRIBUTES))
        self.composition_branch = nn.Sequential(nn.Linear(c.pattern_dim, c.pattern_dim - c.attribute_dim),
                                                nn.ReLU(inplace=True), nn.Dropout(DROPOUT))
        self.gates = nn.Sequential(nn.Linear(c.pattern_dim, 2), nn.Sigmoid())
        self.score = nn.Sequential(nn.Linear(c.pattern_dim, c.pattern_dim // 2), nn.ReLU(inplace=True),
                                   nn.Dropout(DROPOUT), nn.Linear(c.pattern_dim // 2, c.bins))

    def forward(self, features: torch.Tensor, saliency: torch.Tensor) -> HeadOutputs:
        nima = torch.softmax(self.nima(features.mean(dim=(2, 3))), dim=1)
        pattern_feature, patterns = self.samp(features, saliency)
        attribute_feature = self.attribute_branch(pattern_feature)
        composition_feature = self.composition_branch(pattern_feature)
        gates = self.gates(torch.cat([attribute_feature, composition_feature], dim=1))
        fused = torch.cat([gates[:, :1] * attribute_feature, gates[:, 1:] * composition_feature], dim=1)
        distribution = torch.softmax(self.score(fused), dim=1)
        return HeadOutputs(distribution, nima, patterns, self.attribute_out(attribute_feature))


class AestheticNet(nn.Module):
    """The ImageNet MobileNetV2 features and the heads: (images (B, 3, 224, 224) normalised,
    saliency (B, 56, 56)) -> HeadOutputs."""

    def __init__(self, heads: AestheticHeads, features: nn.Module | None = None):
        super().__init__()
        self.features = features if features is not None else backbone.imagenet_features()
        self.heads = heads

    def train(self, mode: bool = True) -> AestheticNet:
        super().train(mode)
        # Batch-norm statistics stay ImageNet's even when the backbone is fine-tuned: the small
        # batches that fit on a CPU would make them noise.
        self.features.eval()
        return self

    def forward(self, images: torch.Tensor, saliency: torch.Tensor) -> HeadOutputs:
        return self.heads(self.features(images), saliency)


def distribution_moments(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of score distributions over bins 1..K (last axis)."""
    scores = np.arange(1, p.shape[-1] + 1, dtype=np.float64)
    mean = (p * scores).sum(axis=-1)
    var = (p * (scores - mean[..., None]) ** 2).sum(axis=-1)
    return mean, np.sqrt(np.maximum(var, 0.0))


def prepare_frames(frames: Sequence[np.ndarray] | np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """RGB uint8 frames (each (H, W, 3)) -> (images (N, 3, 224, 224) ImageNet-normalised,
    saliency (N, 56, 56) in [0, 1])."""
    frames = _frame_list(frames)
    images = np.stack([cv2.resize(np.ascontiguousarray(f), (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_AREA)
                       for f in frames])
    tensor = torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(255.0)
    saliency = torch.from_numpy(np.stack([saliency_map(f) for f in frames]))
    return backbone.imagenet_normalisation()(tensor), saliency


def _frame_list(frames: Sequence[np.ndarray] | np.ndarray) -> list[np.ndarray]:
    if isinstance(frames, np.ndarray) and frames.ndim == 3:
        frames = [frames]
    out = [np.asarray(f) for f in frames]
    for f in out:
        if f.ndim != 3 or f.shape[2] != 3 or f.dtype != np.uint8:
            raise ValueError(f"expected RGB uint8 frames of shape (H, W, 3), got {f.dtype} {f.shape}")
    if not out:
        raise ValueError("no frames to score")
    return out


@dataclass(frozen=True)
class AestheticScores:
    """Scores of one shot (a frame, or frames sampled from a shot; shot values average frames).

    distribution: (bins,) score probabilities over 1..bins; mean, std: its moments (1..bins);
    frame_means: (T,) per-frame mean scores; nima_distribution, nima_mean: the NIMA head's;
    pattern_distribution: (8,) over `pattern_names`; attributes: (6,) in [-1, 1] over
    `attribute_names`, None when the head was not trained with attribute labels;
    saliency_centroid: (2,) saliency-weighted centre, screen coordinates [-1, 1] with y up.
    Everything learned is None when `trained` is False; `note` says why in words.
    """

    trained: bool
    note: str
    saliency_centroid: np.ndarray
    target: str = "aesthetic"
    distribution: np.ndarray | None = None
    mean: float | None = None
    std: float | None = None
    frame_means: np.ndarray | None = None
    nima_distribution: np.ndarray | None = None
    nima_mean: float | None = None
    pattern_distribution: np.ndarray | None = None
    attributes: np.ndarray | None = None
    pattern_names: tuple[str, ...] = PATTERNS
    attribute_names: tuple[str, ...] = ATTRIBUTES

    @property
    def dominant_pattern(self) -> str | None:
        if self.pattern_distribution is None:
            return None
        return self.pattern_names[int(np.argmax(self.pattern_distribution))]

    def to_measures(self) -> list[Measure]:
        """The learned scores as measures; empty for an untrained model (it has none to give)."""
        if not self.trained:
            return []
        bins = len(self.distribution)
        measures = [Measure(f"{self.target}_score", float(self.mean), 1.0, float(bins), "higher",
                            curve=self.frame_means, unit=f"mean opinion score, 1-{bins}")]
        if self.attributes is not None:
            measures += [Measure(f"attribute_{name}", float(value), -1.0, 1.0, "higher",
                                 unit="composition attribute, -1 hurts .. +1 helps")
                         for name, value in zip(self.attribute_names, self.attributes, strict=True)]
        return measures


UNTRAINED_NOTE = ("no trained aesthetic head: the score distribution, composition patterns and attributes "
                  "need one (train with `cinestage train aesthetics` or "
                  "cinestage.assess.aesthetic_training.train_aesthetics, load with "
                  "cinestage.assess.aesthetics.from_pretrained); only the saliency centroid is reported")


class AestheticScorer:
    """Scores frames with a trained AestheticNet, or says plainly that it has none."""

    def __init__(self, net: AestheticNet | None, info: dict | None = None):
        self.net = net.eval() if net is not None else None
        self.info = dict(info or {})

    @classmethod
    def untrained(cls) -> AestheticScorer:
        return cls(None, {"trained": False})

    @property
    def trained(self) -> bool:
        return self.net is not None

    @property
    def bins(self) -> int | None:
        return self.net.heads.config.bins if self.net is not None else None

    def predict(self, images: torch.Tensor, saliency: torch.Tensor) -> HeadOutputs:
        """Network outputs for prepared inputs (see prepare_frames), without gradients."""
        if self.net is None:
            raise ModelError("aesthetic model", UNTRAINED_NOTE)
        with torch.inference_mode():
            return self.net(images, saliency)

    def score_frames(self, frames: Sequence[np.ndarray] | np.ndarray, batch: int = 16) -> AestheticScores:
        """Score RGB uint8 frames ((H, W, 3) each, or one (H, W, 3) array) as one shot."""
        frames = _frame_list(frames)
        if self.net is None:
            centroids = np.stack([saliency_centroid(saliency_map(f)) for f in frames])
            return AestheticScores(trained=False, note=UNTRAINED_NOTE, saliency_centroid=centroids.mean(axis=0))
        outputs = []
        for i in range(0, len(frames), batch):
            images, saliency = prepare_frames(frames[i:i + batch])
            out = self.predict(images, saliency)
            outputs.append((out, saliency.numpy()))
        distributions = np.concatenate([o.distribution.numpy() for o, _ in outputs]).astype(np.float64)
        nima = np.concatenate([o.nima.numpy() for o, _ in outputs]).astype(np.float64)
        patterns = np.concatenate([o.patterns.numpy() for o, _ in outputs]).astype(np.float64)
        attributes = np.concatenate([o.attributes.numpy() for o, _ in outputs]).astype(np.float64)
        centroids = np.concatenate([[saliency_centroid(s) for s in sal] for _, sal in outputs])
        distribution = distributions.mean(axis=0)
        mean, std = distribution_moments(distribution)
        nima_distribution = nima.mean(axis=0)
        learned_attributes = bool(self.info.get("attributes_trained"))
        return AestheticScores(
            trained=True, note=f"trained head ({self.info.get('dataset_format', 'unknown')} data)",
            saliency_centroid=centroids.mean(axis=0), target=self.info.get("target", "aesthetic"),
            distribution=distribution, mean=float(mean), std=float(std),
            frame_means=distribution_moments(distributions)[0],
            nima_distribution=nima_distribution, nima_mean=float(distribution_moments(nima_distribution)[0]),
            pattern_distribution=patterns.mean(axis=0),
            attributes=np.clip(attributes.mean(axis=0), -1.0, 1.0) if learned_attributes else None)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the heads (and a fine-tuned backbone only if there is one) through a temporary
        sibling and a rename; the ImageNet backbone is never stored, it is always the same file."""
        if self.net is None:
            raise ModelError(str(path), "an untrained aesthetic model has nothing to save")
        path = Path(path)
        checkpoint = {
            "format": FORMAT,
            "config": dict(vars(self.net.heads.config)),
            "heads": self.net.heads.state_dict(),
            "backbone": self.net.features.state_dict() if self.info.get("fine_tuned") else None,
            # A JSON round trip fails here, at save time, on values torch.load(weights_only=True)
            # would refuse to read back.
            "info": json.loads(json.dumps(self.info)),
        }
        save_torch(checkpoint, path)
        return path


def from_pretrained(path: str | os.PathLike, features: nn.Module | None = None) -> AestheticScorer:
    """Heads trained by `train_aesthetics` on the ImageNet MobileNetV2 backbone.

    `features` lets a caller share one already-loaded ImageNet backbone between models; it is
    not used (a fresh copy is loaded) when the checkpoint holds a fine-tuned backbone.
    """
    source = str(path)
    checkpoint = load_torch(path, FORMAT, "aesthetic head checkpoint not found; cinestage ships none: train one on "
                                          "AVA- or CADB-format data with `cinestage train aesthetics`")
    try:
        heads = AestheticHeads(HeadConfig(**checkpoint["config"]))
        heads.load_state_dict(checkpoint["heads"], strict=True)
        info = dict(checkpoint["info"])
        tuned = checkpoint.get("backbone")
        if tuned is not None:
            features = backbone.imagenet_features()
            features.load_state_dict(tuned, strict=True)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ModelError(source, f"checkpoint does not fit the aesthetic model: {_first_line(exc)}") from None
    info["sha256"] = _sha256(Path(path))[:16]
    return AestheticScorer(AestheticNet(heads, features), info)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
