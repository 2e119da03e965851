"""The programme cut: hard rules (minimum shot length, the 180 degree line) on random curves,
optimality against brute force, and constructed scenes that tempt each rule."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cinestage.assess.rules import shot_rules
from cinestage.edit.programme import ProgrammeOptions, View, actors_view, cut_programme, line_side, score_path
from cinestage.edit.selection import fuse
from cinestage.errors import CinestageError

FPS = 25.0


@st.composite
def scenes(draw, max_cameras: int = 4, max_frames: int = 120):
    """Random quality curves (noise, blocks or both), views and line sides for a few cameras."""
    n_cam, n = draw(st.integers(1, max_cameras)), draw(st.integers(1, max_frames))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["noise", "blocks", "mixed"]))
    names = [f"cam{i}" for i in range(n_cam)]
    curves = {}
    for name in names:
        blocks = np.repeat(rng.random(n // 7 + 1), 7)[:n]
        noise = rng.random(n)
        curves[name] = {"noise": noise, "blocks": blocks, "mixed": np.clip(blocks + 0.3 * (noise - 0.5), 0, 1)}[kind]
    views = {}
    for name in names:
        d = rng.normal(size=(n, 3)) if rng.random() < 0.5 else np.tile(rng.normal(size=3), (n, 1))
        views[name] = View(d / np.linalg.norm(d, axis=1, keepdims=True), rng.uniform(1.0, 5.0, n))
    sides = {name: (rng.integers(-1, 2, n) if rng.random() < 0.3 else np.full(n, rng.integers(-1, 2)))
             for name in names}
    options = ProgrammeOptions(min_shot=draw(st.floats(0.0, 3.0)), cut_cost=draw(st.floats(0.0, 0.5)),
                               allow_line_crossing=draw(st.booleans()),
                               max_shot=draw(st.one_of(st.none(), st.floats(0.0, 4.0))),
                               overlong_cost=draw(st.floats(0.0, 2.0)))
    return curves, views, sides, draw(st.sampled_from([10.0, 25.0])), options


def _crosses(programme, sides) -> list[int]:
    """Frames of cuts between cameras on opposite sides of the actors' axis."""
    return [b.start for a, b in zip(programme.shots, programme.shots[1:])
            if sides[a.camera][b.start - 1] * sides[b.camera][b.start] < 0]


@settings(max_examples=150, deadline=None)
@given(scenes())
def test_shots_are_never_shorter_than_the_minimum_and_never_cross_the_line(scene):
    curves, views, sides, fps, options = scene
    p = cut_programme(curves, views, sides, fps, options)
    n, m = len(next(iter(curves.values()))), options.min_shot_frames(fps)
    assert p.shots[0].start == 0 and p.shots[-1].end == n == p.n_frames
    assert all(a.end == b.start and a.camera != b.camera for a, b in zip(p.shots, p.shots[1:]))
    assert len(p.shots) == 1 or min(s.frames for s in p.shots) >= m
    if not options.allow_line_crossing:
        assert _crosses(p, sides) == []
    assert p.counts["cuts"] == len(p.shots) - 1
    assert np.isfinite(p.costs["total"])
    assert score_path(p.cameras(), curves, views, sides, fps, options).costs == p.costs


@settings(max_examples=60, deadline=None)
@given(scenes(max_cameras=3, max_frames=6), st.integers(1, 3), st.one_of(st.none(), st.integers(0, 4)),
       st.sampled_from([0.0, 0.05, 0.3, 2.0]))
def test_the_programme_is_the_cheapest_of_all_that_keep_the_rules(scene, min_frames, max_frames, overlong_cost):
    curves, views, sides, _, options = scene
    fps = 10.0
    options = ProgrammeOptions(min_shot=min_frames / fps, cut_cost=options.cut_cost, jump_cut_cost=0.3,
                               allow_line_crossing=options.allow_line_crossing, line_crossing_cost=0.4,
                               max_shot=None if max_frames is None else max_frames / fps, overlong_cost=overlong_cost)
    n = len(next(iter(curves.values())))
    best = min(score_path(path, curves, views, sides, fps, options).costs["total"]
               for path in itertools.product(list(curves), repeat=n))
    assert cut_programme(curves, views, sides, fps, options).costs["total"] == pytest.approx(best, abs=1e-9)


def test_a_flickering_best_camera_is_held_for_the_minimum_shot():
    n = 200
    flicker = (np.arange(n) // 5) % 2  # the better camera changes every 5 frames
    curves = {"a": np.where(flicker, 1.0, 0.0), "b": np.where(flicker, 0.0, 1.0)}
    views = _two_views(n, 90.0)
    sides = {"a": np.ones(n), "b": np.ones(n)}
    free = cut_programme(curves, views, sides, FPS, ProgrammeOptions(min_shot=0.0, cut_cost=0.0))
    assert len(free.shots) == n // 5  # unconstrained, it follows every flicker
    held = cut_programme(curves, views, sides, FPS, ProgrammeOptions(min_shot=1.0, cut_cost=0.0))
    assert min(s.frames for s in held.shots) >= 25


def test_equal_cameras_are_cut_for_variety_every_max_shot():
    n = 500  # 20 s
    curves = {"a": np.full(n, 0.8), "b": np.full(n, 0.8)}
    views, sides = _two_views(n, 90.0), {"a": np.ones(n), "b": np.ones(n)}
    unlimited = cut_programme(curves, views, sides, FPS, ProgrammeOptions(max_shot=None))
    assert len(unlimited.shots) == 1 and unlimited.costs["overlong"] == 0.0
    options = ProgrammeOptions(max_shot=4.0)
    p = cut_programme(curves, views, sides, FPS, options)
    assert p.counts["cuts"] >= 4 and p.counts["overlong_shots"] == 0
    assert min(s.frames for s in p.shots) >= options.min_shot_frames(FPS)
    assert max(s.frames for s in p.shots) <= options.max_shot_frames(FPS) == 100
    assert p.costs["total"] == pytest.approx(p.costs["quality"] + 4 * options.cut_cost)


def test_a_camera_a_little_better_all_along_no_longer_holds_the_whole_programme():
    """The demo's case: one camera scores 0.03 higher at every frame."""
    n = 250
    curves = {"a": np.full(n, 0.93), "b": np.full(n, 0.90)}
    views, sides = _two_views(n, 90.0), {"a": np.ones(n), "b": np.ones(n)}
    p = cut_programme(curves, views, sides, FPS)  # the defaults: max_shot 8 s
    assert len(p.shots) > 1 and max(s.frames for s in p.shots) <= 200
    assert p.shots[0].camera == "a" and p.shots[0].frames == 200  # the better camera as long as it pays
    held = score_path(["a"] * n, curves, views, sides, FPS)
    assert held.costs["overlong"] == pytest.approx(2 * 0.5) and held.counts["overlong_shots"] == 1
    assert p.costs["total"] < held.costs["total"]


def test_max_shot_is_soft_and_min_shot_hard():
    n = 300  # 12 s
    views, sides = _two_views(n, 90.0), {"a": np.ones(n), "b": np.ones(n)}
    # The only other camera is worthless: holding 4 s too long (2.0) is cheaper than the least of
    # it, 2 s (1.8 more lost + 2 cuts).
    worthless = cut_programme({"a": np.full(n, 0.9), "b": np.zeros(n)}, views, sides, FPS)
    assert [s.camera for s in worthless.shots] == ["a"] and worthless.counts["overlong_shots"] == 1
    assert worthless.costs["overlong"] == pytest.approx(2.0)
    # A limit below the minimum: shots are as short as the hard minimum allows, never shorter.
    short = cut_programme({"a": np.full(n, 0.9), "b": np.full(n, 0.9)}, views, sides, FPS,
                          ProgrammeOptions(min_shot=2.0, max_shot=1.0))
    assert all(s.frames >= 50 for s in short.shots) and len(short.shots) == 6
    # Views too alike: a jump cut (2.2) costs more than the overlong seconds, so no cut.
    alike = _two_views(n, 10.0)
    jumpy = cut_programme({"a": np.full(n, 0.9), "b": np.full(n, 0.9)}, alike, sides, FPS)
    assert len(jumpy.shots) == 1 and jumpy.costs["overlong"] == pytest.approx(4 * 0.5)


def test_the_cut_is_fast_enough_for_long_programmes():
    """10 cameras x 6 minutes at 25 fps, max_shot 8 s: 201 states per camera."""
    import time

    n, rng = 9000, np.random.default_rng(0)
    names = [f"cam{i}" for i in range(10)]
    curves = {c: np.clip(0.8 + 0.05 * rng.standard_normal(n), 0, 1) for c in names}
    angles = np.radians(np.arange(10) * 36.0)
    views = {c: View(np.tile([np.cos(a), np.sin(a), 0.0], (n, 1)), np.full(n, 3.0)) for c, a in zip(names, angles)}
    sides = {c: np.ones(n) for c in names}
    start = time.perf_counter()
    p = cut_programme(curves, views, sides, FPS)
    assert time.perf_counter() - start < 20.0  # about 0.5 s on one idle core; generous for shared CI
    assert max(s.frames for s in p.shots) <= 200 and min(s.frames for s in p.shots) >= 50


def test_a_programme_shorter_than_the_minimum_shot_is_one_shot():
    n = 30
    curves = {"a": np.r_[np.ones(15), np.zeros(15)], "b": np.r_[np.zeros(15), np.ones(15)]}
    views = {c: View(np.tile(d, (n, 1)), np.full(n, 3.0)) for c, d in (("a", [1.0, 0, 0]), ("b", [0, 1.0, 0]))}
    p = cut_programme(curves, views, {"a": np.ones(n), "b": np.ones(n)}, FPS, ProgrammeOptions(min_shot=2.0))
    assert [(s.start, s.end) for s in p.shots] == [(0, 30)]


# --------------------------------------------------------------------------- real geometry

FRONT_LEFT, FRONT_RIGHT = (-2.5, -5.0, 1.5), (2.5, -5.0, 1.5)  # audience side of the actors' axis
BACK_LEFT, BACK_RIGHT = (-2.5, 5.0, 1.5), (2.5, 5.0, 1.5)  # the other side
ON_LINE = (6.0, 0.0, 1.5)  # on the axis itself, beyond B


def _geometry(stage, cameras: dict):
    tracks = {name: stage.camera(name, eye) for name, eye in cameras.items()}
    return ({n: actors_view(t, stage.head_a, stage.head_b) for n, t in tracks.items()},
            {n: line_side(t, stage.head_a, stage.head_b) for n, t in tracks.items()})


def test_line_side_follows_the_axis_from_a_to_b(stage):
    _, sides = _geometry(stage, {"front": FRONT_LEFT, "back": BACK_RIGHT, "on_line": ON_LINE})
    assert np.all(sides["front"] == -1) and np.all(sides["back"] == 1) and np.all(sides["on_line"] == 0)
    swapped = line_side(stage.camera("front", FRONT_LEFT), stage.head_b, stage.head_a)
    assert np.all(swapped == 1)
    level = np.array([0.0, -5.0, 0.3]) / np.linalg.norm([0.0, -5.0, 0.3])  # from the heads' midpoint
    front = actors_view(stage.camera("front", (0.0, -5.0, 1.94)), stage.head_a, stage.head_b)
    assert np.allclose(front.direction, level)
    assert np.allclose(front.frame_height, 2 * np.sqrt(25 + 0.09) * np.tan(np.radians(15)))
    with pytest.raises(CinestageError, match="front: head_a has shape"):
        line_side(stage.camera("front", FRONT_LEFT), stage.head_a[:3], stage.head_b)


@pytest.fixture(scope="module")
def tempting(make_stage):
    """The best camera alternates every 2 s between the two sides of the axis: front_left (0.9)
    in even blocks, back_right (0.9) in odd ones; front_right, on the front side, is 0.7 in odd
    blocks; everything else is 0.5 with a little noise."""
    n = 250
    long = make_stage(n)
    views, sides = _geometry(long, {"front_left": FRONT_LEFT, "front_right": FRONT_RIGHT,
                                     "back_left": BACK_LEFT, "back_right": BACK_RIGHT})
    rng = np.random.default_rng(1)
    odd = (np.arange(n) // 50) % 2 == 1
    curves = {c: np.clip(0.5 + 0.05 * rng.standard_normal(n), 0, 1) for c in views}
    curves["front_left"][~odd] = 0.9
    curves["back_right"][odd] = 0.9
    curves["front_right"][odd] = 0.7
    return long, curves, views, sides


def test_the_tempting_scene_never_cuts_across_the_line(tempting):
    _, curves, views, sides = tempting
    options = ProgrammeOptions(min_shot=1.0)
    tempted = cut_programme(curves, views, sides, FPS, ProgrammeOptions(min_shot=1.0, allow_line_crossing=True,
                                                                       line_crossing_cost=0.0))
    assert [s.camera for s in tempted.shots] == ["front_left", "back_right"] * 2 + ["front_left"]
    assert tempted.counts["line_crossings"] == 4
    assert score_path(tempted.cameras(), curves, views, sides, FPS, options).costs["total"] == np.inf

    kept = cut_programme(curves, views, sides, FPS, options)
    assert _crosses(kept, sides) == [] and kept.counts["line_crossings"] == 0
    assert [s.camera for s in kept.shots] == ["front_left", "front_right"] * 2 + ["front_left"]
    assert [s.start for s in kept.shots] == [0, 50, 100, 150, 200]
    assert kept.costs["total"] == pytest.approx(2.6)  # 1.8 s of lost quality + 4 cuts x 0.2
    assert tempted.costs["total"] == pytest.approx(1.8)  # what breaking the rule would have saved
    # Allowed at a price, crossing happens only where it pays more than it costs.
    priced = cut_programme(curves, views, sides, FPS, ProgrammeOptions(min_shot=1.0, allow_line_crossing=True))
    assert priced.counts["line_crossings"] == 0


def test_a_camera_on_the_line_may_bridge_the_sides_but_no_cut_crosses(tempting):
    long, curves, views, sides = tempting
    more_views, more_sides = _geometry(long, {"on_line": ON_LINE})
    curves = {**curves, "on_line": np.full(long.frames, 0.95)}
    p = cut_programme(curves, {**views, **more_views}, {**sides, **more_sides}, FPS, ProgrammeOptions(min_shot=1.0))
    assert _crosses(p, {**sides, **more_sides}) == []
    assert "on_line" in p.cameras()


def test_the_programme_stays_on_the_camera_that_sees_both_actors(stage):
    """Two cameras identical in every measure but both_visible (one loses B for good)."""
    track = stage.camera("both", FRONT_LEFT)
    clean = shot_rules(stage.performance, track, stage.meta(track))
    lost = [type(m)(m.name, 0.0, m.low, m.high, m.better, np.full_like(m.curve, 0.4), m.unit)
            if m.name == "both_visible" else m for m in clean]
    curves = {"one_actor": fuse(lost, camera="one_actor").curve, "both": fuse(clean, camera="both").curve}
    views, sides = _geometry(stage, {"one_actor": FRONT_RIGHT, "both": FRONT_LEFT})
    for options in (ProgrammeOptions(), ProgrammeOptions(min_shot=0.0, cut_cost=0.0)):
        p = cut_programme(curves, views, sides, FPS, options)
        assert [s.camera for s in p.shots] == ["both"]


def _two_views(n: int, angle_deg: float, size_ratio: float = 1.0) -> dict[str, View]:
    a = np.radians(angle_deg)
    return {"a": View(np.tile([0.0, -1.0, 0.0], (n, 1)), np.full(n, 3.0)),
            "b": View(np.tile([np.sin(a), -np.cos(a), 0.0], (n, 1)), np.full(n, 3.0 * size_ratio))}


@pytest.mark.parametrize(("angle", "ratio", "jump"), [(10.0, 1.0, True), (29.0, 1.3, True), (60.0, 1.0, False),
                                                      (10.0, 2.0, False)])
def test_a_cut_between_nearly_identical_views_is_a_jump_cut(angle, ratio, jump):
    n = 100
    curves = {"a": np.r_[np.full(50, 0.9), np.full(50, 0.6)], "b": np.r_[np.full(50, 0.6), np.full(50, 0.9)]}
    sides = {"a": np.ones(n), "b": np.ones(n)}
    options = ProgrammeOptions(min_shot=1.0)
    p = cut_programme(curves, _two_views(n, angle, ratio), sides, FPS, options)
    ignored = cut_programme(curves, _two_views(n, angle, ratio), sides, FPS,
                            ProgrammeOptions(min_shot=1.0, jump_cut_cost=0.0))
    assert [s.camera for s in ignored.shots] == ["a", "b"]  # the cut is worth 0.6 s of quality
    assert [s.camera for s in p.shots] == (["a"] if jump else ["a", "b"])
    assert score_path(["a"] * 50 + ["b"] * 50, curves, _two_views(n, angle, ratio), sides, FPS,
                      options).counts["jump_cuts"] == int(jump)


def test_the_json_carries_shots_costs_and_their_scales(tempting):
    _, curves, views, sides = tempting
    doc = cut_programme(curves, views, sides, FPS, ProgrammeOptions(min_shot=1.0)).to_json()
    json.dumps(doc, allow_nan=False)
    assert doc["min_shot_frames"] == 25 and doc["max_shot_frames"] == 200 and doc["n_frames"] == 250
    assert doc["options"]["max_shot"] == 8.0 and doc["costs"]["overlong"]["value"] == 0.0
    assert doc["shots"][1] == {**doc["shots"][1], "camera": "front_right", "start_frame": 50, "end_frame": 100,
                               "start_time": 2.0, "end_time": 4.0}
    assert doc["shots"][0]["quality"]["range"] == [0.0, 1.0] and doc["shots"][0]["quality"]["better"] == "higher"
    for cost in doc["costs"].values():
        assert cost["range"] == [0.0, "inf"] and cost["better"] == "lower" and cost["unit"]


def test_bad_inputs_are_named():
    n = 10
    views = {"a": View(np.tile([1.0, 0, 0], (n, 1)), np.ones(n))}
    ok = ({"a": np.ones(n)}, views, {"a": np.ones(n)})
    with pytest.raises(CinestageError, match="line sides are for cameras"):
        cut_programme(ok[0], views, {"b": np.ones(n)}, FPS)
    with pytest.raises(CinestageError, match="a: quality must lie in"):
        cut_programme({"a": np.full(n, 2.0)}, *ok[1:], FPS)
    with pytest.raises(CinestageError, match="a: line side has shape"):
        cut_programme(ok[0], views, {"a": np.ones(3)}, FPS)
    with pytest.raises(CinestageError, match="fps must be"):
        cut_programme(*ok, 0.0)
    with pytest.raises(CinestageError, match="no camera"):
        cut_programme({}, {}, {}, FPS)
    with pytest.raises(CinestageError, match="min_shot.*>= 0"):
        ProgrammeOptions(min_shot=-1.0)
    with pytest.raises(CinestageError, match="jump_size_ratio"):
        ProgrammeOptions(jump_size_ratio=0.5)
    with pytest.raises(CinestageError, match="max_shot.*None"):
        ProgrammeOptions(max_shot=-1.0)
    with pytest.raises(CinestageError, match="overlong_cost"):
        ProgrammeOptions(overlong_cost=float("nan"))
    with pytest.raises(CinestageError, match="needs one of"):
        score_path(["z"] * n, *ok, FPS)


def test_unknown_quality_counts_as_worthless():
    n = 60
    curves = {"a": np.full(n, np.nan), "b": np.full(n, 0.2)}
    views = _two_views(n, 90.0)
    p = cut_programme(curves, views, {"a": np.ones(n), "b": np.ones(n)}, FPS)
    assert [s.camera for s in p.shots] == ["b"]
    assert p.costs["quality"] == pytest.approx(0.8 * n / FPS)
