"""`cinestage assess` through the real console script: a render output, a folder of videos, and
the mistakes that must end in one line and exit code 2."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [str(Path(sys.executable).with_name("cinestage"))]
VIDEOS = Path(__file__).parents[2].parent / "shared" / "data" / "videos"
CLIP = "mmaction2_demo.mp4"
ABSENT = "../shared/data/videos absent: the real test clips live beside the project, not in it"


def _cinestage(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + list(args), capture_output=True, text=True, timeout=300, check=False)


def _one_line_error(run: subprocess.CompletedProcess, *words: str) -> None:
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cinestage: error: "), run.stderr
    assert "Traceback" not in run.stderr and all(w in lines[0] for w in words), lines[0]


@pytest.fixture(scope="module")
def render(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("render") / "out"
    run = _cinestage("demo", "--out", str(out), "--duration", "4", "--width", "160", "--height", "90", "--no-assess")
    assert run.returncode == 0, run.stderr
    assert not (out / "scores.json").exists() and "chosen camera" not in run.stdout
    return out


def test_assess_a_render_output_prints_the_table_and_writes_the_files(render, tmp_path):
    run = _cinestage("assess", str(render), "--min-shot", "1", "--max-shot", "3", "--every", "10",
                     "--out-csv", str(tmp_path / "s.csv"))
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].split() == ["camera", "fused", "[0..1,", "higher", "better]"]
    table = [line.split() for line in lines[1:7]]
    assert len(table) == 6 and all(0 <= float(row[1]) <= 1 for row in table)
    best = [row[0] for row in table if row[-1] == "best"]
    assert len(best) == 1 and f"chosen camera: {best[0]} " in run.stdout
    assert f"programme: {render / 'programme.mp4'}" in run.stdout
    # 160x90 is too small for NIQE: said once, for every camera.
    assert sum("too small for NIQE" in line for line in lines) == 1
    assert [r[0] for r in list(csv.reader((tmp_path / "s.csv").open()))[1:]] == [row[0] for row in table]
    doc = json.loads((render / "scores.json").read_text())
    assert doc["best"]["camera"] == best[0] and doc["options"]["programme"]["min_shot"] == 1.0
    assert doc["options"]["programme"]["max_shot"] == 3.0
    assert (render / "best.mp4").read_bytes() == (render / "cameras" / f"{best[0]}.mp4").read_bytes()


def test_assess_a_folder_of_videos_reports_the_broken_one_and_goes_on(tmp_path):
    if not (VIDEOS / CLIP).is_file():
        pytest.skip(ABSENT)
    (tmp_path / CLIP).symlink_to(VIDEOS / CLIP)
    (tmp_path / "broken.mov").write_text("not a video")
    run = _cinestage("assess", str(tmp_path), "--every", "50")
    assert run.returncode == 0, run.stderr
    rows = {line.split()[0]: line for line in run.stdout.splitlines()[1:3]}
    assert "error:" in rows["broken.mov"] and 0 <= float(rows[CLIP].split()[1]) <= 1
    assert "1 of 2 videos could not be scored" in run.stdout
    assert (tmp_path / "scores.csv").is_file() and (tmp_path / "scores.json").is_file()


def test_a_missing_folder_is_one_line(tmp_path):
    _one_line_error(_cinestage("assess", str(tmp_path / "absent")), str(tmp_path / "absent"), "no such folder")


def test_an_empty_folder_is_one_line(tmp_path):
    _one_line_error(_cinestage("assess", str(tmp_path)), str(tmp_path), "holds no videos")


def test_a_manifest_that_is_not_a_render_is_one_line(tmp_path):
    (tmp_path / "manifest.json").write_text('{"cameras": "none"}')
    _one_line_error(_cinestage("assess", str(tmp_path)), "manifest.json", "not a cinestage render manifest")


def test_a_missing_aesthetic_head_is_one_line(render, tmp_path):
    _one_line_error(_cinestage("assess", str(render), "--aesthetic-head", str(tmp_path / "head.pt")),
                    str(tmp_path / "head.pt"), "not found")


def test_fusion_weights_come_from_the_command_line(render, tmp_path):
    run = _cinestage("assess", str(render), "--every", "10", "--weight", "both_visible=0", "--weight", "thirds=5",
                     "--out-csv", str(tmp_path / "s.csv"))
    assert run.returncode == 0, run.stderr
    doc = json.loads((render / "scores.json").read_text())
    assert doc["options"]["weights"]["thirds"] == 5.0 and doc["options"]["weights"]["both_visible"] == 0.0
    for camera in doc["cameras"]:
        weights = {c["name"]: c["weight"] for c in camera["components"]}
        assert weights["thirds"] == 5.0 and weights["both_visible"] == 0.0
        assert "both_visible" not in {c["name"] for c in camera["components"] if "contribution" in c}


@pytest.mark.parametrize("flag, words", [("thirds", ["--weight", "NAME=VALUE"]), ("=1", ["--weight", "NAME=VALUE"]),
                                         ("framing=1", ["'framing'", "no such measure"]),
                                         ("thirds=lots", ["'thirds'", "must be a number"]),
                                         ("thirds=-1", ["'thirds'", ">= 0"])])
def test_a_bad_weight_is_one_line(render, flag, words):
    _one_line_error(_cinestage("assess", str(render), "--weight", flag), *words)
