"""`cinestage analyze` on real clips: the files it writes, what they hold, and bad input."""

import json
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from tests.cli.test_cli_errors import error_line, run_cli
from tests.film.test_video import BAD_INPUTS

VIDEOS = Path(__file__).parents[2].parent / "shared" / "data" / "videos"
ABSENT = "../shared/data/videos absent: the real test clips live beside the project, not in it"


@pytest.fixture(scope="module")
def skeleton(tmp_path_factory):
    if not VIDEOS.is_dir():
        pytest.skip(ABSENT)
    work = tmp_path_factory.mktemp("analyze")
    proc = run_cli(["analyze", str(VIDEOS / "mmaction2_demo_skeleton.mp4"), "--out", "out"], work)
    assert proc.returncode == 0, proc.stderr
    return work / "out", proc


def test_writes_analysis_overlay_plot_and_manifest(skeleton):
    out, proc = skeleton
    assert sorted(p.name for p in out.iterdir()) == ["analysis.json", "features.png", "manifest.json", "overlay.mp4"]
    assert "main pair A=#" in proc.stdout
    data = json.loads((out / "analysis.json").read_text())
    assert data["format"] == "cinestage.film-analysis/1"
    assert data["clip"]["frames"] == len(data["frame_times"]) == 72
    with av.open(str(out / "overlay.mp4")) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == 72 and frames[0].shape == (540, 960, 3)
    # The banner's white text is on a black strip at the top.
    assert frames[0][:22].mean() < 60 and frames[0][:22].max() > 200
    png = Image.open(out / "features.png")
    assert png.size[0] >= 800 and np.asarray(png.convert("L")).std() > 10


def test_main_pair_is_the_two_people_in_almost_every_frame(skeleton):
    data = json.loads((skeleton[0] / "analysis.json").read_text())
    (shot,) = data["shots"]
    pair = shot["main_pair"]
    assert pair is not None and shot["problem"] is None
    assert pair["coverage"] >= 0.9
    (p,) = data["pairs"]
    cam = np.array(p["camera"])
    assert cam.shape == (len(p["frames"]), 5) and np.isfinite(cam).all()
    # A is the person on the left: their heads stay apart on screen, A left, until the hug.
    assert cam[0, 0] < cam[0, 1] and (np.abs(cam[:, :3]) <= 1.2).all()
    tracks = {t["id"]: t for t in data["tracks"]}
    for tid in (p["a"], p["b"]):
        assert tracks[tid]["end"] - tracks[tid]["start"] >= 0.9 * 72
    char = np.array(p["character"])
    assert char.shape[1] == 9 and (char[:, 0] > 0).all() and np.allclose(char[:, 7:].sum(1), 1)


def test_clip_with_nobody_says_so(tmp_path):
    if not VIDEOS.is_dir():
        pytest.skip(ABSENT)
    proc = run_cli(["analyze", str(VIDEOS / "vsfa_test.mp4"), "--out", "o", "--no-overlay"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "no main pair in shot 0: nobody tracked" in proc.stdout
    data = json.loads((tmp_path / "o" / "analysis.json").read_text())
    assert data["pairs"] == [] and data["shots"][0]["main_pair"] is None


def test_clip_with_one_person_says_so(tmp_path):
    if not VIDEOS.is_dir():
        pytest.skip(ABSENT)
    # The left half of the two-person clip (the left person only), written as a new clip.
    src = VIDEOS / "mmaction2_demo_skeleton.mp4"
    with av.open(str(src)) as c, av.open(str(tmp_path / "one.mp4"), "w") as dst:
        s = dst.add_stream("libx264", rate=28)
        s.width, s.height, s.pix_fmt = 480, 540, "yuv420p"
        for i, f in enumerate(c.decode(video=0)):
            img = f.to_ndarray(format="rgb24", width=960, height=540)[:, :480]
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            frame.pts = i
            dst.mux(s.encode(frame))
        dst.mux(s.encode(None))
    proc = run_cli(["analyze", "one.mp4", "--out", "o", "--no-overlay"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "no main pair in shot 0: only one person" in proc.stdout


@pytest.mark.parametrize("name", ["notes.txt", "notes.mp4", "still.png", "silence.wav", "no_frames.mp4", "tiny.mkv",
                                  "empty.mp4"])
def test_bad_files_are_one_line_errors_and_write_nothing(tmp_path, name):
    make, problem = BAD_INPUTS[name]
    make(tmp_path / name, None)
    before = sorted(p.name for p in tmp_path.iterdir())
    line = error_line(run_cli(["analyze", name, "--out", "o"], tmp_path))
    assert name in line and problem in line
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_missing_clip_and_bad_pair_option(tmp_path):
    assert "not found" in error_line(run_cli(["analyze", "gone.mp4", "--out", "o"], tmp_path))
    (tmp_path / "x.txt").write_text("x")
    assert "--pair" in error_line(run_cli(["analyze", "x.txt", "--out", "o", "--pair", "a,b"], tmp_path))
