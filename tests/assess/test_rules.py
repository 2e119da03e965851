"""Shot rules on constructed cases with real geometry: two standing mannequins, static cameras
framing them, and the same shot spoiled one way at a time (cut off, occluded, shaken, rolled,
heads cut, facing the near edge). Metadata comes from the renderer's own `camera_meta`."""

from __future__ import annotations

import numpy as np
import pytest
from figures import standing_actor

from cinestage.assess.measure import Measure
from cinestage.assess.rules import SHOT_CLASSES, RuleOptions, rules_from_files, shot_class, shot_rules
from cinestage.camera.export import write_json
from cinestage.camera.track import CameraTrack
from cinestage.errors import CinestageError
from cinestage.geometry import look_at, rotation_from_yaw_pitch_roll
from cinestage.pipeline.output import save_json
from cinestage.render.mannequin import Body
from cinestage.render.metadata import camera_meta
from cinestage.stage.performance import Performance

FPS = 25.0
T = 40
A_AT, B_AT = np.array([-0.8, 0.0, 0.0]), np.array([0.8, 0.3, 0.0])
EYE, AIM = (0.0, -5.0, 1.3), (0.0, 0.15, 1.2)  # the clean two-shot: heads near the upper thirds
RIGHT, LEFT = np.pi / 2, -np.pi / 2  # yaw that turns an actor to face screen right / left


def pair(yaw_a: float = 0.0, yaw_b: float = 0.0) -> Performance:
    return Performance("pair", FPS, (standing_actor("A", A_AT, T, FPS, yaw=yaw_a), standing_actor("B", B_AT, T, FPS, yaw=yaw_b)))


def static(eye, aim, fov_deg: float = 30.0) -> CameraTrack:
    eye = np.tile(np.asarray(eye, float), (T, 1))
    return CameraTrack("cam", FPS, eye, look_at(eye, np.tile(np.asarray(aim, float), (T, 1))),
                       np.full(T, np.radians(fov_deg)), 16 / 9)


def score(performance: Performance, track: CameraTrack) -> dict[str, Measure]:
    meta = camera_meta(performance, [Body(a) for a in performance.actors], track)
    return {m.name: m for m in shot_rules(performance, track, meta)}


@pytest.fixture(scope="module")
def clean() -> dict[str, Measure]:
    return score(pair(), static(EYE, AIM))


def worse(clean: Measure, bad: Measure) -> bool:
    return bad.value < clean.value if clean.better == "higher" else bad.value > clean.value


def test_the_clean_two_shot_scores_well(clean):
    assert clean["both_visible"].value == 1.0
    assert clean["occlusion"].value == 0.0
    assert clean["headroom"].value == 1.0
    assert clean["thirds"].value > 0.6
    assert clean["balance"].value > 0.9
    assert clean["smoothness"].value == 1.0 and clean["horizon"].value == pytest.approx(0.0, abs=1e-9)
    assert clean["shot_size"].unit.startswith("LS:")  # both figures head to toe


def test_an_actor_cut_off_by_the_frame_edge_is_worse(clean):
    bad = score(pair(), static(EYE, (-1.6, 0.15, 1.2)))  # panned left: B over half out on the right
    assert 0.3 < bad["both_visible"].curve.min() < 0.6
    for name in ("both_visible", "balance"):
        assert worse(clean[name], bad[name]), name


def test_an_occluded_actor_is_worse(clean):
    along = (A_AT - B_AT) / np.linalg.norm(A_AT - B_AT)  # behind A, looking through A at B
    eye = A_AT + 4.0 * along + [0.0, 0.0, 1.3]
    bad = score(pair(), static(eye, B_AT + [0.0, 0.0, 1.2]))
    assert bad["occlusion"].value > 0.5
    assert worse(clean["occlusion"], bad["occlusion"])


def test_a_shaky_camera_is_less_smooth_and_a_rolled_one_off_level(clean):
    track = static(EYE, AIM)
    jitter = np.random.default_rng(0).normal(0.0, 0.005, track.positions.shape)  # 5 mm per frame
    shaky = score(pair(), CameraTrack("cam", FPS, track.positions + jitter, track.rotations, track.fov_y, track.aspect))
    assert worse(clean["smoothness"], shaky["smoothness"])
    assert shaky["smoothness"].value < 0.5
    roll = rotation_from_yaw_pitch_roll(0.0, 0.0, np.radians(10.0))
    rolled = score(pair(), CameraTrack("cam", FPS, track.positions, track.rotations @ roll, track.fov_y, track.aspect))
    assert rolled["horizon"].value == pytest.approx(10.0, abs=0.01)
    assert worse(clean["horizon"], rolled["horizon"])


def test_a_breathing_zoom_makes_the_shot_size_unstable(clean):
    track = static(EYE, AIM)
    fov = track.fov_y * (1 + 0.05 * np.sin(np.arange(T) * 2.0))  # fast +-5 % zoom
    bad = score(pair(), CameraTrack("cam", FPS, track.positions, track.rotations, fov, track.aspect))
    assert clean["shot_size_stability"].value == 0.0
    assert worse(clean["shot_size_stability"], bad["shot_size_stability"])


def test_heads_cut_by_the_frame_top_lose_headroom(clean):
    bad = score(pair(), static(EYE, (0.0, 0.15, 0.3)))  # tilted down
    assert worse(clean["headroom"], bad["headroom"])
    assert bad["headroom"].value < 0.2


def test_facing_the_near_edge_leaves_no_look_room():
    track = static(EYE, AIM)
    into_space = score(pair(RIGHT, LEFT), track)  # A (left of frame) and B face each other
    at_edges = score(pair(LEFT, RIGHT), track)  # back to back, each toward its own edge
    assert worse(into_space["look_room"], at_edges["look_room"])
    assert into_space["look_room"].value > 0.9 and at_edges["look_room"].value < 0.2


def test_closer_cameras_measure_tighter_shot_classes():
    sizes = [score(pair(), static((-0.8, -d, 1.55), (-0.8, 0.0, 1.5)))["shot_size"] for d in (4.0, 2.0, 1.0, 0.5)]
    classes = [m.unit.split(":")[0] for m in sizes]
    assert [SHOT_CLASSES.index(c) for c in classes] == sorted(SHOT_CLASSES.index(c) for c in classes)
    assert len(set(classes)) == 4 and shot_class(sizes[0].value) == classes[0]


def test_every_measure_has_a_range_a_direction_and_a_finite_curve(clean):
    assert list(clean) == ["both_visible", "occlusion", "headroom", "look_room", "thirds", "balance",
                           "shot_size", "shot_size_stability", "smoothness", "horizon"]
    for m in clean.values():
        assert m.better in ("higher", "lower") and m.low <= m.value <= m.high, m.name
        assert m.curve.shape == (T,) and np.all(np.isfinite(m.curve)), m.name
        assert 0.0 <= m.goodness() <= 1.0


def test_actors_behind_the_camera_get_the_worst_scores_not_nan():
    away = score(pair(), static(EYE, (0.0, -10.0, 1.2)))  # looking at the audience
    for m in away.values():
        assert np.all(np.isfinite(m.curve)) and np.isfinite(m.value), m.name
    assert away["both_visible"].value == 0.0 and away["occlusion"].value == 1.0
    for name in ("headroom", "look_room", "thirds", "balance", "shot_size"):
        assert away[name].value == 0.0, name


@pytest.mark.parametrize("frames", [1, 2, 3])
def test_tracks_too_short_for_jerk_still_score(frames):
    perf = Performance("short", FPS, (standing_actor("A", A_AT, frames, FPS), standing_actor("B", B_AT, frames, FPS)))
    full = static(EYE, AIM)
    track = CameraTrack("cam", FPS, full.positions[:frames], full.rotations[:frames], full.fov_y[:frames], full.aspect)
    rules = score(perf, track)
    assert rules["smoothness"].value == 1.0
    assert all(m.curve.shape == (frames,) and np.all(np.isfinite(m.curve)) for m in rules.values())


def test_the_rules_read_back_from_a_render_outputs_files(tmp_path):
    perf = pair(RIGHT, LEFT)
    track = static(EYE, AIM)
    jitter = np.random.default_rng(1).normal(0.0, 0.002, track.positions.shape)
    track = CameraTrack("cam", FPS, track.positions + jitter, track.rotations, track.fov_y, track.aspect)
    meta = camera_meta(perf, [Body(a) for a in perf.actors], track)
    write_json(track, tmp_path / "cam.track.json")  # what render_job writes per camera
    save_json(tmp_path / "cam.meta.json", meta.to_json(perf))
    for mem, disk in zip(shot_rules(perf, track, meta), rules_from_files(tmp_path, "cam")):
        assert (disk.name, disk.better, disk.low, disk.high) == (mem.name, mem.better, mem.low, mem.high)
        assert disk.value == pytest.approx(mem.value, abs=1e-3), mem.name


def test_options_are_checked():
    with pytest.raises(ValueError):
        RuleOptions(headroom=((0.0, 0.1),))
    with pytest.raises(ValueError):
        RuleOptions(jerk_scale=0.0)


def test_a_missing_or_broken_metadata_file_is_a_clear_error(tmp_path):
    track = static(EYE, AIM)
    write_json(track, tmp_path / "cam.track.json")
    with pytest.raises(CinestageError, match="cannot read the camera metadata"):
        rules_from_files(tmp_path, "cam")
    (tmp_path / "cam.meta.json").write_text('{"camera": "cam", "actors": [{"name": "A"}]}')
    with pytest.raises(CinestageError, match="malformed camera metadata"):
        rules_from_files(tmp_path, "cam")
