"""assess_job on a real render (conftest's `render`: three of the demo's cameras on 3 s of the
built-in duet) and on a folder of real clips."""

from __future__ import annotations

import csv
import itertools
import json
import re
import shutil
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from small_render import FRAMES
from torchvision.models import resnet50

from cinestage.assess import vsfa
from cinestage.assess.aesthetics import AestheticHeads, AestheticNet, AestheticScorer
from cinestage.edit.edl import read_edl
from cinestage.edit.programme import ProgrammeOptions
from cinestage.edit.selection import DEFAULT_WEIGHTS, FusionWeights
from cinestage.errors import CinestageError
from cinestage.pipeline.assess_job import (
    FILES,
    NO_AESTHETICS,
    NO_VSFA,
    AssessOptions,
    assess_render,
    assess_videos,
    videos_in,
)

VIDEOS = Path(__file__).parents[2].parent / "shared" / "data" / "videos"
CLIPS = ("mmaction2_demo.mp4", "mmaction2_test_video_structuralize.mp4")
ABSENT = "../shared/data/videos absent: the real test clips live beside the project, not in it"
HEADER = re.compile(r"^(\w+) \[(\S+)\.\.(\S+), (higher|lower) better\]$")


@pytest.fixture
def output(render, tmp_path) -> Path:
    """A private copy of the render: every test writes its own assessment into it."""
    return Path(shutil.copytree(render, tmp_path / "out"))


@pytest.fixture(scope="module")
def assessed(render, tmp_path_factory):
    out = Path(shutil.copytree(render, tmp_path_factory.mktemp("assessed") / "out"))
    return out, assess_render(out, AssessOptions(programme=ProgrammeOptions(min_shot=1.0)))


def _frames(path: Path) -> tuple[int, tuple[int, int]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return sum(1 for _ in container.decode(video=0)), (stream.width, stream.height)


def _measures(doc) -> list[dict]:
    """Every Measure's JSON anywhere in a document (a dict with a value and a range)."""
    if isinstance(doc, dict):
        found = [doc] if "value" in doc and "range" in doc else []
        return found + [m for v in doc.values() for m in _measures(v)]
    if isinstance(doc, list):
        return [m for v in doc for m in _measures(v)]
    return []


def _header(names: list[str]) -> list[tuple[str, float, float, str]]:
    parsed = []
    for name in names:
        match = HEADER.match(name)
        assert match, f"column {name!r} does not carry its range and direction"
        parsed.append((match[1], float(match[2]), float(match[3]), match[4]))
    return parsed


def test_a_render_gains_scores_the_best_camera_and_a_programme(assessed):
    out, result = assessed
    for kind, name in FILES.items():
        assert result.paths[kind] == out / name and (out / name).stat().st_size > 0, name
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(FILES.values()) <= set(manifest["files"]) and manifest["best_camera"] == result.best
    assert result.best in ("wide", "two-shot", "orbit") and result.best in result.reason
    assert (out / "best.mp4").read_bytes() == (out / "cameras" / f"{result.best}.mp4").read_bytes()
    assert _frames(out / "programme.mp4") == (FRAMES, (256, 192))
    edl = read_edl(out / "programme.edl", 25.0)
    assert [e.clip for e in edl.events] == [f"{s.camera}.mp4" for s in result.programme.shots]
    assert NO_AESTHETICS in result.notes and NO_VSFA in result.notes
    assert not any("image quality" in n for n in result.notes), "256x192 is large enough for NIQE"
    assert not list(out.glob(".*")), "a temporary file was left behind"


def test_every_score_in_scores_json_carries_its_range_and_direction(assessed):
    out, result = assessed
    doc = json.loads((out / "scores.json").read_text())
    measures = _measures(doc)
    assert len(measures) > 3 * 17, "every camera's measures, goodness and contributions, and the programme's"
    for m in measures:
        assert len(m["range"]) == 2 and m["better"] in ("higher", "lower"), m
    assert doc["best"] == {"camera": result.best, "reason": result.reason, "video": "best.mp4"}
    for camera, score in zip(doc["cameras"], result.cameras):
        assert camera["fused"]["value"] == pytest.approx(score.value, abs=1e-6)
        assert (camera["fused"]["range"], camera["fused"]["better"]) == ([0.0, 1.0], "higher")
        assert {"niqe", "both_visible", "smoothness"} <= {c["name"] for c in camera["components"]}
    assert doc["programme"]["n_frames"] == FRAMES and doc["programme"]["video"] == "programme.mp4"


def test_the_csv_header_names_every_columns_range_and_direction(assessed):
    out, result = assessed
    rows = list(csv.reader((out / "scores.csv").open()))
    assert rows[0][0] == "camera"
    columns = _header(rows[0][1:])
    assert columns[0] == ("fused", 0.0, 1.0, "higher")
    assert ("niqe", 0.0, np.inf, "lower") in columns and ("occlusion", 0.0, 1.0, "lower") in columns
    assert [r[0] for r in rows[1:]] == [s.camera for s in result.cameras]
    for row, score in zip(rows[1:], result.cameras):
        values = {m.name: m.value for m in score.measures}
        assert float(row[1]) == pytest.approx(score.value, rel=1e-5)
        for (name, *_), cell in zip(columns[1:], row[2:]):
            assert float(cell) == pytest.approx(values[name], rel=1e-5, abs=1e-12), name


@pytest.mark.parametrize("min_shot", [0.6, 1.0])
def test_programme_shots_respect_the_minimum_length(output, min_shot):
    # Headroom alone, and free cuts: on this duet it favours the wide shot from about frame 44
    # to 60 and the two-shot elsewhere, so the programme cuts as often as the minimum allows.
    weights = FusionWeights({name: 0.0 for name in DEFAULT_WEIGHTS if name != "headroom"})
    options = ProgrammeOptions(min_shot=min_shot, cut_cost=0.0, jump_cut_cost=0.0, allow_line_crossing=True,
                               line_crossing_cost=0.0)
    result = assess_render(output, AssessOptions(weights=weights, programme=options))
    shots = result.programme.shots
    assert shots[0].start == 0 and shots[-1].end == FRAMES
    assert all(a.end == b.start for a, b in itertools.pairwise(shots))
    assert min(s.frames for s in shots) >= options.min_shot_frames(25.0) == round(min_shot * 25)
    if min_shot == 0.6:
        assert len(shots) > 1, "the wide shot's stretch is long enough to cut to"
    assert _frames(output / "programme.mp4")[0] == FRAMES


def test_frames_too_small_for_niqe_leave_a_note_not_a_failure(output, tmp_path):
    result = assess_render(output, AssessOptions(max_side=128), out_csv=tmp_path / "elsewhere.csv")
    note = next(n for n in result.notes if n.startswith("image quality not scored"))
    assert "too small for NIQE" in note and "wide, two-shot, orbit" in note
    assert all(not np.isnan(s.value) and "niqe" not in s.contributions for s in result.cameras)
    # The CSV went where it was asked to; the manifest lists only files inside the output.
    assert (tmp_path / "elsewhere.csv").is_file() and not (output / "scores.csv").exists()
    assert "scores.csv" not in json.loads((output / "manifest.json").read_text())["files"]


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """A private torch hub cache: the tests neither rely on nor fill the user's."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)


def test_an_aesthetic_head_joins_the_fused_score(output, tmp_path, torch_home):
    """PLUMBING ONLY: randomly initialised heads, so the scores mean nothing; this proves the
    sampled frames' scores land on their frames and count in the fused score and curve."""
    torch.manual_seed(0)
    head = AestheticScorer(AestheticNet(AestheticHeads()), {"dataset_format": "random"}).save(tmp_path / "head.pt")
    result = assess_render(output, AssessOptions(every=5, aesthetic_head=head))
    assert NO_AESTHETICS not in result.notes
    for score in result.cameras:
        aesthetic = next(m for m in score.measures if m.name == "aesthetic_score")
        assert aesthetic.curve.shape == (FRAMES,) and (aesthetic.low, aesthetic.high, aesthetic.better) == (1, 10, "higher")
        scored = ~np.isnan(aesthetic.curve)
        np.testing.assert_array_equal(np.nonzero(scored)[0], np.arange(0, FRAMES, 5))
        assert "aesthetic_score" in score.contributions and score.curve.shape == (FRAMES,)


def test_vsfa_without_its_backbone_weights_is_a_note_and_with_them_a_score(output, tmp_path):
    torch.manual_seed(0)
    head = tmp_path / "VSFA.pt"
    torch.save(vsfa.VSFA().state_dict(), head)
    result = assess_render(output, AssessOptions(max_side=64, vsfa=head, vsfa_backbone_weights=tmp_path / "absent.pth"))
    note = next(n for n in result.notes if n.startswith("VSFA not scored"))
    assert str(tmp_path / "absent.pth") in note and "not found" in note
    assert all("vsfa" not in s.contributions for s in result.cameras)

    # PLUMBING ONLY: a randomly initialised ResNet-50 at 64 pixels, so the scores mean nothing.
    weights = tmp_path / "resnet50.pth"
    torch.save(resnet50().state_dict(), weights)
    result = assess_render(output, AssessOptions(max_side=64, vsfa=head, vsfa_backbone_weights=weights))
    assert not any(n.startswith("VSFA") for n in result.notes)
    for score in result.cameras:
        measure = next(m for m in score.measures if m.name == "vsfa")
        assert measure.curve.shape == (FRAMES,) and "vsfa" in score.contributions


@pytest.fixture
def clips(tmp_path) -> Path:
    if not all((VIDEOS / c).is_file() for c in CLIPS):
        pytest.skip(ABSENT)
    folder = tmp_path / "clips"
    folder.mkdir()
    for clip in CLIPS:
        (folder / clip).symlink_to(VIDEOS / clip)
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video")
    (folder / "readme.txt").write_text("not a video, not listed")
    return folder


def test_a_folder_of_videos_is_scored_into_one_csv_and_a_broken_one_gets_an_error_row(clips, tmp_path):
    results = assess_videos(clips, AssessOptions(every=50), tmp_path / "batch.csv")
    assert [r.video.name for r in results] == ["broken.mp4", *CLIPS]
    broken, *good = results
    assert broken.score is None and "not a video" in broken.error
    for r in good:
        assert r.error is None and 0 <= r.score.value <= 1 and "niqe" in r.score.contributions

    rows = list(csv.reader((tmp_path / "batch.csv").open()))
    assert rows[0][0] == "video" and rows[0][-1] == "error"
    names = [c[0] for c in _header(rows[0][1:-1])]
    assert names[:2] == ["fused", "niqe"]
    assert [r[0] for r in rows[1:]] == ["broken.mp4", *CLIPS]
    assert rows[1][-1] == broken.error and all(cell == "" for cell in rows[1][1:-1])
    assert all(r[-1] == "" and float(r[1]) == pytest.approx(g.score.value, rel=1e-5) for r, g in zip(rows[2:], good))

    doc = json.loads((tmp_path / "batch.json").read_text())
    assert [v["video"] for v in doc["videos"]] == ["broken.mp4", *CLIPS] and NO_AESTHETICS in doc["notes"]
    assert all(len(m["range"]) == 2 and m["better"] in ("higher", "lower") for m in _measures(doc))


def test_a_folder_that_is_absent_or_holds_no_videos_is_a_clear_error(tmp_path):
    with pytest.raises(CinestageError, match="no such folder"):
        videos_in(tmp_path / "absent")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CinestageError, match="holds no videos"):
        assess_videos(tmp_path)


def test_options_are_checked():
    for bad in ({"every": 0}, {"every": 2.5}, {"max_side": 0}, {"every": True}):
        with pytest.raises(CinestageError, match="positive whole number"):
            AssessOptions(**bad)
