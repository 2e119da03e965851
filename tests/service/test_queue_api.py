"""The render servers' queue through the API: claims race, leases expire and are extended by
heartbeats, only the holder finishes (once), and an owner's delete cancels a running task."""

from __future__ import annotations

import threading
import time

from service_support import data, error, new_task, register_server, report, stored_files
from sqlalchemy import select

from cinestage.service.db import Task


def _lease_until(app, task_id):
    with app.state.service.sessions() as session:
        return session.scalar(select(Task.lease_until).where(Task.task_id == task_id))


def test_two_servers_race_to_claim(client, alice, server, server2):
    for _ in range(4):
        task_id = new_task(client, alice, task_type="demo")
        barrier, answers = threading.Barrier(2), {}

        def claim(who):
            barrier.wait()
            answers[who.name] = report(client, who, task_id, 1)

        threads = [threading.Thread(target=claim, args=(who,)) for who in (server, server2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = sorted(r.status_code for r in answers.values())
        assert codes == [200, 409], [r.text for r in answers.values()]
        winner = next(name for name, r in answers.items() if r.status_code == 200)
        out = data(client.get(f"/v1/tasks/{task_id}", headers=alice.headers))
        assert out["server_id"] == (server if winner == server.name else server2).id and out["attempts"] == 1
        loser = next(r for r in answers.values() if r.status_code == 409)
        assert "held by another server" in error(loser, 409)


def test_many_servers_claim_each_task_once(client, app, alice):
    tasks = {new_task(client, alice, task_type="demo") for _ in range(6)}
    servers = [register_server(app, f"r{i}") for i in range(3)]
    taken: list[tuple[str, str]] = []

    def work(who):
        while True:
            queue = data(client.get("/v1/tasks?all=0&limit=100", headers=who.headers))["tasks"]
            if not queue:
                return
            for task in queue:
                if report(client, who, task["task_id"], 1).status_code == 200:
                    taken.append((who.name, task["task_id"]))

    threads = [threading.Thread(target=work, args=(s,)) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(t for _, t in taken) == sorted(tasks)  # every task exactly once


def test_heartbeat_extends_the_lease(client, app, alice, server, server2):
    app.state.service.settings.lease_s = 2.0
    task_id = new_task(client, alice, task_type="demo")
    data(report(client, server, task_id, 1))
    first = _lease_until(app, task_id)
    time.sleep(1.3)
    assert data(report(client, server, task_id, 1, progress=30))["progress"] == 30.0
    assert _lease_until(app, task_id) > first
    time.sleep(1.3)  # the first lease has run out, the extended one has not
    assert error(report(client, server2, task_id, 1), 409)
    assert data(client.get("/v1/tasks?all=0", headers=server2.headers))["total"] == 0
    assert data(report(client, server, task_id, 2))["status"] == 2


def test_an_expired_lease_makes_the_task_claimable_again(client, app, alice, server, server2, tiny_video):
    app.state.service.settings.lease_s = 0.3
    task_id = new_task(client, alice, task_type="demo")
    data(report(client, server, task_id, 1))
    data(client.put(f"/v1/tasks/{task_id}/files/part.mp4", headers=server.headers, content=tiny_video))
    time.sleep(0.5)
    claimable = data(client.get("/v1/tasks?all=0", headers=server2.headers))["tasks"]
    assert [t["task_id"] for t in claimable] == [task_id]
    app.state.service.settings.lease_s = 30.0
    taken = data(report(client, server2, task_id, 1))
    assert (taken["server_id"], taken["attempts"], taken["status"]) == (server2.id, 2, 1)
    # The first server lost it: it can neither report, nor upload, nor finish.
    error(report(client, server, task_id, 1, progress=50), 409)
    error(client.put(f"/v1/tasks/{task_id}/files/late.mp4", headers=server.headers, content=b"x"), 409)
    error(report(client, server, task_id, 2), 409)
    done = data(report(client, server2, task_id, 2))
    assert (done["status"], done["server_id"], list(done["results"])) == (2, server2.id, ["part.mp4"])


def test_finish_only_by_the_holder_and_only_once(client, alice, server, server2):
    task_id = new_task(client, alice, task_type="demo")
    error(report(client, server, task_id, 2), 409)  # not claimed yet
    data(report(client, server, task_id, 1))
    assert "held by another server" in error(report(client, server2, task_id, 2), 409)
    assert "held by another server" in error(report(client, server2, task_id, 3, return_msg={"error": "x"}), 409)
    assert data(report(client, server, task_id, 2))["status"] == 2
    assert "already finished" in error(report(client, server, task_id, 2), 409)
    assert "already finished" in error(report(client, server, task_id, 3), 409)
    assert "already finished" in error(report(client, server, task_id, 1), 409)
    assert "already finished" in error(report(client, server2, task_id, 1), 409)
    assert data(client.get(f"/v1/tasks/{task_id}", headers=alice.headers))["status"] == 2


def test_report_bodies_are_checked(client, alice, server):
    task_id = new_task(client, alice, task_type="demo")
    for body, field in [({"status": -1}, "status"), ({"status": 4}, "status"), ({}, "status"),
                        ({"status": 1, "progress": 101}, "progress"), ({"status": 1, "progress": -1}, "progress"),
                        ({"status": 2, "return_msg": []}, "return_msg"), ({"status": 1, "speed": 1}, "speed")]:
        assert error(client.post(f"/v1/tasks/{task_id}", headers=server.headers, json=body), 422).startswith(field)
    assert data(client.get(f"/v1/tasks/{task_id}", headers=alice.headers))["status"] == 0


def test_deleting_a_running_task_cancels_it(client, app, alice, server, tiny_video):
    task_id = new_task(client, alice, task_type="demo")
    data(report(client, server, task_id, 1))
    data(client.put(f"/v1/tasks/{task_id}/files/best.mp4", headers=server.headers, content=tiny_video))
    assert data(client.delete(f"/v1/tasks/{task_id}", headers=alice.headers)) == {"task_id": task_id, "cancelled": True}
    assert data(client.get(f"/v1/tasks/{task_id}", headers=alice.headers))["status"] == 4
    assert not [f for f in stored_files(app) if task_id in f]  # result files are gone at once
    error(client.put(f"/v1/tasks/{task_id}/files/more.mp4", headers=server.headers, content=b"x"), 409)
    assert "cancelled by its owner" in error(report(client, server, task_id, 1, progress=60), 409)
    error(client.get(f"/v1/tasks/{task_id}", headers=alice.headers), 404)  # told once, then gone
    error(report(client, server, task_id, 2), 404)
    assert not [f for f in stored_files(app) if task_id in f]


def test_an_abandoned_cancelled_task_can_be_deleted(client, alice, server):
    task_id = new_task(client, alice, task_type="demo")
    data(report(client, server, task_id, 1))
    assert data(client.delete(f"/v1/tasks/{task_id}", headers=alice.headers))["cancelled"] is True
    assert data(client.delete(f"/v1/tasks/{task_id}", headers=alice.headers))["cancelled"] is False
    error(client.get(f"/v1/tasks/{task_id}", headers=alice.headers), 404)


def test_a_server_gives_a_task_back_and_another_takes_it(client, alice, server, server2):
    task_id = new_task(client, alice, task_type="demo")
    assert report(client, server, task_id, 1).status_code == 200
    assert "held by another server" in error(report(client, server2, task_id, 0), 409)  # only the holder
    back = data(report(client, server, task_id, 0))
    assert back["status"] == 0 and back["server_id"] is None
    assert task_id in {t["task_id"] for t in data(client.get("/v1/tasks?all=0", headers=server2.headers))["tasks"]}
    assert data(report(client, server2, task_id, 1))["server_id"] == server2.id
    assert report(client, server, task_id, 0).status_code == 409  # no longer the holder
