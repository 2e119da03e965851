"""The authorization matrix: two users and two render servers against every route and every
object. No user reaches another's videos, tasks or files (404, so ids do not leak); servers
cannot act as users (no uploads, no new tasks); users cannot act as servers (no reports, no
result uploads); a server reads a task's files and uploads only while it holds the task."""

from __future__ import annotations

import time

import pytest
from service_support import BVH, PERFORMANCE, data, error, new_task, report, stored_files, upload

# Every route that acts on one object, with {vid}/{task_id} filled from the owner's objects.
OBJECT_ROUTES = [
    ("get", "/v1/videos/{vid}"), ("get", "/v1/videos/{vid}/file"), ("get", "/v1/videos/{vid}/thumb"),
    ("delete", "/v1/videos/{vid}"), ("get", "/v1/delvideos?vid={vid}"),
    ("get", "/v1/tasks/{task_id}"), ("get", "/v1/tasks/{task_id}/files"), ("get", "/v1/tasks/{task_id}/files/best.mp4"),
    ("delete", "/v1/tasks/{task_id}"), ("get", "/v1/deltasks?task_id={task_id}"),
]
ALL_ROUTES = OBJECT_ROUTES + [
    ("get", "/v1/users/me"), ("get", "/v1/servers"), ("get", "/v1/videos"), ("post", "/v1/videos"),
    ("post", "/v1/tasks"), ("get", "/v1/tasks"), ("post", "/v1/tasks/{task_id}"), ("put", "/v1/tasks/{task_id}/files/x.mp4"),
]


@pytest.fixture
def world(client, alice, bob, server, server2, tiny_video):
    """Alice's clip, performance, motion, a task held by `server` with a result file, a queued task."""
    objects = {}
    for kind, body, name in (("clip", tiny_video, "a.mp4"), ("performance", PERFORMANCE, "p.yaml"), ("motion", BVH, "m.bvh")):
        objects[kind] = data(upload(client, alice, body, name, kind), 201)["vid"]
    objects["running"] = new_task(client, alice, vid=objects["clip"], performance_vid=objects["performance"])
    data(report(client, server, objects["running"], 1))
    data(client.put(f"/v1/tasks/{objects['running']}/files/best.mp4", headers=server.headers, content=tiny_video))
    objects["queued"] = new_task(client, alice, task_type="demo")
    return objects


def _call(client, who, method, url, **ids):
    body = {"json": {"status": 1}} if method == "post" and "{task_id}" in url else {}
    if method == "post" and url == "/v1/tasks":
        body = {"json": {"vid": ids.get("vid")}}
    if method == "post" and url == "/v1/videos":
        body = {"files": {"file": ("x.bvh", BVH)}, "data": {"kind": "motion"}}
    if method == "put":
        body = {"content": b"data"}
    return client.request(method, url.format(**ids), headers=who.headers if who else {}, **body)


def test_no_cross_user_access(client, app, alice, bob, world):
    before = stored_files(app)
    for vid in (world["clip"], world["performance"], world["motion"]):
        for method, url in OBJECT_ROUTES[:5]:
            error(_call(client, bob, method, url, vid=vid), 404)
    for task_id in (world["running"], world["queued"]):
        for method, url in OBJECT_ROUTES[5:]:
            error(_call(client, bob, method, url, task_id=task_id), 404)
        error(client.post("/v1/tasks", headers=bob.headers, json={"vid": world["clip"]}), 404)
    error(client.post("/v1/tasks", headers=bob.headers,
                      json={"vid": world["clip"], "performance_vid": world["performance"]}), 404)
    assert data(client.get("/v1/videos", headers=bob.headers))["total"] == 0
    assert data(client.get("/v1/tasks", headers=bob.headers))["total"] == 0
    assert data(client.get("/v1/tasks?all=0", headers=bob.headers))["total"] == 0
    # Bob's attempts changed nothing of Alice's.
    assert stored_files(app) == before
    assert data(client.get("/v1/videos", headers=alice.headers))["total"] == 3
    assert data(client.get("/v1/tasks", headers=alice.headers))["total"] == 2


@pytest.mark.parametrize("headers", [None, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic YTpi"},
                                     {"Authorization": "Bearer "}], ids=["none", "wrong", "basic", "empty"])
def test_strangers_get_401_everywhere(client, world, headers):
    for method, url in ALL_ROUTES:
        r = client.request(method, url.format(vid=world["clip"], task_id=world["running"]), headers=headers or {})
        error(r, 401)
        assert r.headers["www-authenticate"] == "Bearer"


def test_server_credentials_must_match(client, alice, server, server2, world):
    forged = [{**server.headers, "AFS-SERVER-ID": server2.id},  # the other server's id
              {"Authorization": alice.headers["Authorization"], "AFS-SERVER-ID": server.id},  # a user's token
              {"Authorization": server.headers["Authorization"], "AFS-SERVER-ID": "nope"}]
    for headers in forged:
        error(client.get("/v1/tasks?all=0", headers=headers), 401)
        error(client.post(f"/v1/tasks/{world['queued']}", headers=headers, json={"status": 1}), 401)
    # A server's credential without its id is not a user token either.
    error(client.get("/v1/tasks", headers={"Authorization": server.headers["Authorization"]}), 401)


def test_servers_cannot_act_as_users(client, server, world):
    for method, url in [("get", "/v1/users/me"), ("get", "/v1/videos"), ("post", "/v1/videos"), ("post", "/v1/tasks"),
                        ("get", "/v1/videos/{vid}"), ("get", "/v1/videos/{vid}/thumb"), ("delete", "/v1/videos/{vid}"),
                        ("get", "/v1/delvideos?vid={vid}"), ("delete", "/v1/tasks/{task_id}"),
                        ("get", "/v1/deltasks?task_id={task_id}")]:
        error(_call(client, server, method, url, vid=world["clip"], task_id=world["running"]), 401)


def test_users_cannot_act_as_servers(client, alice, world):
    for task_id in (world["running"], world["queued"]):
        for status in (1, 2, 3):
            error(client.post(f"/v1/tasks/{task_id}", headers=alice.headers, json={"status": status}), 401)
        error(client.put(f"/v1/tasks/{task_id}/files/best.mp4", headers=alice.headers, content=b"x"), 401)
    assert data(client.get(f"/v1/tasks/{world['queued']}", headers=alice.headers))["status"] == 0


def test_servers_see_files_only_of_tasks_they_hold(client, alice, server, server2, world, tiny_video):
    running, queued = world["running"], world["queued"]
    # The holder: the task's clip, performance and the owner's motions; its result files.
    for kind in ("clip", "performance", "motion"):
        assert client.get(f"/v1/videos/{world[kind]}/file", headers=server.headers).status_code == 200
    assert data(client.get(f"/v1/tasks/{running}/files", headers=server.headers)) == ["best.mp4"]
    assert client.get(f"/v1/tasks/{running}/files/best.mp4", headers=server.headers).content == tiny_video
    # Another server: reads the task's status, nothing else of it.
    assert data(client.get(f"/v1/tasks/{running}", headers=server2.headers))["server_id"] == server.id
    for kind in ("clip", "performance", "motion"):
        error(client.get(f"/v1/videos/{world[kind]}/file", headers=server2.headers), 404)
    error(client.get(f"/v1/tasks/{running}/files", headers=server2.headers), 409)
    error(client.get(f"/v1/tasks/{running}/files/best.mp4", headers=server2.headers), 409)
    error(client.put(f"/v1/tasks/{running}/files/best.mp4", headers=server2.headers, content=b"evil"), 409)
    error(client.put(f"/v1/tasks/{queued}/files/best.mp4", headers=server.headers, content=b"early"), 409)
    error(client.get(f"/v1/tasks/{queued}/files", headers=server.headers), 409)
    assert client.get(f"/v1/tasks/{running}/files/best.mp4", headers=alice.headers).content == tiny_video
    # Once finished, the task's server no longer holds it.
    data(report(client, server, running, 2))
    error(client.get(f"/v1/videos/{world['clip']}/file", headers=server.headers), 404)
    error(client.put(f"/v1/tasks/{running}/files/late.mp4", headers=server.headers, content=b"late"), 409)
    assert data(client.get(f"/v1/tasks/{running}/files", headers=alice.headers)) == ["best.mp4"]


def test_signed_in_callers_are_remembered_briefly(client, app, alice, monkeypatch):
    """A polling client is looked up once per few seconds; a stale entry is refreshed by one request."""
    from cinestage.service import auth

    lookups = []
    real = auth.find_user
    monkeypatch.setattr(auth, "find_user", lambda svc, digest: lookups.append(digest) or real(svc, digest))
    callers = app.state.service.callers
    callers.ttl = 0.2  # alice has not called yet: nothing remembered
    for _ in range(5):
        data(client.get("/v1/users/me", headers=alice.headers))
    assert len(lookups) == 1
    time.sleep(0.3)
    data(client.get("/v1/users/me", headers=alice.headers))
    assert len(lookups) == 2
    error(client.get("/v1/users/me", headers={"Authorization": "Bearer forged"}), 401)
    error(client.get("/v1/users/me", headers={"Authorization": "Bearer forged"}), 401)
    assert len(lookups) == 4  # failures are never remembered
