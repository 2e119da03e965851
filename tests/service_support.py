"""Helpers for the service's tests (tests/service): accounts, uploads, and checks of what is stored."""

from __future__ import annotations

import io
import socket
from dataclasses import dataclass
from pathlib import Path

import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from cinestage.service.accounts import add_server
from cinestage.service.db import Task, Video

PERFORMANCE = yaml.safe_dump({"name": "service duet", "fps": 25, "duration": 2,
                              "actors": [{"name": "A", "builtin": "duet-a"}, {"name": "B", "builtin": "duet-b"}]},
                             default_flow_style=None, sort_keys=False).encode()
# A two-joint BVH: enough for cinestage's reader.
BVH = b"""\
HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Head
  {
    OFFSET 0 60 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 10 0
    }
  }
}
MOTION
Frames: 3
Frame Time: 0.04
0 90 0 0 0 0 0 0 0
1 90 0 0 0 0 0 0 0
2 90 0 0 0 0 0 0 0
"""


def free_port() -> int:
    """A TCP port nobody listens on now (for a server a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Account:
    """A signed-in user (id = openid) or a registered render server (id = server_id)."""

    name: str
    id: str
    headers: dict


def sign_up(client: TestClient, name: str) -> Account:
    r = client.post("/v1/users", json={"name": name})
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    return Account(name, data["openid"], {"Authorization": f"Bearer {data['token']}"})


def register_server(app, name: str) -> Account:
    server, credential = add_server(app.state.service.sessions, name)
    return Account(name, server.server_id, {"Authorization": f"Bearer {credential}", "AFS-SERVER-ID": server.server_id})


def make_video(frames: int = 10, size: int = 64, fps: int = 10) -> bytes:
    """A real H.264 MP4 made with PyAV: `frames` frames of size x size."""
    import av
    import numpy as np

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            image = np.zeros((size, size, 3), np.uint8)
            image[:, : (i + 1) * size // frames] = (200, 80 + 10 * i, 40)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def upload(client: TestClient, who: Account, data: bytes, name: str = "clip.mp4", kind: str | None = None):
    form = {"kind": kind} if kind else None
    return client.post("/v1/videos", headers=who.headers, files={"file": (name, data, "application/octet-stream")},
                       data=form)


def new_task(client: TestClient, who: Account, **body) -> str:
    r = client.post("/v1/tasks", headers=who.headers, json=body)
    assert r.status_code == 201, r.text
    return r.json()["data"]["task_id"]


# --- what is stored ------------------------------------------------------------------------

def stored_files(app) -> list[str]:
    """Every file in the storage folder, relative, temporary parts included."""
    root = Path(app.state.service.storage.root)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def storage_problems(app) -> list[str]:
    """Partial or staged files, rows pointing at missing files, and files no row or task owns."""
    svc = app.state.service
    files = stored_files(app)
    problems = [f"partial: {f}" for f in files if f.startswith("staging/") or any(p.startswith(".") for p in f.split("/"))]
    with svc.sessions() as session:
        videos = list(session.scalars(select(Video)))
        tasks = {t.task_id for t in session.scalars(select(Task))}
    owned = set()
    for v in videos:
        for key in filter(None, (v.video_link, v.thumb)):
            owned.add(key)
            if not svc.storage.exists(key):
                problems.append(f"row of vid {v.vid} points at missing {key}")
    for f in files:
        parts = f.split("/")
        if len(parts) > 3 and parts[1] == "tasks" and parts[2] in tasks:
            continue
        if f not in owned and not f.startswith("staging/"):
            problems.append(f"orphan file: {f}")
    return problems


def data(response, status: int = 200):
    """The envelope's data, after checking the status and the envelope."""
    assert response.status_code == status, response.text
    body = response.json()
    assert (body["code"], body["message"]) == (0, "ok"), body
    return body["data"]


def error(response, status: int) -> str:
    """The one-line message of an error envelope with `status`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == status and body["data"] is None, body
    assert body["message"] and "\n" not in body["message"]
    return body["message"]


def report(client: TestClient, server: Account, task_id: str, status: int, **extra):
    return client.post(f"/v1/tasks/{task_id}", headers=server.headers, json={"status": status, **extra})
