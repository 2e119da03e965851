"""The procedural body and the built-in duet: a rigid, human-looking, well-behaved performance."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cinestage.errors import PerformanceError
from cinestage.stage import procedural as P
from cinestage.stage.motion import Motion

NAMES = (
    "Hips", "Spine", "Chest", "Neck", "Head",
    "LeftShoulder", "LeftElbow", "LeftWrist",
    "RightShoulder", "RightElbow", "RightWrist",
    "LeftHip", "LeftKnee", "LeftAnkle", "LeftToe",
    "RightHip", "RightKnee", "RightAnkle", "RightToe",
)  # fmt: skip
FEET = ("LeftAnkle", "LeftToe", "RightAnkle", "RightToe")
UP = np.array([0.0, 0.0, 1.0])
FPS = 25.0


@pytest.fixture(scope="module")
def duets() -> dict[tuple[float, int], tuple[Motion, Motion]]:
    cache: dict[tuple[float, int], tuple[Motion, Motion]] = {}

    def get(duration: float, seed: int = 0) -> tuple[Motion, Motion]:
        if (duration, seed) not in cache:
            cache[(duration, seed)] = P.duet(duration, FPS, seed)
        return cache[(duration, seed)]

    return get  # type: ignore[return-value]


def joint(m: Motion, name: str) -> np.ndarray:
    return m.positions[:, m.index(name)]


def ground_unit(v: np.ndarray) -> np.ndarray:
    v = v.copy()
    v[..., 2] = 0.0
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def hips_distance(a: Motion, b: Motion) -> np.ndarray:
    return np.linalg.norm(joint(a, "Hips")[:, :2] - joint(b, "Hips")[:, :2], axis=1)


def hips_speed(m: Motion) -> np.ndarray:
    return np.linalg.norm(np.diff(joint(m, "Hips")[:, :2], axis=0), axis=1) * m.fps


# --- skeleton -------------------------------------------------------------------------------


def test_skeleton_names_and_tree():
    assert P.SKELETON.names == NAMES
    parents = P.SKELETON.parents
    assert parents[0] == -1 and sum(p == -1 for p in parents) == 1
    name_of = dict(enumerate(NAMES))
    parent = {NAMES[c]: name_of[p] for p, c in P.SKELETON.bones()}
    assert parent["LeftShoulder"] == "Chest" and parent["RightShoulder"] == "Chest"
    assert parent["Head"] == "Neck" and parent["Neck"] == "Chest"
    assert parent["LeftHip"] == "Hips" and parent["RightToe"] == "RightAnkle"
    for c, p in enumerate(parents):  # parents come first: a single forward pass poses the tree
        assert p < c


@pytest.mark.parametrize("height", [1.60, 1.75, 1.90])
def test_standing_proportions(height):
    m = P.idle(2.0, FPS, position=(1.0, -0.5), heading=math.pi, height=height)
    p = m.positions[0]
    top = p[m.index("Head"), 2] + 0.063 * height  # the Head joint is the centre of the head
    assert top == pytest.approx(height, abs=0.02)
    assert p[m.index("Head"), 2] - p[m.index("Neck"), 2] == pytest.approx(0.12 * height / 1.75, abs=0.015)
    shoulder_width = np.linalg.norm(p[m.index("LeftShoulder")] - p[m.index("RightShoulder")])
    assert 0.19 * height < shoulder_width < 0.24 * height
    assert 0.45 * height < p[m.index("LeftHip"), 2] < 0.56 * height
    assert p[m.index("LeftWrist"), 2] < p[m.index("Hips"), 2]  # arms hang at rest
    # Standing on the spot asked for, feet on the floor.
    assert np.allclose(p[m.index("Hips"), :2], (1.0, -0.5), atol=0.05)
    assert np.all(m.positions[:, [m.index(n) for n in FEET], 2] > -0.02)
    assert np.all(m.positions[:, [m.index(n) for n in FEET], 2] < 0.1)


def test_default_duet_heights(duets):
    for m in duets(20.0):
        top = joint(m, "Head")[:, 2].max() + 0.11
        assert 1.6 <= top <= 1.9


def test_invalid_inputs_are_clear_errors():
    with pytest.raises(PerformanceError, match="at least 4"):
        P.duet(3.0)
    with pytest.raises(PerformanceError, match="height"):
        P.idle(1.0, FPS, height=0.1)
    with pytest.raises(PerformanceError, match="frame rate"):
        P.idle(1.0, 0.0)
    with pytest.raises(PerformanceError, match="speed"):
        P.walk_cycle(1.0, FPS, speed=5.0)


# --- conventions ----------------------------------------------------------------------------


def test_heading_convention():
    assert np.allclose(P.front_of(0.0), [0, 1, 0])  # upstage
    assert np.allclose(P.front_of(math.pi), [0, -1, 0], atol=1e-12)  # the audience
    assert np.allclose(P.left_of(math.pi), [1, 0, 0], atol=1e-12)  # facing the audience: left is +X
    for h in np.linspace(-4, 4, 17):
        assert np.allclose(P.left_of(h), np.cross(UP, P.front_of(h)))
        assert P.heading_of(P.front_of(h)) == pytest.approx(float(P._wrap(h)), abs=1e-12)


def test_idle_faces_its_heading():
    for h in (0.0, 1.0, math.pi, -2.0):
        m = P.idle(1.0, FPS, heading=h)
        assert np.allclose(P.facing(m), P.front_of(h), atol=1e-6)


def anatomical_front(m: Motion) -> np.ndarray:
    """Front read from the feet, the head and the knees (not from the left/right labels)."""
    toes = joint(m, "LeftToe") + joint(m, "RightToe") - joint(m, "LeftAnkle") - joint(m, "RightAnkle")
    return ground_unit(toes)


@pytest.mark.parametrize("duration", [4.0, 10.0, 20.0])
def test_left_is_up_cross_front_every_frame(duets, duration):
    for m in duets(duration):
        front = anatomical_front(m)
        left_shoulders = ground_unit(joint(m, "LeftShoulder") - joint(m, "RightShoulder"))
        left_hips = ground_unit(joint(m, "LeftHip") - joint(m, "RightHip"))
        want = np.cross(UP, front)
        # Feet may point up to ~40 degrees off the trunk mid-turn; the sides never swap.
        assert np.all(np.einsum("ti,ti->t", left_shoulders, want) > 0.6)
        assert np.all(np.einsum("ti,ti->t", left_hips, want) > 0.6)
        # `facing` (from the shoulders) agrees with the head, which sits in front of the neck.
        head_ahead = np.einsum("ti,ti->t", joint(m, "Head") - joint(m, "Neck"), P.facing(m))
        assert np.all(head_ahead > 0.0)
        # Knees bend forward, never backward.
        for side in ("Left", "Right"):
            hip, knee, ankle = (joint(m, side + j) for j in ("Hip", "Knee", "Ankle"))
            mid = 0.5 * (hip + ankle)
            assert np.all(np.einsum("ti,ti->t", knee - mid, P.facing(m)) > -0.01)


# --- physical plausibility ------------------------------------------------------------------


@pytest.mark.parametrize("duration", [4.0, 10.0, 20.0, 31.0])
def test_bones_rigid(duets, duration):
    for m in duets(duration):
        for p, c in P.SKELETON.bones():
            length = np.linalg.norm(m.positions[:, c] - m.positions[:, p], axis=1)
            assert np.ptp(length) < 1e-6, (NAMES[p], NAMES[c])


@pytest.mark.parametrize("duration", [4.0, 10.0, 20.0, 31.0])
def test_feet_on_the_floor(duets, duration):
    for m in duets(duration):
        z = m.positions[:, [m.index(n) for n in FEET], 2]
        assert z.min() >= -0.02 and z.max() <= 0.15
        # At every frame at least one foot carries the body (no flying).
        low = np.minimum(joint(m, "LeftToe")[:, 2], joint(m, "RightToe")[:, 2])
        assert np.all(low < 0.03)


def test_planted_feet_do_not_slide(duets):
    for m in duets(20.0):
        for toe in ("LeftToe", "RightToe"):
            p = joint(m, toe)
            planted = p[:, 2] < p[:, 2].min() + 1e-4  # toe at its planted height
            on_floor = planted[1:] & planted[:-1]
            slide = np.linalg.norm(np.diff(p[:, :2], axis=0), axis=1)[on_floor]
            assert on_floor.sum() > 100
            assert slide.max() < 1e-6


@pytest.mark.parametrize("duration", [4.0, 10.0, 20.0, 31.0])
def test_no_teleports(duets, duration):
    for m in duets(duration):
        speed = np.linalg.norm(np.diff(m.positions, axis=0), axis=2) * m.fps
        assert speed.max() < 6.0
        assert hips_speed(m).max() < 1.8  # a walk, not a run


@pytest.mark.parametrize("duration,seed", [(4.0, 0), (10.0, 0), (10.0, 1), (20.0, 0), (20.0, 2), (31.0, 0)])
def test_actors_never_interpenetrate_and_stay_on_stage(duets, duration, seed):
    a, b = duets(duration, seed)
    assert hips_distance(a, b).min() > 0.5
    for m in (a, b):
        assert np.all(np.abs(m.positions[..., 0]) <= 6.5)
        assert np.all(np.abs(m.positions[..., 1]) <= 3.0)


@pytest.mark.parametrize("speed", [0.5, 1.4])
def test_walk_cycle_speeds(speed):
    m = P.walk_cycle(4.0, FPS, speed=speed, heading=0.0)
    assert hips_speed(m).mean() == pytest.approx(speed, rel=0.06)
    z = m.positions[:, [m.index(n) for n in FEET], 2]
    assert z.min() >= -0.02 and z.max() <= 0.15
    assert (np.linalg.norm(np.diff(m.positions, axis=0), axis=2) * FPS).max() < 6.0


def test_walk_cycle_is_a_steady_walk():
    m = P.walk_cycle(6.0, FPS, speed=1.2, start=(-3.0, 0.5), heading=-math.pi / 2)  # walking +X
    hips = joint(m, "Hips")
    assert np.allclose(hips[0, :2], (-3.0, 0.5), atol=0.06)
    speed = hips_speed(m)
    assert speed.mean() == pytest.approx(1.2, rel=0.05)
    assert speed.min() > 0.8  # already walking at the first frame, still at the last
    assert np.allclose(P.facing(m)[:, :2].mean(axis=0), (1.0, 0.0), atol=0.05)
    # Feet alternate: each foot is off the floor part of the time, and not both at once.
    up = np.stack([joint(m, n)[:, 2] > 0.03 for n in ("LeftToe", "RightToe")])
    assert 0.25 < up[0].mean() < 0.5 and 0.25 < up[1].mean() < 0.5
    assert not np.any(up[0] & up[1])
    # Arms counter-swing: the left wrist is ahead when the right foot is.
    fwd = np.array([1.0, 0.0])
    feet = (joint(m, "RightAnkle") - joint(m, "LeftAnkle"))[:, :2] @ fwd
    wrists = (joint(m, "LeftWrist") - joint(m, "RightWrist"))[:, :2] @ fwd
    assert np.corrcoef(feet, wrists)[0, 1] > 0.8
    # The pelvis bobs a few centimetres.
    assert 0.015 < np.ptp(hips[:, 2]) < 0.08


# --- the duet -------------------------------------------------------------------------------


def test_duet_is_deterministic():
    a1, b1 = P.duet(10.0, FPS, seed=3)
    a2, b2 = P.duet(10.0, FPS, seed=3)
    assert np.array_equal(a1.positions, a2.positions) and np.array_equal(b1.positions, b2.positions)
    a3, _ = P.duet(10.0, FPS, seed=4)
    assert not np.array_equal(a1.positions, a3.positions)  # the seed varies the details


def test_duet_shape_and_clock(duets):
    a, b = duets(20.0)
    assert a.n_frames == b.n_frames == 500 and a.fps == b.fps == FPS
    assert a.skeleton == b.skeleton == P.SKELETON
    a, b = P.duet(10.0, 30.0)
    assert a.n_frames == 300


@pytest.mark.parametrize("duration,seed", [(4.0, 0), (10.0, 0), (10.0, 5), (20.0, 0), (20.0, 7), (31.0, 1)])
def test_duet_script_beats(duets, duration, seed):
    a, b = duets(duration, seed)
    script = P.duet_script(duration, seed)
    t = np.arange(a.n_frames) / a.fps
    dist = hips_distance(a, b)

    def during(phase: str) -> np.ndarray:
        t0, t1 = script.phases[phase]
        return (t >= t0) & (t < t1)

    assert list(script.phases) == ["enter", "turn", "meet", "circle", "part"]
    # A enters from stage left (+X), B from stage right (-X), both walking in toward centre.
    ha, hb = joint(a, "Hips"), joint(b, "Hips")
    at_meet = int(script.phases["meet"][0] * FPS)
    assert ha[0, 0] > ha[at_meet, 0] > 0 > hb[at_meet, 0] > hb[0, 0]
    assert ha[1, 0] < ha[0, 0] and hb[1, 0] > hb[0, 0]
    if duration >= 10.0:  # from the wings
        assert ha[0, 0] > 3.5 and hb[0, 0] < -3.5
    enter = during("enter")[1:]
    assert hips_speed(a)[enter].max() > 0.7 and hips_speed(b)[enter].max() > 0.7
    # They meet 1.2-1.6 m apart and face each other while they greet.
    meet = during("meet")
    assert np.all((dist[meet] > 1.2) & (dist[meet] < 1.6))
    fa, fb = P.facing(a)[meet], P.facing(b)[meet]
    assert np.all(np.einsum("ti,ti->t", fa, fb) < -0.97)
    towards = ground_unit(joint(b, "Hips") - joint(a, "Hips"))[meet]
    assert np.all(np.einsum("ti,ti->t", fa, towards) > 0.97)
    # Before the turn they stand side by side facing the audience; the turn makes them face.
    t_turn = script.phases["turn"][0]
    before = int(t_turn * a.fps) - 1
    assert P.facing(a)[before, 1] < -0.9 and P.facing(b)[before, 1] < -0.9
    # Both greet visibly: a hand travels well away from where it hung, or the head bows.
    first = np.flatnonzero(meet)[0]
    for m in (a, b):
        hips = joint(m, "Hips")
        hand_moves = max(
            np.linalg.norm((joint(m, w) - hips)[meet] - (joint(m, w) - hips)[first], axis=1).max()
            for w in ("LeftWrist", "RightWrist")
        )
        head_drops = joint(m, "Head")[first, 2] - joint(m, "Head")[meet, 2].min()
        assert hand_moves > 0.4 or head_drops > 0.15
    # Part: they walk apart and end far further apart than when they met.
    part = during("part")
    assert max(hips_speed(a)[part[1:]].max(), hips_speed(b)[part[1:]].max()) > 0.5
    assert dist[-1] > dist[meet].mean() + 1.0


@pytest.mark.parametrize("duration", [10.0, 20.0])
def test_duet_contains_walk_meet_part_from_motion_alone(duets, duration):
    a, b = duets(duration)
    dist = hips_distance(a, b)
    walking = (hips_speed(a) > 0.5) | (hips_speed(b) > 0.5)
    assert walking[: len(walking) // 4].mean() > 0.5  # the first quarter is mostly walking
    close = np.flatnonzero(dist < 1.8)
    assert len(close) / a.fps > 0.4 * duration  # a long meeting
    assert dist[-1] > dist[close].min() + 1.0  # and they part
    assert dist[0] > 4.0  # they come from far apart


def test_duet_has_a_bow_and_a_wave(duets):
    a, b = duets(20.0)
    script = P.duet_script(20.0)
    kinds = {g.kind for sc in (script.a, script.b) for g in sc.gestures}
    assert kinds == {"wave", "reach", "bow", "raise_hands"}
    bower = a if any(g.kind == "bow" for g in script.a.gestures) else b
    g = next(g for sc in (script.a, script.b) for g in sc.gestures if g.kind == "bow")
    t = np.arange(bower.n_frames) / bower.fps
    mid = np.argmin(np.abs(t - 0.5 * (g.t0 + g.t1)))
    trunk = joint(bower, "Neck")[mid] - joint(bower, "Hips")[mid]
    lean = math.degrees(math.atan2(np.dot(trunk[:2], P.facing(bower)[mid, :2]), trunk[2]))
    assert 20.0 < lean < 60.0
    assert joint(bower, "Head")[mid, 2] < joint(bower, "Head")[0, 2] - 0.15


def test_seed_keeps_the_script():
    for seed in range(6):
        s = P.duet_script(20.0, seed)
        assert s.greeter in ("A", "B")
        assert [k for k in s.phases] == ["enter", "turn", "meet", "circle", "part"]
        ends = [s.phases[k] for k in s.phases]
        assert all(t0 < t1 for t0, t1 in ends) and ends[-1][1] == 20.0
        assert all(ends[i][1] <= ends[i + 1][0] + 1e-9 for i in range(len(ends) - 1))


# --- choreography building blocks -----------------------------------------------------------


def test_actor_script_walks_turns_and_holds():
    sc = P.ActorScript((-2.0, 1.0), 0.0)
    sc.walk_to(0.5, 3.5, (1.0, -1.0), end_heading=math.pi)  # arrive facing the audience
    sc.turn_to(4.0, 5.0, math.pi / 2)  # then face -X
    sc.gesture("wave", 5.0, 7.0, arm="left").look(5.0, 7.0, "audience")
    m = P.perform(sc, 8.0, FPS)
    hips = joint(m, "Hips")
    t = np.arange(m.n_frames) / FPS
    assert np.allclose(hips[t < 0.5, :2], (-2.0, 1.0), atol=0.03)  # standing before the walk
    arrived = (t > 3.6) & (t < 4.0)
    assert np.allclose(hips[arrived, :2], (1.0, -1.0), atol=0.03)
    assert np.allclose(P.facing(m)[arrived], P.front_of(math.pi), atol=0.02)
    assert np.allclose(P.facing(m)[t > 5.2], P.front_of(math.pi / 2), atol=0.02)
    # The left hand waves above the head; the head turns to the audience (-Y) on its left.
    waving = (t > 5.6) & (t < 6.4)
    assert np.all(joint(m, "LeftWrist")[waving, 2] > joint(m, "Head")[waving, 2])
    assert np.all(joint(m, "RightWrist")[waving, 2] < joint(m, "Hips")[waving, 2])
    gaze = joint(m, "Head") - joint(m, "Neck")
    assert np.all(gaze[waving, 1] < -0.005)
    assert float(P._wrap(sc.end_heading - math.pi / 2)) == pytest.approx(0.0, abs=1e-9)  # headings unwrap


def test_actor_script_rejects_bad_choreography():
    sc = P.ActorScript((0.0, 0.0), 0.0)
    sc.turn_to(1.0, 2.0, 1.0)
    with pytest.raises(PerformanceError, match="overlaps"):
        sc.turn_to(1.5, 2.5, 0.0)
    with pytest.raises(PerformanceError, match="take time"):
        sc.turn_to(3.0, 3.0, 0.0)
    with pytest.raises(PerformanceError, match="start where"):
        sc.walk(3.0, 5.0, P.Bezier((5, 5), (6, 5), (7, 5), (8, 5)))
    with pytest.raises(PerformanceError, match="unknown gesture"):
        sc.gesture("juggle", 0.0, 1.0)  # type: ignore[arg-type]
    with pytest.raises(PerformanceError, match="look target"):
        sc.look(0.0, 1.0, "moon")


@pytest.mark.parametrize("duration", [4.0, 6.0, 10.0, 20.0, 45.0])
def test_every_duration_plays_the_whole_script(duration):
    s = P.duet_script(duration)
    assert list(s.phases) == ["enter", "turn", "meet", "circle", "part"]
    windows = list(s.phases.values())
    assert windows[0][0] == 0.0 and windows[-1][1] == pytest.approx(duration)
    assert all(t1 > t0 for t0, t1 in windows)
    assert all(a[1] <= b[0] + 1e-9 for a, b in zip(windows, windows[1:]))
    assert len(s.a.gestures) >= 1 and len(s.b.gestures) >= 1


def test_long_duet_ends_facing_each_other_across_the_stage():
    a, b = P.duet(45.0, 10.0)
    dist = hips_distance(a, b)
    assert dist[-1] > 8.0
    assert np.dot(P.facing(a)[-1], P.facing(b)[-1]) < -0.95
    assert hips_speed(a)[-5:].max() < 0.1  # standing, not creeping: the walks kept their pace
    moving = hips_speed(a) > 0.3
    assert np.median(hips_speed(a)[moving]) > 0.8
