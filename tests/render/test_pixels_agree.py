"""Geometry agrees with pixels: what Toric cameras and metadata claim is what the frames show."""

from __future__ import annotations

import av
import numpy as np
import pytest

from cinestage.camera.rigs import Shooting, toric
from cinestage.camera.track import CameraTrack
from cinestage.geometry import look_at
from cinestage.render.mannequin import Body
from cinestage.render.metadata import camera_meta
from cinestage.render.renderer import RenderOptions, render_videos

W, H = 320, 180
OPTS = RenderOptions(width=W, height=H, flat=True, crf=12)


def _frames(path):
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def _masks(img):
    r, g, b = (img[..., k].astype(int) for k in range(3))
    return (r > 150) & (g < 90) & (b < 90), (b > 150) & (r < 90) & (g < 90)


def _centre_x(mask):
    cols = np.nonzero(mask)[1]
    return (cols.mean() + 0.5) / W * 2 - 1


def _still(perf, name, eye, target):
    n = perf.n_frames
    r = look_at(np.asarray(eye, float), np.asarray(target, float))
    return CameraTrack(name, perf.fps, np.tile(eye, (n, 1)).astype(float), np.tile(r, (n, 1, 1)),
                       np.full(n, np.radians(50.0)), W / H)


def test_toric_camera_puts_each_actor_where_asked(pair_on_stage, tmp_path):
    perf = pair_on_stage
    s = Shooting(perf, perf.actors[0], perf.actors[1], W / H, np.radians(40.0))
    track = toric(s, "thirds", (-1 / 3, 0.25), (1 / 3, 0.25), np.radians(110.0), np.radians(8.0), smooth=0)
    render_videos(perf, [track], [tmp_path / "thirds.mp4"], OPTS)
    frames = _frames(tmp_path / "thirds.mp4")
    assert len(frames) == perf.n_frames and frames[0].shape == (H, W, 3)
    red, blue = _masks(frames[1])
    assert red.sum() > 200 and blue.sum() > 200
    # The head is what Toric places; the body hangs under it, so columns match within 3% of the width.
    assert abs(_centre_x(red) - (-1 / 3)) < 0.06
    assert abs(_centre_x(blue) - (1 / 3)) < 0.06
    # The head row lands at the requested screen y too.
    head_row = np.nonzero(red.any(axis=1))[0].min()
    assert 1 - (head_row + 0.5) / H * 2 > 0.25


def test_actor_behind_the_camera_is_reported_and_absent(pair_on_stage, tmp_path):
    perf = pair_on_stage
    # Between the actors, looking at B: A is behind the lens.
    track = _still(perf, "between", (0.0, 0.15, 1.6), (0.8, 0.3, 1.4))
    bodies = [Body(a) for a in perf.actors]
    meta = camera_meta(perf, bodies, track)
    assert meta.behind[:, 0].all() and not meta.behind[:, 1].any()
    assert np.all(meta.on_screen[:, 0] == 0.0) and np.all(meta.on_screen[:, 1] > 0.5)
    render_videos(perf, [track], [tmp_path / "between.mp4"], OPTS)
    red, blue = _masks(_frames(tmp_path / "between.mp4")[0])
    assert red.sum() == 0 and blue.sum() > 500


def test_occluded_actor_is_reported_and_hidden(pair_on_stage, tmp_path):
    perf = pair_on_stage
    a, b = (np.array([-0.8, 0.0, 1.3]), np.array([0.8, 0.3, 1.3]))
    eye = b + (b - a) / np.linalg.norm(b - a) * 3.0  # behind B, on the line B → A
    hidden = _still(perf, "hidden", eye, a)
    clear = _still(perf, "clear", (0.0, -6.0, 1.5), (0.0, 0.0, 1.2))
    bodies = [Body(x) for x in perf.actors]
    meta_hidden, meta_clear = camera_meta(perf, bodies, hidden), camera_meta(perf, bodies, clear)
    assert meta_hidden.occluded[:, 0].min() > 0.6 and meta_hidden.occluded[:, 1].max() == 0.0
    assert meta_clear.occluded.max() == 0.0 and meta_clear.on_screen.min() > 0.95
    render_videos(perf, [hidden, clear], [tmp_path / "hidden.mp4", tmp_path / "clear.mp4"], OPTS)
    red_hidden, _ = _masks(_frames(tmp_path / "hidden.mp4")[0])
    red_clear, _ = _masks(_frames(tmp_path / "clear.mp4")[0])
    assert red_clear.sum() > 300
    # Seen past B from 3 m, A (at ~5 m) would cover hundreds of pixels; nearly all are hidden.
    visible_share = red_hidden.sum() / max(red_clear.sum(), 1)
    assert visible_share < 0.5


def test_projected_joints_match_rendered_head(pair_on_stage, tmp_path):
    perf = pair_on_stage
    track = _still(perf, "front", (0.0, -5.0, 1.5), (0.0, 0.0, 1.2))
    meta = camera_meta(perf, [Body(a) for a in perf.actors], track)
    head = meta.joints[0, 1, perf.actors[1].canonical[0]]
    render_videos(perf, [track], [tmp_path / "front.mp4"], OPTS)
    _, blue = _masks(_frames(tmp_path / "front.mp4")[0])
    col = int((head[0] + 1) / 2 * W)
    row = int((1 - head[1]) / 2 * H)
    assert blue[row - 2:row + 3, col - 2:col + 3].any(), "B's projected head is not on B's pixels"


@pytest.mark.parametrize("width,height", [(8, 8), (640, 361), (5000, 360)])
def test_absurd_resolution_is_refused(width, height):
    from cinestage.errors import RenderError

    with pytest.raises(RenderError):
        RenderOptions(width=width, height=height)
