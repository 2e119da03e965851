"""VSFA no-reference video quality (Li et al. 2019, "Quality Assessment of In-the-Wild Videos";
reference code lidq92/VSFA), with the clip streamed instead of held in memory.

Per frame, an ImageNet ResNet-50 up to layer4 gives the global mean and the global standard
deviation of its 2048 channels (4096 values). The head maps them through Linear(4096 -> 128),
a GRU(128 -> 32) from a zero state and Linear(32 -> 1) to a frame score q_t; the subjectively
inspired temporal pooling (tau = 12, beta = 0.5) turns the scores into a curve q'_t whose mean
is the video score.

The reference decodes a whole clip into one float tensor before anything else (1.5 GB for an
8 s 960x540 clip). Here frames go through the backbone one batch at a time and the GRU carries
its hidden state from batch to batch, so memory holds one batch of frames plus T floats, and the
scores equal those of one pass over the whole clip.

Scores are in the units the head was trained on: MOS divided by the largest MOS of the training
set (for the published VSFA.pt, KoNViD-1k's 4.64), so the best-rated training video is 1.0 and
MOS 1-5 maps to about 0.22-1.08. Measures report them on [0, 1], higher better.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from torchvision.models import ResNet50_Weights, resnet50

from cinestage.assess.backbone import IMAGENET_MEAN, IMAGENET_STD
from cinestage.assess.measure import Measure
from cinestage.assess.metrics import correlations, srcc
from cinestage.errors import CinestageError, ModelError, VideoError
from cinestage.files import atomic_path, save_torch
from cinestage.film.video import FrameReader, read_frames

FEATURE_SIZE = 4096  # 2048 channel means + 2048 channel standard deviations of ResNet-50 layer4
TAU = 12  # frames of memory in the temporal pooling
BETA = 0.5  # weight of the softmin-weighted mean against the recent minimum
RESNET50_URL = ResNet50_Weights.IMAGENET1K_V1.url
RESNET50_FILE = RESNET50_URL.rsplit("/", 1)[-1]  # resnet50-0676ba61.pth
VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".ts"})
SCORE_UNIT = "MOS / largest training MOS (x4.64 for MOS 1-5 with the KoNViD-1k VSFA.pt)"
PAPER_KONVID = "SRCC 0.773, KRCC 0.578, PLCC 0.775, RMSE 0.42"  # mean of 10 splits

Progress = Callable[[int, int], None]


# --- the head ------------------------------------------------------------------------------


class ANN(nn.Module):
    """The reference's dimension reduction. `fc` is applied n_layers - 1 times with shared
    weights; VSFA uses n_layers = 1, so it is never applied, but it exists in the reference
    and so in its checkpoints."""

    def __init__(self, input_size: int = FEATURE_SIZE, reduced_size: int = 128, n_layers: int = 1,
                 dropout_p: float = 0.5):
        super().__init__()
        self.n_layers = n_layers
        self.fc0 = nn.Linear(input_size, reduced_size)
        self.dropout = nn.Dropout(p=dropout_p)
        self.fc = nn.Linear(reduced_size, reduced_size)

    def forward(self, x: Tensor) -> Tensor:
        x = self.fc0(x)
        for _ in range(self.n_layers - 1):
            x = self.fc(self.dropout(torch.relu(x)))
        return x


class VSFA(nn.Module):
    """The VSFA head; its state-dict keys are the reference's (`ann.fc0`, `ann.fc`, `rnn`, `q`)."""

    def __init__(self, input_size: int = FEATURE_SIZE, reduced_size: int = 128, hidden_size: int = 32):
        super().__init__()
        self.ann = ANN(input_size, reduced_size, 1)
        self.rnn = nn.GRU(reduced_size, hidden_size, batch_first=True)
        self.q = nn.Linear(hidden_size, 1)

    def frame_scores(self, features: Tensor, hidden: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Frame scores q (B, T) for features (B, T, input_size) and the GRU state after them
        (1, B, hidden_size). `hidden` None starts from zeros; passing the returned state back in
        continues the same clips, which is how a clip is scored in pieces."""
        out, hidden = self.rnn(self.ann(features), hidden)
        return self.q(out).squeeze(-1), hidden

    def forward(self, features: Tensor, input_length: Tensor | Sequence[int] | None = None) -> Tensor:
        """Video scores (B,) for features (B, T, input_size) whose row i holds input_length[i]
        frames followed by padding (all T frames when None). The GRU runs over the padding too,
        as in the reference; running forward in time, it cannot change the frames before it."""
        q, _ = self.frame_scores(features)
        lengths = _lengths(input_length, q.shape[0], q.shape[1])
        return torch.stack([temporal_pool(q[i, :n]).mean() for i, n in enumerate(lengths)])


def _lengths(input_length: Tensor | Sequence[int] | None, batch: int, frames: int) -> list[int]:
    if input_length is None:
        return [frames] * batch
    values = torch.as_tensor(input_length).reshape(-1).tolist()  # the reference passes (B, 1) floats
    if len(values) != batch or any(v != int(v) or not 1 <= v <= frames for v in values):
        raise ValueError(f"input_length must hold {batch} whole numbers in 1..{frames}, got {values}")
    return [int(v) for v in values]


def temporal_pool(q: Tensor, tau: int = TAU, beta: float = BETA) -> Tensor:
    """q' (T,) from frame scores q (T,): beta * m_t + (1 - beta) * l_t, where l_t is the lowest
    score among frames t-tau+1..t (fewer at the start) and m_t the softmin-weighted mean of
    frames t..t+tau-1 (fewer at the end). Differentiable, for training."""
    n = q.shape[0]
    if n == 0:
        raise ValueError("temporal pooling needs at least one frame score")
    t = torch.arange(n, device=q.device)[:, None]
    k = torch.arange(tau, device=q.device)
    # Indices before the start repeat frame 0, which is in every such window already: min unchanged.
    recent_min = q[(t - k).clamp(min=0)].amin(dim=1)
    ahead = t + k
    window = q[ahead.clamp(max=n - 1)]
    # softmax(-q) is the reference's sum(q e^-q) / sum(e^-q) without overflow for very low scores.
    weights = torch.softmax((-window).masked_fill(ahead >= n, -math.inf), dim=1)
    return beta * (weights * window).sum(dim=1) + (1 - beta) * recent_min


def from_pretrained(path: str | Path) -> VSFA:
    """The VSFA head from a state dict file (the reference's models/VSFA.pt, or one written by
    `train_vsfa`), loaded strictly, in eval mode on the CPU."""
    path = Path(path)
    state = _weights_file(path, "VSFA", "VSFA weights not found (models/VSFA.pt of lidq92/VSFA, or a file written "
                                        "by train_vsfa)")
    model = VSFA()
    misfit = _misfit(model.state_dict(), state)
    if misfit:
        raise ModelError(str(path), f"does not fit VSFA: {misfit}")
    model.load_state_dict(state, strict=True)
    return model.eval()


def _misfit(expected: Mapping[str, Tensor], state: Mapping[str, Tensor]) -> str | None:
    """Why `state` cannot load strictly into a module with `expected`, or None when it can."""
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        return f"missing keys {_few(missing)}, unexpected keys {_few(unexpected)}"
    wrong = [f"{k} {tuple(state[k].shape)} (expected {tuple(v.shape)})"
             for k, v in expected.items() if state[k].shape != v.shape]
    return f"wrong shapes {_few(wrong)}" if wrong else None


def _few(items: list[str], shown: int = 5) -> str:
    return str(items) if len(items) <= shown else f"{items[:shown]} and {len(items) - shown} more"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# --- frame features ------------------------------------------------------------------------


class FrameFeatures(nn.Module):
    """Per frame, [global mean, global standard deviation] over the positions of a CNN trunk's
    last stage (ResNet-50 layer4: 2 x 2048 = 4096 values), on ImageNet-normalised RGB, as the
    reference's CNNfeatures.py. The trunk is frozen and stays in eval mode, so BatchNorm uses its
    running statistics and a frame's features do not depend on the frames batched with it (an
    early version of the reference left it in training mode; its later code calls eval())."""

    def __init__(self, trunk: nn.Module, name: str):
        super().__init__()
        self.trunk = trunk.requires_grad_(False).eval()
        self.name = name
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> FrameFeatures:
        # A parent's .train() must not switch BatchNorm to batch statistics.
        return super().train(False)

    def forward(self, images: Tensor) -> Tensor:
        """(B, 3, H, W) RGB in [0, 1] -> (B, 4096). The std is the unbiased one (torch.std), as
        in the reference; it needs more than one position, so frames larger than 32 pixels on a side."""
        positions = self.trunk((images - self.mean) / self.std).flatten(2)
        return torch.cat([positions.mean(dim=2), positions.std(dim=2)], dim=1)

    @torch.no_grad()
    def from_frames(self, images: Sequence[np.ndarray]) -> Tensor:
        """(n, 4096) for n uint8 RGB images (H, W, 3) of one size."""
        batch = torch.from_numpy(np.stack(images)).to(self.mean.device)
        # The permuted view stays channels-last: oneDNN's convolutions run about 2x faster on it on
        # a CPU than on a contiguous NCHW copy, and differ from it only by float rounding.
        return self(batch.permute(0, 3, 1, 2).float().div_(255))


def resnet50_trunk(net: nn.Module | None = None) -> nn.Sequential:
    """A torchvision ResNet-50 (random when None) up to layer4: the reference's children()[:-2]."""
    net = resnet50() if net is None else net
    return nn.Sequential(*list(net.children())[:-2])


def load_backbone(name: str = "resnet50", weights: str | Path | None = None) -> FrameFeatures:
    """The frame-feature extractor VSFA.pt was trained on. `weights`: a torchvision ResNet-50
    state dict file; None takes torchvision's IMAGENET1K_V1 (resnet50-0676ba61.pth) from the
    torch hub cache, downloading it there when it is absent."""
    if name != "resnet50":
        raise ModelError(name, "unknown VSFA backbone; the only one is 'resnet50' (the features VSFA.pt was trained on)")
    if weights is None:
        source, state, label = _imagenet_cache(), _imagenet_resnet50(), "resnet50-imagenet"
    else:
        source, state, label = Path(weights), _weights_file(Path(weights), "ResNet-50", "ResNet-50 weights file not found"), f"resnet50 ({Path(weights).name})"
    net = resnet50()
    misfit = _misfit(net.state_dict(), state)
    if misfit:
        raise ModelError(str(source), f"does not fit torchvision's ResNet-50: {misfit}")
    net.load_state_dict(state, strict=True)
    return FrameFeatures(resnet50_trunk(net), label)


def _imagenet_cache() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / RESNET50_FILE


def _imagenet_resnet50() -> dict[str, Tensor]:
    try:
        # Reads the hub cache when the file is there; otherwise torchvision's usual download into it.
        return torch.hub.load_state_dict_from_url(RESNET50_URL, progress=False, check_hash=True,
                                                  map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001  (no network, a refused download, a damaged cached file)
        problem = (f"ImageNet ResNet-50 weights are missing or unreadable and could not be downloaded "
                   f"({_first_line(exc)}); save {RESNET50_URL} at this path, or pass a torchvision "
                   "ResNet-50 state dict file as weights")
        raise ModelError(str(_imagenet_cache()), problem) from None


def _weights_file(path: Path, what: str, missing: str) -> dict[str, Tensor]:
    """A plain state dict (the format of torchvision's and the VSFA reference's weights)."""
    if not path.is_file():
        raise ModelError(str(path), missing)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001  (torch raises many unrelated types for a damaged file)
        raise ModelError(str(path), f"cannot be read as PyTorch weights: {_first_line(exc)}") from None
    if not isinstance(state, Mapping) or not all(isinstance(v, Tensor) for v in state.values()):
        raise ModelError(str(path), f"is not a {what} state dict (a mapping of parameter names to tensors)")
    return dict(state)


# --- streamed scoring ------------------------------------------------------------------------


@dataclass(frozen=True)
class VSFAResult:
    """One clip's VSFA scores, in the head's units (see the module docstring)."""

    frame_scores: np.ndarray  # (T,) q_t, float32
    pooled: np.ndarray  # (T,) q'_t after temporal pooling; `score` is its mean
    score: float
    backbone: str  # which frame features: "resnet50-imagenet" is the one VSFA.pt expects
    frames: int
    fps: float
    warnings: tuple[str, ...] = ()  # decoding problems the scores lived through

    def to_measures(self) -> list[Measure]:
        return [Measure("vsfa", self.score, 0.0, 1.0, "higher", curve=self.pooled, unit=SCORE_UNIT)]


def pooled_result(frame_scores: np.ndarray, backbone: str, fps: float, warnings: Sequence[str] = ()) -> VSFAResult:
    """The result for a clip's frame scores (T,): only these T floats are needed for pooling."""
    q = np.asarray(frame_scores, np.float32)
    pooled = temporal_pool(torch.from_numpy(q)).numpy()
    return VSFAResult(q, pooled, float(pooled.mean()), backbone, len(q), fps, tuple(warnings))


@torch.no_grad()
def stream_frame_scores(model: VSFA, feature_batches: Iterable[Tensor]) -> np.ndarray:
    """Frame scores (T,) of one clip whose features (n_i, input_size) arrive in consecutive
    batches; the GRU state carries from batch to batch, so any batching gives the one-pass scores."""
    device = next(model.parameters()).device
    hidden, scores = None, []
    for batch in feature_batches:
        q, hidden = model.frame_scores(batch.to(device)[None], hidden)
        scores.append(q[0].cpu().numpy())
    return np.concatenate(scores) if scores else np.zeros(0, np.float32)


def score_video(path: str | Path, model: VSFA, backbone: FrameFeatures | None = None, *, batch_size: int = 8,
                max_side: int | None = None, progress: Progress | None = None) -> VSFAResult:
    """VSFA of a clip, decoded, featurised and scored `batch_size` frames at a time. `max_side`
    shrinks frames (long side, pixels) before the backbone; None keeps the decoded size, as the
    reference does. `backbone` None loads `load_backbone()`."""
    backbone = load_backbone() if backbone is None else backbone
    with _open_clip(path, max_side) as reader:
        scores = stream_frame_scores(model, _clip_features(reader, backbone, batch_size, progress))
    return pooled_result(scores, backbone.name, reader.info.fps, reader.warnings)


def _open_clip(path: str | Path, max_side: int | None) -> FrameReader:
    reader = read_frames(path, max_side)
    if max(reader.size) <= 32:
        reader.close()
        raise VideoError(str(path), f"frames of {reader.size[0]}x{reader.size[1]} pixels are too small for VSFA: "
                                    "ResNet-50's last stage needs more than 32 pixels on a side")
    return reader


def _clip_features(reader: FrameReader, backbone: FrameFeatures, batch_size: int,
                   progress: Progress | None) -> Iterator[Tensor]:
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    total, done, images = reader.info.estimated_frames, 0, []
    for frame in reader:
        images.append(frame.image)
        if len(images) == batch_size:
            yield backbone.from_frames(images)
            done, images = done + len(images), []
            if progress:
                progress(done, max(total, done))
    if images:
        yield backbone.from_frames(images)
        if progress:
            progress(done + len(images), done + len(images))


# --- training and evaluation on precomputed features ----------------------------------------


def extract_features(video_folder: str | Path, out_folder: str | Path, backbone: FrameFeatures | None = None, *,
                     batch_size: int = 8, max_side: int | None = None, progress: Progress | None = None) -> list[Path]:
    """Features (T, 4096) float32 of every clip in `video_folder`, streamed to
    `out_folder/<clip stem>.npy` (the names train_vsfa matches with the labels). Clips whose
    .npy exists already are kept, so an interrupted run resumes."""
    folder, out = Path(video_folder), Path(out_folder)
    if not folder.is_dir():
        raise VideoError(str(folder), "is not a folder of videos")
    clips = sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    if not clips:
        raise VideoError(str(folder), f"holds no videos ({', '.join(sorted(VIDEO_SUFFIXES))})")
    backbone = load_backbone() if backbone is None else backbone
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for i, clip in enumerate(clips):
        target = out / f"{clip.stem}.npy"
        if not target.exists():
            with _open_clip(clip, max_side) as reader:
                _save_streamed(target, _clip_features(reader, backbone, batch_size, None))
        written.append(target)
        if progress:
            progress(i + 1, len(clips))
    return written


def _save_streamed(target: Path, batches: Iterable[Tensor]) -> None:
    """An .npy of rows that arrive in batches, through raw rows on disk (the row count is known
    only at the end), so memory stays at one batch; it gets its name only when complete."""
    with atomic_path(target) as npy:
        raw = npy.with_suffix(".raw")
        rows = 0
        try:
            with open(raw, "wb") as f:
                for batch in batches:
                    array = batch.cpu().numpy().astype(np.float32, copy=False)
                    f.write(array.tobytes())
                    rows += len(array)
            np.save(npy, np.memmap(raw, np.float32, "r", shape=(rows, FEATURE_SIZE)))
        finally:
            raw.unlink(missing_ok=True)


@dataclass(frozen=True)
class VSFATraining:
    model: VSFA  # the state with the best validation SRCC, in eval mode
    label_scale: float  # the largest MOS in the labels: score x label_scale is MOS
    best_epoch: int  # 0-based
    val_srcc: float
    splits: dict[str, list[str]]  # "train" / "val" / "test" -> video names (feature-file stems)
    test: dict[str, float]  # SRCC, KRCC, PLCC, RMSE on the test split; {} when it is empty or too small


def train_vsfa(features: str | Path | Sequence[str | Path], labels_csv: str | Path, *, out: str | Path | None = None,
               epochs: int = 3000, batch_size: int = 16, lr: float = 1e-5, weight_decay: float = 0.0,
               val_ratio: float = 0.2, test_ratio: float = 0.2, seed: int = 0, device: str = "cpu",
               log: Callable[[str], None] = print, progress: Progress | None = None) -> VSFATraining:
    """Trains the head as the reference: L1 loss on MOS / max MOS, Adam, a 60/20/20 split of the
    videos (seeded permutation), the state with the best validation SRCC after the first sixth
    of the epochs. `features`: a folder of .npy from extract_features, or a list of them;
    `labels_csv`: columns video_name, mos. `out`: where to save the state dict (loads with
    from_pretrained). Reports the test split's figures as evaluate_vsfa does."""
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be positive, got {epochs} and {batch_size}")
    data, mos = _labelled_features(features, labels_csv)
    scale = max(mos.values())  # the reference normalises by the database's largest MOS
    names = sorted(data)
    order = np.random.default_rng(seed).permutation(len(names))
    # Rounded before ceil so 0.6 x 20 is 12, not the 13 that float arithmetic would give.
    n_train = math.ceil(round((1 - val_ratio - test_ratio) * len(names), 9))
    n_test_start = math.ceil(round((1 - test_ratio) * len(names), 9))
    splits = {"train": [names[i] for i in order[:n_train]], "val": [names[i] for i in order[n_train:n_test_start]],
              "test": [names[i] for i in order[n_test_start:]]}
    torch.manual_seed(seed)
    model = VSFA().to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    shuffle = np.random.default_rng(seed + 1)
    best_state, best_srcc, best_epoch = None, -math.inf, epochs - 1
    for epoch in range(epochs):
        model.train()
        train = [splits["train"][i] for i in shuffle.permutation(len(splits["train"]))]
        losses = []
        for start in range(0, len(train), batch_size):
            chunk = train[start:start + batch_size]
            x, lengths = _padded([data[n] for n in chunk])
            target = torch.tensor([mos[n] / scale for n in chunk], dtype=torch.float32, device=device)
            loss = nn.functional.l1_loss(model(x.to(device), lengths), target)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        srcc = _srcc(predict_vsfa(model, [data[n] for n in splits["val"]]), [mos[n] for n in splits["val"]])
        if epoch > epochs / 6 and srcc > best_srcc:
            best_state, best_srcc, best_epoch = {k: v.detach().clone() for k, v in model.state_dict().items()}, srcc, epoch
            log(f"epoch {epoch + 1}/{epochs}: train L1 {np.mean(losses):.4f}, best validation SRCC {srcc:.4f}")
        if progress:
            progress(epoch + 1, epochs)
    if best_state is not None:  # otherwise (too few epochs, or no usable validation) the last state
        model.load_state_dict(best_state)
    model.eval()
    if out is not None:
        save_torch(model.state_dict(), out)  # a plain state dict, like the published VSFA.pt
    test = {}
    if splits["test"]:
        try:
            test = _report(model, [data[n] for n in splits["test"]], [mos[n] for n in splits["test"]], scale, log)
        except CinestageError as exc:  # too few test videos, or constant predictions: the model is still saved
            log(f"test split not evaluated: {exc}")
    return VSFATraining(model, scale, best_epoch, best_srcc, splits, test)


def evaluate_vsfa(model: VSFA, features: str | Path | Sequence[str | Path], labels_csv: str | Path, *,
                  label_scale: float | None = None, log: Callable[[str], None] = print) -> dict[str, float]:
    """SRCC, KRCC, PLCC and RMSE (on the MOS scale) of the model's predictions for the labelled
    feature files, printed beside the paper's KoNViD-1k figures. `label_scale`: the largest MOS
    the model was trained against (None: the largest MOS in `labels_csv`)."""
    data, mos = _labelled_features(features, labels_csv)
    if len(data) < 3:
        raise CinestageError(str(labels_csv), f"evaluation needs at least 3 labelled videos, found {len(data)}")
    names = sorted(data)
    scale = max(mos.values()) if label_scale is None else label_scale
    return _report(model, [data[n] for n in names], [mos[n] for n in names], scale, log)


def _report(model: VSFA, features: Sequence[np.ndarray], mos: Sequence[float], scale: float,
            log: Callable[[str], None]) -> dict[str, float]:
    predicted = predict_vsfa(model, features) * scale
    try:
        result = correlations(predicted, np.asarray(mos, np.float64))
    except ValueError as exc:  # constant predictions or labels: the correlations are undefined
        raise CinestageError(f"{len(mos)} evaluation videos", str(exc)) from None
    log(f"VSFA on {len(mos)} videos: " + ", ".join(f"{k} {result[k]:.4f}" for k in ("SRCC", "KRCC", "PLCC", "RMSE"))
        + f" (paper, KoNViD-1k: {PAPER_KONVID})")
    return result


@torch.no_grad()
def predict_vsfa(model: VSFA, features: Sequence[np.ndarray], batch_size: int = 16) -> np.ndarray:
    """Video scores (N,) for per-video feature arrays (T_i, 4096), in the head's units."""
    model.eval()
    device = next(model.parameters()).device
    out = [model(x.to(device), lengths).cpu().numpy()
           for x, lengths in (_padded(features[i:i + batch_size]) for i in range(0, len(features), batch_size))]
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def _padded(arrays: Sequence[np.ndarray]) -> tuple[Tensor, Tensor]:
    """(B, max T, D) zero-padded and the lengths (B,): padding to the batch's longest clip scores
    the same as the reference's padding to the database's longest (the GRU is causal)."""
    x = torch.zeros(len(arrays), max(len(a) for a in arrays), arrays[0].shape[1])
    for i, a in enumerate(arrays):
        x[i, :len(a)] = torch.from_numpy(np.array(a, np.float32))  # a copy: memory-mapped files are read-only
    return x, torch.tensor([len(a) for a in arrays])


def _srcc(predicted: np.ndarray, truth: Sequence[float]) -> float:
    """Validation SRCC for model selection, -inf where undefined (too few or constant values)."""
    try:
        return srcc(predicted, truth)
    except ValueError:
        return -math.inf


def _labelled_features(features: str | Path | Sequence[str | Path],
                       labels_csv: str | Path) -> tuple[dict[str, np.memmap], dict[str, float]]:
    """Memory-mapped feature arrays and MOS, by video name (the feature file's stem, which is the
    stem of the CSV's video_name), for the videos that have both."""
    if isinstance(features, (str, Path)):
        folder = Path(features)
        if not folder.is_dir():
            raise CinestageError(str(folder), "is not a folder of feature files (.npy)")
        files = sorted(folder.glob("*.npy"))
    else:
        files = [Path(f) for f in features]
    labels = _read_labels(Path(labels_csv))
    data = {}
    for f in files:
        if f.stem not in labels:
            continue
        try:
            array = np.load(f, mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise CinestageError(str(f), f"cannot be read as a feature array: {_first_line(exc)}") from None
        if array.ndim != 2 or array.shape[1] != FEATURE_SIZE or len(array) == 0:
            raise CinestageError(str(f), f"features must be (frames, {FEATURE_SIZE}), found {array.shape}")
        data[f.stem] = array
    if not data:
        raise CinestageError(str(labels_csv), f"none of the {len(files)} feature files has a label here")
    return data, {n: labels[n] for n in data}


def _read_labels(path: Path) -> dict[str, float]:
    if not path.is_file():
        raise CinestageError(str(path), "labels file not found")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or not {"video_name", "mos"} <= set(rows[0]):
        raise CinestageError(str(path), "labels need a header with columns video_name and mos")
    try:
        return {Path(r["video_name"]).stem: float(r["mos"]) for r in rows}
    except (TypeError, ValueError) as exc:
        raise CinestageError(str(path), f"a mos value is not a number: {_first_line(exc)}") from None
