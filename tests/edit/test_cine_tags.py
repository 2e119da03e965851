"""Cinematographic tags: right on rendered clips whose shot size and camera move are known (from
the render's files, and from the pixels of the same videos, as a real clip is read), plausible
on the real clips of ../shared/data/videos, and the `cinestage tags` command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from figures import NAMES, PARENTS, STANDING
from scipy.ndimage import gaussian_filter1d

from cinestage.camera.spec import Dolly, Fixed, Follow, Orbit, build_track
from cinestage.camera.track import CameraTrack
from cinestage.edit.cine_tags import (
    FORMAT,
    Figure,
    framing,
    stature,
    tag_render,
    tag_video,
    tags_path,
)
from cinestage.errors import CinestageError, VideoError
from cinestage.film.pose import COCO_KEYPOINTS
from cinestage.geometry import look_at
from cinestage.pipeline.render_job import render_performance
from cinestage.render.renderer import RenderOptions
from cinestage.stage.joints import canonical_indices
from cinestage.stage.motion import Motion, Skeleton
from cinestage.stage.performance import Actor, Performance

FPS, N = 25.0, 60  # 2.4 s
W, H = 256, 144
OPTS = RenderOptions(width=W, height=H)
VIDEOS = Path(__file__).parents[2].parent / "shared" / "data" / "videos"
ABSENT = "../shared/data/videos absent: the real test clips live beside the project, not in it"
CLI = [str(Path(sys.executable).with_name("cinestage"))]
# A 1.79 m figure (crown to toe) through a 35 degree lens is `size` frame heights tall at
# 1.79 / (2 tan(17.5 deg) size) metres: the distance for each class, inside its band.
HEIGHT, TAN = 1.64 + 0.17 - 0.02, np.tan(np.radians(17.5))


def _distance(size: float) -> float:
    return HEIGHT / (2 * TAN * size)


def _actor(name: str, start, end, yaw: float, colour) -> Actor:
    """The standing figure turned by `yaw` (pi/2 faces +X), gliding from start to end."""
    c, s = np.cos(yaw), np.sin(yaw)
    pose = STANDING @ np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]).T
    at = np.linspace(start, end, N)
    return Actor(name, Motion(Skeleton(NAMES, PARENTS), pose[None] + at[:, None], FPS, name), colour,
                 canonical_indices(NAMES, name))


def _camera(name: str, eye, aim, fov: float = 35.0) -> CameraTrack:
    eye = np.broadcast_to(np.asarray(eye, float), (N, 3)).copy()
    aim = np.broadcast_to(np.asarray(aim, float), (N, 3))
    return CameraTrack(name, FPS, eye, look_at(eye, aim), np.full(N, np.radians(fov)), W / H)


def _cameras(perf: Performance) -> list[CameraTrack]:
    """Cameras whose tags are known: shot size (on B, or the pair), framing, and movement."""
    u = np.linspace(0, 1, N)
    shake = gaussian_filter1d(np.random.default_rng(0).normal(size=(N, 2)), 1.5, axis=0)
    shake *= np.radians(0.6) / shake.std()  # a hand-held wobble, 0.6 degrees RMS
    head_b = (0.8, 0.0, 1.6)
    return [
        # ELS needs more set than a 35 degree lens shows from inside the house.
        _camera("els", (0, -HEIGHT / (2 * np.tan(np.radians(25)) * 0.18), 1.6), (0, 0, 1.0), fov=50),
        _camera("ls", (0, -_distance(0.6), 1.5), (0, 0, 1.0)),
        _camera("ms", (0.8, -_distance(2.1), 1.55), (0.8, 0, 1.35)),
        _camera("mcu", (0.8, -_distance(3.2), 1.6), (0.8, 0, 1.5)),
        _camera("cu", (0.8, -_distance(5.2), 1.62), head_b),
        # Behind A's right shoulder, on B, who faces A and so the camera.
        _camera("ots", (-1.5, -0.45, 1.68), (0.8, 0, 1.55), fov=40),
        _camera("pan", (0, -8, 1.6), np.stack([np.tan(np.radians(-15 + 30 * u)) * 8, 0 * u, 1.2 + 0 * u], 1)),
        _camera("tilt", (0, -8, 1.6), np.stack([0 * u, 0 * u, 1.2 + np.tan(np.radians(-8 + 16 * u)) * 8], 1)),
        _camera("handheld", (0, -8, 1.6), np.stack([np.tan(shake[:, 0]) * 8, 0 * u, 1.2 + np.tan(shake[:, 1]) * 8], 1)),
        build_track(Fixed(name="fixed", rig="fixed", position=(2, -9, 2.0)), perf, W / H),
        build_track(Dolly(name="dolly", rig="dolly", start=(-4, -7, 1.7), end=(4, -7, 1.7), fov=38), perf, W / H),
        build_track(Orbit(name="orbit", rig="orbit", radius=5.5, height=2.2, speed=12, start=-110, fov=42), perf, W / H),
    ]


@pytest.fixture(scope="module")
def render(tmp_path_factory) -> Path:
    """A faces B (A at x = -0.8 facing +X, B at +0.8 facing -X), both still, and the cameras of
    `_cameras`; then A walking across the stage with a follow rig and a locked-off camera."""
    root = tmp_path_factory.mktemp("tags")
    pair = Performance("pair", FPS, (_actor("A", (-0.8, 0, 0), (-0.8, 0, 0), np.pi / 2, (0.8, 0.1, 0.1)),
                                     _actor("B", (0.8, 0, 0), (0.8, 0, 0), -np.pi / 2, (0.1, 0.2, 0.8))))
    render_performance(pair, _cameras(pair), root / "pair", OPTS)
    walk = Performance("walk", FPS, (_actor("A", (-3.0, 0, 0), (0.5, 0, 0), np.pi / 2, (0.8, 0.1, 0.1)),
                                     _actor("B", (1.5, 0.5, 0), (1.5, 0.5, 0), -np.pi / 2, (0.1, 0.2, 0.8))))
    tracks = [build_track(Follow(name="follow", rig="follow", position=(-1, -6, 1.6), actor="A", dead_zone=0.1), walk,
                          W / H), _camera("locked", (-1, -6, 1.6), (-1, 0, 1.2))]
    render_performance(walk, tracks, root / "walk", OPTS)
    return root


@pytest.fixture(scope="module")
def rendered(render) -> dict:
    """Every camera's tags, read from the render's files."""
    report = tag_render(render / "pair")
    walk = tag_render(render / "walk")
    return {c.name: c for c in report.clips + walk.clips}


@pytest.mark.parametrize("camera, size", [("els", "ELS"), ("ls", "LS"), ("ms", "MS"), ("mcu", "MCU"), ("cu", "CU"),
                                          ("ots", "LS"), ("pan", "LS")])
def test_shot_size_of_rendered_cameras(rendered, camera, size):
    tag = next(t for t in rendered[camera].tags if t.kind == "shot_size")
    assert (tag.value, tag.confidence) == (size, 1.0), tag.evidence
    assert "frame heights" in tag.evidence


@pytest.mark.parametrize("camera, framed, people", [("ls", "two-shot", "2"), ("els", "two-shot", "2"),
                                                    ("ms", "single", "1"), ("cu", "single", "1"),
                                                    ("ots", "over-the-shoulder", "2")])
def test_people_and_framing_of_rendered_cameras(rendered, camera, framed, people):
    clip = rendered[camera]
    assert clip.values("framing") == (framed,) and clip.values("people") == (people,)


@pytest.mark.parametrize("camera, moves", [
    ("ls", ("static",)), ("fixed", ("static",)), ("locked", ("static",)),
    ("pan", ("pan",)), ("tilt", ("tilt",)), ("handheld", ("handheld",)),
    ("dolly", ("dolly", "pan")),  # the dolly rig pans to hold the pair as it passes
    ("orbit", ("orbit",)),  # an orbit's turning is no pan of its own
    ("follow", ("pan",)),
])
def test_camera_movement_of_rendered_cameras(rendered, camera, moves):
    clip = rendered[camera]
    tags = [t for t in clip.tags if t.kind == "camera_movement"]
    assert {t.value for t in tags} == set(moves), [t.evidence for t in tags]
    assert tags[0].value == moves[0] and tags[0].confidence > 0.7, tags[0].evidence


def test_direction_of_moves_is_in_the_evidence(rendered):
    assert "turns right" in rendered["pan"].tags[-1].evidence and rendered["pan"].measures["pan"] > 0.1
    assert "turns up" in rendered["tilt"].tags[-1].evidence and rendered["tilt"].measures["tilt"] > 0.1
    assert rendered["orbit"].measures["curving"] > 0.9 and rendered["dolly"].measures["curving"] < 0.1


@pytest.fixture(scope="module")
def from_pixels(render) -> dict:
    """The same videos read as real clips: MoveNet for people, tracked corners for motion."""
    names = ("ls", "fixed", "pan", "tilt", "handheld")
    return {n: tag_video(render / "pair" / "cameras" / f"{n}.mp4").clips for n in names}


@pytest.mark.parametrize("camera, move", [("ls", "static"), ("fixed", "static"), ("pan", "pan"), ("tilt", "tilt"),
                                          ("handheld", "handheld")])
def test_pixels_agree_with_the_track(from_pixels, rendered, camera, move):
    clips = from_pixels[camera]
    assert len(clips) == 1, "a continuous camera is one shot"
    moves = clips[0].values("camera_movement")
    assert moves[0] == move, [t.evidence for t in clips[0].tags]
    if move != "static":
        truth, seen = rendered[camera].measures, clips[0].measures
        key = {"pan": "pan", "tilt": "tilt", "handheld": "shake"}[move]
        assert seen[key] == pytest.approx(truth[key], rel=0.3)


def test_pixels_find_the_pair_of_a_long_shot(from_pixels):
    clip = from_pixels["ls"][0]
    assert clip.values("people") == ("2",) and clip.values("framing") == ("two-shot",)
    assert clip.values("shot_size") == ("LS",)
    # MoveNet is less sure of grey-faced mannequins than a render's metadata.
    assert 0.3 < next(t for t in clip.tags if t.kind == "people").confidence < 1


def test_report_json_and_where_it_goes(render, tmp_path):
    report = tag_render(render / "pair")
    doc = json.loads(report.save(tmp_path / "tags.json").read_text())
    assert doc["format"] == FORMAT and doc["origin"] == "render"
    assert doc["vocabulary"]["camera_movement"] == ["static", "pan", "tilt", "zoom", "dolly", "orbit", "handheld"]
    first = doc["clips"][0]
    assert first["name"] == "els" and first["video"] == "cameras/els.mp4"
    assert all({"kind", "value", "confidence", "evidence"} <= set(t) for t in first["tags"])
    assert tags_path(render / "pair") == render / "pair" / "tags.json"
    assert tags_path(tmp_path / "clip.mp4") == tmp_path / "clip.tags.json"


def test_framing_rules():
    back_cut, facing = Figure(4.0, -1.0, True), Figure(1.2, 1.0, False)
    assert framing((back_cut, facing)) == ("over-the-shoulder", facing)
    assert framing((Figure(4.0, -1.0, False), facing))[0] == "single"  # not cut by the frame: no shoulder shot
    assert framing((Figure(1.0, 1.0, False), Figure(0.8, 0.0, False)))[0] == "two-shot"
    assert framing((Figure(1.0, 1.0, False),) * 3)[0] == "group"
    assert framing(()) == ("empty", None)


def test_stature_from_joints_of_a_standing_person():
    """A 400 px tall person standing with their feet at y = 500: any pair of joints far enough
    apart gives 400; a waist-up crop (no knees or ankles) still does; a face alone its width."""
    from cinestage.edit.cine_tags import STATURE

    keypoints = np.zeros((17, 3), np.float32)
    for name, height in STATURE.items():
        keypoints[COCO_KEYPOINTS.index(name)] = (100, 500 - 400 * height, 0.9)
    assert stature(keypoints) == pytest.approx(400)
    waist_up = keypoints.copy()
    waist_up[[COCO_KEYPOINTS.index(k) for k in ("left_knee", "right_knee", "left_ankle", "right_ankle")], 2] = 0.0
    assert stature(waist_up) == pytest.approx(400)
    face = np.zeros((17, 3), np.float32)  # an extreme close-up: eyes 72 px apart, no ears
    for name, x in (("nose", 500), ("left_eye", 536), ("right_eye", 464)):
        face[COCO_KEYPOINTS.index(name)] = (x, 300, 0.9)
    assert stature(face) == pytest.approx(72 / 0.036)
    face[:, 2] = 0.0
    assert stature(face) is None


# --------------------------------------------------------------------------------- real clips


@pytest.fixture(scope="module")
def real() -> dict:
    if not VIDEOS.is_dir():
        pytest.skip(ABSENT)
    names = ("mmaction2_demo_skeleton.mp4", "mmaction2_test_video_structuralize.mp4", "mmaction2_demo.mp4",
             "konvid1k_10053703034.mp4", "vsfa_test.mp4")
    return {name: tag_video(VIDEOS / name).clips for name in names}


def test_skeleton_clip_is_a_static_two_shot_of_two_people(real):
    """Lab room, tripod: two people face each other, step in and hug, full bodies in frame."""
    (clip,) = real["mmaction2_demo_skeleton.mp4"]
    assert clip.values("camera_movement") == ("static",)
    assert clip.values("people") == ("2",) and clip.values("framing") == ("two-shot",)
    assert clip.values("shot_size") == ("LS",)  # head to toe, about 0.6 of the frame
    assert all(t.confidence > 0.9 for t in clip.tags)


def test_basketball_clip_pans(real):
    """A hand-held camera pans (a whip pan at the end) and slowly zooms out on two players."""
    (clip,) = real["mmaction2_test_video_structuralize.mp4"]
    moves = clip.values("camera_movement")
    assert moves[0] == "pan" and "handheld" in moves and "static" not in moves
    assert clip.values("people") == ("2",) and clip.values("shot_size") == ("LS",)


def test_other_real_clips_are_plausible(real):
    wrestling = real["mmaction2_demo.mp4"]  # hand-held phone at a table
    assert all("handheld" in c.values("camera_movement") for c in wrestling)
    (stage,) = real["konvid1k_10053703034.mp4"]  # a school stage from the audience, held still
    assert stage.values("camera_movement") == ("static",) and stage.values("framing") == ("group",)
    (clock,) = real["vsfa_test.mp4"]  # a brass clock, locked off, no people
    assert clock.values("camera_movement") == ("static",) and clock.values("framing") == ("empty",)
    assert clock.values("shot_size") == ()


# --------------------------------------------------------------------------------------- CLI


def _cinestage(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(CLI + list(args), capture_output=True, text=True, env=env, timeout=600, check=False)


def test_cli_tags_a_render_and_writes_tags_json(render, tmp_path):
    out = Path(shutil.copytree(render / "walk", tmp_path / "walk"))
    run = _cinestage("tags", str(out))
    assert run.returncode == 0, run.stderr
    assert "follow (0.0-2.4 s)" in run.stdout
    assert any(line.split()[:2] == ["movement", "pan"] for line in run.stdout.splitlines()), run.stdout
    doc = json.loads((out / "tags.json").read_text())
    assert [c["name"] for c in doc["clips"]] == ["follow", "locked"]


@pytest.mark.parametrize("make, words", [
    (lambda d: d / "absent.mp4", ("absent.mp4", "file not found")),
    (lambda d: d, ("not a render output",)),
    (lambda d: (d / "notes.mp4").write_text("not a video") and d / "notes.mp4", ("notes.mp4",)),
])
def test_cli_bad_input_is_one_line_exit_2(tmp_path, make, words):
    run = _cinestage("tags", str(make(tmp_path)))
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cinestage: error: ") and "Traceback" not in run.stderr
    assert all(w in lines[0] for w in words), lines[0]


def test_cli_missing_model_is_one_line_exit_2(render, tmp_path):
    run = _cinestage("tags", str(render / "walk"), "--model", str(tmp_path / "none.pt"))
    assert run.returncode == 2 and "VideoTag checkpoint not found" in run.stderr


def test_library_errors_name_the_input(tmp_path):
    with pytest.raises(VideoError, match="file not found"):
        tag_video(tmp_path / "absent.mp4")
    with pytest.raises(CinestageError, match="not a render output"):
        tag_render(tmp_path)
