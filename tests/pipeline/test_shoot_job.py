"""`shoot`: a real reference clip's camera style re-applied next to preset rigs, and what happens
when the reference has nobody to learn from."""

from __future__ import annotations

import json
from pathlib import Path

import av
import pytest

from cinestage.camera.spec import parse_cameras
from cinestage.pipeline.shoot_job import shoot
from cinestage.render.renderer import RenderOptions
from cinestage.stage.performance_file import demo_performance

VIDEOS = Path(__file__).parents[2].parent / "shared" / "data" / "videos"
ABSENT = "../shared/data/videos absent: the real test clips live beside the project, not in it"
PRESETS = parse_cameras({"cameras": [{"name": "wide", "rig": "fixed", "position": [0.0, -13.0, 2.6], "fov": 30}]},
                        "presets.yaml")
SMALL = RenderOptions(width=192, height=108)


def clip(name: str) -> Path:
    if not VIDEOS.is_dir():
        pytest.skip(ABSENT)
    return VIDEOS / name


def frames(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def test_a_real_two_person_clip_gives_a_learned_camera_beside_the_presets(tmp_path):
    perf = demo_performance(3.0, 25.0)
    result = shoot(clip("mmaction2_demo_skeleton.mp4"), perf, PRESETS, tmp_path / "out", SMALL)
    assert result.problem is None and len(result.styles) == 1
    cams = tmp_path / "out" / "cameras"
    assert {p.name for p in cams.glob("*.mp4")} == {"wide.mp4", "learned-shot0.mp4"}
    assert frames(cams / "learned-shot0.mp4") == perf.n_frames
    saved = json.loads((tmp_path / "out" / "styles.json").read_text())
    (st,) = saved["styles"]
    assert st["nearest"].split("/")[0] in ("direct", "relative", "sin_cos", "side_track") and len(st["code"]) == 9
    assert abs(sum(st["code"]) - 1) < 1e-4 and saved["problem"] is None
    track = json.loads((cams / "learned-shot0.track.json").read_text())
    assert track["rig"] == "learned"


def test_a_reference_with_nobody_in_it_still_renders_the_presets_and_says_why(tmp_path):
    perf = demo_performance(2.0, 25.0)
    reference = clip("vsfa_test.mp4")  # a brass clock: no people at all
    result = shoot(reference, perf, PRESETS, tmp_path / "out", SMALL)
    assert result.styles == [] and "no main pair" in result.problem and str(reference) in result.problem
    cams = tmp_path / "out" / "cameras"
    assert [p.name for p in cams.glob("*.mp4")] == ["wide.mp4"]
    assert frames(cams / "wide.mp4") == perf.n_frames
    assert json.loads((tmp_path / "out" / "styles.json").read_text())["problem"] == result.problem
