"""Shot boundaries on generated cuts and real clips; the short-shot policy; feeding cost."""

from __future__ import annotations


import cv2
import numpy as np
import pytest

from cinestage.errors import VideoError
from cinestage.film.shots import Shot, ShotDetector, detect_shots
from cinestage.film.video import probe, read_frames

METHODS = ["content", "adaptive", "both"]


def spans(shots):
    return [(shot.start, shot.end) for shot in shots]


def assert_contiguous(shots, frame_count):
    assert [shot.index for shot in shots] == list(range(len(shots)))
    assert shots[0].start == 0 and shots[-1].end == frame_count
    for before, after in zip(shots, shots[1:]):
        assert before.end == after.start and before.end_time == after.start_time
    assert all(shot.frames == shot.end - shot.start > 0 and shot.end_time > shot.start_time for shot in shots)


@pytest.mark.parametrize("method", METHODS)
def test_finds_the_two_cuts_between_three_generated_shots(segments_clip, method):
    shots = detect_shots(segments_clip, method=method)
    assert len(shots) == 3
    assert_contiguous(shots, 150)
    assert abs(shots[1].start - 40) <= 1 and abs(shots[2].start - 90) <= 1
    assert shots[1].start_time == pytest.approx(shots[1].start / 25)
    assert shots[-1].end_time == pytest.approx(150 / 25)


@pytest.fixture(scope="module")
def short_middle_clip(tmp_path_factory, clip_writer, segments):
    """Shots of 40, 5 and 60 frames, all different."""
    return clip_writer(tmp_path_factory.mktemp("short") / "short.mp4", segments([40, 5, 60]))


def test_a_five_frame_shot_is_merged_into_a_neighbour(short_middle_clip):
    shots = detect_shots(short_middle_clip, short_shots="merge")
    assert_contiguous(shots, 105)
    assert len(shots) == 2 and shots[1].start in (40, 45)


def test_a_five_frame_shot_is_dropped_leaving_a_gap(short_middle_clip):
    shots = detect_shots(short_middle_clip, short_shots="drop")
    assert spans(shots) == [(0, 40), (45, 105)]
    assert [shot.index for shot in shots] == [0, 1]
    assert shots[0].end_time == pytest.approx(40 / 25)  # stops where the dropped shot starts


@pytest.mark.parametrize("like, merged", [("previous", [(0, 45), (45, 105)]), ("next", [(0, 40), (40, 105)])])
def test_a_short_shot_joins_the_neighbour_it_resembles(tmp_path, clip_writer, segments, like, merged):
    # The short shot continues one neighbour's view, only brighter: a cut to it is weaker than to the other.
    seeds = [0, 0, 2] if like == "previous" else [0, 2, 2]
    clip = clip_writer(tmp_path / "similar.mp4", segments([40, 5, 60], seeds=seeds, lift=[0, 80, 0]))
    assert spans(detect_shots(clip, method="content", min_shot_frames=3)) == [(0, 40), (40, 45), (45, 105)]
    assert spans(detect_shots(clip, short_shots="merge")) == merged


def test_the_static_skeleton_clip_is_one_shot(videos):
    path = videos / "mmaction2_demo_skeleton.mp4"
    shots = detect_shots(path)
    assert spans(shots) == [(0, probe(path).frame_count)]
    assert shots[0].start_time == 0 and shots[0].end_time == pytest.approx(probe(path).duration, abs=0.05)


def test_every_real_clip_is_covered_by_long_enough_shots(videos, clip_name):
    path = videos / clip_name
    shots = detect_shots(path)
    assert_contiguous(shots, probe(path).frame_count)
    assert len(shots) == 1 or min(shot.frames for shot in shots) >= 15


def test_feed_says_when_a_cut_shows_up(segments_clip):
    detector = ShotDetector(25, method="content")
    revealed = [frame.index for frame in read_frames(segments_clip, 320)
                if detector.feed(frame.index, frame.time, frame.image)]
    assert revealed == [shot.start for shot in detector.finish()[1:]]


def test_large_frames_give_the_same_cuts_as_small_ones(segments_clip):
    big = ShotDetector(25)
    for frame in read_frames(segments_clip):
        big.feed(frame.index, frame.time, cv2.resize(frame.image, (1024, 576)))
    assert spans(big.finish()) == spans(detect_shots(segments_clip))


def test_no_frames_no_shots():
    assert ShotDetector(25).finish() == []


def test_a_clip_shorter_than_a_shot_is_still_one_shot_when_merging():
    detector = ShotDetector(25, min_shot_frames=15)
    for i in range(5):
        detector.feed(i, i / 25, np.full((32, 32, 3), 40 * i, np.uint8))
    assert detector.finish() == [Shot(0, 0, 5, 0.0, 0.2)]


@pytest.mark.parametrize("options", [dict(method="histogram"), dict(short_shots="keep"), dict(fps=0),
                                     dict(min_shot_frames=0)])
def test_unknown_options_are_programming_errors(options):
    with pytest.raises(ValueError):
        ShotDetector(**{"fps": 25, **options})


def test_frames_must_come_in_order():
    detector = ShotDetector(25)
    detector.feed(0, 0.0, np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match="expected 1, got 2"):
        detector.feed(2, 0.08, np.zeros((32, 32, 3), np.uint8))


def test_finish_is_final():
    detector = ShotDetector(25)
    detector.feed(0, 0.0, np.zeros((32, 32, 3), np.uint8))
    assert detector.finish() is detector.finish()
    with pytest.raises(RuntimeError):
        detector.feed(1, 0.04, np.zeros((32, 32, 3), np.uint8))


def test_a_bad_file_is_a_video_error(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("no pictures here")
    with pytest.raises(VideoError, match="not a video"):
        detect_shots(path)


def test_frames_may_change_size_between_feeds():
    """The analysis decodes one frame larger after a cut; the detector must take it in stride."""
    from cinestage.film.shots import ShotDetector

    y, x = np.mgrid[0:288, 0:512]
    big = np.stack([x / 2, y * 0.8, (x + y) / 3.2], -1).astype(np.uint8)
    cv2.circle(big, (200, 140), 60, (250, 40, 40), -1)
    small = cv2.resize(big, (256, 144), interpolation=cv2.INTER_AREA)
    det = ShotDetector(25.0, "both")
    for i in range(40):
        det.feed(i, i / 25, big if i in (0, 20) else small)
    assert [(s.start, s.end) for s in det.finish()] == [(0, 40)]
