"""Tracking people through shots: synthetic detections with known truth, then real clips."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from cinestage.film.pose import FramePoses, MoveNetMultiPose
from cinestage.film.tracking import Track, TrackingOptions, track_people

VIDEOS = Path(__file__).parents[2].parent / "shared" / "data" / "videos"
WIDTH, HEIGHT = 1280, 720
FRAME = (WIDTH, HEIGHT)

# A standing person as (x offset from the body's centre line, y from the top of the head), in
# units of their height; COCO order.
STICK = np.array([
    [0.0, 0.06], [0.02, 0.05], [-0.02, 0.05], [0.04, 0.06], [-0.04, 0.06],
    [0.10, 0.19], [-0.10, 0.19], [0.13, 0.36], [-0.13, 0.36], [0.14, 0.50], [-0.14, 0.50],
    [0.06, 0.52], [-0.06, 0.52], [0.07, 0.75], [-0.07, 0.75], [0.07, 0.97], [-0.07, 0.97],
])


def person(x: float, top: float = 150.0, height: float = 300.0, score: float = 0.8,
           rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints (17, 3) and box (5,) of a person whose centre line is at ``x``."""
    keypoints = np.empty((17, 3), np.float32)
    keypoints[:, 0] = x + STICK[:, 0] * height
    keypoints[:, 1] = top + STICK[:, 1] * height
    if rng is not None:
        keypoints[:, :2] += rng.normal(0, 0.01 * height, (17, 2))
    keypoints[:, 2] = score
    box = np.array([keypoints[:, 0].min() - 0.05 * height, top, keypoints[:, 0].max() + 0.05 * height,
                    top + height, 0.6], np.float32)
    return keypoints, box


def frame(*people) -> FramePoses:
    if not people:
        return FramePoses.empty(256)
    return FramePoses(np.stack([p[0] for p in people]), np.stack([p[1] for p in people]), 256)


def centre_x(track: Track) -> np.ndarray:
    return (track.boxes[:, 0] + track.boxes[:, 2]) / 2


def track_all(poses, options=TrackingOptions()):
    return track_people(poses, [(0, len(poses))], FRAME, options)


# --- synthetic ----------------------------------------------------------------------------------

def test_people_crossing_paths_keep_their_ids():
    rng = np.random.default_rng(1)
    frames = 80
    xs = np.linspace(300, 980, frames)
    poses = []
    for f in range(frames):
        walker_right = person(xs[f], rng=rng)
        walker_left = person(xs[::-1][f], top=160, rng=rng)
        # Where they overlap, the one behind is not detected at all for a few frames.
        hidden = abs(xs[f] - xs[::-1][f]) < 30
        poses.append(frame(walker_right) if hidden else frame(walker_left, walker_right))
    tracks = track_all(poses)
    assert len(tracks) == 2
    assert [t.id for t in tracks] == [0, 1]
    right_bound, left_bound = tracks  # ids in order of first appearance, ties left to right
    for track in tracks:
        assert track.frames[0] == 0 and track.frames[-1] == frames - 1
    assert np.allclose(centre_x(right_bound), xs, atol=15)
    assert np.allclose(centre_x(left_bound), xs[::-1], atol=15)
    assert not left_bound.observed.all() and right_bound.observed.all()


def test_a_short_gap_is_filled_by_interpolation():
    xs = np.linspace(200, 800, 90)
    poses = [frame() if 40 <= f < 50 else frame(person(xs[f])) for f in range(90)]
    (track,) = track_all(poses)
    assert list(track.frames) == list(range(90))
    assert list(np.flatnonzero(~track.observed)) == list(range(40, 50))
    truth = np.stack([person(x)[0] for x in xs])
    assert np.allclose(track.keypoints[..., :2], truth[..., :2], atol=0.5)
    # Filled rows: positions between the neighbours, scores marked down.
    assert (track.keypoints[39, :, 0] < track.keypoints[40, :, 0]).all()
    assert (track.keypoints[49, :, 0] < track.keypoints[50, :, 0]).all()
    assert np.allclose(track.keypoints[40:50, :, 2], 0.4)
    assert np.allclose(track.keypoints[track.observed][:, :, 2], 0.8)
    assert track.keypoints.dtype == np.float32 and track.boxes.shape == (90, 5)


def test_a_long_gap_splits_the_track():
    poses = [frame() if 40 <= f < 100 else frame(person(500 + f)) for f in range(140)]
    tracks = track_all(poses)
    assert [(t.frames[0], t.frames[-1]) for t in tracks] == [(0, 39), (100, 139)]
    assert [t.id for t in tracks] == [0, 1]
    assert all(t.observed.all() for t in tracks)


def test_the_gap_limit_is_an_option():
    poses = [frame() if 40 <= f < 65 else frame(person(500 + f)) for f in range(105)]
    (track,) = track_all(poses, TrackingOptions(max_gap=25))
    assert len(track) == 105 and (~track.observed).sum() == 25
    assert len(track_all(poses, TrackingOptions(max_gap=24))) == 2


def test_a_person_missed_for_a_second_and_a_half_keeps_their_track():
    # MoveNet loses our mannequin with both arms over its head for ~35 frames (round-trip reference 7).
    poses = [frame() if 40 <= f < 78 else frame(person(500 + f)) for f in range(120)]
    (track,) = track_all(poses)
    assert len(track) == 120 and (~track.observed).sum() == 38


def test_after_a_long_gap_only_someone_where_the_person_was_takes_the_track():
    poses = [frame() if 40 <= f < 78 else frame(person(500 if f < 40 else 1100)) for f in range(120)]
    assert [(t.frames[0], t.frames[-1]) for t in track_all(poses)] == [(0, 39), (78, 119)]


def test_short_tracks_are_dropped():
    poses = [frame(person(300), person(900)) if f < 20 else frame(person(300)) for f in range(60)]
    (track,) = track_all(poses)
    assert len(track) == 60 and np.allclose(centre_x(track), 300, atol=1)
    assert len(track_all(poses, TrackingOptions(min_length=20))) == 2


def test_small_people_are_dropped_by_their_median_height():
    # 5 % of the frame tall throughout: dropped.
    tiny = [frame(person(300, height=0.05 * HEIGHT)) for _ in range(60)]
    assert track_all(tiny) == []
    # Walks away for a moment (under 0.1 of the frame in 16 of 60 frames): kept.
    heights = np.interp(np.arange(60), [0, 15, 20, 35, 40, 60], [0.4, 0.4, 0.05, 0.05, 0.4, 0.4]) * HEIGHT
    assert (heights < 0.1 * HEIGHT).sum() == 16
    moment = [frame(person(300, top=600 - h, height=h)) for h in heights]
    (track,) = track_all(moment)
    assert len(track) == 60


def test_tracks_never_cross_shot_boundaries():
    poses = [frame(person(400 + 2 * f)) for f in range(100)]
    tracks = track_people(poses, [(0, 50), (50, 100)], FRAME)
    assert [(t.id, t.shot, t.frames[0], t.frames[-1]) for t in tracks] == [(0, 0, 0, 49), (1, 1, 50, 99)]
    # Frames outside every range are ignored; ranges beyond the clip are clipped.
    (inside,) = track_people(poses, [(10, 60)], FRAME)
    assert (inside.frames[0], inside.frames[-1], inside.shot) == (10, 59, 0)
    (clipped,) = track_people(poses, [(5, 4), (60, 500)], FRAME)
    assert (clipped.frames[0], clipped.frames[-1], clipped.shot) == (60, 99, 1)


def test_a_fast_pan_keeps_identities():
    """The whole frame moves by 8 % of its width per frame in bursts, both ways; two people
    0.7 body heights apart are never confused."""
    rng = np.random.default_rng(7)
    velocity = np.zeros(120)
    for start in (10, 50, 90):
        velocity[start:start + 6] = 0.08 * WIDTH
        velocity[start + 15:start + 21] = -0.08 * WIDTH
    pan = np.cumsum(velocity)
    poses = [frame(person(150 + p, rng=rng), person(360 + p, rng=rng)) for p in pan]
    tracks = track_all(poses)
    assert len(tracks) == 2
    for track, start in zip(tracks, (150, 360)):
        assert len(track) == 120 and track.observed.all()
        assert np.allclose(centre_x(track) - pan, start, atol=15)


def test_a_pan_faster_than_the_gate_is_followed_by_prediction():
    """The camera accelerates to 1.5 body heights per frame: no track could match that jump
    without extrapolating its motion."""
    speed = np.minimum(np.arange(30) * 0.15, 1.5) * 200
    xs = 100 + np.cumsum(speed)
    poses = [frame(person(x, height=200)) for x in xs]
    (track,) = track_people(poses, [(0, 30)], (8000, 720))
    assert len(track) == 30 and track.observed.all()


def test_a_garbled_pose_does_not_give_its_person_away():
    """As MoveNet does on the basketball clip: A's joints come out scrambled for one frame, then A
    is missed for three; B, hidden right behind A since a few frames, must not take A's place."""
    rng = np.random.default_rng(5)
    a, b = person(400), person(430)
    garbled = (a[0].copy(), a[1])
    garbled[0][:, :2] = rng.uniform(a[1][:2], a[1][2:4], (17, 2))
    poses = []
    for f in range(100):
        if f == 50:
            poses.append(frame(garbled))
        elif 51 <= f < 54:
            poses.append(frame())
        else:
            poses.append(frame(a, b) if f < 48 else frame(a))
    tracks = track_all(poses)
    assert [(t.frames[0], t.frames[-1], centre_x(t)[0].round()) for t in tracks] == [(0, 99, 400), (0, 47, 430)]


def test_low_confidence_joints_fall_back_to_boxes():
    poses = [frame(person(300 + 3 * f, score=0.05)) for f in range(40)]
    (track,) = track_all(poses)
    assert len(track) == 40


def test_nobody_gives_no_tracks():
    assert track_all([frame() for _ in range(50)]) == []
    assert track_people([], [(0, 10)], FRAME) == []


def test_track_at():
    (track,) = track_people([frame(person(400)) for _ in range(50)], [(10, 50)], FRAME)
    assert track.at(10) == 0 and track.at(49) == 39
    assert track.at(9) is None and track.at(50) is None


def test_six_drifting_people_stay_six_tracks():
    # Tracking speed is film_throughput's figure (benchmarks/), not a timed test.
    rng = np.random.default_rng(3)
    starts = np.linspace(100, 1150, 6)
    drift = np.cumsum(rng.normal(0, 3, (300, 6)), axis=0)
    poses = [frame(*(person(x, top=200 + 20 * i, rng=rng) for i, x in enumerate(starts + drift[f])))
             for f in range(300)]
    assert len(track_all(poses)) == 6


# --- real clips ---------------------------------------------------------------------------------

def estimate_clip(name: str, input_size: int, frames: int | None = None) -> tuple[list[FramePoses], tuple[int, int]]:
    path = VIDEOS / name
    if not path.is_file():
        pytest.skip(f"real test clip {path} is absent (the shared data folder is not beside the project)")
    estimator = MoveNetMultiPose()
    poses = []
    with av.open(str(path)) as container:
        for i, decoded in enumerate(container.decode(video=0)):
            if frames is not None and i == frames:
                break
            image = decoded.to_ndarray(format="rgb24")
            poses.append(estimator.estimate(image, input_size))
    return poses, (image.shape[1], image.shape[0])


@pytest.fixture(scope="module")
def hug():
    """mmaction2_demo_skeleton.mp4: static camera, two people face each other, step in and hug."""
    return estimate_clip("mmaction2_demo_skeleton.mp4", 256)


@pytest.fixture(scope="module")
def basketball():
    """The first 150 frames of mmaction2_test_video_structuralize.mp4: a handheld camera pans
    and zooms after two basketball players."""
    return estimate_clip("mmaction2_test_video_structuralize.mp4", 256, frames=150)


def hips_x(track: Track) -> np.ndarray:
    return track.keypoints[:, 11:13, 0].mean(axis=1)


def test_two_people_hugging_keep_their_sides(hug):
    poses, size = hug
    tracks = track_people(poses, [(0, len(poses))], size)
    assert len(tracks) == 2
    for track in tracks:
        assert len(track) >= 0.9 * len(poses)
    left, right = tracks  # ids 0, 1 left to right at their first frame
    assert hips_x(left)[0] < hips_x(right)[0]
    common = np.intersect1d(left.frames, right.frames)
    assert len(common) >= 0.9 * len(poses)
    rows_left = common - left.frames[0]
    rows_right = common - right.frames[0]
    assert (hips_x(left)[rows_left] < hips_x(right)[rows_right]).all()


def test_players_survive_a_handheld_pan_and_zoom(basketball):
    poses, size = basketball
    tracks = track_people(poses, [(0, len(poses))], size)
    long = [t for t in tracks if len(t) >= 0.6 * len(poses)]
    assert len(long) >= 1
    # Both players are followed through the whole stretch, and never swap places.
    assert len(long) == 2
    left, right = sorted(long, key=lambda t: hips_x(t)[0])
    for track in long:
        assert len(track) >= 0.9 * len(poses)
    common = np.intersect1d(left.frames, right.frames)
    assert (hips_x(left)[common - left.frames[0]] < hips_x(right)[common - right.frames[0]]).all()
    # The camera really moved: the nearer player's size on screen changes by half again.
    heights = right.boxes[:, 3] - right.boxes[:, 1]
    assert heights.max() > 1.5 * heights.min()
