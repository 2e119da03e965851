"""Training and evaluation of the aesthetic heads on AVA- or CADB-format data (METHODS.md §4).

Accepted data: a folder of images and a label file.

- AVA (`format="ava"`): the label file is AVA.txt as released, one image per line, space
  separated: `index image_id c1 .. c10 tag1 tag2 challenge_id`, where c1..c10 count the votes
  for scores 1..10; the image is `<folder>/<image_id>.jpg`. Listed images missing from the
  folder are skipped and counted (the public AVA downloads lack a few).
- CADB (`format="cadb"`): the label file is CADB's `composition_scores.json`,
  `{"<image name>": {"scores": [5 ratings 1..5], "mean": m, "dist": [5 probabilities]}}`
  ("dist" is used when present, else the ratings are counted). Read from the label file's
  folder when present: `composition_attributes.json` (`{"<image>": {"RuleOfThirds": x,
  "BalacingElements": x, "DoF": x, "Object": x, "Symmetry": x, "Repetition": x}}`, AADB's
  spelling "BalacingElements" and "BalancingElements" both accepted; 0 means not annotated, as
  in SAMP-Net's attribute loss), `emdloss_weight.json` (`{"<image>": weight}`) and, when a
  `split` is asked for, `split.json` (`{"train": [names], "test": [names]}`). Images are
  `<folder>/<name>` or `<folder>/images/<name>`.

Loss: weighted EMD (r = 2) of the fused distribution + the same for the NIMA head + 0.1 x the
mean squared error of the annotated attributes. Per-image weights come from the data
(CADB's emdloss_weight.json) or, where the data has none, from the inverse frequency of the
image's rounded mean score, so the rare very good and very bad pictures are not drowned by the
middling majority.

The backbone is frozen by default (heads only; its batch-norm statistics always stay
ImageNet's). Frozen backbone features are computed once per image and reused every step when
they fit in memory (AVA's 255k images do not: then they are computed per batch).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from cinestage.assess.aesthetics import (
    ATTRIBUTES,
    AVA_BINS,
    AestheticHeads,
    AestheticNet,
    AestheticScorer,
    HeadConfig,
    HeadOutputs,
    distribution_moments,
    prepare_frames,
)
from cinestage.assess.metrics import binary_accuracy_from_means, correlations, emd, emd_loss
from cinestage.errors import CinestageError, ModelError

EMD_R = 2
ATTRIBUTE_LOSS_WEIGHT = 0.1
CADB_BINS = 5
AVA_FIELDS = 15
# CADB's attribute keys (from AADB) in the order of ATTRIBUTES, with accepted spellings.
CADB_ATTRIBUTE_KEYS: tuple[tuple[str, ...], ...] = (
    ("RuleOfThirds",), ("BalacingElements", "BalancingElements"), ("DoF",), ("Object",), ("Symmetry",),
    ("Repetition",))
FEATURE_CACHE_BYTES = 2 << 30
# The paper's AVA figures (METHODS.md §1), printed beside ours.
PAPER_AVA = {"SAMP+attributes (paper)": (82.48, 0.071, 0.774, 0.760),
             "NIMA(MobileNet) (paper)": (80.36, 0.081, 0.518, 0.510)}


@dataclass(frozen=True)
class LabelledImage:
    """path: the image; distribution: (bins,) sums to 1; attributes: (6,) in ATTRIBUTES order,
    NaN where not annotated; weight: the image's weight in the EMD loss."""

    path: Path
    distribution: np.ndarray
    attributes: np.ndarray
    weight: float


@dataclass(frozen=True)
class AestheticDataset:
    format: str
    bins: int
    items: tuple[LabelledImage, ...]
    skipped: int  # listed images that are not in the folder

    @property
    def has_attributes(self) -> bool:
        return any(np.isfinite(item.attributes).any() for item in self.items)

    @property
    def target(self) -> str:
        return "composition" if self.format == "cadb" else "aesthetic"


def load_ava(folder: str | Path, labels: str | Path) -> AestheticDataset:
    folder, labels = Path(folder), Path(labels)
    rows = []
    for number, line in enumerate(_read_text(labels).splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        where = f"{labels}:{number}"
        if len(fields) != AVA_FIELDS:
            raise CinestageError(where, f"expected {AVA_FIELDS} space-separated fields (index, image id, 10 vote "
                                        f"counts, 2 tags, challenge id), found {len(fields)}")
        try:
            counts = np.array([float(c) for c in fields[2:12]])
        except ValueError:
            raise CinestageError(where, "the 10 vote counts must be numbers") from None
        if (counts < 0).any() or counts.sum() <= 0:
            raise CinestageError(where, "vote counts must be non-negative with at least one vote")
        rows.append((folder / f"{fields[1]}.jpg", counts / counts.sum(), None, None))
    return _dataset("ava", AVA_BINS, rows, labels, folder)


def load_cadb(folder: str | Path, labels: str | Path, split: str | None = None) -> AestheticDataset:
    folder, labels = Path(folder), Path(labels)
    scores = _read_json(labels)
    attributes = _read_json(labels.parent / "composition_attributes.json", required=False)
    weights = _read_json(labels.parent / "emdloss_weight.json", required=False)
    names = list(scores)
    if split is not None:
        splits = _read_json(labels.parent / "split.json")
        if split not in splits:
            raise CinestageError(str(labels.parent / "split.json"), f"no split {split!r} (has {', '.join(splits)})")
        names = list(splits[split])
    image_dir = folder / "images" if (folder / "images").is_dir() else folder
    rows = []
    for name in names:
        where = f"{labels}: {name}"
        if name not in scores:
            raise CinestageError(where, "image listed in split.json has no scores")
        rows.append((image_dir / name, _cadb_distribution(scores[name], where),
                     _cadb_attributes(attributes.get(name), where) if attributes else None,
                     float(weights[name]) if name in weights else None))
    return _dataset("cadb", CADB_BINS, rows, labels, folder)


def load_dataset(folder: str | Path, labels: str | Path, format: str, split: str | None = None) -> AestheticDataset:
    if format == "ava":
        return load_ava(folder, labels)
    if format == "cadb":
        return load_cadb(folder, labels, split)
    raise CinestageError(str(labels), f"unknown label format {format!r}; use 'ava' or 'cadb'")


def _cadb_distribution(entry: dict, where: str) -> np.ndarray:
    try:
        if "dist" in entry:
            p = np.asarray(entry["dist"], float)
        else:
            ratings = np.asarray(entry["scores"], float)
            p = np.array([(ratings == level).sum() for level in range(1, CADB_BINS + 1)], float)
    except (KeyError, TypeError, ValueError):
        raise CinestageError(where, 'expected {"dist": [5 probabilities]} or {"scores": [ratings 1..5]}') from None
    if p.shape != (CADB_BINS,) or (p < 0).any() or p.sum() <= 0:
        raise CinestageError(where, f"expected {CADB_BINS} non-negative score probabilities, got {p.tolist()}")
    return p / p.sum()


def _cadb_attributes(entry: dict | None, where: str) -> np.ndarray:
    values = np.full(len(ATTRIBUTES), np.nan)
    for i, keys in enumerate(CADB_ATTRIBUTE_KEYS):
        value = next((entry[k] for k in keys if entry and k in entry), None)
        if value is None:
            continue
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise CinestageError(where, f"attribute {keys[0]} must be a number, got {value!r}") from None
        # SAMP-Net's attribute loss leaves zeros out: in AADB-style labels 0 means "not judged".
        values[i] = value if value != 0 else np.nan
    return values


def _dataset(fmt: str, bins: int, rows: list, labels: Path, folder: Path) -> AestheticDataset:
    present = [row for row in rows if row[0].is_file()]
    if not present:
        raise CinestageError(str(folder), f"none of the {len(rows)} images listed in {labels} is in the folder")
    distributions = np.stack([row[1] for row in present])
    balance = balancing_weights(distributions)
    items = tuple(
        LabelledImage(path, dist, attrs if attrs is not None else np.full(len(ATTRIBUTES), np.nan),
                      weight if weight is not None else float(balance[i]))
        for i, (path, dist, attrs, weight) in enumerate(present))
    return AestheticDataset(fmt, bins, items, skipped=len(rows) - len(present))


def balancing_weights(distributions: np.ndarray) -> np.ndarray:
    """(N,) weights, mean 1, inversely proportional to how common each image's rounded mean score is."""
    means = np.rint(distribution_moments(distributions)[0]).astype(int)
    counts = np.bincount(means)[means].astype(float)
    weights = 1.0 / counts
    return weights / weights.mean()


def aesthetic_loss(out: HeadOutputs, target: torch.Tensor, attributes: torch.Tensor,
                   weights: torch.Tensor) -> torch.Tensor:
    """Weighted EMD (r = 2) of the fused and the NIMA distributions + 0.1 x attribute MSE over
    the annotated attributes (NaN in `attributes` = not annotated)."""

    def weighted_emd(p: torch.Tensor) -> torch.Tensor:
        per_image = torch.stack([emd_loss(p[i], target[i], r=EMD_R) for i in range(len(p))])
        return (weights * per_image).mean()

    annotated = torch.isfinite(attributes)
    squared = (out.attributes - torch.nan_to_num(attributes)) ** 2 * annotated
    attribute_mse = squared.sum() / annotated.sum().clamp(min=1)
    return weighted_emd(out.distribution) + weighted_emd(out.nima) + ATTRIBUTE_LOSS_WEIGHT * attribute_mse


class _Inputs:
    """A dataset's network inputs: images read and prepared on demand; with a frozen backbone,
    its features computed once and kept when they fit in FEATURE_CACHE_BYTES."""

    def __init__(self, net: AestheticNet, data: AestheticDataset, cache: bool, batch: int = 16):
        self.net, self.data, self.batch = net, data, batch
        self.target = torch.tensor(np.stack([i.distribution for i in data.items]), dtype=torch.float32)
        self.attributes = torch.tensor(np.stack([i.attributes for i in data.items]), dtype=torch.float32)
        self.weights = torch.tensor([i.weight for i in data.items], dtype=torch.float32)
        self.features: torch.Tensor | None = None
        self.saliency: torch.Tensor | None = None
        n = len(data.items)
        if cache and n * 1280 * 7 * 7 * 4 <= FEATURE_CACHE_BYTES:
            parts = [self._features(np.arange(i, min(i + batch, n))) for i in range(0, n, batch)]
            self.features = torch.cat([f for f, _ in parts])
            self.saliency = torch.cat([s for _, s in parts])

    def _features(self, index: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        images, saliency = prepare_frames([_read_rgb(self.data.items[i].path) for i in index])
        with torch.no_grad():
            return self.net.features(images), saliency

    def outputs(self, index: np.ndarray, grad_backbone: bool) -> HeadOutputs:
        if self.features is not None:
            return self.net.heads(self.features[index], self.saliency[index])
        if grad_backbone:
            return self.net(*prepare_frames([_read_rgb(self.data.items[i].path) for i in index]))
        return self.net.heads(*self._features(index))

    def loss(self, index: np.ndarray, grad_backbone: bool) -> torch.Tensor:
        out = self.outputs(index, grad_backbone)
        return aesthetic_loss(out, self.target[index], self.attributes[index], self.weights[index])

    def dataset_loss(self) -> float:
        """The loss over the whole set with dropout off, for a before/after comparison."""
        was_training = self.net.training
        self.net.eval()
        n, total = len(self.data.items), 0.0
        with torch.no_grad():
            for i in range(0, n, self.batch):
                index = np.arange(i, min(i + self.batch, n))
                total += float(self.loss(index, grad_backbone=False)) * len(index)
        self.net.train(was_training)
        return total / n


@dataclass
class TrainingRun:
    scorer: AestheticScorer
    losses: list[float]  # per step, with dropout on
    initial_loss: float  # over the training set, dropout off, before the first step
    final_loss: float  # the same after the last step
    checkpoint: Path | None
    seconds: float


def train_aesthetics(folder: str | Path, labels: str | Path, format: str = "ava", *, steps: int = 1000,
                     batch_size: int = 16, lr: float = 3e-4, fine_tune: bool = False, backbone_lr: float = 1e-5,
                     split: str | None = None, out: str | Path | None = None, seed: int = 0,
                     features: nn.Module | None = None, log: Callable[[str], None] = print,
                     progress: Callable[[int, int], None] | None = None) -> TrainingRun:
    """Train the heads (and, with fine_tune, the backbone) for `steps` Adam steps; save the
    checkpoint to `out` when given. `features` shares an already-loaded ImageNet backbone; it is
    ignored when fine-tuning, which always changes a fresh copy."""
    start = time.perf_counter()
    data = load_dataset(folder, labels, format, split)
    if steps < 1 or batch_size < 1:
        raise CinestageError("training", f"steps and batch size must be positive (got {steps}, {batch_size})")
    log(f"aesthetic training: {len(data.items)} {format.upper()}-format images"
        + (f" ({data.skipped} listed but missing)" if data.skipped else "")
        + f", {data.bins} score bins, attributes {'annotated' if data.has_attributes else 'absent'}, "
          f"backbone {'fine-tuned' if fine_tune else 'frozen'}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = AestheticNet(AestheticHeads(HeadConfig(bins=data.bins)),
                           None if fine_tune or features is None else features)
        net.features.requires_grad_(fine_tune)
        groups = [{"params": net.heads.parameters(), "lr": lr}]
        if fine_tune:
            groups.append({"params": net.features.parameters(), "lr": backbone_lr})
        optimiser = torch.optim.Adam(groups)
        inputs = _Inputs(net, data, cache=not fine_tune, batch=batch_size)
        initial = inputs.dataset_loss()
        rng = np.random.default_rng(seed)
        n, losses = len(data.items), []
        net.train()
        for step in range(steps):
            index = rng.choice(n, size=min(batch_size, n), replace=False)
            loss = inputs.loss(index, grad_backbone=fine_tune)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(float(loss.detach()))
            if progress:
                progress(step + 1, steps)
            if (step + 1) % max(1, steps // 10) == 0:
                log(f"  step {step + 1}/{steps}: loss {np.mean(losses[-max(1, steps // 10):]):.4f}")
        final = inputs.dataset_loss()
    net.features.requires_grad_(False)
    info = {"trained": True, "target": data.target, "dataset_format": format, "images": len(data.items),
            "bins": data.bins, "attributes_trained": data.has_attributes, "fine_tuned": fine_tune,
            "steps": steps, "batch_size": batch_size, "lr": lr, "seed": seed, "emd_r": EMD_R,
            "initial_loss": initial, "final_loss": final}
    scorer = AestheticScorer(net, info)
    checkpoint = scorer.save(out) if out is not None else None
    seconds = time.perf_counter() - start
    log(f"loss over the training set {initial:.4f} -> {final:.4f} in {seconds:.1f} s"
        + (f"; heads saved to {checkpoint}" if checkpoint else ""))
    return TrainingRun(scorer, losses, initial, final, checkpoint, seconds)


@dataclass(frozen=True)
class Figures:
    """ACC: fraction of images on the right side of the threshold; EMD with r = EMD_R; PLCC
    (after the 4-parameter logistic fit) and SRCC of the mean scores. NaN where undefined
    (a constant prediction has no correlation)."""

    ACC: float
    EMD: float
    PLCC: float
    SRCC: float


@dataclass(frozen=True)
class AestheticEvaluation:
    images: int
    format: str
    threshold: float
    r: int
    model: Figures
    nima: Figures

    def as_dict(self) -> dict:
        return asdict(self)


def evaluate_aesthetics(scorer: AestheticScorer, folder: str | Path, labels: str | Path, format: str = "ava", *,
                        split: str | None = None, threshold: float | None = None, batch_size: int = 16,
                        log: Callable[[str], None] = print) -> AestheticEvaluation:
    """Print and return ACC / EMD / PLCC / SRCC of the fused head and of the NIMA head.

    threshold: "good" means a mean score above it; AVA's convention is 5 (of 1..10); for CADB
    (1..5, whose papers report no accuracy) the default is the middle of the scale, 3.
    """
    if not scorer.trained:
        raise ModelError("aesthetic model", "no trained aesthetic head to evaluate; train or load one first")
    data = load_dataset(folder, labels, format, split)
    if data.bins != scorer.bins:
        raise CinestageError(str(labels), f"{format.upper()} data has {data.bins} score bins, the model "
                                          f"predicts {scorer.bins}")
    if threshold is None:
        threshold = 5.0 if format == "ava" else (1 + data.bins) / 2
    fused, nima = [], []
    for i in range(0, len(data.items), batch_size):
        out = scorer.predict(*prepare_frames([_read_rgb(item.path) for item in data.items[i:i + batch_size]]))
        fused.append(out.distribution.numpy())
        nima.append(out.nima.numpy())
    truth = np.stack([item.distribution for item in data.items])
    evaluation = AestheticEvaluation(len(data.items), format, threshold, EMD_R,
                                     _figures(np.concatenate(fused), truth, threshold),
                                     _figures(np.concatenate(nima), truth, threshold))
    log(f"aesthetic evaluation on {evaluation.images} {format.upper()}-format images "
        f"(ACC: mean > {threshold:g}; EMD with r = {EMD_R}; PLCC after the logistic fit)")
    log(f"  {'':26}{'ACC %':>8}{'EMD':>8}{'PLCC':>8}{'SRCC':>8}")
    rows = {"SAMP+attributes (ours)": evaluation.model, "NIMA head (ours)": evaluation.nima}
    for name, f in rows.items():
        log(f"  {name:26}{100 * f.ACC:8.2f}{f.EMD:8.3f}{f.PLCC:8.3f}{f.SRCC:8.3f}")
    if format == "ava":
        for name, (acc, e, p, s) in PAPER_AVA.items():
            log(f"  {name:26}{acc:8.2f}{e:8.3f}{p:8.3f}{s:8.3f}")
    return evaluation


def _figures(predicted: np.ndarray, truth: np.ndarray, threshold: float) -> Figures:
    predicted = predicted.astype(np.float64)
    predicted /= predicted.sum(axis=1, keepdims=True)
    pred_mean, true_mean = distribution_moments(predicted)[0], distribution_moments(truth)[0]
    try:
        c = correlations(pred_mean, true_mean)
        plcc, srcc = c["PLCC"], c["SRCC"]
    except ValueError:  # constant predictions, or fewer than 3 images
        plcc = srcc = math.nan
    return Figures(binary_accuracy_from_means(pred_mean, true_mean, threshold),
                   float(np.mean(emd(predicted, truth, r=EMD_R))), plcc, srcc)


def _read_rgb(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except (OSError, ValueError) as exc:
        raise CinestageError(str(path), f"cannot read the image ({exc})") from None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CinestageError(str(path), f"cannot read the label file ({exc})") from None


def _read_json(path: Path, required: bool = True) -> dict:
    if not path.is_file() and not required:
        return {}
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise CinestageError(str(path), f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise CinestageError(str(path), "expected a JSON object keyed by image name")
    return data
