"""The main pair: longest overlap, A on the left, user override, reasons when there is none; facing."""

import numpy as np

from cinestage.film.joints2d import from_coco
from cinestage.film.main_pair import FACING, choose_pair, facing
from cinestage.film.tracking import Track
from tests.film.test_joints2d import coco_person


def track(tid, start, end, x, shot=0):
    n = end - start
    kp = np.repeat(coco_person(dx=x)[None], n, axis=0)
    boxes = np.tile([x + 70.0, 40, x + 130, 200, 0.9], (n, 1))
    return Track(tid, shot, np.arange(start, end), kp, boxes, np.ones(n, bool))


def test_longest_overlap_wins_and_a_is_left():
    tracks = [track(0, 0, 100, 300), track(1, 10, 90, 0), track(2, 60, 100, 600)]
    choice = choose_pair(tracks, 0)
    assert (choice.a.id, choice.b.id) == (1, 0)  # track 1 is left on screen
    np.testing.assert_array_equal(choice.frames, np.arange(10, 90))


def test_override_by_track_id():
    tracks = [track(0, 0, 100, 300), track(1, 10, 90, 0), track(2, 60, 100, 600)]
    choice = choose_pair(tracks, 0, override=(2, 0))
    assert (choice.a.id, choice.b.id) == (0, 2)
    assert "not in shot 0" in choose_pair(tracks, 0, override=(0, 9))


def test_reasons_when_there_is_no_pair():
    assert choose_pair([], 0) == "nobody tracked long enough in shot 0"
    assert choose_pair([track(0, 0, 50, 0)], 0) == "only one person tracked long enough in shot 0"
    assert "only one person" in choose_pair([track(0, 0, 50, 0), track(1, 0, 50, 200, shot=1)], 1)
    assert "share only 0 frames" in choose_pair([track(0, 0, 50, 0), track(1, 60, 90, 200)], 0)


def joints_seq(kp):
    j = from_coco(kp[None])
    return j, kp[None, :5, 2]


def test_facing_camera_away_and_profile():
    front = coco_person()
    assert FACING[facing(*joints_seq(front))[0]] == "camera"
    back = coco_person()
    back[[5, 6]] = back[[6, 5]]  # left shoulder now on the image's left
    back[:3, 2] = 0.0  # no nose, no eyes
    assert FACING[facing(*joints_seq(back))[0]] == "away"
    side = coco_person()
    side[5, 0], side[6, 0] = 102, 98  # shoulders end-on
    side[:5, 0] -= 20  # face toward the image's left
    assert FACING[facing(*joints_seq(side))[0]] == "screen-left"
