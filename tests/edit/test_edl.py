"""CMX 3600 and JSON edit decision lists: timecodes, reel names, the write -> read round trip."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cinestage.edit.edl import frames_of, read_edl, reel_names, timecode, write_edl, write_edl_json
from cinestage.edit.programme import ProgrammeOptions, View, score_path
from cinestage.errors import CinestageError


def programme(cameras: list[tuple[str, int]], fps: float = 25.0):
    """A programme of the given (camera, frames) shots, costed with the default rules."""
    names = list(dict.fromkeys(c for c, _ in cameras))
    on_air = [c for c, k in cameras for _ in range(k)]
    n = len(on_air)
    views = {c: View(np.tile([np.cos(i), np.sin(i), 0.0], (n, 1)), np.full(n, 3.0)) for i, c in enumerate(names)}
    return score_path(on_air, {c: np.full(n, 0.5) for c in names}, views, {c: np.zeros(n) for c in names}, fps,
                      ProgrammeOptions(min_shot=0.0))


@pytest.mark.parametrize(("frame", "rate", "code"), [(0, 25, "00:00:00:00"), (30, 25, "00:00:01:05"),
                                                     (24, 25, "00:00:00:24"), (25 * 3661 + 7, 25, "01:01:01:07"),
                                                     (59, 30, "00:00:01:29"), (24 * 3600 * 24 - 1, 24, "23:59:59:23")])
def test_timecodes_of_known_frames(frame, rate, code):
    assert timecode(frame, rate) == code
    assert frames_of(code, rate) == frame


def test_timecode_refuses_what_it_cannot_count():
    with pytest.raises(CinestageError, match="outside the 24 hours"):
        timecode(24 * 3600 * 25, 25)
    with pytest.raises(ValueError, match="not valid at 25 fps"):
        frames_of("00:00:00:25", 25)


def test_reel_names_are_short_clean_and_unique():
    reels = reel_names(["front-left cam", "camera_1_long", "camera_1_longer", "CAMERA1L", "übersicht", "__"])
    assert reels["front-left cam"] == "FRONTLEF"
    assert reels["__"] == "CAM" and reels["übersicht"] == "BERSICHT"
    assert len(set(reels.values())) == len(reels)
    assert {reels["CAMERA1L"], reels["camera_1_long"], reels["camera_1_longer"]} == {"CAMERA1L", "CAMERA12",
                                                                                       "CAMERA13"}


@given(st.lists(st.text(max_size=20), min_size=1, max_size=30, unique=True))
def test_any_camera_names_get_valid_unique_reels(cameras):
    reels = reel_names(cameras)
    assert set(reels) == set(cameras) and len(set(reels.values())) == len(cameras)
    assert all(re.fullmatch(r"[A-Z0-9]{1,8}", r) for r in reels.values())
    assert reel_names(reversed(cameras)) == reels  # the same cameras always get the same reels


def test_write_then_read_gives_the_programme_back(tmp_path):
    p = programme([("front_left", 50), ("back-right", 37), ("front_left", 63)])
    path = write_edl(p, tmp_path / "programme.edl", "Demo: two actors")
    edl = read_edl(path, 25.0)
    assert edl.title == "Demo: two actors" and edl.fcm == "NON-DROP FRAME" and edl.notes == ()
    assert [(e.record_in, e.record_out) for e in edl.events] == [(s.start, s.end) for s in p.shots]
    assert [(e.source_in, e.source_out) for e in edl.events] == [(s.start, s.end) for s in p.shots]
    assert [e.clip for e in edl.events] == ["front_left.mp4", "back-right.mp4", "front_left.mp4"]
    assert [e.reel for e in edl.events] == ["FRONTLEF", "BACKRIGH", "FRONTLEF"]
    assert [(e.number, e.track, e.transition) for e in edl.events] == [(1, "V", "C"), (2, "V", "C"), (3, "V", "C")]
    lines = path.read_text().splitlines()
    assert lines[:2] == ["TITLE: Demo: two actors", "FCM: NON-DROP FRAME"]
    assert "002  BACKRIGH  V     C        00:00:02:00 00:00:03:12 00:00:02:00 00:00:03:12" in lines
    assert "* FROM CLIP NAME: back-right.mp4" in lines
    assert [f.name for f in tmp_path.iterdir()] == ["programme.edl"]  # no temporary file left


def test_non_integer_rates_use_rounded_non_drop_timecode_and_say_so(tmp_path):
    p = programme([("a", 40), ("b", 50)], fps=29.97)
    edl = read_edl(write_edl(p, tmp_path / "p.edl", "ntsc"), 29.97)
    assert [(e.record_in, e.record_out) for e in edl.events] == [(0, 40), (40, 90)]
    assert "00:00:01:10" in (tmp_path / "p.edl").read_text()  # frame 40 counted at 30 fps
    assert len(edl.notes) == 1 and "29.97 fps" in edl.notes[0] and "30 fps non-drop-frame" in edl.notes[0]
    doc = json.loads(write_edl_json(p, tmp_path / "p.edl.json", "ntsc").read_text())
    assert doc["timecode_fps"] == 30 and "slow" in doc["timecode_note"]


def test_the_json_edl_holds_frames_timecodes_and_the_programme(tmp_path):
    p = programme([("a", 30), ("b", 20)])
    doc = json.loads(write_edl_json(p, tmp_path / "programme.edl.json", "demo").read_text())
    assert doc["schema"] == "cinestage.edl" and doc["timecode_fps"] == 25 and doc["timecode_note"] is None
    second = doc["events"][1]
    assert (second["event"], second["camera"], second["reel"], second["clip"]) == (2, "b", "B", "b.mp4")
    assert second["record_in"] == {"frame": 30, "timecode": "00:00:01:05"}
    assert second["source_out"] == {"frame": 50, "timecode": "00:00:02:00"}
    assert doc["programme"]["costs"]["total"]["better"] == "lower"


def test_given_reels_are_checked(tmp_path):
    p = programme([("a", 30), ("b", 20)])
    edl = read_edl(write_edl(p, tmp_path / "p.edl", "t", reels={"a": "R1", "b": "R2"}), 25)
    assert [e.reel for e in edl.events] == ["R1", "R2"]
    with pytest.raises(CinestageError, match="no reel name for camera\\(s\\) \\['b'\\]"):
        write_edl(p, tmp_path / "q.edl", "t", reels={"a": "R1"})
    with pytest.raises(CinestageError, match="reel names must be unique"):
        write_edl(p, tmp_path / "q.edl", "t", reels={"a": "R1", "b": "R1"})
    with pytest.raises(CinestageError, match="reel names must be unique"):
        write_edl(p, tmp_path / "q.edl", "t", reels={"a": "reel one", "b": "R2"})
    assert not (tmp_path / "q.edl").exists()


def test_malformed_edls_are_named_with_their_line(tmp_path):
    bad = tmp_path / "bad.edl"
    bad.write_text("TITLE: x\nFCM: NON-DROP FRAME\n\n001  A  V  C  00:00:00:00 00:00:01:00\n")
    with pytest.raises(CinestageError, match="bad.edl:4: not an EDL line"):
        read_edl(bad, 25)
    bad.write_text("TITLE: x\nFCM: NON-DROP FRAME\n001  A  V  C  00:00:00:00 00:00:00:26 00:00:00:00 00:00:01:00\n")
    with pytest.raises(CinestageError, match="bad.edl:3: timecode 00:00:00:26 is not valid"):
        read_edl(bad, 25)
    bad.write_text("001  A  V  C  00:00:00:00 00:00:01:00 00:00:00:00 00:00:01:00\n")
    with pytest.raises(CinestageError, match="needs a TITLE and an FCM"):
        read_edl(bad, 25)
    with pytest.raises(CinestageError, match="cannot read the EDL"):
        read_edl(tmp_path / "missing.edl", 25)
