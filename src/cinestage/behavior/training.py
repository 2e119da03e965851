"""Training the behaviour model (gating + mixture of experts) and the paper's ablation figures.

Samples (METHODS §3): at a frame t of a sequence, 60 past + 60 future character frames and 60
past camera frames in, the next 30 camera frames out; the gating network reads a random crop of
the same sequence (its 14 features per frame, every second frame: a behaviour does not change
within 80 ms, and the LSTM's cost is per step). Adam 1e-3, weight decay 1e-5, learning rate
x 0.97 every 100 steps, first-frame-weighted MSE, Jiang et al.'s past-camera augmentations.

Held-out sets for the ablation: the training cameras' parameters on unseen duets ("held-out
motions"), and unseen camera parameters on the training duets ("held-out behaviours").
Widths are smaller than the paper's (gating 144, experts 128, 9 experts) so that all seven
ablation checkpoints ship in the package and train on 2 CPU cores.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from cinestage.behavior.dataset import CATEGORIES, Sequence, generate
from cinestage.behavior.gating import gating_network
from cinestage.behavior.moe import (BehaviourModel, MoEPredictor, augment_past_camera, first_frame_weighted_mse,
                                    load_behaviour, save_behaviour)

PAST, FUTURE, HORIZON = 60, 60, 30
REFERENCE_STRIDE = 2


@dataclass(frozen=True)
class BehaviourConfig:
    gating: str = "lstm-sa3"
    experts: int = 9
    gating_hidden: int = 144
    hidden: int = 128
    per_category: int = 10
    steps: int = 2500
    batch: int = 64
    reference: tuple[int, int] = (100, 400)  # crop lengths in frames, before the stride
    lr: float = 1e-3
    weight_decay: float = 1e-5
    gamma: float = 0.97
    recognition: float = 0.05  # weight of the category cross-entropy on the style code
    seed: int = 0


@dataclass(frozen=True)
class Normaliser:
    character_mean: np.ndarray
    character_std: np.ndarray
    camera_mean: np.ndarray
    camera_std: np.ndarray

    @classmethod
    def fit(cls, sequences: list[Sequence]) -> "Normaliser":
        ch = np.concatenate([s.character for s in sequences])
        cam = np.concatenate([s.camera for s in sequences])
        return cls(ch.mean(0), ch.std(0) + 1e-3, cam.mean(0), cam.std(0) + 1e-3)

    @classmethod
    def from_dict(cls, d: dict) -> "Normaliser":
        return cls(*(np.asarray(d[k], np.float32) for k in ("character_mean", "character_std", "camera_mean", "camera_std")))

    def as_dict(self) -> dict:
        return {k: np.asarray(v) for k, v in asdict(self).items()}

    def character(self, x):
        return (x - self.character_mean) / self.character_std

    def camera(self, x):
        return (x - self.camera_mean) / self.camera_std

    def camera_back(self, x):
        return x * self.camera_std + self.camera_mean

    def features(self, character, camera):
        """(T, 14) standardised gating input."""
        return np.concatenate([self.character(character), self.camera(camera)], -1).astype(np.float32)


class Sampler:
    """Random training windows and reference crops from a list of sequences (raw units)."""

    def __init__(self, sequences: list[Sequence], rng: np.random.Generator):
        self.sequences, self.rng = sequences, rng
        self.character = np.concatenate([s.character for s in sequences])
        self.camera = np.concatenate([s.camera for s in sequences])
        lengths = np.array([len(s) for s in sequences])
        self.offsets = np.concatenate([[0], np.cumsum(lengths)])[:-1]
        self.lengths = lengths
        valid = np.maximum(lengths - PAST - FUTURE + 1, 0)
        self.weights = valid / valid.sum()

    def windows(self, n: int, seq: np.ndarray | None = None):
        seq = self.rng.choice(len(self.sequences), n, p=self.weights) if seq is None else seq
        t = self.offsets[seq] + PAST + (self.rng.random(n) * (self.lengths[seq] - PAST - FUTURE + 1)).astype(int)
        past, future = t[:, None] + np.arange(-PAST, 0), t[:, None] + np.arange(FUTURE)
        return (seq, self.character[past], self.character[future], self.camera[past], self.camera[future[:, :HORIZON]])

    def references(self, seq: np.ndarray, crop: tuple[int, int]):
        """Crops (B, L, 14) in raw units, padded, and their lengths (after the stride)."""
        lengths = np.minimum(self.rng.integers(crop[0], crop[1] + 1, len(seq)), self.lengths[seq])
        starts = (self.rng.random(len(seq)) * (self.lengths[seq] - lengths + 1)).astype(int)
        steps = (lengths + REFERENCE_STRIDE - 1) // REFERENCE_STRIDE
        idx = np.arange(steps.max()) * REFERENCE_STRIDE
        frames = self.offsets[seq, None] + starts[:, None] + np.minimum(idx[None], lengths[:, None] - 1)
        return self.character[frames], self.camera[frames], steps


def hold_start(ch_past: np.ndarray, cam_past: np.ndarray, rng: np.random.Generator, probability: float = 1 / 3,
               frames: tuple[int, int] = (5, 55)):
    """A third of the windows look like the start of a performance: their first k past frames
    (k in 5..55) repeat frame k, for the character features and the cameras alike, as a roll-out
    begins with a held past (Jiang et al.'s reference code holds both)."""
    ch_past, cam_past = ch_past.copy(), cam_past.copy()
    rows = np.flatnonzero(rng.random(len(ch_past)) < probability)
    for i, k in zip(rows, rng.integers(frames[0], frames[1] + 1, len(rows))):
        ch_past[i, :k], cam_past[i, :k] = ch_past[i, k], cam_past[i, k]
    return ch_past, cam_past


def reference_features(norm: Normaliser, character: np.ndarray, camera: np.ndarray, limit: int = 400) -> torch.Tensor:
    """(1, L, 14) gating input from a whole sequence: its first `limit` frames, every second one."""
    return torch.from_numpy(norm.features(character[:limit:REFERENCE_STRIDE], camera[:limit:REFERENCE_STRIDE])[None])


def _tensors(norm: Normaliser, ch_past, ch_future, cam_past, cam_target=None):
    f = lambda a: torch.from_numpy(np.ascontiguousarray(a, np.float32))  # noqa: E731
    out = [f(norm.character(ch_past)), f(norm.character(ch_future)), f(norm.camera(cam_past))]
    return out + ([f(norm.camera(cam_target))] if cam_target is not None else [])


def train(config: BehaviourConfig, train_set: list[Sequence] | None = None, log: Callable[[str], None] = print):
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    start = time.perf_counter()
    train_set = train_set if train_set is not None else generate(config.per_category, seed=config.seed)
    norm = Normaliser.fit(train_set)
    sampler = Sampler(train_set, rng)
    log(f"{len(train_set)} training sequences, {len(sampler.camera)} frames ({time.perf_counter() - start:.0f} s)")
    model = BehaviourModel(gating_network(config.gating, config.experts, hidden=config.gating_hidden),
                           MoEPredictor(config.experts, config.hidden))
    # A linear probe from the gating logits to the 24 categories, trained alongside and then
    # dropped: it shapes the style space so the canonical behaviours form separate clusters
    # (the trajectory loss alone leaves codes of different behaviours overlapping).
    probe = torch.nn.Linear(config.experts, len(CATEGORIES))
    opt = torch.optim.Adam([*model.parameters(), *probe.parameters()], lr=config.lr, weight_decay=config.weight_decay)
    categories = torch.tensor([s.category for s in train_set])
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, config.gamma)
    curve = []
    model.train()
    for step in range(config.steps):
        seq, ch_past, ch_future, cam_past, target = sampler.windows(config.batch)
        ref_ch, ref_cam, lengths = sampler.references(seq, config.reference)
        ch_past, cam_past = hold_start(ch_past, cam_past, rng)
        cam_past = augment_past_camera(torch.from_numpy(cam_past), gen, hold_probability=0.0).numpy()
        ch_p, ch_f, cam_p, tgt = _tensors(norm, ch_past, ch_future, cam_past, target)
        ref = torch.from_numpy(norm.features(ref_ch, ref_cam))
        opt.zero_grad()
        lengths_t = torch.from_numpy(lengths)
        logits = model.gating.logits(ref, lengths_t)
        pred = model.predict(torch.softmax(logits, -1), ch_p, ch_f, cam_p)
        loss = first_frame_weighted_mse(pred, tgt)
        if config.recognition:
            loss = loss + config.recognition * torch.nn.functional.cross_entropy(probe(logits), categories[seq])
        loss.backward()
        opt.step()
        curve.append(loss.item())
        if (step + 1) % 100 == 0:
            sched.step()
            log(f"step {step + 1}/{config.steps}: loss {np.mean(curve[-100:]):.4f} ({time.perf_counter() - start:.0f} s)")
    model.eval()
    info = {"config": {**asdict(config), "reference": list(config.reference)}, "sequences": len(train_set),
            "seconds": round(time.perf_counter() - start, 1),
            "loss_curve": [round(float(np.mean(curve[i:i + 100])), 5) for i in range(0, len(curve), 100)]}
    info["centroids"] = style_centroids(model, norm, train_set).tolist()
    return model, norm, info


def styles(model: BehaviourModel, norm: Normaliser, sequences: list[Sequence]) -> np.ndarray:
    with torch.inference_mode():
        return np.stack([model.style(reference_features(norm, s.character, s.camera))[0].numpy() for s in sequences])


def style_centroids(model, norm, sequences) -> np.ndarray:
    """(24, E) mean style code of every category: the canonical behaviours in style space."""
    codes = styles(model, norm, sequences)
    cats = np.array([s.category for s in sequences])
    return np.stack([codes[cats == c].mean(0) for c in range(len(CATEGORIES))])


def nearest_category(code: np.ndarray, centroids: np.ndarray) -> int:
    return int(np.argmin(np.linalg.norm(centroids - code, axis=-1)))


def evaluate(model: BehaviourModel, norm: Normaliser, info: dict, sequences: list[Sequence], samples: int = 2000,
             seed: int = 123) -> dict:
    """Trajectory MSE (standardised units, all 30 frames, the paper's measure) and how often the
    style code's nearest canonical category / behaviour is the true one."""
    sampler = Sampler(sequences, np.random.default_rng(seed))
    seq, ch_past, ch_future, cam_past, target = sampler.windows(samples)
    ch_p, ch_f, cam_p, tgt = _tensors(norm, ch_past, ch_future, cam_past, target)
    codes = styles(model, norm, sequences)
    with torch.inference_mode():
        pred = model.predict(torch.from_numpy(codes[seq]), ch_p, ch_f, cam_p)
    mse = float(((pred - tgt) ** 2).mean())
    centroids = np.asarray(info["centroids"])
    found = np.array([nearest_category(c, centroids) for c in codes])
    truth = np.array([s.category for s in sequences])
    behaviour = lambda c: c // 6  # noqa: E731  (CATEGORIES is behaviour-major, 6 shots each)
    return {"mse": mse, "category_accuracy": float((found == truth).mean()),
            "behaviour_accuracy": float((behaviour(found) == behaviour(truth)).mean()), "sequences": len(sequences)}


def checkpoint_dir() -> Path:
    from importlib import resources
    return Path(str(resources.files("cinestage.behavior") / "checkpoints"))


def save(model, norm: Normaliser, info: dict, path: Path) -> None:
    save_behaviour(model, path, info, norm.as_dict())


def load(path: Path):
    model, norm, info = load_behaviour(path)
    return model, Normaliser.from_dict(norm), info


def held_out_sets(per_category: int = 3, seed: int = 0) -> dict[str, list[Sequence]]:
    return {"behaviours": generate(per_category, seed=seed + 500, motion_seed=seed),
            "motions": generate(per_category, seed=seed, motion_seed=seed + 700)}


def ablation(folder: Path | None = None) -> list[dict]:
    """Every shipped (or given) variant evaluated on both held-out sets, in the paper's order."""
    from cinestage.behavior.gating import GATING_VARIANTS
    from cinestage.errors import ModelError

    folder = Path(folder) if folder is not None else checkpoint_dir()
    found = [v for v in GATING_VARIANTS if (folder / f"{v}.pt").is_file()]
    if not found:
        raise ModelError(str(folder), "no behaviour checkpoints (<variant>.pt); train them with `cinestage train behavior --gating all`")
    sets = held_out_sets()
    rows = []
    for v in found:
        model, norm, info = load(folder / f"{v}.pt")
        rows.append({"gating": v, **{k: evaluate(model, norm, info, seqs) for k, seqs in sets.items()}})
    return rows
