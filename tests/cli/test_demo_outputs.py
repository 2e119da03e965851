"""`cinestage demo` end to end: the output layout, and that each file holds what it claims."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pygltflib
import pytest
from PIL import Image

from cinestage.camera.export import read_json

CLI = [str(Path(sys.executable).with_name("cinestage"))]


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    run = subprocess.run(CLI + ["demo", "--out", str(out), "--duration", "4", "--width", "320", "--height", "180"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert f"report: {out / 'report.html'}" in run.stdout and str(out / "result.json") in run.stdout
    return out


def test_layout_and_manifest(demo_dir: Path):
    manifest = json.loads((demo_dir / "manifest.json").read_text())
    names = [c["name"] for c in manifest["cameras"]]
    assert len(names) == 6
    assert sum(c["rig"] == "toric" for c in manifest["cameras"]) >= 2
    for cam in manifest["cameras"]:
        for rel in cam["files"].values():
            assert (demo_dir / rel).is_file() and (demo_dir / rel).stat().st_size > 0
    assert not list(demo_dir.parent.glob(".*partial*")), "a staging folder was left behind"
    assert manifest["performance"]["n_frames"] == 100


def test_videos_have_every_frame_and_show_a_lit_stage(demo_dir: Path):
    for video in sorted((demo_dir / "cameras").glob("*.mp4")):
        with av.open(str(video)) as c:
            stream = c.streams.video[0]
            assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 320, 180)
            frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        assert len(frames) == 100, video.name
        mid = frames[50].astype(float)
        assert mid.mean() > 40, f"{video.name} is nearly black"
        # The warm wooden floor or red curtain dominates some part of every shot.
        assert (mid[..., 0] > mid[..., 2] + 30).mean() > 0.2, video.name


def test_tracks_agree_across_formats(demo_dir: Path):
    for path in sorted((demo_dir / "cameras").glob("*.track.json")):
        track = read_json(path)
        gltf = pygltflib.GLTF2().load(str(path.with_name(path.name.replace(".json", ".gltf"))))
        assert gltf.asset.version == "2.0" and gltf.cameras[0].perspective is not None
        rows = np.loadtxt(path.with_name(path.name.replace(".json", ".csv")), delimiter=",", skiprows=1)
        assert rows.shape[0] == track.n_frames == 100
        np.testing.assert_allclose(rows[:, 2:5], track.positions, atol=1e-6)


def test_metadata_sees_both_actors_in_most_frames(demo_dir: Path):
    for path in sorted((demo_dir / "cameras").glob("*.meta.json")):
        meta = json.loads(path.read_text())
        assert meta["n_frames"] == 100 and len(meta["actors"]) == 2
        for actor in meta["actors"]:
            joints = np.array(actor["joints"])
            assert joints.shape[0] == 100 and joints.shape[2] == 2
            on = np.array(actor["on_screen"])
            assert on.max() > 0.5, f"{path.name}: {actor['name']} never on screen"


def test_contact_sheet_has_a_row_per_camera(demo_dir: Path):
    sheet = Image.open(demo_dir / "contact_sheet.png")
    assert sheet.width >= 4 * 320 and sheet.height >= 6 * 180
    pixels = np.asarray(sheet.convert("RGB"), float)
    assert pixels.std() > 20


def test_the_demo_ends_with_scores_the_chosen_camera_and_a_programme(demo_dir: Path):
    manifest = json.loads((demo_dir / "manifest.json").read_text())
    for name in ("scores.json", "scores.csv", "best.mp4", "programme.mp4", "programme.edl", "programme.json"):
        assert (demo_dir / name).stat().st_size > 0 and name in manifest["files"], name
    best = manifest["best_camera"]
    assert (demo_dir / "best.mp4").read_bytes() == (demo_dir / "cameras" / f"{best}.mp4").read_bytes()
    with av.open(str(demo_dir / "programme.mp4")) as c:
        assert sum(1 for _ in c.decode(video=0)) == 100


def test_the_demo_delivers_highlights_tags_and_a_report(demo_dir: Path):
    manifest = json.loads((demo_dir / "manifest.json").read_text())
    for name in ("report.html", "result.json", "tags.json", "highlights/highlights.json", "highlights/thumbnail.jpg",
                 "highlights/highlight-1.gif"):
        assert (demo_dir / name).stat().st_size > 0 and name in manifest["files"], name
    doc = json.loads((demo_dir / "result.json").read_text())
    assert doc["format"] == "cinestage.result/1" and len(doc["cameras"]) == 6
    assert doc["chosen"]["camera"] == manifest["best_camera"]


def _report(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + ["report", str(folder)], capture_output=True, text=True, timeout=300)


def test_report_rebuilds_the_page_and_says_where_it_is(demo_dir: Path):
    before = (demo_dir / "result.json").read_text()
    run = _report(demo_dir)
    assert run.returncode == 0, run.stderr
    assert f"report: {demo_dir / 'report.html'}" in run.stdout and str(demo_dir / "result.json") in run.stdout
    assert json.loads((demo_dir / "result.json").read_text()) == json.loads(before)


@pytest.mark.parametrize("make, words", [(lambda d: d / "absent", "no such folder"),
                                         (lambda d: d, "not a cinestage output (no manifest.json)")])
def test_report_of_a_folder_that_is_no_output_is_one_line_exit_2(tmp_path: Path, make, words):
    folder = make(tmp_path)
    run = _report(folder)
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2 and len(lines) == 1 and "Traceback" not in run.stderr
    assert lines[0] == f"cinestage: error: {folder}: {words}"
