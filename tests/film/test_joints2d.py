"""COCO keypoints and projected joints become the same 7 points; gaps are filled at the neck."""

import numpy as np

from cinestage.film.joints2d import (HEAD, HIPS, L_SHOULDER, NECK, R_HIP, R_SHOULDER, fill_missing, from_coco,
                                     from_projected, network_frames, windows)


def coco_person(dx=0.0, score=0.9):
    kp = np.zeros((17, 3))
    kp[:, 2] = score
    kp[0, :2] = [100 + dx, 50]  # nose
    kp[1, :2], kp[2, :2] = [104 + dx, 46], [96 + dx, 46]  # eyes (person's left on image right)
    kp[3, :2], kp[4, :2] = [110 + dx, 50], [90 + dx, 50]  # ears
    kp[5, :2], kp[6, :2] = [120 + dx, 80], [80 + dx, 80]  # shoulders
    kp[11, :2], kp[12, :2] = [112 + dx, 160], [88 + dx, 160]  # hips
    return kp


def test_from_coco_head_neck_hips():
    c = from_coco(coco_person())
    np.testing.assert_allclose(c[HEAD, :2], [100, 48.4])
    np.testing.assert_allclose(c[NECK, :2], [100, 80])
    np.testing.assert_allclose(c[HIPS, :2], [100, 160])
    np.testing.assert_allclose(c[L_SHOULDER, :2], [120, 80])
    assert (c[:, 2] > 0).all()


def test_profile_head_uses_only_the_seen_face_points():
    kp = coco_person()
    kp[[0, 1, 3], 2] = 0.05  # only the right eye and right ear seen
    c = from_coco(kp)
    np.testing.assert_allclose(c[HEAD, :2], [93, 48])


def test_neck_needs_both_shoulders():
    kp = coco_person()
    kp[6, 2] = 0.0
    c = from_coco(kp)
    assert c[NECK, 2] == 0 and c[R_SHOULDER, 2] == 0 and c[L_SHOULDER, 2] > 0


def test_fill_missing_uses_the_joints_own_offset_from_the_neck():
    seq = np.stack([from_coco(coco_person(dx=t)) for t in range(10)])
    truth = seq.copy()
    seq[4, R_HIP, 2] = 0.0
    seq[4, R_HIP, :2] = -999
    filled = fill_missing(seq)
    np.testing.assert_allclose(filled[4, R_HIP, :2], truth[4, R_HIP, :2])
    assert filled[4, R_HIP, 2] == 0  # still marked as not seen


def test_fill_missing_interpolates_a_lost_neck():
    seq = np.stack([from_coco(coco_person(dx=2 * t)) for t in range(5)])
    seq[2, NECK, 2] = 0
    filled = fill_missing(seq)
    np.testing.assert_allclose(filled[2, NECK, :2], [104, 80])


def test_projected_joints_get_coco_style_neck_and_hips():
    s = np.random.default_rng(0).normal(size=(4, 7, 2))
    p = from_projected(s)
    np.testing.assert_allclose(p[:, NECK], (s[:, L_SHOULDER] + s[:, R_SHOULDER]) / 2)
    np.testing.assert_allclose(p[:, HEAD], s[:, HEAD])


def test_windows_repeat_edges_and_keep_channel_order():
    a = np.zeros((10, 7, 2))
    a[:, HEAD, 0] = np.arange(10) / 10
    frames = network_frames(a, a + 0.5, aspect=2.0)
    assert frames.shape == (10, 28)
    np.testing.assert_allclose(frames[:, 0], np.arange(10) / 5)  # A's head x, scaled by the aspect
    w = windows(frames)
    assert w.shape == (10, 28, 8)
    np.testing.assert_allclose(w[0, 0], [0, 0, 0, 0, 0, 0.2, 0.4, 0.6])
    np.testing.assert_allclose(w[9, 0], [1.0, 1.2, 1.4, 1.6, 1.8, 1.8, 1.8, 1.8])
