"""Every /v1 route: status codes, bodies, pagination and the `all` semantics (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib

from service_support import BVH, PERFORMANCE, data, error, new_task, report, upload
from sqlalchemy import select

from cinestage.service.db import User

ROUTES = {("post", "/v1/users"), ("get", "/v1/users/me"), ("get", "/v1/servers"), ("post", "/v1/videos"),
          ("get", "/v1/videos"), ("get", "/v1/videos/{vid}"), ("delete", "/v1/videos/{vid}"),
          ("get", "/v1/videos/{vid}/file"), ("get", "/v1/videos/{vid}/thumb"), ("get", "/v1/delvideos"),
          ("post", "/v1/tasks"), ("get", "/v1/tasks"), ("get", "/v1/tasks/{task_id}"), ("post", "/v1/tasks/{task_id}"),
          ("delete", "/v1/tasks/{task_id}"), ("get", "/v1/deltasks"), ("get", "/v1/tasks/{task_id}/files"),
          ("get", "/v1/tasks/{task_id}/files/{path}"), ("put", "/v1/tasks/{task_id}/files/{path}")}


def test_openapi_lists_every_route(client):
    schema = client.get("/openapi.json").json()
    found = {(m, p) for p, ops in schema["paths"].items() for m in ops}
    assert found == ROUTES
    assert {"token", "server_id"} <= set(schema["components"]["securitySchemes"])
    paths = schema["paths"]
    assert paths["/v1/users/me"]["get"]["security"] == [{"token": []}]
    assert paths["/v1/tasks/{task_id}"]["post"]["security"] == [{"token": [], "server_id": []}]
    assert len(paths["/v1/tasks/{task_id}"]["get"]["security"]) == 2 and "security" not in paths["/v1/users"]["post"]
    assert client.get("/docs").status_code == 200


def test_sign_up_shows_the_token_once_and_stores_its_hash(client, app):
    new = data(client.post("/v1/users", json={"name": "carol"}), 201)
    assert set(new) == {"openid", "name", "created_time", "token"} and new["name"] == "carol"
    me = data(client.get("/v1/users/me", headers={"Authorization": f"Bearer {new['token']}"}))
    assert me == {k: new[k] for k in ("openid", "name", "created_time")}
    with app.state.service.sessions() as session:
        row = session.scalars(select(User).where(User.openid == new["openid"])).one()
    assert row.token_hash == hashlib.sha256(new["token"].encode()).hexdigest() != new["token"]
    assert error(client.post("/v1/users", json={}), 422).startswith("name:")
    assert error(client.post("/v1/users", json={"name": "x", "admin": True}), 422).startswith("admin:")
    assert error(client.post("/v1/users", json={"name": ""}), 422).startswith("name:")
    assert error(client.get("/v1/users/me"), 401).startswith("Authorization:")
    assert error(client.get("/v1/users/me", headers={"Authorization": "Bearer nope"}), 401)


def test_sign_up_can_be_closed(client, app):
    app.state.service.settings.signup = False
    error(client.post("/v1/users", json={"name": "mallory"}), 403)


def test_videos_upload_list_page_get_file_thumb_delete(client, alice, tiny_video):
    vids = [data(upload(client, alice, tiny_video, f"take{i}.mp4"), 201)["vid"] for i in range(3)]
    first = data(client.get(f"/v1/videos/{vids[0]}", headers=alice.headers))
    assert first["filename"] == "take0.mp4" and first["kind"] == "clip" and first["openid"] == alice.id
    assert first["size"] == len(tiny_video) and 0.9 <= first["duration"] <= 1.1
    assert first["video_link"] == f"/v1/videos/{vids[0]}/file" and first["thumb"] == f"/v1/videos/{vids[0]}/thumb"

    page = data(client.get("/v1/videos", headers=alice.headers))
    assert (page["total"], page["offset"], page["limit"]) == (3, 0, 20)
    assert [v["vid"] for v in page["videos"]] == vids[::-1]  # newest first
    page = data(client.get("/v1/videos?offset=1&limit=1", headers=alice.headers))
    assert (page["total"], page["offset"], page["limit"], [v["vid"] for v in page["videos"]]) == (3, 1, 1, [vids[1]])
    assert data(client.get("/v1/videos?offset=5", headers=alice.headers))["videos"] == []
    assert error(client.get("/v1/videos?limit=0", headers=alice.headers), 422).startswith("limit:")
    assert error(client.get("/v1/videos?limit=101", headers=alice.headers), 422).startswith("limit:")
    assert error(client.get("/v1/videos?offset=-1", headers=alice.headers), 422).startswith("offset:")

    r = client.get(f"/v1/videos/{vids[0]}/file", headers=alice.headers)
    assert r.status_code == 200 and r.content == tiny_video and r.headers["content-type"] == "video/mp4"
    r = client.get(f"/v1/videos/{vids[0]}/thumb", headers=alice.headers)
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg" and r.content[:2] == b"\xff\xd8"

    assert data(client.delete(f"/v1/videos/{vids[0]}", headers=alice.headers)) == {"vid": vids[0]}
    assert data(client.get(f"/v1/delvideos?vid={vids[1]}", headers=alice.headers)) == {"vid": vids[1]}
    for vid in vids[:2]:
        error(client.get(f"/v1/videos/{vid}", headers=alice.headers), 404)
        error(client.get(f"/v1/videos/{vid}/file", headers=alice.headers), 404)
        error(client.delete(f"/v1/videos/{vid}", headers=alice.headers), 404)
    assert data(client.get("/v1/videos", headers=alice.headers))["total"] == 1
    error(client.get("/v1/delvideos", headers=alice.headers), 422)


def test_performance_and_motion_uploads(client, alice):
    perf = data(upload(client, alice, PERFORMANCE, "duet.yaml", "performance"), 201)
    motion = data(upload(client, alice, BVH, "walk.bvh", "motion"), 201)
    assert (perf["kind"], perf["duration"], perf["thumb"]) == ("performance", 0.0, "")
    assert (motion["kind"], motion["filename"]) == ("motion", "walk.bvh")
    error(client.get(f"/v1/videos/{perf['vid']}/thumb", headers=alice.headers), 404)
    r = client.get(f"/v1/videos/{perf['vid']}/file", headers=alice.headers)
    assert r.content == PERFORMANCE and r.headers["content-type"].startswith("text/yaml")
    assert error(upload(client, alice, BVH, "x.bvh", "sound"), 422).startswith("kind:")


def test_tasks_create_list_page_get_delete(client, alice, server, clip):
    demo = new_task(client, alice, task_type="demo", camera_parameter={"duration": 4, "fps": 10})
    shoot = new_task(client, alice, vid=clip["vid"], camera_parameter={"presets": ["wide", "orbit"], "width": 320})
    third = new_task(client, alice, task_type="demo")

    out = data(client.get(f"/v1/tasks/{shoot}", headers=alice.headers))
    assert (out["task_type"], out["status"], out["progress"], out["vid"], out["attempts"]) == ("shoot", 0, 0.0, clip["vid"], 0)
    assert out["camera_parameter"]["presets"] == ["wide", "orbit"] and out["camera_parameter"]["width"] == 320
    assert out["command"].startswith("cinestage shoot --reference clip.mp4 --performance duet.yaml --out out --width 320")
    assert out["results"] == {} and out["video_download_link"] is None and out["server_id"] is None
    demo_out = data(client.get(f"/v1/tasks/{demo}", headers=alice.headers))
    assert demo_out["command"] == "cinestage demo --out out --duration 4 --fps 10 --width 384 --height 216"

    page = data(client.get("/v1/tasks", headers=alice.headers))
    assert (page["total"], page["offset"], page["limit"]) == (3, 0, 20)
    assert [t["task_id"] for t in page["tasks"]] == [third, shoot, demo]  # newest first
    page = data(client.get("/v1/tasks?offset=2&limit=5", headers=alice.headers))
    assert [t["task_id"] for t in page["tasks"]] == [demo] and page["total"] == 3

    data(report(client, server, shoot, 1))  # a server takes it: no longer "not yet taken"
    queued = data(client.get("/v1/tasks?all=0", headers=alice.headers))
    assert [t["task_id"] for t in queued["tasks"]] == [third, demo] and queued["total"] == 2
    assert data(client.get("/v1/tasks?all=1", headers=alice.headers))["total"] == 3
    assert error(client.get("/v1/tasks?all=2", headers=alice.headers), 422).startswith("all:")

    assert data(client.delete(f"/v1/tasks/{demo}", headers=alice.headers)) == {"task_id": demo, "cancelled": False}
    assert data(client.get(f"/v1/deltasks?task_id={third}", headers=alice.headers)) == {"task_id": third, "cancelled": False}
    for task_id in (demo, third):
        error(client.get(f"/v1/tasks/{task_id}", headers=alice.headers), 404)
    assert data(client.get("/v1/tasks", headers=alice.headers))["total"] == 1


def test_task_checks(client, alice, clip):
    perf = data(upload(client, alice, PERFORMANCE.replace(b"builtin: duet-a", b"motion: walk.bvh"), "p.yaml", "performance"), 201)
    cases = [
        ({}, 422, "vid:"),
        ({"task_type": "demo", "vid": clip["vid"]}, 422, "vid:"),
        ({"vid": "0" * 32}, 404, "vid "),
        ({"vid": perf["vid"]}, 422, f"vid {perf['vid']}: is a performance upload"),
        ({"vid": clip["vid"], "performance_vid": clip["vid"]}, 422, "performance_vid"),
        ({"vid": clip["vid"], "performance_vid": perf["vid"]}, 422, "which is not uploaded"),
        ({"vid": clip["vid"], "camera_parameter": {"presets": ["crane"]}}, 422, "camera_parameter.presets.0:"),
        ({"vid": clip["vid"], "camera_parameter": {"width": 10**12}}, 422, "camera_parameter.width:"),
        ({"vid": clip["vid"], "camera_parameter": {"fps": "fast"}}, 422, "camera_parameter.fps:"),
        ({"vid": clip["vid"], "task_type": "render"}, 422, "task_type:"),
        ({"vid": clip["vid"], "extra": 1}, 422, "extra:"),
    ]
    for body, status, start in cases:
        message = error(client.post("/v1/tasks", headers=alice.headers, json=body), status)
        assert message.startswith(start) or start in message, (body, message)
    motion = data(upload(client, alice, BVH, "walk.bvh", "motion"), 201)
    task_id = new_task(client, alice, vid=clip["vid"], performance_vid=perf["vid"])
    out = data(client.get(f"/v1/tasks/{task_id}", headers=alice.headers))
    assert out["camera_parameter"]["motions"] == {"walk.bvh": motion["vid"]}
    assert "--performance p.yaml" in out["command"]
    for vid in (clip["vid"], perf["vid"], motion["vid"]):  # a queued task uses them
        assert "uses it" in error(client.delete(f"/v1/videos/{vid}", headers=alice.headers), 409)
    data(client.delete(f"/v1/tasks/{task_id}", headers=alice.headers))
    data(client.delete(f"/v1/videos/{motion['vid']}", headers=alice.headers))


def test_servers_listing_and_the_queue_view(client, alice, bob, server, server2, clip):
    assert [s["name"] for s in data(client.get("/v1/servers", headers=alice.headers))] == ["render-1", "render-2"]
    first = new_task(client, alice, task_type="demo")
    second = new_task(client, bob, task_type="demo")
    third = new_task(client, alice, vid=clip["vid"])
    claimable = data(client.get("/v1/tasks?all=0", headers=server.headers))
    assert [t["task_id"] for t in claimable["tasks"]] == [first, second, third]  # every user's, oldest first
    data(report(client, server, first, 1))
    claimable = data(client.get("/v1/tasks?all=0&limit=1", headers=server2.headers))
    assert (claimable["total"], [t["task_id"] for t in claimable["tasks"]]) == (2, [second])
    everything = data(client.get("/v1/tasks?all=1", headers=server2.headers))
    assert [t["task_id"] for t in everything["tasks"]] == [first, second, third]
    listed = {s["server_id"]: s for s in data(client.get("/v1/servers", headers=server2.headers))}
    assert listed[server.id]["last_time"] is not None and listed[server2.id]["last_time"] is None
    assert data(client.get(f"/v1/tasks/{second}", headers=server.headers))["task_id"] == second  # any server reads


def test_report_upload_results_and_download(client, alice, server, clip, tiny_video):
    task_id = new_task(client, alice, vid=clip["vid"])
    claimed = data(report(client, server, task_id, 1))
    assert (claimed["status"], claimed["server_id"], claimed["attempts"]) == (1, server.id, 1)
    assert data(report(client, server, task_id, 1, progress=42.5))["progress"] == 42.5
    r = client.get(f"/v1/videos/{clip['vid']}/file", headers=server.headers)  # the server fetches the reference
    assert r.status_code == 200 and r.content == tiny_video
    stored = data(client.put(f"/v1/tasks/{task_id}/files/best.mp4", headers=server.headers, content=tiny_video))
    assert stored == {"path": "best.mp4", "size": len(tiny_video)}
    data(client.put(f"/v1/tasks/{task_id}/files/cameras/wide.track.json", headers=server.headers, content=b'{"x": 1}'))
    assert data(client.get(f"/v1/tasks/{task_id}/files", headers=server.headers)) == ["best.mp4", "cameras/wide.track.json"]
    done = data(report(client, server, task_id, 2, return_msg={"best_camera": "wide", "files": ["ignored"]}))
    assert (done["status"], done["progress"]) == (2, 100.0) and done["end_time"] is not None
    base = f"/v1/tasks/{task_id}/files"
    assert done["results"] == {"best_camera": "wide", "best.mp4": f"{base}/best.mp4",
                               "cameras/wide.track.json": f"{base}/cameras/wide.track.json"}
    assert done["video_download_link"] == f"{base}/best.mp4"
    assert data(client.get(base, headers=alice.headers)) == ["best.mp4", "cameras/wide.track.json"]
    r = client.get(f"{base}/best.mp4", headers=alice.headers)
    assert r.status_code == 200 and r.content == tiny_video and r.headers["content-type"] == "video/mp4"
    r = client.get(f"{base}/cameras/wide.track.json", headers=alice.headers)
    assert r.json() == {"x": 1} and r.headers["content-type"] == "application/json"
    error(client.get(f"{base}/missing.mp4", headers=alice.headers), 404)
    failed = new_task(client, alice, task_type="demo")
    data(report(client, server, failed, 1))
    out = data(report(client, server, failed, 3, return_msg={"error": "renderer crashed"}))
    assert (out["status"], out["results"], out["video_download_link"]) == (3, {"error": "renderer crashed"}, None)


def test_unknown_ids_and_routes(client, alice, server):
    for method, url in [("get", "/v1/videos/nope"), ("get", "/v1/videos/nope/file"), ("get", "/v1/videos/nope/thumb"),
                        ("delete", "/v1/videos/nope"), ("get", "/v1/delvideos?vid=nope"), ("get", "/v1/tasks/nope"),
                        ("delete", "/v1/tasks/nope"), ("get", "/v1/deltasks?task_id=nope"), ("get", "/v1/tasks/nope/files"),
                        ("get", "/v1/tasks/nope/files/best.mp4")]:
        assert error(client.request(method, url, headers=alice.headers), 404).startswith(("vid nope", "task_id nope"))
    error(report(client, server, "nope", 1), 404)
    error(client.put("/v1/tasks/nope/files/a.mp4", headers=server.headers, content=b"x"), 404)
    assert error(client.get("/v1/nothing", headers=alice.headers), 404).startswith("GET /v1/nothing:")
    error(client.patch("/v1/tasks", headers=alice.headers), 405)
