"""Uploads and result files on bad input: nothing half-stored, no row without its file, file
names that cannot leave the user's folder, and size limits answered with 413."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from service_support import BVH, PERFORMANCE, data, error, new_task, report, stored_files, storage_problems, upload
from sqlalchemy import func, select

from cinestage.service.db import Video


def _nothing_kept(app, before: list[str]) -> None:
    assert stored_files(app) == before
    assert storage_problems(app) == []


def _rows(app) -> int:
    with app.state.service.sessions() as session:
        return session.scalar(select(func.count()).select_from(Video))


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (255, 0, 0)).save(buf, "PNG")
    return buf.getvalue()


BAD_CLIPS = {
    "truncated": lambda v: v[: len(v) // 2],
    "garbage": lambda v: bytes(range(256)) * 40,
    "empty": lambda v: b"",
    "text": lambda v: b"not a video at all\n" * 20,
    "image": lambda v: _png(),
    "header only": lambda v: v[:64],
}


@pytest.mark.parametrize("case", sorted(BAD_CLIPS))
def test_bad_clips_are_refused_and_leave_nothing(client, app, alice, tiny_video, case):
    before = stored_files(app)
    message = error(upload(client, alice, BAD_CLIPS[case](tiny_video), "clip.mp4"), 422)
    assert message.startswith("clip.mp4: ")
    _nothing_kept(app, before)
    assert _rows(app) == 0


@pytest.mark.parametrize("kind, body, problem", [
    ("performance", b"name: [unclosed", "not valid YAML"),
    ("performance", b"actors: []", "actors"),
    ("performance", PERFORMANCE.replace(b"builtin: duet-a", b"motion: ../../etc/walk.bvh"), "file name of an uploaded motion"),
    ("performance", PERFORMANCE.replace(b"builtin: duet-a", b"builtin: duet-z"), "actors.0"),
    ("motion", b"HIERARCHY\nROOT Hips\n{", "MOTION"),
    ("motion", b"\x00\x01binary", "not a BVH"),
])
def test_bad_performance_and_motion_files(client, app, alice, kind, body, problem):
    before = stored_files(app)
    assert problem in error(upload(client, alice, body, f"bad.{'yaml' if kind == 'performance' else 'bvh'}", kind), 422)
    _nothing_kept(app, before)


def test_oversized_uploads_get_413_and_leave_nothing(client, app, alice, server):
    before = stored_files(app)
    big = b"\0" * (3 << 20)  # the limit is 2 MB
    assert error(upload(client, alice, big, "big.mp4"), 413).startswith("body: larger than the limit")
    assert error(upload(client, alice, b"a: 1\n" * 300_000, "big.yaml", "performance"), 413).startswith("big.yaml:")
    # A multipart body streamed without Content-Length is cut off at the limit.
    boundary = "cinestageboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.mp4\"\r\n"
            "Content-Type: video/mp4\r\n\r\n").encode()

    def chunked():
        yield head
        for _ in range(48):
            yield b"\0" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    r = client.post("/v1/videos", headers={**alice.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
                    content=chunked())
    error(r, 413)
    # Result files: by Content-Length and streamed.
    task_id = new_task(client, alice, task_type="demo")
    data(report(client, server, task_id, 1))
    error(client.put(f"/v1/tasks/{task_id}/files/big.mp4", headers=server.headers, content=big), 413)
    error(client.put(f"/v1/tasks/{task_id}/files/big.mp4", headers=server.headers,
                     content=(b"\0" * 65536 for _ in range(48))), 413)
    # JSON bodies have their own, small limit.
    error(client.post("/v1/tasks", headers={**alice.headers, "Content-Type": "application/json"},
                      content=b'{"task_type": "demo", "x": "' + b"a" * (2 << 20) + b'"}'), 413)
    _nothing_kept(app, before)
    assert data(client.get(f"/v1/tasks/{task_id}/files", headers=server.headers)) == []


@pytest.mark.parametrize("filename, stored", [
    ("../../x.mp4", "x.mp4"), ("/etc/passwd.mp4", "passwd.mp4"), ("..\\..\\win.mp4", "win.mp4"),
    ("a\x00b.mp4", None), ("..", "clip.mp4"), (".hidden.mp4", "hidden.mp4"), ("caf\u00e9 \u2603.mp4", "caf_.mp4"),
    ("x" * 300 + ".mp4", "x" * 120),
])
def test_file_names_cannot_escape(client, app, alice, tiny_video, filename, stored):
    out = data(upload(client, alice, tiny_video, filename), 201)
    if stored is None:  # the client's own escaping decides the exact name
        stored = out["filename"]
        assert re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]*", stored), stored
    assert out["filename"] == stored
    files = stored_files(app)
    assert f"{alice.id}/videos/{out['vid']}/{stored}" in files
    assert all(f.startswith(f"{alice.id}/") for f in files)
    assert storage_problems(app) == []


def test_multipart_mistakes(client, app, alice, tiny_video):
    before = stored_files(app)
    assert error(client.post("/v1/videos", headers=alice.headers, data={"kind": "clip"}), 422).startswith("file:")
    assert error(client.post("/v1/videos", headers=alice.headers, data={"file": "not a file"}), 422).startswith("file:")
    assert error(client.post("/v1/videos", headers=alice.headers, content=b"raw bytes"), 422).startswith("file:")
    r = client.post("/v1/videos", headers={**alice.headers, "Content-Type": "multipart/form-data; boundary=zz"},
                    content=b"--zz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp4\"\r\n\r\nabc")
    assert 400 <= r.status_code < 500
    two = [("file", ("a.mp4", tiny_video)), ("file", ("b.mp4", tiny_video))]
    assert 400 <= client.post("/v1/videos", headers=alice.headers, files=two).status_code < 500
    _nothing_kept(app, before)


@pytest.mark.parametrize("path", ["%2E%2E/escape.mp4", "a/%2E%2E/%2E%2E/escape.mp4", "%2Fetc%2Fpasswd", "a//b.mp4",
                                  ".hidden", "a/.x.partial", "nul%00.mp4", "new%0Aline.mp4", "sp ace.mp4",
                                  "x" * 300, "a\\b.mp4", "cameras/"])
def test_result_paths_cannot_escape(client, app, alice, server, path):
    task_id = new_task(client, alice, task_type="demo")
    data(report(client, server, task_id, 1))
    before = stored_files(app)
    r = client.put(f"/v1/tasks/{task_id}/files/{path}", headers=server.headers, content=b"payload")
    assert 400 <= r.status_code < 500, (path, r.status_code, r.text)
    r = client.get(f"/v1/tasks/{task_id}/files/{path}", headers=alice.headers)
    assert 400 <= r.status_code < 500
    assert stored_files(app) == before


def test_a_real_clip(client, alice, real_clip):
    out = data(upload(client, alice, real_clip.read_bytes(), real_clip.name), 201)
    assert out["size"] == real_clip.stat().st_size and out["duration"] > 1.0
    thumb = client.get(out["thumb"], headers=alice.headers)
    image = Image.open(io.BytesIO(thumb.content))
    assert max(image.size) == 320 and image.format == "JPEG"
    assert client.get(out["video_link"], headers=alice.headers).content == real_clip.read_bytes()


def test_motion_round_trip(client, alice):
    motion = data(upload(client, alice, BVH, "walk.bvh", "motion"), 201)
    assert client.get(motion["video_link"], headers=alice.headers).content == BVH
