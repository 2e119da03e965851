"""Camera rigs on the built-in duet, built from CAMERAS.yaml text (parse_cameras + build_track)."""

from __future__ import annotations

import typing

import numpy as np
import pytest
import yaml

from cinestage.camera import rigs, spec as spec_module
from cinestage.camera.shots import SHOTS, shot
from cinestage.camera.spec import build_track, parse_cameras
from cinestage.camera.track import CameraTrack
from cinestage.errors import CameraError
from cinestage.geometry import project
from cinestage.stage.motion import Motion
from cinestage.stage.performance import Actor, Performance
from cinestage.stage.performance_file import build_performance, demo_performance
from set_views import set_in_the_way

ASPECT = 16 / 9
BEHAVIOURS = ("direct", "relative", "sin_cos", "side_track")

# One camera of every rig; the Toric rig once per behaviour (all shot sizes come further down).
CAMERAS_YAML = """\
cameras:
  - {name: wide, rig: fixed, position: [0.0, -13.0, 2.6], fov: 30}
  - {name: aimed, rig: fixed, position: [4.0, -9.0, 3.0], target: [0.0, 0.0, 1.2]}
  - {name: orbit, rig: orbit, radius: 5.5, height: 2.4, speed: 9, start: -120, fov: 42}
  - {name: dolly, rig: dolly, start: [-5.0, -7.5, 1.7], end: [5.0, -7.5, 1.7], fov: 38}
  - {name: follow-a, rig: follow, position: [-4.5, -6.5, 2.0], actor: A, dead_zone: 0.2, fov: 32}
  - {name: group, rig: group}
  - {name: direct, rig: toric, behaviour: direct, shot: medium-mid, phi: 10}
  - {name: relative, rig: toric, behaviour: relative, shot: close, phi: 6}
  - {name: sin_cos, rig: toric, behaviour: sin_cos, shot: far-left}
  - {name: side_track, rig: toric, behaviour: side_track, shot: medium-mid}
"""
CLASSIC = ("wide", "aimed", "orbit", "dolly", "follow-a")


@pytest.fixture(scope="module")
def perf() -> Performance:
    return demo_performance(duration=6)


@pytest.fixture(scope="module")
def specs() -> dict:
    return {s.name: s for s in parse_cameras(yaml.safe_load(CAMERAS_YAML), "cams.yaml")}


@pytest.fixture(scope="module")
def tracks(perf, specs) -> dict[str, CameraTrack]:
    return {name: build_track(s, perf, ASPECT) for name, s in specs.items()}


def camera(text: str):
    """One camera spec from a YAML flow mapping."""
    return parse_cameras({"cameras": [yaml.safe_load(text)]}, "test.yaml")[0]


def heads_on_screen(track: CameraTrack, perf: Performance):
    (sa, da), (sb, db) = (project(a.head(), track.positions, track.rotations, track.fov_y, track.aspect)
                          for a in perf.actors[:2])
    return sa, da, sb, db


def _rig_names_in_spec() -> set[str]:
    union = typing.get_args(typing.get_args(spec_module.CameraSpec)[0])
    return {typing.get_args(m.model_fields["rig"].annotation)[0] for m in union}


# ------------------------------------------------------------------------------ every rig


def test_the_yaml_above_covers_every_rig_and_behaviour(specs):
    # The learned rig needs a reference style: tests/behavior/test_learned_rig.py covers it.
    assert {s.rig for s in specs.values()} | {"learned"} == _rig_names_in_spec()
    assert {s.behaviour for s in specs.values() if s.rig == "toric"} == set(BEHAVIOURS)
    assert set(typing.get_args(spec_module.Toric.model_fields["behaviour"].annotation)) == set(BEHAVIOURS)


@pytest.mark.parametrize("name", [line.split("name: ")[1].split(",")[0] for line in CAMERAS_YAML.splitlines()[1:]])
def test_every_rig_builds_a_valid_track(name, perf, specs, tracks):
    track = tracks[name]
    assert track.name == name and track.rig == ("toric" if specs[name].rig == "toric" else specs[name].rig)
    assert track.n_frames == perf.n_frames == 150
    assert track.fps == perf.fps and track.aspect == pytest.approx(ASPECT)
    assert track.positions.shape == (150, 3) and track.rotations.shape == (150, 3, 3) and track.fov_y.shape == (150,)
    r = track.rotations
    np.testing.assert_allclose(np.einsum("tji,tjk->tik", r, r), np.broadcast_to(np.eye(3), r.shape), atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(r), 1.0, atol=1e-9)  # right-handed, no mirror
    assert np.all((track.fov_y > np.radians(5)) & (track.fov_y < np.radians(120)))
    if specs[name].rig != "toric" or specs[name].behaviour != "side_track":
        np.testing.assert_allclose(track.fov_y, np.radians(specs[name].fov))
    # Both heads in front of every camera, every frame.
    _, da, _, db = heads_on_screen(track, perf)
    assert da.min() > 0.5 and db.min() > 0.5


@pytest.mark.parametrize("name", CLASSIC)
def test_classic_rigs_never_roll(name, tracks):
    """The camera's right axis (first column) stays horizontal, and its up axis points up."""
    r = tracks[name].rotations
    np.testing.assert_allclose(r[:, 2, 0], 0.0, atol=1e-9)
    assert np.all(r[:, 2, 2] > 0)


@pytest.mark.parametrize("name", CLASSIC)
def test_classic_rigs_keep_both_actors_in_frame(name, perf, tracks):
    track = tracks[name]
    for actor in perf.actors:
        screen, depth = project(actor.canonical_positions()[:, 4], track.positions, track.rotations, track.fov_y,
                                track.aspect)
        inside = (depth > 0) & np.all(np.abs(screen) < 1, axis=1)
        assert inside.mean() >= 0.95, f"{actor.name}'s hips in frame on {inside.mean():.0%} of frames"


# ------------------------------------------------------------------------------ fixed


def test_fixed_camera_is_locked_off(perf, tracks):
    for name, position in (("wide", [0.0, -13.0, 2.6]), ("aimed", [4.0, -9.0, 3.0])):
        t = tracks[name]
        np.testing.assert_allclose(t.positions, np.broadcast_to(position, t.positions.shape))
        np.testing.assert_allclose(t.rotations, np.broadcast_to(t.rotations[0], t.rotations.shape))
    # target given: it looks exactly at it; no target: at the pair's mean centre.
    aimed = tracks["aimed"]
    screen, _ = project(np.array([0.0, 0.0, 1.2]), aimed.positions[0], aimed.rotations[0], aimed.fov_y[0], ASPECT)
    np.testing.assert_allclose(screen, 0.0, atol=1e-9)
    wide = tracks["wide"]
    s = rigs.Shooting(perf, perf.actors[0], perf.actors[1], ASPECT, wide.fov_y[0])
    screen, _ = project(s.centre().mean(axis=0), wide.positions[0], wide.rotations[0], wide.fov_y[0], ASPECT)
    np.testing.assert_allclose(screen, 0.0, atol=1e-9)


# ------------------------------------------------------------------------------ orbit


def test_orbit_circles_the_smoothed_centre_at_constant_radius_height_and_speed(perf, tracks):
    t = tracks["orbit"]
    s = rigs.Shooting(perf, perf.actors[0], perf.actors[1], ASPECT, t.fov_y[0])
    centre = s.centre()
    offset = t.positions - centre
    np.testing.assert_allclose(np.linalg.norm(offset[:, :2], axis=1), 5.5, atol=1e-9)
    np.testing.assert_allclose(t.positions[:, 2], 2.4, atol=1e-12)
    angle = np.unwrap(np.arctan2(offset[:, 1], offset[:, 0]))
    np.testing.assert_allclose(angle[0], np.radians(-120), atol=1e-9)
    np.testing.assert_allclose(np.diff(angle), np.radians(9) / perf.fps, atol=1e-9)
    # It always faces the centre: the centre projects to the middle of the frame.
    screen, depth = project(centre, t.positions, t.rotations, t.fov_y, ASPECT)
    np.testing.assert_allclose(screen, 0.0, atol=1e-9)
    assert np.all(depth > 0)


def test_orbit_centre_is_smooth_between_the_actors(perf):
    s = rigs.Shooting(perf, perf.actors[0], perf.actors[1], ASPECT, np.radians(40))
    c = s.centre()
    ha, hb = perf.actors[0].head(), perf.actors[1].head()
    raw = (ha + hb) / 2
    assert np.abs(c[:, :2] - raw[:, :2]).max() < 0.5
    # Smoothed: its frame-to-frame acceleration is far below the raw midpoint's.
    assert np.abs(np.diff(c, 2, axis=0)).max() <= np.abs(np.diff(raw, 2, axis=0)).max()


# ------------------------------------------------------------------------------ dolly


def test_dolly_runs_from_start_to_end_on_a_straight_track(tracks):
    t = tracks["dolly"]
    start, end = np.array([-5.0, -7.5, 1.7]), np.array([5.0, -7.5, 1.7])
    np.testing.assert_allclose(t.positions[0], start, atol=1e-12)
    np.testing.assert_allclose(t.positions[-1], end, atol=1e-12)
    u = (t.positions - start) @ (end - start) / np.dot(end - start, end - start)
    np.testing.assert_allclose(t.positions, start + np.outer(u, end - start), atol=1e-12)  # on the segment
    assert np.all(np.diff(u) >= 0) and u.min() >= 0 and u.max() <= 1  # never backs up
    speed = np.diff(u)
    assert speed[0] < speed[len(speed) // 2] > speed[-1]  # eases in and out


# ------------------------------------------------------------------------------ follow


def _follow(perf, actor: str, dead_zone: float) -> CameraTrack:
    return build_track(camera(f"{{name: f, rig: follow, position: [-4.5, -6.5, 2.0], actor: {actor}, "
                              f"dead_zone: {dead_zone}, fov: 32}}"), perf, ASPECT)


def _follow_target(track: CameraTrack, actor: Actor) -> np.ndarray:
    pts = actor.canonical_positions()
    screen, _ = project((pts[:, 0] + pts[:, 4]) / 2, track.positions, track.rotations, track.fov_y, ASPECT)
    return screen


@pytest.mark.parametrize("actor", ["A", "B"])
@pytest.mark.parametrize("dead_zone", [0.0, 0.1, 0.2])
def test_follow_keeps_the_actor_in_frame(perf, actor, dead_zone):
    t = _follow(perf, actor, dead_zone)
    np.testing.assert_allclose(t.positions, np.broadcast_to([-4.5, -6.5, 2.0], t.positions.shape))
    hips, depth = project(perf.actor(actor).canonical_positions()[:, 4], t.positions, t.rotations, t.fov_y, ASPECT)
    inside = (depth > 0) & np.all(np.abs(hips) < 1, axis=1)
    assert inside.mean() >= 0.95
    assert t.params["actor"] == actor and t.params["dead_zone"] == dead_zone


def test_follow_does_not_rotate_while_the_actor_stays_in_the_dead_zone(perf):
    """Dead zone 0.1 on A: the camera moves on some frames; wherever A's target has stayed well
    inside the dead zone for longer than the smoothing window, the pan/tilt head is still."""
    t = _follow(perf, "A", 0.1)
    turn = np.abs(np.diff(t.rotations, axis=0)).max(axis=(1, 2))
    assert (turn > 1e-6).sum() > 10, "the camera never moves: the test would prove nothing"
    inside = np.all(np.abs(_follow_target(t, perf.actor("A"))) < 0.8 * 0.1, axis=1)
    window = 6  # > the rig's smoothing radius (4 frames)
    calm = np.array([inside[max(0, k - window):k + window + 2].all() for k in range(len(turn))])
    assert calm.sum() >= 10, "no calm stretch: the test would prove nothing"
    np.testing.assert_allclose(turn[calm], 0.0, atol=1e-12)


def test_follow_with_a_wide_dead_zone_never_moves(perf):
    t = _follow(perf, "A", 0.4)
    assert np.abs(_follow_target(t, perf.actor("A"))).max() < 0.4
    np.testing.assert_allclose(t.rotations, np.broadcast_to(t.rotations[0], t.rotations.shape), atol=1e-12)


def test_follow_on_an_actor_standing_still_never_moves(perf):
    still = tuple(Actor(a.name, Motion(a.motion.skeleton, np.repeat(a.motion.positions[:1], 100, axis=0), a.motion.fps),
                        a.costume, a.canonical) for a in perf.actors)
    frozen = Performance("frozen", perf.fps, still)
    t = _follow(frozen, "B", 0.0)
    np.testing.assert_allclose(t.rotations, np.broadcast_to(t.rotations[0], t.rotations.shape), atol=1e-12)
    np.testing.assert_allclose(_follow_target(t, frozen.actor("B")), 0.0, atol=1e-9)


# ------------------------------------------------------------------------------ Toric behaviours
#
# Toric layouts put "A" at the left screen point and "B" at the right one. A is whoever starts on
# the audience's left (smaller world x), and the roles swap when the actors exchange places (see
# rigs._audience_order), so the checks below are about the left and right *heads on screen*.


def _toric(perf, behaviour: str, size: str, phi: float = 12.0) -> CameraTrack:
    return build_track(camera(f"{{name: t, rig: toric, behaviour: {behaviour}, shot: {size}, phi: {phi}}}"), perf, ASPECT)


def left_right(track: CameraTrack, perf: Performance):
    """Screen points (T, 2) of the left-most and right-most head, and the heads' depths."""
    sa, da, sb, db = heads_on_screen(track, perf)
    a_left = (sa[:, 0] < sb[:, 0])[:, None]
    return np.where(a_left, sa, sb), np.where(a_left, sb, sa), np.minimum(da, db)


def assert_on_layout(track: CameraTrack, perf: Performance, xa: float, xb: float, y: float, tolerance: float):
    left, right, depth = left_right(track, perf)
    assert depth.min() > 0.5  # both heads in front of the camera, with room
    for screen, x, which in ((left, xa, "left"), (right, xb, "right")):
        err_x, err_y = np.abs(screen[:, 0] - x).mean(), np.abs(screen[:, 1] - y).mean()
        assert err_x < tolerance and err_y < tolerance, f"{which} head off its layout point by {err_x:.3f}, {err_y:.3f}"


def audience_left_on_screen_left(track: CameraTrack, perf: Performance) -> float:
    """Fraction of the frames with the pair clearly across the stage on which the actor nearer
    the audience's left (smaller world x) is also the one on the left of the picture."""
    ha, hb = perf.actors[0].head(), perf.actors[1].head()
    ab = hb - ha
    across = np.abs(ab[:, 0]) / np.linalg.norm(ab[:, :2], axis=1)
    sa, _, sb, _ = heads_on_screen(track, perf)
    agree = (ha[:, 0] < hb[:, 0]) == (sa[:, 0] < sb[:, 0])
    clear = across > 0.5
    assert clear.sum() > 0.5 * len(clear)
    return float(agree[clear].mean())


@pytest.mark.parametrize("size", list(SHOTS))
@pytest.mark.parametrize("behaviour", ["direct", "relative", "sin_cos"])
def test_toric_behaviours_hold_both_heads_on_the_layout(perf, behaviour, size):
    t = _toric(perf, behaviour, size)
    layout = shot(size)
    assert_on_layout(t, perf, layout.xA, layout.xB, layout.y, 0.1)
    left, right, _ = left_right(t, perf)
    assert np.all(np.abs(left) < 1) and np.all(np.abs(right) < 1)  # never out of frame, smoothing or not
    assert t.params["behaviour"] == behaviour
    assert audience_left_on_screen_left(t, perf) == 1.0


@pytest.mark.parametrize("size", list(SHOTS))
def test_side_track_travels_on_a_straight_line_and_holds_the_layout(perf, size):
    t = _toric(perf, "side_track", size)
    p = t.positions - t.positions.mean(axis=0)
    _, _, vt = np.linalg.svd(p, full_matrices=False)
    deviation = np.linalg.norm(p - np.outer(p @ vt[0], vt[0]), axis=1)
    assert deviation.max() < 0.05
    layout = shot(size)
    assert_on_layout(t, perf, layout.xA, layout.xB, layout.y, 0.15)
    # It zooms rather than craning: the height does not change.
    assert np.ptp(t.positions[:, 2]) < 1e-9


def test_sin_cos_swings_around_the_direct_camera(perf):
    direct, swing = _toric(perf, "direct", "medium-mid"), _toric(perf, "sin_cos", "medium-mid")
    gap = np.linalg.norm(direct.positions - swing.positions, axis=1)
    assert gap.max() > 0.3


def test_group_puts_a_left_of_b(perf, tracks):
    """A (the actor starting on the audience's left: the duet's B, who enters from stage right)
    sits at screen_a, left of B at screen_b, on every frame."""
    t = tracks["group"]
    start_left = min(perf.actors[:2], key=lambda a: a.head()[0, 0])
    other = perf.actors[1] if start_left is perf.actors[0] else perf.actors[0]
    assert start_left.name == "B"
    sl, _ = project(start_left.head(), t.positions, t.rotations, t.fov_y, ASPECT)
    so, _ = project(other.head(), t.positions, t.rotations, t.fov_y, ASPECT)
    assert np.all(sl[:, 0] < so[:, 0])
    assert_on_layout(t, perf, -1 / 3, 1 / 3, 0.3, 0.1)


def test_group_with_an_explicit_pair_frames_those_actors(perf):
    t = build_track(camera("{name: g, rig: group, pair: [A, B], screen_a: [-0.4, 0.2], screen_b: [0.4, 0.2]}"),
                    perf, ASPECT)
    assert_on_layout(t, perf, -0.4, 0.4, 0.2, 0.1)


@pytest.fixture(scope="module")
def crossing() -> Performance:
    """10 s of the duet: the actors walk round each other and exchange places (at ~8.5 s)."""
    return demo_performance(duration=10)


@pytest.mark.parametrize("text", [
    "{name: g, rig: group}",
    "{name: d, rig: toric, behaviour: direct, shot: medium-mid}",
    "{name: r, rig: toric, behaviour: relative, shot: close}",
    "{name: s, rig: toric, behaviour: sin_cos, shot: far-left}",
])
def test_toric_rigs_stay_upright_and_in_the_house_when_the_actors_cross(crossing, text):
    t = build_track(camera(text), crossing, ASPECT)
    ha, hb = crossing.actors[0].head(), crossing.actors[1].head()
    assert np.sign(ha[0, 0] - hb[0, 0]) != np.sign(ha[-1, 0] - hb[-1, 0]), "the actors do not cross"
    assert np.all(t.rotations[:, 2, 2] > 0.5)  # the image's up points up: never upside down
    assert t.positions[:, 1].max() < crossing.venue.stage_depth / 2  # never behind the back curtain
    assert audience_left_on_screen_left(t, crossing) == 1.0
    left, right, depth = left_right(t, crossing)
    in_frame = (depth > 0) & np.all(np.abs(left) < 1, axis=1) & np.all(np.abs(right) < 1, axis=1)
    assert in_frame.mean() >= 0.95


@pytest.mark.parametrize("size", ["medium-mid", "close"])
def test_side_track_stays_upright_when_the_actors_cross(crossing, size):
    t = _toric(crossing, "side_track", size)
    assert np.all(t.rotations[:, 2, 2] > 0.5)


# ------------------------------------------------------------------------------ errors


def test_two_actor_rigs_refuse_a_solo_performance():
    solo = build_performance({"fps": 25, "duration": 4, "actors": [{"name": "A", "builtin": "duet-a"}]}, "x", ".")
    with pytest.raises(CameraError) as info:
        build_track(camera("{name: two-shot, rig: toric, behaviour: direct}"), solo, ASPECT)
    assert info.value.source == "two-shot"
    # Classic rigs work with one actor.
    assert build_track(camera("{name: w, rig: fixed, position: [0, -13, 2]}"), solo, ASPECT).n_frames == 100


@pytest.mark.parametrize("text", [
    "{name: f, rig: follow, position: [0, -8, 2], actor: Zed}",
    "{name: f, rig: fixed, position: [0, -8, 2], pair: [A, Zed]}",
])
def test_unknown_actors_are_named_with_the_camera(perf, text):
    with pytest.raises(CameraError, match="Zed") as info:
        build_track(camera(text), perf, ASPECT)
    assert info.value.source == "f"


def test_a_tight_far_shot_of_actors_apart_stays_above_the_seats_and_level(perf):
    """Heads 0.1 apart on screen while the actors enter from opposite wings: the Toric camera
    would stand far back and low among the seat rows, which hide the stage from there."""
    from cinestage.geometry import yaw_pitch_roll
    from cinestage.stage.performance import ROW_RISE, lowest_view

    s = rigs.Shooting(perf, perf.actors[0], perf.actors[1], ASPECT, np.radians(40.0))
    t = rigs.toric(s, "far", (-0.05, 0.3), (0.05, 0.3), np.pi - 0.2, 0.0, "toric", level=True)
    floor = lowest_view(perf.venue, t.positions[:, 1])
    house = np.isfinite(floor)
    assert house.any()  # the scene does put the camera among the seats
    # Smoothing the path after the lift can round a row's step: at most one row's rise lower.
    assert np.all(t.positions[house, 2] >= floor[house] - ROW_RISE)
    assert np.median(t.positions[house, 2] - floor[house]) > -0.01
    roll = np.degrees(np.abs(yaw_pitch_roll(t.rotations)[2]))
    assert roll.max() < 0.05  # level (smoothing the rotations leaves hundredths of a degree)


@pytest.mark.parametrize("shot_name", ["far-left", "medium-mid"])
def test_a_steep_toric_camera_sinks_below_the_arch_and_holds_its_layout_unless_it_keeps_the_pure_path(shot_name):
    perf = demo_performance(10.0, 25.0)  # the duet's last seconds are near the stage front
    s = rigs.Shooting(perf, perf.actors[0], perf.actors[1], 16 / 9, np.radians(40))
    # 0.9 rad above the pair: from the house, the arch's header stands in the way of the pure path.
    pure = rigs.behaviour(s, "steep", "direct", SHOTS[shot_name], phi0=0.9, clear_view=False)
    blocked = set_in_the_way(pure.positions, perf)[1]
    assert blocked.sum() > 20
    clear = rigs.behaviour(s, "steep", "direct", SHOTS[shot_name], phi0=0.9)
    assert not np.any(set_in_the_way(clear.positions, perf))
    # It sinks along its Toric circle (never rises), most where the header was in the way ...
    assert np.all(clear.positions[:, 2] <= pure.positions[:, 2] + 1e-6)
    assert np.all(clear.positions[blocked, 2] < pure.positions[blocked, 2] - 0.1)
    # ... which keeps both heads where the layout puts them (moving in toward the pair had lost one).
    layout = shot(shot_name)
    assert_on_layout(clear, perf, layout.xA, layout.xB, layout.y, 0.03)
    left, right, _ = left_right(clear, perf)
    assert np.all(np.abs(left) < 1) and np.all(np.abs(right) < 1)