"""PERFORMANCE.yaml → Performance: built-in and BVH actors, placement, clock, costumes, lights, errors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import yaml

from cinestage.errors import MotionError, PerformanceError
from cinestage.stage import procedural
from cinestage.stage.bvh import load_bvh
from cinestage.stage.joints import canonical_indices
from cinestage.stage.performance import Venue, default_lights
from cinestage.stage.performance_file import COSTUMES, build_performance, demo_performance, load_performance

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
MOCAP = DATA / "mocap"
ABSENT = "../shared/data/mocap absent: the real Bandai-Namco BVH captures live beside the project, not in it"

WAVE = "bandai-namco-2/dataset-2_wave-right-hand_normal_001.bvh"  # 187 frames at 30 fps, stands still
BOW = "bandai-namco-1/dataset-1_bow_normal_001.bvh"  # 138 frames
RUN = "bandai-namco-1/dataset-1_run_normal_001.bvh"  # 24 frames; joint_Root travels 2 m with the body
WALK = "bandai-namco-1/dataset-1_walk_normal_001.bvh"  # 195 frames; joint_Root stays at 0, Hips starts 4 m away

needs_mocap = pytest.mark.skipif(not (MOCAP / WAVE).is_file(), reason=ABSENT)


def rot_z(degrees: float) -> np.ndarray:
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def write_yaml(folder: Path, data: dict, name: str = "performance.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def rel(path: Path, start: Path) -> str:
    """Motion paths in the YAML are relative to the YAML file's folder."""
    return os.path.relpath(path, start)


# ------------------------------------------------------------------------------ built-ins


def test_builtin_duet_actors_follow_the_procedural_script(tmp_path: Path):
    path = write_yaml(tmp_path, {
        "name": "duet", "fps": 25, "duration": 6,
        "actors": [{"name": "Ana", "builtin": "duet-a", "costume": "crimson"},
                   {"name": "Ben", "builtin": "duet-b", "costume": "royal"}],
    })
    perf = load_performance(path)
    a, b = procedural.duet(duration=6, fps=25)
    assert perf.name == "duet" and perf.fps == 25 and perf.n_frames == 150
    assert [x.name for x in perf.actors] == ["Ana", "Ben"]
    np.testing.assert_allclose(perf.actor("Ana").motion.positions, a.positions, atol=1e-12)
    np.testing.assert_allclose(perf.actor("Ben").motion.positions, b.positions, atol=1e-12)
    assert perf.actor("Ana").costume == COSTUMES["crimson"]
    assert perf.actor("Ben").costume == COSTUMES["royal"]
    # The canonical joints are found in the procedural skeleton: the head is the Head joint.
    names = perf.actor("Ana").motion.skeleton.names
    assert names[perf.actor("Ana").canonical[0]] == "Head" and names[perf.actor("Ana").canonical[4]] == "Hips"


def test_builtin_position_and_heading_move_the_whole_script(tmp_path: Path):
    """Built-ins keep their choreography: heading turns it about the stage origin, position shifts it."""
    base = build_performance({"fps": 25, "duration": 5, "actors": [{"name": "A", "builtin": "duet-a"}]}, "x", tmp_path)
    moved = build_performance({"fps": 25, "duration": 5, "actors": [
        {"name": "A", "builtin": "duet-a", "position": [1.0, 0.5], "heading": 30}]}, "x", tmp_path)
    expected = base.actors[0].motion.positions @ rot_z(30).T + np.array([1.0, 0.5, 0.0])
    np.testing.assert_allclose(moved.actors[0].motion.positions, expected, atol=1e-12)


def test_demo_performance_is_the_builtin_duet():
    perf = demo_performance(duration=6, fps=25)
    assert [a.name for a in perf.actors] == ["A", "B"]
    assert perf.n_frames == 150 and perf.duration == pytest.approx(6.0)
    assert perf.actor("A").costume == COSTUMES["crimson"] and perf.actor("B").costume == COSTUMES["royal"]
    # A enters from stage left (+X), B from stage right (-X).
    assert perf.actor("A").canonical_positions()[0, 4, 0] > perf.actor("B").canonical_positions()[0, 4, 0]


# ------------------------------------------------------------------------------ BVH actors


@needs_mocap
@pytest.mark.parametrize("position, heading", [((0.0, 0.0), 0.0), ((1.5, -0.5), 90.0), ((-2.0, 1.0), -135.0)])
def test_bvh_actor_is_turned_about_its_first_hips_position_then_moved(tmp_path: Path, position, heading):
    """fps = the capture's 30 fps, so the performance frames are the capture's frames."""
    raw = load_bvh(MOCAP / RUN)
    hips = canonical_indices(raw.skeleton.names)[4]
    perf = build_performance({"fps": 30, "actors": [
        {"name": "R", "motion": rel(MOCAP / RUN, tmp_path), "position": list(position), "heading": heading}]},
        "perf.yaml", tmp_path)
    placed = perf.actors[0].motion.positions
    assert placed.shape == raw.positions.shape
    # The hips' first-frame ground position lands exactly on `position`, at the capture's height.
    np.testing.assert_allclose(placed[0, hips, :2], position, atol=1e-9)
    np.testing.assert_allclose(placed[:, :, 2], raw.positions[:, :, 2], atol=1e-9)
    # Everything else is the capture turned by heading about that point (a rigid motion).
    origin = np.array([raw.positions[0, hips, 0], raw.positions[0, hips, 1], 0.0])
    expected = (raw.positions - origin) @ rot_z(heading).T + np.array([*position, 0.0])
    np.testing.assert_allclose(placed, expected, atol=1e-9)
    # The run travels 2 m along the capture's -Y; heading 90 turns that travel to +X.
    travel = placed[-1, 0, :2] - placed[0, 0, :2]
    np.testing.assert_allclose(travel, (rot_z(heading) @ [0.0, -2.0, 0.0])[:2], atol=0.01)


@needs_mocap
def test_bvh_actor_body_starts_at_position(tmp_path: Path):
    perf = build_performance({"fps": 30, "actors": [
        {"name": "W", "motion": str(MOCAP / WALK), "position": [1.0, -1.0], "heading": 90}]}, "perf.yaml", tmp_path)
    hips = perf.actors[0].canonical_positions()[0, 4]
    np.testing.assert_allclose(hips[:2], [1.0, -1.0], atol=0.05)


@needs_mocap
def test_motion_paths_are_relative_to_the_yaml_file(tmp_path: Path):
    folder = tmp_path / "show" / "act1"
    folder.mkdir(parents=True)
    path = write_yaml(folder, {"fps": 30, "actors": [{"name": "W", "motion": rel(MOCAP / WAVE, folder)}]})
    perf = load_performance(path)
    assert perf.actors[0].motion.source == str((MOCAP / WAVE).resolve())
    assert perf.n_frames == 187


@needs_mocap
def test_actor_holds_its_first_pose_before_start_and_its_last_after_the_end(tmp_path: Path):
    raw = load_bvh(MOCAP / RUN)  # 24 frames = 0.8 s
    perf = build_performance({"fps": 30, "actors": [
        {"name": "Late", "motion": str(MOCAP / RUN), "start": 1.0},
        {"name": "Long", "motion": str(MOCAP / WAVE)},  # 187 frames: the performance outlasts the run
    ]}, "perf.yaml", tmp_path)
    late = perf.actor("Late").motion.positions
    shift = late[0, 0] - raw.positions[0, 0]  # placement at the default position (0, 0), heading 0
    np.testing.assert_allclose(shift[2], 0.0, atol=1e-12)
    # Before start (t < 1 s = 30 frames) the actor stands in its first pose.
    np.testing.assert_allclose(late[:31], np.broadcast_to(late[0], late[:31].shape), atol=1e-12)
    # From start on it plays the capture frame by frame...
    np.testing.assert_allclose(late[30:54], raw.positions + shift, atol=1e-9)
    assert np.abs(late[31] - late[30]).max() > 0.01
    # ...and after its end it holds the last pose.
    np.testing.assert_allclose(late[53:], np.broadcast_to(late[53], late[53:].shape), atol=1e-12)


@needs_mocap
def test_loop_repeats_the_motion_instead_of_holding_it(tmp_path: Path):
    raw = load_bvh(MOCAP / RUN)  # 24 frames
    perf = build_performance({"fps": 30, "duration": 1.6, "actors": [
        {"name": "R", "motion": str(MOCAP / RUN), "loop": True}]}, "perf.yaml", tmp_path)
    p = perf.actors[0].motion.positions
    assert p.shape[0] == 48
    shift = p[0, 0] - raw.positions[0, 0]
    np.testing.assert_allclose(p[:24], raw.positions + shift, atol=1e-9)
    np.testing.assert_allclose(p[24:48], p[:24], atol=1e-9)  # the second pass starts again from frame 0


@needs_mocap
def test_loop_wraps_exactly_on_every_pass(tmp_path: Path):
    raw = load_bvh(MOCAP / RUN)
    perf = build_performance({"fps": 30, "duration": 4.0, "actors": [
        {"name": "R", "motion": str(MOCAP / RUN), "loop": True}]}, "perf.yaml", tmp_path)
    p = perf.actors[0].motion.positions
    shift = p[0, 0] - raw.positions[0, 0]
    expected = raw.positions[np.arange(p.shape[0]) % raw.n_frames] + shift
    np.testing.assert_allclose(p, expected, atol=1e-6)


# ------------------------------------------------------------------------------ the clock


@needs_mocap
def test_default_duration_is_when_the_last_motion_ends(tmp_path: Path):
    # WAVE ends at 187/30 = 6.233 s; BOW starting at 2 s ends at 2 + 138/30 = 6.6 s.
    perf = build_performance({"fps": 25, "actors": [
        {"name": "W", "motion": str(MOCAP / WAVE)},
        {"name": "B", "motion": str(MOCAP / BOW), "start": 2.0}]}, "perf.yaml", tmp_path)
    assert perf.n_frames == round(6.6 * 25)
    assert perf.duration == pytest.approx(6.6, abs=1 / 25)


def test_builtins_without_a_duration_play_the_whole_20_second_script(tmp_path: Path):
    perf = build_performance({"fps": 10, "actors": [{"name": "A", "builtin": "duet-a"}]}, "x", tmp_path)
    assert perf.n_frames == 200


@needs_mocap
@pytest.mark.parametrize("fps", [24.0, 25.0, 30.0, 60.0])
def test_every_actor_has_the_same_frames_at_the_performance_fps(tmp_path: Path, fps: float):
    perf = build_performance({"fps": fps, "duration": 3.0, "actors": [
        {"name": "A", "builtin": "duet-a"},
        {"name": "W", "motion": str(MOCAP / WAVE), "start": 0.5},
        {"name": "R", "motion": str(MOCAP / RUN), "loop": True, "position": [2, 0]}]}, "perf.yaml", tmp_path)
    assert perf.n_frames == round(3.0 * fps)
    for actor in perf.actors:
        assert actor.motion.n_frames == perf.n_frames
        assert actor.motion.fps == fps
        assert np.all(np.isfinite(actor.motion.positions))


@needs_mocap
def test_resampling_to_another_fps_interpolates_the_capture(tmp_path: Path):
    raw = load_bvh(MOCAP / WAVE)
    perf = build_performance({"fps": 25, "actors": [{"name": "W", "motion": str(MOCAP / WAVE)}]}, "x", tmp_path)
    p = perf.actors[0].motion.positions
    shift = p[0, 0] - raw.positions[0, 0]
    times = np.arange(perf.n_frames) / 25
    np.testing.assert_allclose(p, raw.sample(times) + shift, atol=1e-9)
    # 25 fps frame 5 (0.2 s) is 30 fps frame 6 exactly.
    np.testing.assert_allclose(p[5], raw.positions[6] + shift, atol=1e-9)


# ------------------------------------------------------------------------------ costumes and lights


def test_costumes_by_name_by_rgb_and_by_default(tmp_path: Path):
    perf = build_performance({"fps": 25, "duration": 4, "actors": [
        {"name": "A", "builtin": "duet-a", "costume": "gold"},
        {"name": "B", "builtin": "duet-b", "costume": [0.1, 0.2, 0.3]},
        {"name": "C", "builtin": "duet-a", "position": [2, 0]},
        {"name": "D", "builtin": "duet-b", "position": [-2, 0]}]}, "x", tmp_path)
    assert perf.actor("A").costume == COSTUMES["gold"]
    assert perf.actor("B").costume == (0.1, 0.2, 0.3)
    # Actors without a costume get a palette colour.
    palette = list(COSTUMES.values())
    assert perf.actor("C").costume in palette and perf.actor("D").costume in palette
    for a in perf.actors:
        assert len(a.costume) == 3 and all(0.0 <= c <= 1.0 for c in a.costume)


def test_default_costumes_differ_when_none_is_given(tmp_path: Path):
    actors = [{"name": f"P{k}", "builtin": "duet-a" if k % 2 else "duet-b", "position": [k - 3.5, 0]} for k in range(8)]
    perf = build_performance({"fps": 25, "duration": 4, "actors": actors}, "x", tmp_path)
    assert len({a.costume for a in perf.actors}) == 8


def test_default_costumes_avoid_colours_other_actors_chose(tmp_path: Path):
    perf = build_performance({"fps": 25, "duration": 4, "actors": [
        {"name": "A", "builtin": "duet-a", "costume": "gold"},
        {"name": "B", "builtin": "duet-b", "costume": [0.1, 0.2, 0.3]},
        {"name": "C", "builtin": "duet-a", "position": [2, 0]}]}, "x", tmp_path)
    assert perf.actor("C").costume != perf.actor("A").costume


def test_no_lights_means_the_default_rig(tmp_path: Path):
    """An empty light list is the 'use the default rig' value the renderer resolves (render/scene.py)."""
    perf = build_performance({"fps": 25, "duration": 4, "venue": {"stage_depth": 9},
                              "actors": [{"name": "A", "builtin": "duet-a"}]}, "x", tmp_path)
    assert perf.lights == ()
    assert perf.venue == Venue(stage_depth=9.0)
    rig = default_lights(perf.venue)
    assert [l.name for l in rig] == ["key", "front-left", "front-right", "centre", "back"]
    assert sum(l.kind == "key" for l in rig) == 1
    # The front wash hangs in front of the stage (audience side, y < -depth/2) and above it.
    for light in rig[:3]:
        assert light.position[1] < -perf.venue.stage_depth / 2 and light.position[2] > 5


def test_given_lights_replace_the_default_rig(tmp_path: Path):
    perf = build_performance({"fps": 25, "duration": 4, "actors": [{"name": "A", "builtin": "duet-a"}], "lights": [
        {"kind": "spot", "position": [0, -6, 7], "target": [0, 0, 0], "angle": 40, "colour": [1, 0.9, 0.8]},
        {"name": "moon", "kind": "key", "position": [3, 3, 9], "intensity": 0.5}]}, "x", tmp_path)
    first, moon = perf.lights
    assert (first.name, first.kind, first.position, first.target, first.angle, first.colour) == (
        "light-0", "spot", (0.0, -6.0, 7.0), (0.0, 0.0, 0.0), 40.0, (1.0, 0.9, 0.8))
    assert (moon.name, moon.kind, moon.intensity) == ("moon", "key", 0.5)


# ------------------------------------------------------------------------------ errors

A = {"name": "A", "builtin": "duet-a"}


@pytest.mark.parametrize("data, key", [
    ({"fps": "fast", "actors": [A]}, "fps"),
    ({"fps": 0, "actors": [A]}, "fps"),
    ({"duration": 0, "actors": [A]}, "duration"),
    ({"duration": -3, "actors": [A]}, "duration"),
    ({"actors": []}, "actors"),
    ({"actors": [dict(A, builtin="duet-c")]}, "actors.0.builtin"),
    ({"actors": [A, {"name": "B", "builtin": "duet-b", "start": -1}]}, "actors.1.start"),
    ({"actors": [dict(A, position=[1])]}, "actors.0.position"),
    ({"actors": [dict(A, units="furlong")]}, "actors.0.units"),
    ({"actors": [dict(A, colour="red")]}, "actors.0.colour"),
    ({"actors": [dict(A, name="")]}, "actors.0.name"),
    ({"actors": [{"name": "A"}]}, "actors.0"),
    ({"actors": [dict(A, motion="a.bvh")]}, "actors.0"),
    ({"actors": [A], "venue": {"stage_width": 1}}, "venue.stage_width"),
    ({"actors": [A], "lights": [{"kind": "spot"}]}, "lights.0.position"),
    ({"actors": [A], "lights": [{"position": [0, 0, 5], "angle": 200}]}, "lights.0.angle"),
    ({"actors": [A], "stage": "big"}, "stage"),
    ([A], "top level"),
    (None, "top level"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_errors_name_the_yaml_key(tmp_path: Path, data, key: str):
    with pytest.raises(PerformanceError) as info:
        build_performance(data, "show.yaml", tmp_path)
    assert info.value.source == "show.yaml"
    assert info.value.problem.startswith((f"{key}: ", f"{key}.")), info.value.problem
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("costume", ["plaid", [2.0, 0.0, 0.0], [1.0, 0.0]], ids=["unknown-name", "out-of-range", "two-values"])
def test_costume_errors_name_the_costume_key(tmp_path: Path, costume):
    with pytest.raises(PerformanceError) as info:
        build_performance({"actors": [A, dict(A, name="B", costume=costume)]}, "show.yaml", tmp_path)
    assert info.value.problem.startswith("actors.1.costume: "), info.value.problem


def test_costume_errors_are_rejected_with_the_actor_named(tmp_path: Path):
    """What holds today: every bad costume is refused, naming the actor's entry."""
    for costume in ("plaid", [2.0, 0.0, 0.0], [1.0, 0.0]):
        with pytest.raises(PerformanceError, match=r"actors\.1"):
            build_performance({"actors": [A, dict(A, name="B", costume=costume)]}, "show.yaml", tmp_path)


def test_repeated_actor_names_are_refused(tmp_path: Path):
    with pytest.raises(PerformanceError, match="repeat"):
        build_performance({"actors": [A, dict(A, builtin="duet-b")]}, "show.yaml", tmp_path)


def test_file_errors_name_the_file(tmp_path: Path):
    with pytest.raises(PerformanceError) as info:
        load_performance(tmp_path / "absent.yaml")
    assert info.value.source == str(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nactors:\n  - {name: A, builtin: duet-a\n")
    with pytest.raises(PerformanceError, match=r"not valid YAML at line \d+") as info:
        load_performance(bad)
    assert info.value.source == str(bad)


def test_bvh_errors_name_the_motion_file(tmp_path: Path):
    (tmp_path / "abc.bvh").write_text(
        "HIERARCHY\nROOT a\n{\n OFFSET 0 0 0\n CHANNELS 3 Xposition Yposition Zposition\n"
        " JOINT b\n {\n  OFFSET 0 10 0\n  End Site\n  {\n   OFFSET 0 10 0\n  }\n }\n}\n"
        "MOTION\nFrames: 1\nFrame Time: 0.04\n0 90 0\n")
    with pytest.raises(MotionError, match="no joint for 'head'") as info:
        build_performance({"actors": [{"name": "A", "motion": "abc.bvh"}]}, "show.yaml", tmp_path)
    assert info.value.source == str(tmp_path / "abc.bvh")
    with pytest.raises(MotionError, match="file not found") as info:
        build_performance({"actors": [{"name": "A", "motion": "missing.bvh"}]}, "show.yaml", tmp_path)
    assert "missing.bvh" in info.value.source


@needs_mocap
def test_canonical_joints_of_a_real_capture(tmp_path: Path):
    perf = build_performance({"fps": 30, "actors": [{"name": "W", "motion": str(MOCAP / WAVE)}]}, "x", tmp_path)
    actor = perf.actors[0]
    assert actor.canonical == canonical_indices(actor.motion.skeleton.names)
    names = actor.motion.skeleton.names
    assert names[actor.canonical[0]] == "Head" and names[actor.canonical[4]] == "Hips"
    head_height = actor.head()[:, 2]
    assert 1.2 < np.median(head_height) < 1.9
