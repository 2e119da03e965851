"""VideoTag (METHODS §7): TSN sampling, the attention-LSTM head at the method's widths, training
on a tiny generated tag set (planted visual content: a red disc, stripes, a dark picture) with F1
above chance on held-out videos, checkpoints, labelled-folder mistakes, and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from cinestage.edit.videotag import (
    AttentionLSTM,
    SnippetEncoder,
    VideoTagConfig,
    evaluate_videotag,
    from_pretrained,
    read_tag_set,
    score_tags,
    snippet_frames,
    tag_set_features,
    train_videotag,
)
from cinestage.errors import CinestageError, ModelError
from cinestage.render.video import VideoWriter

TAGS = ("red", "stripes", "dark")
SIZE = 64  # pixels, frames and snippets: the CNN is real, the pictures tiny
SMALL = {"segments": 4, "embedding": 64, "lstm": 32, "fc1": 128, "fc2": 64, "image_size": SIZE}
CLI = [str(Path(sys.executable).with_name("cinestage"))]


def _frame(rng: np.random.Generator, red: bool, stripes: bool, dark: bool, t: int) -> np.ndarray:
    image = np.full((SIZE, SIZE, 3), 170.0) + rng.normal(0, 8, (SIZE, SIZE, 3))
    if stripes:
        image[(np.arange(SIZE) // 4) % 2 == 0] = 30.0
    if red:
        yy, xx = np.mgrid[:SIZE, :SIZE]
        cx, cy = 20 + 2 * t % 24, 32 + rng.integers(-3, 4)
        image[(xx - cx) ** 2 + (yy - cy) ** 2 < 14**2] = (220.0, 20.0, 20.0)
    if dark:
        image *= 0.3
    return np.clip(image, 0, 255).astype(np.uint8)


def make_tag_set(folder: Path, videos: int, seed: int, frames: int = 12) -> object:
    """`videos` clips cycling through every combination of the three tags, with tags.txt and
    labels.csv; returns the set as `read_tag_set` reads it."""
    rng = np.random.default_rng(seed)
    (folder / "clips").mkdir(parents=True, exist_ok=True)
    lines = ["video,tags"]
    for i in range(videos):
        bits = [(i >> k) & 1 == 1 for k in range(3)]
        name = f"clips/v{i:02d}.mp4"
        writer = VideoWriter(folder / name, SIZE, SIZE, 12.0, crf=18)
        for t in range(frames):
            writer.write(_frame(rng, *bits, t))
        writer.close()
        lines.append(f"{name},{';'.join(tag for tag, on in zip(TAGS, bits) if on)}")
    (folder / "tags.txt").write_text("# planted content\n" + "\n".join(TAGS) + "\n")
    (folder / "labels.csv").write_text("\n".join(lines) + "\n")
    return read_tag_set(folder)


@pytest.fixture(scope="module")
def encoder() -> SnippetEncoder:
    return SnippetEncoder(SIZE)


@pytest.fixture(scope="module")
def sets(tmp_path_factory, encoder):
    """Train (32 videos, 3 candidate snippets per segment) and held-out (16) sets with features."""
    root = tmp_path_factory.mktemp("videotag")
    train, test = make_tag_set(root / "train", 32, 0), make_tag_set(root / "test", 16, 1)
    return (train, tag_set_features(train, encoder, SMALL["segments"], 3),
            test, tag_set_features(test, encoder, SMALL["segments"], 1)[:, :, 0])


@pytest.fixture(scope="module")
def trained(sets, encoder):
    train, features, _, _ = sets
    return train_videotag(train, VideoTagConfig(train.tags, **SMALL), steps=80, batch_size=8, features=features,
                          encoder=encoder)


def test_tsn_takes_one_snippet_per_equal_segment():
    centre = snippet_frames(100, 4)
    assert centre.shape == (4, 1) and centre[:, 0].tolist() == [12, 37, 62, 87]
    grid = snippet_frames(100, 4, per_segment=3, start=10)
    assert grid.shape == (4, 3)
    for k, row in enumerate(grid - 10):  # every candidate lies inside its own segment
        assert np.all((row >= 25 * k) & (row < 25 * (k + 1)))
    # Fewer frames than segments: frames repeat, none is invented.
    assert snippet_frames(3, 6)[:, 0].tolist() == [0, 0, 1, 1, 2, 2]


def test_head_has_the_method_shape_and_attends_over_time():
    config = VideoTagConfig(("a", "b", "c"))
    head = AttentionLSTM(config).eval()
    assert (head.embed.in_features, head.embed.out_features) == (1280, 1024)
    assert head.lstm.bidirectional and head.lstm.hidden_size == 512
    assert head.attention.in_features == 1024 and head.attention.out_features == 1
    assert (head.fc1.out_features, head.fc2.out_features, head.logits.out_features) == (8192, 4096, 3)
    assert config.segments == 32 and config.dropout == 0.5
    small = AttentionLSTM(VideoTagConfig(("a", "b"), **SMALL)).eval()
    x = torch.randn(2, 7, 1280)
    weights = []
    small.attention.register_forward_hook(lambda m, i, o: weights.append(torch.softmax(o, dim=1)))
    assert small(x).shape == (2, 2)
    assert weights[0].shape == (2, 7, 1) and torch.allclose(weights[0].sum(dim=1), torch.ones(2, 1))


def test_f1_is_the_pooled_definition():
    truth = np.array([[1, 1, 0], [0, 0, 1], [1, 0, 0]])
    predicted = np.array([[1, 0, 0], [0, 1, 1], [1, 0, 1]])
    s = score_tags(predicted, truth)
    # Σ|TG ∩ TP| = 3, Σ|TP| = 5, Σ|TG| = 4: P = 0.6, R = 0.75, F1 = 2PR / (P + R).
    assert (s.hits, s.predicted, s.true) == (3, 5, 4)
    assert s.f1 == pytest.approx(2 * 0.6 * 0.75 / 1.35)
    assert s.chance_all == pytest.approx(2 * (4 / 9) / (1 + 4 / 9))


def test_training_beats_chance_on_held_out_videos(sets, trained, capsys):
    _, _, test, features = sets
    assert np.mean(trained.losses[-10:]) < 0.5 * np.mean(trained.losses[:10])
    scores = evaluate_videotag(trained.tagger, test, features=features)
    printed = capsys.readouterr().out
    assert "F1" in printed and f"{scores.f1:.4f}" in printed and "Σ|TG ∩ TP| / Σ|TP|" in printed
    assert scores.f1 >= scores.chance + 0.2, printed


def test_checkpoint_round_trip(trained, sets, tmp_path):
    _, _, test, features = sets
    path = trained.tagger.save(tmp_path / "tagger.pt")
    loaded = from_pretrained(path, encoder=trained.tagger.encoder)
    assert loaded.config == trained.tagger.config and loaded.info["steps"] == 80
    assert np.allclose(loaded.probabilities(features), trained.tagger.probabilities(features), atol=1e-6)
    found = loaded.tag(test.videos[7])  # v07: all three tags planted
    assert [t for t, _ in found] and all(p >= 0.5 for _, p in found)


def test_missing_or_damaged_checkpoints_are_model_errors(trained, tmp_path):
    with pytest.raises(ModelError, match="not found"):
        from_pretrained(tmp_path / "absent.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(trained.tagger.save(tmp_path / "good.pt").read_bytes()[:5000])
    with pytest.raises(ModelError, match="not a readable torch file"):
        from_pretrained(corrupt)
    torch.save({"format": "something-else"}, tmp_path / "other.pt")
    with pytest.raises(ModelError, match="not a cinestage.videotag/1 checkpoint"):
        from_pretrained(tmp_path / "other.pt")
    state = torch.load(tmp_path / "good.pt", weights_only=True)
    state["config"]["lstm"] = 16
    torch.save(state, tmp_path / "misfit.pt")
    with pytest.raises(ModelError, match="does not fit"):
        from_pretrained(tmp_path / "misfit.pt")


@pytest.mark.parametrize("labels, problem", [
    ("video;tags\n", "header"),
    ("video,tags\nclips/v00.mp4,red;blue\n", "'blue' is not in the tag list"),
    ("video,tags\nclips/nope.mp4,red\n", "no such video"),
    ("video,tags\nclips/v00.mp4,red\nclips/v00.mp4,dark\n", "labelled twice"),
])
def test_labelled_folder_mistakes_name_the_line(sets, tmp_path, labels, problem):
    folder = sets[0].folder
    path = tmp_path / "labels.csv"
    path.write_text(labels)
    with pytest.raises(CinestageError, match=problem):
        read_tag_set(folder, labels=path)


def _cinestage(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(CLI + list(args), capture_output=True, text=True, env=env, timeout=600, check=False)


def test_cli_trains_evaluates_and_tags(sets, tmp_path):
    train, _, test, _ = sets
    model = tmp_path / "tagger.pt"
    widths = ["--segments", "4", "--embedding", "64", "--lstm", "32", "--fc1", "128", "--fc2", "64",
              "--image-size", str(SIZE)]
    run = _cinestage("train", "videotag", str(train.folder), "--out", str(model), "--steps", "60", "--batch-size", "8",
                     *widths)
    assert run.returncode == 0, run.stderr
    assert model.is_file() and "wrote" in run.stdout
    run = _cinestage("eval", "videotag", str(model), str(test.folder))
    assert run.returncode == 0, run.stderr
    assert "F1" in run.stdout and "chance" in run.stdout
    # Content tags join the cinematographic ones: v07 has all three tags planted.
    run = _cinestage("tags", str(test.videos[7]), "--model", str(model), "--out", str(tmp_path / "v07.json"))
    assert run.returncode == 0, run.stderr
    content = [t["value"] for c in json.loads((tmp_path / "v07.json").read_text())["clips"] for t in c["tags"]
               if t["kind"] == "content"]
    assert set(content) == set(TAGS), run.stdout
    bad = _cinestage("eval", "videotag", str(tmp_path / "none.pt"), str(test.folder))
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "not found" in bad.stderr
