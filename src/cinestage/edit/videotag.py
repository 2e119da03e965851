"""VideoTag (METHODS.md §7): TSN sparse sampling + the attention-LSTM multi-label head.

TSN splits a video into K segments and takes one snippet (a frame) from each; a shared 2D CNN
(here the ImageNet MobileNetV2 of `assess.backbone`, global-average pooled to 1280 values)
describes every snippet. As in PaddleVideo's VideoTag, the attention LSTM over the K snippet
features takes the place of TSN's average consensus: FC -> tanh -> bidirectional LSTM (512
per direction) -> dropout -> per-step attention weights softmax(FC -> 1) over time -> weighted
sum -> FC 8192 ReLU -> FC 4096 tanh -> one logit per tag; BCE with logits, a sigmoid per tag.
The embedding FC (1024), dropout (0.5), centred RMSProp (lr 1e-3, L2 8e-4) are VideoTag's.

Training snippets are random within their segments (TSN); the CNN is frozen, so each video's
features are computed once for `per_segment` evenly spaced candidates per segment and every
step draws one of them per segment. Evaluation and tagging use each segment's centre.

A labelled folder holds the videos, `tags.txt` (one tag per line; blank lines and lines
starting with # are skipped) and `labels.csv`:

    video,tags
    clips/duet.mp4,dance;two-shot
    clips/empty-stage.mp4,

video paths relative to the folder, tags separated by `;`, an empty cell for none.
"""

from __future__ import annotations

import csv
import hashlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import Tensor, nn

from cinestage.assess import backbone
from cinestage.assess.metrics import f1
from cinestage.errors import CinestageError, ModelError
from cinestage.files import load_torch, save_torch
from cinestage.film.video import read_frames

FORMAT = "cinestage.videotag/1"
THRESHOLD = 0.5
TAGS_FILE, LABELS_FILE = "tags.txt", "labels.csv"
_FORBIDDEN = (",", ";")


@dataclass(frozen=True)
class VideoTagConfig:
    """The network's shape. Defaults are the method's; tests shrink the widths."""

    tags: tuple[str, ...]
    segments: int = 32  # K: snippets per video (VideoTag's sequence models read dozens of frames)
    embedding: int = 1024
    lstm: int = 512
    fc1: int = 8192
    fc2: int = 4096
    dropout: float = 0.5
    image_size: int = 224  # snippets are resized (short side) and centre-cropped to this square
    features: int = backbone.FEATURE_CHANNELS

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", tuple(self.tags))
        if not self.tags or len(set(self.tags)) != len(self.tags):
            raise ValueError("tags must be a non-empty list without repeats")
        if min(self.segments, self.embedding, self.lstm, self.fc1, self.fc2, self.image_size, self.features) < 1:
            raise ValueError("segments, widths and image size must be positive")
        if not 0 <= self.dropout < 1:
            raise ValueError("dropout must lie in [0, 1)")


class AttentionLSTM(nn.Module):
    """(B, K, features) snippet features -> (B, tags) logits."""

    def __init__(self, config: VideoTagConfig):
        super().__init__()
        self.embed = nn.Linear(config.features, config.embedding)
        self.lstm = nn.LSTM(config.embedding, config.lstm, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(config.dropout)
        self.attention = nn.Linear(2 * config.lstm, 1)
        self.fc1 = nn.Linear(2 * config.lstm, config.fc1)
        self.fc2 = nn.Linear(config.fc1, config.fc2)
        self.logits = nn.Linear(config.fc2, len(config.tags))

    def forward(self, features: Tensor) -> Tensor:
        states, _ = self.lstm(torch.tanh(self.embed(features)))
        states = self.dropout(states)
        weights = torch.softmax(self.attention(states), dim=1)  # (B, K, 1): over time
        pooled = (weights * states).sum(dim=1)
        return self.logits(torch.tanh(self.fc2(torch.relu(self.fc1(pooled)))))


def snippet_frames(n_frames: int, segments: int, per_segment: int = 1, start: int = 0) -> np.ndarray:
    """(segments, per_segment) frame indices: frames start..start+n_frames-1 cut into equal
    segments, `per_segment` evenly spaced snippets in each (the centre when 1). A video shorter
    than K frames repeats frames, as TSN does."""
    edges = np.linspace(0.0, n_frames, segments + 1)
    offsets = (np.arange(per_segment) + 0.5) / per_segment
    index = np.floor(edges[:-1, None] + np.diff(edges)[:, None] * offsets).astype(int)
    return start + np.clip(index, 0, max(n_frames - 1, 0))


class SnippetEncoder:
    """TSN's shared 2D CNN: ImageNet MobileNetV2 features, global-average pooled."""

    def __init__(self, image_size: int = 224, features: nn.Module | None = None, batch_size: int = 16):
        self.image_size = image_size
        self.batch_size = batch_size
        self.net = (features if features is not None else backbone.imagenet_features()).eval()
        self.normalise = backbone.imagenet_normalisation()

    def __call__(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """(N, H, W, 3) uint8 RGB images -> (N, 1280) float32."""
        out = []
        with torch.inference_mode():
            for i in range(0, len(images), self.batch_size):
                batch = torch.from_numpy(np.stack([self._square(im) for im in images[i:i + self.batch_size]]))
                x = self.normalise(batch.permute(0, 3, 1, 2).float() / 255.0)
                out.append(self.net(x).mean(dim=(2, 3)).numpy())
        return np.concatenate(out) if out else np.zeros((0, backbone.FEATURE_CHANNELS), np.float32)

    def _square(self, image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        scale = self.image_size / min(height, width)
        w, h = max(self.image_size, round(width * scale)), max(self.image_size, round(height * scale))
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        x, y = (w - self.image_size) // 2, (h - self.image_size) // 2
        return image[y:y + self.image_size, x:x + self.image_size]


def video_features(path: str | Path, encoder: SnippetEncoder, segments: int, per_segment: int = 1,
                   frames: tuple[int, int] | None = None) -> np.ndarray:
    """(segments, per_segment, 1280) snippet features of a video, or of its frames [start, end).

    The frame count is the container's (estimated when it does not say); snippets past a
    stream that ends early take its last frame."""
    with read_frames(path) as reader:
        info = reader.info
        # Decode no larger than the crop needs: the short side at the encoder's size.
        reader.max_side = math.ceil(encoder.image_size * max(info.width, info.height) / min(info.width, info.height))
        start, end = frames if frames is not None else (0, info.estimated_frames)
        wanted = snippet_frames(max(end - start, 1), segments, per_segment, start)
        images: dict[int, np.ndarray] = {}
        keep = set(wanted.ravel().tolist())
        stop = max(keep)
        for frame in reader:
            last = frame.image
            if frame.index in keep:
                images[frame.index] = frame.image
            if frame.index >= stop:
                break
    picked = [images.get(int(i), last) for i in wanted.ravel()]
    return encoder(picked).reshape(segments, per_segment, -1)


class VideoTagger:
    """A trained VideoTag model: tags with probabilities for a video (or a range of its frames)."""

    def __init__(self, config: VideoTagConfig, head: AttentionLSTM, info: dict | None = None,
                 encoder: SnippetEncoder | None = None, threshold: float = THRESHOLD):
        self.config = config
        self.head = head.eval()
        self.info = dict(info or {})
        self.threshold = threshold
        self._encoder = encoder

    @property
    def encoder(self) -> SnippetEncoder:
        if self._encoder is None:  # the CNN loads on first use: a tagger can be inspected without it
            self._encoder = SnippetEncoder(self.config.image_size)
        return self._encoder

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """(B, K, 1280) centre-snippet features -> (B, tags) sigmoid probabilities."""
        with torch.inference_mode():
            return torch.sigmoid(self.head(torch.as_tensor(features, dtype=torch.float32))).numpy()

    def tag(self, path: str | Path, frames: tuple[int, int] | None = None) -> list[tuple[str, float]]:
        """(tag, probability) of the tags at or above the threshold, most probable first."""
        feats = video_features(path, self.encoder, self.config.segments, 1, frames)[:, 0]
        p = self.probabilities(feats[None])[0]
        order = np.argsort(-p, kind="stable")
        return [(self.config.tags[i], float(p[i])) for i in order if p[i] >= self.threshold]

    def save(self, path: str | Path) -> Path:
        return save_torch({"format": FORMAT, "config": asdict(self.config), "state_dict": self.head.state_dict(),
                           "info": self.info}, path)


def from_pretrained(path: str | Path, encoder: SnippetEncoder | None = None) -> VideoTagger:
    """A tagger saved by `VideoTagger.save` / `train_videotag`; ModelError when the file is
    missing, unreadable or not a VideoTag checkpoint. `encoder` shares a loaded CNN."""
    checkpoint = load_torch(path, FORMAT, "VideoTag checkpoint not found; cinestage ships none: train one on a "
                                          "labelled folder with `cinestage train videotag`")
    try:
        config = VideoTagConfig(**checkpoint["config"])
        head = AttentionLSTM(config)
        head.load_state_dict(checkpoint["state_dict"], strict=True)
        info = dict(checkpoint.get("info") or {})
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ModelError(str(path), f"checkpoint does not fit the VideoTag model: {_first_line(exc)}") from None
    info["sha256"] = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    return VideoTagger(config, head, info, encoder)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# -------------------------------------------------------------------------- labelled folders


@dataclass(frozen=True)
class TagSet:
    """Videos with their tags. labels: (videos, tags) 0/1 in `tags` order."""

    folder: Path
    tags: tuple[str, ...]
    videos: tuple[Path, ...]
    labels: np.ndarray


def read_tags(path: str | Path) -> tuple[str, ...]:
    """A tags.txt: one tag per line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CinestageError(str(path), f"cannot read the tag list: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CinestageError(str(path), "the tag list is not UTF-8 text") from None
    tags: list[str] = []
    for number, line in enumerate(lines, 1):
        tag = line.strip()
        if not tag or tag.startswith("#"):
            continue
        if any(c in tag for c in _FORBIDDEN):
            raise CinestageError(f"{path}:{number}", f"tag {tag!r} contains ',' or ';'")
        if tag in tags:
            raise CinestageError(f"{path}:{number}", f"tag {tag!r} is listed twice")
        tags.append(tag)
    if not tags:
        raise CinestageError(str(path), "lists no tags")
    return tuple(tags)


def read_tag_set(folder: str | Path, tags: Sequence[str] | str | Path | None = None,
                 labels: str | Path | None = None) -> TagSet:
    """A labelled folder. `tags`: a tag list, a tags.txt path, or None for FOLDER/tags.txt;
    `labels`: labels.csv, FOLDER/labels.csv by default."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CinestageError(str(folder), "no such folder of videos")
    if tags is None or isinstance(tags, (str, Path)):
        tags = read_tags(folder / TAGS_FILE if tags is None else tags)
    tags = tuple(tags)
    path = Path(labels) if labels is not None else folder / LABELS_FILE
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except OSError as exc:
        raise CinestageError(str(path), f"cannot read the labels: {exc.strerror}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CinestageError(str(path), f"not a CSV of labels ({type(exc).__name__})") from None
    if not rows or [c.strip() for c in rows[0]] != ["video", "tags"]:
        raise CinestageError(str(path), "the first line must be the header: video,tags")
    index = {t: i for i, t in enumerate(tags)}
    videos: list[Path] = []
    matrix: list[np.ndarray] = []
    for number, row in enumerate(rows[1:], 2):
        if not any(c.strip() for c in row):
            continue
        where = f"{path}:{number}"
        if len(row) != 2:
            raise CinestageError(where, f"expected 2 columns (video,tags), found {len(row)}")
        video = folder / row[0].strip()
        if not video.is_file():
            raise CinestageError(where, f"no such video {row[0].strip()!r} in {folder}")
        if video in videos:
            raise CinestageError(where, f"video {row[0].strip()!r} is labelled twice")
        names = [t.strip() for t in row[1].split(";") if t.strip()]
        unknown = [t for t in names if t not in index]
        if unknown:
            raise CinestageError(where, f"tag {unknown[0]!r} is not in the tag list")
        line = np.zeros(len(tags), np.float32)
        line[[index[t] for t in names]] = 1.0
        videos.append(video)
        matrix.append(line)
    if not videos:
        raise CinestageError(str(path), "labels no videos")
    return TagSet(folder, tags, tuple(videos), np.stack(matrix))


def tag_set_features(data: TagSet, encoder: SnippetEncoder, segments: int, per_segment: int = 1,
                     progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """(videos, segments, per_segment, 1280) snippet features of every video of a set."""
    out = []
    for i, video in enumerate(data.videos):
        out.append(video_features(video, encoder, segments, per_segment))
        if progress:
            progress(i + 1, len(data.videos))
    return np.stack(out)


# ------------------------------------------------------------------------ training, evaluation


@dataclass(frozen=True)
class VideoTagTraining:
    tagger: VideoTagger
    losses: list[float]  # per step: BCE summed over tags, mean over the batch
    seconds: float


def train_videotag(data: TagSet, config: VideoTagConfig | None = None, *, steps: int = 500, batch_size: int = 32,
                   lr: float = 1e-3, weight_decay: float = 8e-4, per_segment: int = 3, seed: int = 0,
                   out: str | Path | None = None, encoder: SnippetEncoder | None = None,
                   features: np.ndarray | None = None,
                   progress: Callable[[int, int], None] | None = None) -> VideoTagTraining:
    """Train the head on a labelled folder; `features` (from `tag_set_features` with
    `per_segment` candidates) skips the CNN. Saves the tagger to `out` when given."""
    started = time.perf_counter()
    config = config or VideoTagConfig(data.tags)
    if config.tags != data.tags:
        raise CinestageError("tags", "the model's tags differ from the labelled folder's")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    encoder = encoder or SnippetEncoder(config.image_size)
    if features is None:
        features = tag_set_features(data, encoder, config.segments, per_segment)
    feats = torch.as_tensor(features, dtype=torch.float32)
    labels = torch.as_tensor(data.labels)
    head = AttentionLSTM(config)
    # VideoTag's optimiser: centred RMSProp with L2 weight decay.
    optimiser = torch.optim.RMSprop(head.parameters(), lr=lr, weight_decay=weight_decay, centered=True)
    loss_fn = nn.BCEWithLogitsLoss(reduction="none")
    n, k, s = feats.shape[:3]
    losses = []
    head.train()
    for step in range(steps):
        batch = torch.as_tensor(rng.choice(n, size=min(batch_size, n), replace=False))
        # TSN: a random snippet in every segment.
        pick = torch.as_tensor(rng.integers(0, s, size=(len(batch), k)))
        x = feats[batch[:, None], torch.arange(k)[None], pick]
        loss = loss_fn(head(x), labels[batch]).sum(dim=1).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
        if progress:
            progress(step + 1, steps)
    info = {"trained_on": str(data.folder), "videos": n, "steps": steps, "batch_size": batch_size, "lr": lr,
            "per_segment": per_segment, "seed": seed, "final_loss": round(losses[-1], 5) if losses else None}
    tagger = VideoTagger(config, head, info, encoder)
    if out is not None:
        tagger.save(out)
    return VideoTagTraining(tagger, losses, time.perf_counter() - started)


@dataclass(frozen=True)
class TagScores:
    """METHODS §7's pooled multi-label figures: hits Σ|TG ∩ TP|, predicted Σ|TP|, true Σ|TG|."""

    videos: int
    hits: int
    predicted: int
    true: int
    f1: float
    chance_all: float  # F1 of predicting every tag for every video
    chance_rates: float  # F1 of tags drawn at random at their label rates (mean of draws)

    @property
    def precision(self) -> float:
        return self.hits / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.hits / self.true if self.true else 0.0

    @property
    def chance(self) -> float:
        return max(self.chance_all, self.chance_rates)


def score_tags(predicted: np.ndarray, truth: np.ndarray, seed: int = 0, draws: int = 200) -> TagScores:
    """predicted, truth: (videos, tags) 0/1."""
    predicted, truth = np.asarray(predicted, int), np.asarray(truth, int)
    rates = truth.mean(axis=0)
    rng = np.random.default_rng(seed)
    drawn = [f1((rng.random(truth.shape) < rates).astype(int), truth) for _ in range(draws)]
    return TagScores(len(truth), int((predicted & truth).sum()), int(predicted.sum()), int(truth.sum()),
                     f1(predicted, truth), f1(np.ones_like(truth), truth), float(np.mean(drawn)))


def evaluate_videotag(tagger: VideoTagger, data: TagSet, *, features: np.ndarray | None = None,
                      log: Callable[[str], None] = print,
                      progress: Callable[[int, int], None] | None = None) -> TagScores:
    """F1 of the tagger on a labelled folder at its threshold, printed with its terms and the
    chance levels. `features`: (videos, K, 1280) centre-snippet features, to skip the CNN."""
    if data.tags != tagger.config.tags:
        raise CinestageError(str(data.folder), "its tag list differs from the model's")
    if features is None:
        features = tag_set_features(data, tagger.encoder, tagger.config.segments, progress=progress)[:, :, 0]
    predicted = (tagger.probabilities(features) >= tagger.threshold).astype(int)
    scores = score_tags(predicted, data.labels)
    log(f"VideoTag on {scores.videos} videos, {len(data.tags)} tags, threshold {tagger.threshold:g}:")
    log(f"  precision = Σ|TG ∩ TP| / Σ|TP| = {scores.hits}/{scores.predicted} = {scores.precision:.4f}")
    log(f"  recall    = Σ|TG ∩ TP| / Σ|TG| = {scores.hits}/{scores.true} = {scores.recall:.4f}")
    log(f"  F1        = {scores.f1:.4f}")
    log(f"  chance F1: every tag on every video {scores.chance_all:.4f}, tags drawn at their label rates "
        f"{scores.chance_rates:.4f}")
    return scores
