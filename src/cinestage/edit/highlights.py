"""Video2GIF highlight ranking (Gygli, Song & Cao 2016, "Video2GIF: Automatic Generation of
Animated GIFs from Video"; reference code gyglim/video2gif_code), on cinestage's own features.

Segments: the clip's shots (`film.shots`, adaptive detector, as `cinestage analyze`) cut into
windows of about `window` seconds, so a segment never straddles a cut and has a GIF's length.

Features per segment (`FEATURE_SIZE` = 1281): the global average pool of the ImageNet
MobileNetV2's last feature map (1280), averaged over the segment's sampled frames, then its
motion energy: the mean absolute difference of luma (0-1) between consecutive frames. Frames
are sampled at a fixed rate while the clip streams past (`samples` per window), so one decoding
pass serves shots, motion and appearance.

The paper feeds C3D fc6 (4096 values) to hidden layers of 512 and 128 units and one score
(`h1`, `h2`, `score` in the reference's model.py): METHODS.md's "512 -> 128 -> 1" are those
layers, so our 1281 values go straight in, no projection. Inputs are standardised with the
training set's mean and deviation, kept in the checkpoint. Dropout 0.8 on the input and 0.25
after the first layer; SGD with Nesterov momentum 0.9, weight decay 1e-3, lr 1e-3.

Loss, per pair of one video (s+ marked, s- not): u = max(0, 1 - h(s+) + h(s-)),
l = u^2 / 2 if u <= delta else delta u - delta^2 / 2, delta = 1.5; the adaptive variant gives
each pair delta = 1.5 + p, p the normalised popularity of its positive. Both are computed
element-wise: one public port compares the whole batch to delta as a scalar.

Labels: a CSV `video,start_s,end_s[,popularity]`, one row per marked highlight, `video` a file
name in the videos' folder (`read_marks`); p = popularity / the largest in the file (0 where none
is given, which makes the adaptive loss the plain one).

Evaluation, as Gygli et al. 2016 (the paper's figures are not printed beside ours: they are for
C3D features on its 100k-GIF web set, not comparable with a folder of your own videos):
- mAP: per video, the average precision of the segments ranked by score, a segment being
  positive when marked intervals cover at least half of it; the mean over videos that have a
  positive segment.
- nMSD (normalised Meaningful Summary Duration, lower better): per marked interval G, take
  segments in descending score until they cover at least alpha = 50 % of G; with |S| their total
  length and |V| the video's, nMSD = (|S| - alpha |G|) / (|V| - alpha |G|); the mean over marked
  intervals. Both are printed beside chance: the exact expected AP of a random order, and the
  mean nMSD of seeded random orders.

Without a trained ranker an unsupervised fallback ranks segments (labelled "unsupervised
fallback" wherever it is used): motion energy, sharpness and exposure (`assess.image_quality`)
and, when the clip is a rendered camera with its `<name>.meta.json` beside it, the fraction of
frames with both actors in the shot. The learned aesthetic head ships untrained (see
`assess.aesthetics.UNTRAINED_NOTE`), so it takes no part.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn

from cinestage.assess import backbone
from cinestage.assess.image_quality import exposure, luminance, sharpness
from cinestage.assess.measure import Measure
from cinestage.errors import CinestageError, ModelError
from cinestage.files import load_torch, save_torch
from cinestage.film.shots import ANALYSIS_SIDE, Shot, ShotDetector
from cinestage.film.video import read_frames

FORMAT = "cinestage.highlights/1"
APPEARANCE_SIZE = backbone.FEATURE_CHANNELS  # 1280
FEATURE_SIZE = APPEARANCE_SIZE + 1  # + motion energy
HIDDEN = (512, 128)
INPUT_DROPOUT = 0.8
HIDDEN_DROPOUT = 0.25
DELTA = 1.5
OVERLAP = 0.5  # a segment is positive when marks cover this much of it; nMSD's alpha
FEATURE_SIDE = 224  # long side (pixels) of the frames the backbone sees
MIN_FEATURE_SIDE = backbone.FEATURE_STRIDE  # so a very wide frame still gives a feature map
FALLBACK = "unsupervised fallback"
# Motion and sharpness relative to the clip's largest (highlights are relative to their clip;
# ratios keep near-equal segments near-equal, where ranks would spread them over 0..1);
# exposure and visibility are absolute goodness on [0, 1].
FALLBACK_WEIGHTS = {"motion": 0.4, "sharpness": 0.2, "exposure": 0.2, "both_visible": 0.2}

Progress = Callable[[int, int], None]


# --- segments and their features -----------------------------------------------------------


@dataclass(frozen=True)
class SegmentOptions:
    """window: seconds a segment lasts (about: shots are cut into equal parts); samples: frames
    per window through the backbone; cut_at_shots: False for fixed windows over the whole clip."""

    window: float = 2.0
    samples: int = 3
    cut_at_shots: bool = True
    min_shot_frames: int = 15

    def __post_init__(self) -> None:
        if not self.window > 0 or self.samples < 1 or self.min_shot_frames < 1:
            raise ValueError("window must be positive, samples and min_shot_frames at least 1")


@dataclass(frozen=True)
class Segment(Shot):
    """A span of frames inside shot `shot`, numbered over the whole clip."""

    shot: int

    @property
    def duration(self) -> float:
        return self.end_time - self.start_time


@dataclass(frozen=True)
class VideoSegments:
    """A clip's segments and what is measured on each; every array has one row per segment.
    motion: mean absolute luma difference (0-1) of consecutive frames inside the segment;
    sharpness, exposure_error: `assess.image_quality` means over the sampled frames;
    both_visible: fraction of frames with every actor in the shot (render metadata), or None."""

    video: Path
    options: SegmentOptions
    fps: float
    frames: int
    duration: float
    segments: tuple[Segment, ...]
    appearance: np.ndarray  # (S, 1280) float32
    motion: np.ndarray
    sharpness: np.ndarray
    exposure_error: np.ndarray
    both_visible: np.ndarray | None = None
    warnings: tuple[str, ...] = ()

    @property
    def features(self) -> np.ndarray:
        """(S, FEATURE_SIZE) float32 ranker input."""
        return np.concatenate([self.appearance, self.motion[:, None]], axis=1).astype(np.float32)


class _Sampler:
    """Runs sampled frames through the backbone in batches as the clip streams past."""

    def __init__(self, net: nn.Module, batch: int = 16):
        self.net, self.batch = net, batch
        self.pending: list[np.ndarray] = []
        self.features: list[np.ndarray] = []
        self.normalise = backbone.imagenet_normalisation()

    def add(self, image: np.ndarray) -> None:
        # Small clips are enlarged too: the network's receptive fields are sized for ImageNet.
        h, w = image.shape[:2]
        scale = FEATURE_SIDE / max(w, h)
        size = (max(MIN_FEATURE_SIDE, round(w * scale)), max(MIN_FEATURE_SIDE, round(h * scale)))
        self.pending.append(np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR)))
        if len(self.pending) == self.batch:
            self.flush()

    @torch.inference_mode()
    def flush(self) -> None:
        if not self.pending:
            return
        x = torch.from_numpy(np.stack(self.pending)).permute(0, 3, 1, 2).float() / 255.0
        self.features.append(self.net(self.normalise(x)).mean(dim=(2, 3)).numpy())
        self.pending = []


def segment_video(path: str | Path, options: SegmentOptions = SegmentOptions(), net: nn.Module | None = None,
                  progress: Progress | None = None) -> VideoSegments:
    """Decode a clip once: shots, segments, their appearance, motion and picture quality.
    `net`: an `assess.backbone.imagenet_features()` to share between clips."""
    path = Path(path)
    net = net if net is not None else backbone.imagenet_features()
    reader = read_frames(path, max_side=ANALYSIS_SIDE)
    with reader:
        fps = reader.info.fps
        step = max(1, round(options.window * fps / options.samples))
        detector = ShotDetector(fps, method="adaptive", min_shot_frames=options.min_shot_frames) \
            if options.cut_at_shots else None
        sampler = _Sampler(net)
        times, motion, sampled, sharp, exposed = [], [], [], [], []
        previous = None
        total = reader.info.estimated_frames
        for frame in reader:
            luma = luminance(frame.image) / 255.0
            motion.append(float(np.abs(luma - previous).mean()) if previous is not None else 0.0)
            previous = luma
            times.append(frame.time)
            if detector is not None:
                detector.feed(frame.index, frame.time, frame.image)
            if frame.index % step == 0:
                sampled.append(frame.index)
                sampler.add(frame.image)
                sharp.append(sharpness(frame.image).value)
                exposed.append(exposure(frame.image)[0].value)
            if progress:
                progress(frame.index + 1, max(total, frame.index + 1))
        sampler.flush()
        warnings = tuple(reader.warnings)
    count = len(times)
    shots = [(s.start, s.end) for s in detector.finish()] if detector is not None else [(0, count)]
    segments = _windows(shots, times, fps, options.window)
    frame_features, sharp, exposed = np.concatenate(sampler.features), np.asarray(sharp), np.asarray(exposed)
    motion_curve = np.asarray(motion)
    rows = [_samples_in(seg, np.asarray(sampled)) for seg in segments]
    visible, note = _both_visible(path, count, segments)
    return VideoSegments(
        video=path, options=options, fps=fps, frames=count, duration=times[-1] + 1.0 / fps,
        segments=tuple(segments),
        appearance=np.stack([frame_features[r].mean(axis=0) for r in rows]).astype(np.float32),
        # A segment's first difference is to the frame before it, across a cut at a shot's start.
        motion=np.array([motion_curve[s.start + 1:s.end].mean() if s.end - s.start > 1 else 0.0 for s in segments]),
        sharpness=np.array([sharp[r].mean() for r in rows]),
        exposure_error=np.array([exposed[r].mean() for r in rows]),
        both_visible=visible, warnings=warnings + ((note,) if note else ()))


def _windows(shots: Sequence[tuple[int, int]], times: Sequence[float], fps: float, window: float) -> list[Segment]:
    """Each shot cut into the number of equal parts nearest its length / window (at least one)."""
    segments = []
    for shot, (start, end) in enumerate(shots):
        parts = max(1, round((end - start) / (window * fps)))
        bounds = np.unique(np.linspace(start, end, parts + 1).round().astype(int))
        for a, b in itertools.pairwise(bounds):
            end_time = times[b] if b < len(times) else times[-1] + 1.0 / fps
            segments.append(Segment(len(segments), int(a), int(b), float(times[a]), float(end_time), shot))
    return segments


def _samples_in(segment: Segment, sampled_at: np.ndarray) -> np.ndarray:
    """Rows of the sampled frames inside the segment; the nearest one when none falls inside."""
    rows = np.flatnonzero((sampled_at >= segment.start) & (sampled_at < segment.end))
    if len(rows):
        return rows
    middle = (segment.start + segment.end - 1) / 2
    return np.array([int(np.argmin(np.abs(sampled_at - middle)))])


def _both_visible(path: Path, frames: int, segments: Sequence[Segment]) -> tuple[np.ndarray | None, str | None]:
    """Per segment, the fraction of frames with every actor in the shot, from the render metadata
    beside a rendered camera's video (`<name>.meta.json`); None when there is none."""
    if not path.with_name(f"{path.stem}.meta.json").is_file():
        return None, None
    from cinestage.assess.rules import RuleOptions, both_visible, read_rendered_camera

    camera = read_rendered_camera(path.parent, path.stem)
    curve = both_visible(camera.meta, RuleOptions()).curve
    if len(curve) != frames:
        return None, (f"{path.stem}.meta.json describes {len(curve)} frames, the video has {frames}: "
                      "render metadata not used")
    visible = curve >= RuleOptions().visible
    return np.array([visible[s.start:s.end].mean() for s in segments]), None


# --- scores ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentScores:
    """ranker: "unsupervised fallback" or a description of the trained ranker; values (S,);
    components: the fallback's parts per segment, each in [0, 1] ({} for a trained ranker)."""

    ranker: str
    values: np.ndarray
    low: float
    high: float
    unit: str
    components: dict[str, np.ndarray] = field(default_factory=dict)

    def measure(self, i: int) -> Measure:
        return Measure("highlight_score", float(self.values[i]), self.low, self.high, "higher", unit=self.unit)

    def order(self) -> np.ndarray:
        """Segment indices, best first (ties: earlier first)."""
        return np.lexsort((np.arange(len(self.values)), -self.values))


def _relative(values: np.ndarray) -> np.ndarray:
    """Non-negative values divided by the clip's largest (all 0 when that is 0)."""
    top = float(values.max())
    return values / top if top > 0 else np.zeros_like(values)


def fallback_scores(video: VideoSegments) -> SegmentScores:
    """The unsupervised ranking: a weighted mean of `FALLBACK_WEIGHTS` components on [0, 1]
    (both_visible only for rendered cameras; the weights of the others are renormalised)."""
    components = {
        "motion": _relative(video.motion),
        "sharpness": _relative(video.sharpness),
        "exposure": 1.0 - np.clip(video.exposure_error, 0.0, 1.0),
    }
    if video.both_visible is not None:
        components["both_visible"] = video.both_visible
    weights = {k: FALLBACK_WEIGHTS[k] for k in components}
    total = sum(weights.values())
    values = sum(w * components[k] for k, w in weights.items()) / total
    parts = ", ".join(f"{w / total:.2f} {k}" for k, w in weights.items())
    return SegmentScores(FALLBACK, values, 0.0, 1.0, f"{FALLBACK}: {parts} (motion and sharpness relative "
                                                       "to the clip's largest)", components)


# --- the ranking network -------------------------------------------------------------------


class RankNet(nn.Module):
    """h(s): standardise -> dropout 0.8 -> Linear(F, 512) -> ReLU -> dropout 0.25 ->
    Linear(512, 128) -> ReLU -> Linear(128, 1). (N, F) -> (N,)."""

    def __init__(self, in_features: int = FEATURE_SIZE):
        super().__init__()
        self.register_buffer("mean", torch.zeros(in_features))
        self.register_buffer("std", torch.ones(in_features))
        self.layers = nn.Sequential(
            nn.Dropout(INPUT_DROPOUT), nn.Linear(in_features, HIDDEN[0]), nn.ReLU(),
            nn.Dropout(HIDDEN_DROPOUT), nn.Linear(HIDDEN[0], HIDDEN[1]), nn.ReLU(),
            nn.Linear(HIDDEN[1], 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.layers((x - self.mean) / self.std).squeeze(-1)


def huber_rank_loss(positive: Tensor, negative: Tensor, delta: float | Tensor = DELTA) -> Tensor:
    """Per-pair loss (B,) from the scores of positives and negatives (B,) and delta (scalar or (B,))."""
    u = (1.0 - positive + negative).clamp(min=0.0)
    delta = torch.as_tensor(delta, dtype=u.dtype, device=u.device).expand_as(u)
    return torch.where(u <= delta, 0.5 * u * u, delta * u - 0.5 * delta * delta)


def adaptive_delta(popularity: Tensor) -> Tensor:
    """delta = 1.5 + p per pair, p the normalised popularity (0-1) of the pair's positive."""
    return DELTA + popularity


class HighlightRanker:
    """A trained RankNet and what it was trained on."""

    def __init__(self, net: RankNet, info: dict | None = None):
        self.net = net.eval()
        self.info = dict(info or {})

    @torch.inference_mode()
    def score(self, features: np.ndarray) -> np.ndarray:
        return self.net(torch.as_tensor(features, dtype=torch.float32)).numpy().astype(np.float64)

    @property
    def label(self) -> str:
        return f"RankNet ({self.info.get('trained_on', 'unknown training')})"

    def scores(self, video: VideoSegments) -> SegmentScores:
        return SegmentScores(self.label, self.score(video.features), -math.inf, math.inf,
                             "RankNet score h(s): only the order within a clip is meaningful")

    def save(self, path: str | Path) -> Path:
        return save_torch({"format": FORMAT, "state": self.net.state_dict(), "info": self.info}, path)


def from_pretrained(path: str | Path) -> HighlightRanker:
    """A ranker written by `train_ranker` (or `cinestage train highlights`)."""
    source = str(path)
    checkpoint = load_torch(path, FORMAT, "highlight ranker not found; cinestage ships none: train one with "
                                          "`cinestage train highlights` on videos with marked highlights")
    try:
        net = RankNet()
        net.load_state_dict(checkpoint["state"], strict=True)
        info = dict(checkpoint["info"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        text = str(exc).strip().splitlines()
        raise ModelError(source, f"checkpoint does not fit the highlight ranker: "
                                 f"{text[0] if text else type(exc).__name__}") from None
    info["sha256"] = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    return HighlightRanker(net, info)


def segment_options(ranker: HighlightRanker | None, window: float | None = None) -> SegmentOptions:
    """Segments of `window` seconds when given, else cut as the ranker's training clips were
    (its features pooled over segments of that length), else `SegmentOptions()`."""
    if window is not None:
        return SegmentOptions(window=window)
    return SegmentOptions(**ranker.info.get("segments", {})) if ranker is not None else SegmentOptions()


def rank(video: VideoSegments, ranker: HighlightRanker | None) -> SegmentScores:
    return ranker.scores(video) if ranker is not None else fallback_scores(video)


# --- labelled videos -----------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """A marked highlight: seconds from the clip's start; popularity as given (None: not given)."""

    start: float
    end: float
    popularity: float | None = None


@dataclass(frozen=True)
class LabelledVideo:
    """positive (S,) bool; popularity (S,) normalised p in [0, 1] of positive segments (0 elsewhere)."""

    segments: VideoSegments
    marks: tuple[Mark, ...]
    positive: np.ndarray
    popularity: np.ndarray


def read_marks(path: str | Path) -> dict[str, list[Mark]]:
    """The label CSV: a header `video,start_s,end_s` and optionally `popularity`, one row per
    marked highlight; `video` is a file name in the videos' folder."""
    path = Path(path)
    if not path.is_file():
        raise CinestageError(str(path), "labels file not found")
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        columns = set(reader.fieldnames or ())
        if not {"video", "start_s", "end_s"} <= columns:
            raise CinestageError(str(path), "labels need a header with columns video, start_s, end_s "
                                            "(and optionally popularity)")
        marks: dict[str, list[Mark]] = {}
        for line, row in enumerate(reader, start=2):
            try:
                start, end = float(row["start_s"]), float(row["end_s"])
                given = (row.get("popularity") or "").strip()
                popularity = float(given) if given else None
            except (TypeError, ValueError):
                raise CinestageError(str(path), f"line {line}: start_s, end_s and popularity must be numbers") from None
            if not 0 <= start < end or (popularity is not None and not popularity >= 0):
                raise CinestageError(str(path), f"line {line}: needs 0 <= start_s < end_s and popularity >= 0")
            marks.setdefault(str(row["video"]).strip(), []).append(Mark(start, end, popularity))
    if not marks:
        raise CinestageError(str(path), "no marked highlights")
    return marks


def _covered(segment: Segment, marks: Sequence[Mark]) -> float:
    """Seconds of the segment inside marked intervals (marks may overlap each other)."""
    spans = sorted((max(m.start, segment.start_time), min(m.end, segment.end_time)) for m in marks)
    covered, reach = 0.0, segment.start_time
    for a, b in spans:
        a = max(a, reach)
        if b > a:
            covered, reach = covered + b - a, b
    return covered


def label(video: VideoSegments, marks: Sequence[Mark], popularity_scale: float) -> LabelledVideo:
    """Segments covered at least `OVERLAP` by marks are positive; their p is the largest
    popularity among the marks touching them, divided by `popularity_scale`."""
    positive, popularity = [], []
    for s in video.segments:
        is_positive = _covered(s, marks) >= OVERLAP * s.duration
        touching = [m.popularity or 0.0 for m in marks if m.start < s.end_time and m.end > s.start_time]
        positive.append(is_positive)
        popularity.append(max(touching) / popularity_scale if is_positive and touching else 0.0)
    return LabelledVideo(video, tuple(marks), np.array(positive), np.array(popularity))


def load_labelled(folder: str | Path, labels_csv: str | Path, options: SegmentOptions = SegmentOptions(),
                  progress: Progress | None = None) -> list[LabelledVideo]:
    """Segment and label every video the CSV names (all must be in `folder`)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CinestageError(str(folder), "no such folder of videos")
    marks = read_marks(labels_csv)
    missing = [name for name in marks if not (folder / name).is_file()]
    if missing:
        raise CinestageError(str(labels_csv), f"names videos not in {folder}: {', '.join(missing[:5])}")
    given = [m.popularity for ms in marks.values() for m in ms if m.popularity is not None]
    scale = max(given) if given and max(given) > 0 else 1.0
    net = backbone.imagenet_features()
    videos = []
    for i, (name, ms) in enumerate(sorted(marks.items())):
        videos.append(label(segment_video(folder / name, options, net), ms, scale))
        if progress:
            progress(i + 1, len(marks))
    return videos


# --- training and evaluation ---------------------------------------------------------------


def ranking_pairs(videos: Sequence[LabelledVideo]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (positive, negative) pair of segments of one video, as rows of the stacked
    features of `videos`: positive rows, negative rows, the positive's popularity."""
    pos, neg, pop, offset = [], [], [], 0
    for v in videos:
        p, n = np.flatnonzero(v.positive), np.flatnonzero(~v.positive)
        pos_grid, neg_grid = np.meshgrid(p, n, indexing="ij")
        pos.append(pos_grid.ravel() + offset)
        neg.append(neg_grid.ravel() + offset)
        pop.append(np.repeat(v.popularity[p], len(n)))
        offset += len(v.positive)
    return np.concatenate(pos), np.concatenate(neg), np.concatenate(pop)


def train_ranker(videos: Sequence[LabelledVideo], *, steps: int = 3000, batch_size: int = 64, lr: float = 1e-3,
                 adaptive: bool = True, seed: int = 0, out: str | Path | None = None,
                 log: Callable[[str], None] = print, progress: Progress | None = None) -> HighlightRanker:
    """RankNet trained on pairs drawn within each video (batches of `batch_size` pairs drawn
    uniformly from all of them) with the Huber rank loss, adaptive when `adaptive`."""
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be positive, got {steps} and {batch_size}")
    pos, neg, pop = ranking_pairs(videos)
    if not len(pos):
        raise CinestageError(f"{len(videos)} training videos", "no video has both a marked and an unmarked segment")
    if adaptive and not pop.any():
        log("no popularity in the labels: the adaptive loss is the plain Huber rank loss (delta 1.5)")
    x = torch.from_numpy(np.concatenate([v.segments.features for v in videos]))
    pairs = torch.from_numpy(np.stack([pos, neg]))
    torch.manual_seed(seed)
    net = RankNet()
    net.mean.copy_(x.mean(dim=0))
    std = x.std(dim=0)
    # A feature constant in training stays unscaled: dividing by ~0 would blow up unseen values.
    net.std.copy_(torch.where(std > 1e-6, std, torch.ones_like(std)))
    optimiser = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=1e-3)
    draw = np.random.default_rng(seed)
    losses = []
    tail = max(1, steps // 10)
    net.train()
    for step in range(steps):
        batch = torch.from_numpy(draw.integers(0, len(pos), batch_size))
        scores = net(x[pairs[:, batch].reshape(-1)]).view(2, -1)
        delta = adaptive_delta(torch.from_numpy(pop[batch]).float()) if adaptive else DELTA
        loss = huber_rank_loss(scores[0], scores[1], delta).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
        if (step + 1) % tail == 0:
            log(f"step {step + 1}/{steps}: rank loss {np.mean(losses[-tail:]):.4f}")
        if progress:
            progress(step + 1, steps)
    info = {"trained_on": f"{len(videos)} videos, {len(pos)} pairs", "videos": len(videos), "pairs": len(pos),
            "steps": steps, "batch_size": batch_size, "lr": lr, "adaptive": adaptive, "seed": seed,
            "segments": asdict(videos[0].segments.options),
            "loss": [float(np.mean(losses[:tail])), float(np.mean(losses[-tail:]))]}  # first and last tenth
    ranker = HighlightRanker(net, info)
    if out is not None:
        ranker.save(out)
    return ranker


def average_precision(scores: np.ndarray, positive: np.ndarray) -> float:
    """AP of the ranking by descending score (ties: earlier first)."""
    hits = positive[np.lexsort((np.arange(len(scores)), -scores))]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision[hits].mean())


def chance_average_precision(n: int, k: int) -> float:
    """Expected AP of a uniformly random order of n items with k positives:
    (1/n) sum_i [1/i + (k-1)/(n-1) (i-1)/i]."""
    i = np.arange(1, n + 1)
    return float(np.mean(1 / i + ((k - 1) / (n - 1) if n > 1 else 0.0) * (i - 1) / i))


def msd(order: np.ndarray, segments: Sequence[Segment], mark: Mark, duration: float) -> float:
    """nMSD of one marked interval for segments taken in `order` (see the module notes)."""
    target = OVERLAP * (min(mark.end, duration) - mark.start)
    length = inside = 0.0
    for i in order:
        s = segments[i]
        length += s.duration
        inside += max(0.0, min(s.end_time, mark.end) - max(s.start_time, mark.start))  # segments are disjoint
        if inside >= target - 1e-9:
            break
    return float(np.clip((length - target) / max(duration - target, 1e-9), 0.0, 1.0))


@dataclass(frozen=True)
class HighlightEvaluation:
    mean_ap: float
    nmsd: float
    chance_mean_ap: float
    chance_nmsd: float
    videos: int  # with a positive segment (mAP)
    marks: int  # marked intervals (nMSD)


def evaluate(scores: Sequence[np.ndarray], videos: Sequence[LabelledVideo], seed: int = 0,
             random_orders: int = 100) -> HighlightEvaluation:
    """mAP and nMSD of per-video segment scores, with their chance levels."""
    aps, chance_aps, nmsds, chance_nmsds = [], [], [], []
    draw = np.random.default_rng(seed)
    for s, v in zip(scores, videos, strict=True):
        segs = v.segments.segments
        if v.positive.any():
            aps.append(average_precision(np.asarray(s), v.positive))
            chance_aps.append(chance_average_precision(len(segs), int(v.positive.sum())))
        order = np.lexsort((np.arange(len(s)), -np.asarray(s)))
        for m in v.marks:
            if m.start >= v.segments.duration:
                continue
            nmsds.append(msd(order, segs, m, v.segments.duration))
            chance_nmsds.append(np.mean([msd(draw.permutation(len(segs)), segs, m, v.segments.duration)
                                         for _ in range(random_orders)]))
    if not aps:
        raise CinestageError(f"{len(videos)} evaluation videos", "no segment is covered by a marked highlight")
    return HighlightEvaluation(float(np.mean(aps)), float(np.mean(nmsds)), float(np.mean(chance_aps)),
                               float(np.mean(chance_nmsds)), len(aps), len(nmsds))


def evaluate_ranker(ranker: HighlightRanker | None, videos: Sequence[LabelledVideo],
                    log: Callable[[str], None] = print) -> HighlightEvaluation:
    """Prints and returns mAP and nMSD of a trained ranker (None: the unsupervised fallback)."""
    result = evaluate([rank(v.segments, ranker).values for v in videos], videos)
    log(f"{ranker.label if ranker is not None else FALLBACK} on {result.videos} videos, {result.marks} marked highlights: "
        f"mAP {result.mean_ap:.1%} (chance {result.chance_mean_ap:.1%}, higher better), "
        f"nMSD {result.nmsd:.1%} (chance {result.chance_nmsd:.1%}, lower better)")
    return result
