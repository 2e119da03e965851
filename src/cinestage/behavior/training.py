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
from scipy.ndimage import gaussian_filter1d

from cinestage.behavior.dataset import CATEGORIES, Sequence, generate
from cinestage.behavior.gating import gating_network
from cinestage.behavior.moe import (
    NOISE_AMPLITUDE,
    BehaviourModel,
    MoEPredictor,
    augment_past_camera,
    first_frame_weighted_mse,
    load_behaviour,
    save_behaviour,
)
from cinestage.behavior.synthetic import BEHAVIOURS, SHOT_TYPES
from cinestage.camera.shots import nearest_shot

PAST, FUTURE, HORIZON = 60, 60, 30
LEAD = HORIZON  # most frames of a training window's past that are the model's own prediction
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
    recognition: float = 0.05  # weight of the behaviour cross-entropy on the style code
    estimated: float = 0.5  # share of reference crops carrying the film analysis's estimation errors
    closed_loop: float = 2 / 3  # share of steps whose past ends with 1..LEAD frames of the model's own roll-out
    seed: int = 0
    # One thread: the network is small, and on a shared 2-core machine two OpenMP threads spin
    # against any other busy process (measured: 9x slower than one thread under load).
    threads: int = 1


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

    def to_json(self) -> dict:
        return {k: np.asarray(v, np.float64).tolist() for k, v in asdict(self).items()}

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
    """Random training windows and reference crops from a list of sequences (raw units): anything
    with per-frame character and camera arrays (a Sequence, a recognition.ReadBack)."""

    def __init__(self, sequences: list, rng: np.random.Generator):
        self.sequences, self.rng = sequences, rng
        self.character = np.concatenate([s.character for s in sequences])
        self.camera = np.concatenate([s.camera for s in sequences])
        lengths = np.array([len(s) for s in sequences])
        self.offsets = np.concatenate([[0], np.cumsum(lengths)])[:-1]
        self.lengths = lengths
        valid = np.maximum(lengths - FUTURE + 1, 0)
        self.weights = valid / valid.sum()

    def windows(self, n: int, seq: np.ndarray | None = None, lead: int = 0):
        """Windows "now" at frame t: (seq, character (n, lead+PAST+FUTURE, 9), camera (n, lead+PAST+HORIZON, 5)),
        both starting `lead` frames before the past window, raw units. t may be any frame with a
        full future, the first of a sequence too: frames before the start repeat the first one,
        as a roll-out's past does at the start of a performance (windows only from t >= PAST left
        that start unseen, and roll-outs jumped by up to 1 rad on their first frame)."""
        seq = self.rng.choice(len(self.sequences), n, p=self.weights) if seq is None else seq
        start = self.offsets[seq]
        t = start + (self.rng.random(n) * (self.lengths[seq] - FUTURE + 1)).astype(int)
        frames = lambda count: np.maximum(t[:, None] - PAST - lead + np.arange(count), start[:, None])  # noqa: E731
        return seq, self.character[frames(lead + PAST + FUTURE)], self.camera[frames(lead + PAST + HORIZON)]

    def references(self, seq: np.ndarray, crop: tuple[int, int]):
        """Crops (B, L, 14) in raw units, padded, and their lengths (after the stride)."""
        lengths = np.minimum(self.rng.integers(crop[0], crop[1] + 1, len(seq)), self.lengths[seq])
        starts = (self.rng.random(len(seq)) * (self.lengths[seq] - lengths + 1)).astype(int)
        steps = (lengths + REFERENCE_STRIDE - 1) // REFERENCE_STRIDE
        idx = np.arange(steps.max()) * REFERENCE_STRIDE
        frames = self.offsets[seq, None] + starts[:, None] + np.minimum(idx[None], lengths[:, None] - 1)
        return self.character[frames], self.camera[frames], steps


def hold_start(character: np.ndarray, camera: np.ndarray, rng: np.random.Generator, last: int,
               probability: float = 1 / 3, first: int = 5):
    """A third of the windows look like the start of a performance: their first k frames (k in
    first..last) repeat frame k, for the character features and the cameras alike, as a roll-out
    begins with a held past (Jiang et al.'s reference code holds both). `last` reaches the whole
    past: a roll-out's first step sees nothing but the held start."""
    character, camera = character.copy(), camera.copy()
    rows = np.flatnonzero(rng.random(len(character)) < probability)
    for i, k in zip(rows, rng.integers(first, last + 1, len(rows))):
        character[i, :k], camera[i, :k] = character[i, k], camera[i, k]
    return character, camera


@dataclass(frozen=True)
class EstimationErrors:
    """How wrong the film analysis reads a rendered duet back, per clip: for theta, phi (radians)
    and the actors' distance (metres), (mean bias, bias spread, wobble, slow drift); the drift is
    the part that follows the pose for seconds, which a behaviour network would otherwise take
    for camera motion. Wobble and drift are Gaussian-filtered noise over `wobble_steps` and
    `drift_steps` reference steps (2 frames each), scaled to the given std per clip."""

    layout: float = 0.01  # per-frame error of the heads' screen points
    theta: tuple[float, float, float, float] = (0.0, 0.08, 0.12, 0.0)
    phi: tuple[float, float, float, float] = (-0.08, 0.08, 0.06, 0.0)
    distance: tuple[float, float, float, float] = (0.04, 0.08, 0.08, 0.0)
    cosine_bias: float = 0.04
    cosine_wobble: tuple[float, float] = (0.02, 0.15)  # per clip and cosine, drawn uniformly
    cosine_drift: float = 0.0
    swapped: float = 0.25  # share of clips whose main actor is taken for the other
    wobble_steps: float = 3.0
    drift_steps: float = 8.0


# Measured on the round trip's references with the first feature network: what the gating
# network trains with. behavior.recognition measures its own on separate read-back references.
GATING_ERRORS = EstimationErrors()


def estimation_noise(character: np.ndarray, camera: np.ndarray, rng: np.random.Generator,
                     errors: EstimationErrors = GATING_ERRORS):
    """Copies of reference crops (B, L, 9) and (B, L, 5), every second frame, raw units, with the
    errors the film analysis makes reading a rendered duet back: every estimated value off by a
    bias per clip, a wobble (the pose estimator's error follows the pose) and a slow drift, the
    heads' screen points nearly exact, and the main actor taken for the other in some clips. A
    gating network trained on exact features only read these as a different behaviour."""
    b, length = camera.shape[:2]

    def filtered(sigma, steps, channels=()):
        w = gaussian_filter1d(rng.normal(0.0, 1.0, (b, length, *channels)), steps, axis=1, mode="nearest")
        return w / np.maximum(w.std(axis=1, keepdims=True), 1e-6) * sigma

    def error(mean, spread, wobble, drift):
        e = rng.normal(mean, spread, (b, 1)) + filtered(wobble, errors.wobble_steps)
        return e + filtered(rng.uniform(0.0, 2 * drift, (b, 1)), errors.drift_steps) if drift else e

    camera, character = camera.copy(), character.copy()
    camera[..., :3] += rng.normal(0.0, errors.layout, camera[..., :3].shape)
    camera[..., 3] += error(*errors.theta)
    camera[..., 4] += error(*errors.phi)
    character[..., 0] += error(*errors.distance)
    cosines = character[..., 1:7] + rng.normal(0.0, errors.cosine_bias, (b, 1, 6)) \
        + filtered(rng.uniform(*errors.cosine_wobble, (b, 1, 6)), errors.wobble_steps, (6,))
    if errors.cosine_drift:
        cosines += filtered(rng.uniform(0.0, 2 * errors.cosine_drift, (b, 1, 1)), errors.drift_steps, (6,))
    character[..., 1:7] = np.clip(cosines, -1.0, 1.0)
    swapped = rng.random(b) < errors.swapped
    character[swapped, :, 7:] = character[swapped, :, 7:][..., ::-1]
    return character, camera


def closed_loop_past(model: BehaviourModel, code: torch.Tensor, character: torch.Tensor, camera: torch.Tensor,
                     lead: int) -> torch.Tensor:
    """The past cameras (B, PAST, 5) `lead` frames after the window start, its last `lead` angles
    the model's own prediction from the window start (theta and phi; the roll-out holds the
    layout). Trained to predict the true future from there, the model learns to steer back
    instead of compounding its own errors: teacher forcing alone gave good one-step predictions
    and 10 s roll-outs worse than a still camera. One prediction of `lead` <= HORIZON frames
    rather than `lead` one-frame steps: the same lesson at a tenth of the cost. Standardised
    units, no gradient."""
    with torch.no_grad():
        pred = model.predict(code, character[:, :PAST], character[:, PAST:PAST + FUTURE], camera[:, :PAST])
    cams = camera[:, lead:PAST + lead].clone()
    cams[:, PAST - lead:, 3:] = pred[:, :lead, 3:]
    return cams


def reference_features(norm: Normaliser, character: np.ndarray, camera: np.ndarray,
                       limit: int | None = 400) -> torch.Tensor:
    """(1, L, 14) gating input from a whole sequence: its first `limit` frames (all with None), every second one."""
    return torch.from_numpy(norm.features(character[:limit:REFERENCE_STRIDE], camera[:limit:REFERENCE_STRIDE])[None])


def _tensor(a) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, np.float32))


def train(config: BehaviourConfig, train_set: list[Sequence] | None = None, log: Callable[[str], None] = print):
    threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        return _train(config, train_set, log)
    finally:
        torch.set_num_threads(threads)


def _train(config: BehaviourConfig, train_set: list[Sequence] | None, log: Callable[[str], None]):
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    start = time.perf_counter()
    train_set = train_set if train_set is not None else generate(config.per_category, seed=config.seed)
    norm = Normaliser.fit(train_set)
    sampler = Sampler(train_set, rng)
    log(f"{len(train_set)} training sequences, {len(sampler.camera)} frames ({time.perf_counter() - start:.0f} s)")
    model = BehaviourModel(gating_network(config.gating, config.experts, hidden=config.gating_hidden),
                           MoEPredictor(config.experts, config.hidden), len(BEHAVIOURS))
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    behaviours = torch.tensor([behaviour_of(s.category) for s in train_set])
    norm_noise = np.asarray(NOISE_AMPLITUDE) / norm.camera_std
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, config.gamma)
    curve = []
    model.train()
    for step in range(config.steps):
        lead = int(rng.integers(1, LEAD + 1)) if rng.random() < config.closed_loop else 0
        seq, ch, cam = sampler.windows(config.batch, lead=lead)
        ref_ch, ref_cam, lengths = sampler.references(seq, config.reference)
        ch, cam = hold_start(ch, cam, rng, last=PAST + lead)
        ch_t, cam_t = _tensor(norm.character(ch)), _tensor(norm.camera(cam))
        noisy = rng.random(len(seq)) < config.estimated
        ref_ch[noisy], ref_cam[noisy] = estimation_noise(ref_ch[noisy], ref_cam[noisy], rng)
        ref = torch.from_numpy(norm.features(ref_ch, ref_cam))
        opt.zero_grad()
        lengths_t = torch.from_numpy(lengths)
        logits = model.gating.logits(ref, lengths_t)
        code = torch.softmax(logits, -1)
        past = closed_loop_past(model, code.detach(), ch_t, cam_t, lead) if lead else cam_t[:, :PAST]
        past = augment_past_camera(past, gen, hold_probability=0.0, amplitude=norm_noise)
        now = lead + PAST
        pred = model.predict(code, ch_t[:, lead:now], ch_t[:, now:now + FUTURE], past)
        loss = first_frame_weighted_mse(pred, cam_t[:, now:])
        if config.recognition:
            recognised = model.recogniser(torch.log_softmax(logits, -1))
            loss = loss + config.recognition * torch.nn.functional.cross_entropy(recognised, behaviours[seq])
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
    return model, norm, info


def styles(model: BehaviourModel, norm: Normaliser, sequences: list[Sequence]) -> np.ndarray:
    with torch.inference_mode():
        return np.stack([model.style(reference_features(norm, s.character, s.camera))[0].numpy() for s in sequences])


def behaviour_of(category: int) -> int:
    return category // len(SHOT_TYPES)  # CATEGORIES is behaviour-major


def recognise(model: BehaviourModel, codes: np.ndarray, layouts: np.ndarray) -> list[str]:
    """Category names "behaviour/shot" for style codes (N, E) and screen layouts (N, 3): the
    behaviour the recogniser finds most likely, the shot size nearest the layout (a re-applied
    camera holds the reference's layout, so the layout is what its shot size is)."""
    with torch.inference_mode():
        found = model.recognise(torch.as_tensor(np.asarray(codes), dtype=torch.float32)).argmax(-1).numpy()
    return [f"{BEHAVIOURS[b]}/{nearest_shot(layout)}" for b, layout in zip(found, layouts)]


def evaluate(model: BehaviourModel, norm: Normaliser, sequences: list[Sequence], samples: int = 2000,
             seed: int = 123) -> dict:
    """Trajectory MSE (standardised units, all 30 frames, the paper's measure) and how often the
    recognised category / behaviour is the true one."""
    sampler = Sampler(sequences, np.random.default_rng(seed))
    seq, ch, cam = sampler.windows(samples)
    ch, cam = _tensor(norm.character(ch)), _tensor(norm.camera(cam))
    codes = styles(model, norm, sequences)
    with torch.inference_mode():
        pred = model.predict(torch.from_numpy(codes[seq]), ch[:, :PAST], ch[:, PAST:], cam[:, :PAST])
    mse = float(((pred - cam[:, PAST:]) ** 2).mean())
    found = recognise(model, codes, [np.median(s.camera[:, :3], axis=0) for s in sequences])
    truth = [CATEGORIES[s.category] for s in sequences]
    return {"mse": mse, "category_accuracy": float(np.mean([f == t for f, t in zip(found, truth)])),
            "behaviour_accuracy": float(np.mean([f.split("/")[0] == t.split("/")[0] for f, t in zip(found, truth)])),
            "sequences": len(sequences)}


def checkpoint_dir() -> Path:
    from importlib import resources
    return Path(str(resources.files("cinestage.behavior") / "checkpoints"))


def save(model, norm: Normaliser, info: dict, path: Path) -> None:
    save_behaviour(model, path, info, norm.to_json())


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
        model, norm, _ = load(folder / f"{v}.pt")
        rows.append({"gating": v, **{k: evaluate(model, norm, seqs) for k, seqs in sets.items()}})
    return rows
