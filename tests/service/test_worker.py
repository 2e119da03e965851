"""The render worker: a demo task from queue to DONE with every result file stored; bad input and
surprises end FAILED with one line; a retried task does not render its finished cameras again;
a lost lease stops the work unreported; a stop gives the task back. The fault test kills a real
`cinestage worker` mid-task and lets a second one finish it. The HTTP backend is run against
the real API (uvicorn on a free port) and against a fake for the 409 race."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import av
import httpx
import pytest
from service_support import free_port

from cinestage.pipeline import task_job
from cinestage.service.db import Server, Status, Task, User, Video, hash_secret, migrate, new_id, sessions, utcnow
from cinestage.service.executor import SerialExecutor
from cinestage.service.storage import Storage
from cinestage.service.worker import DatabaseBackend, Job, run_task, run_worker
from cinestage.settings import Settings

CLI = str(Path(sys.executable).with_name("cinestage"))
TINY = {"width": 128, "height": 72, "duration": 2.0, "fps": 25.0, "highlights": 1}


# --- fixtures (prefixed: tests/service/conftest.py belongs to the API's tests) ---------------

@pytest.fixture
def worker_settings(tmp_path) -> Settings:
    return Settings(data_dir=str(tmp_path / "data"), lease_s=30.0)


@pytest.fixture
def worker_backend(worker_settings):
    backend = DatabaseBackend(worker_settings)
    yield backend
    backend.close()


@pytest.fixture
def worker_owner(worker_backend) -> str:
    openid = new_id()
    with worker_backend.sessions.begin() as session:
        session.add(User(openid=openid, name="ann", token_hash=hash_secret(new_id())))
    return openid


def add_task(backend: DatabaseBackend, owner: str, task_type: str = "demo", vid: str | None = None, **params) -> str:
    task = Task(task_type=task_type, vid=vid, openid=owner, camera_parameter=json.dumps({**TINY, **params}))
    with backend.sessions.begin() as session:
        session.add(task)
    return task.task_id


def add_upload(backend: DatabaseBackend, owner: str, data: bytes, name: str = "clip.mp4", kind: str = "clip") -> str:
    vid = new_id()
    key = f"{owner}/videos/{vid}/{name}"
    backend.storage.put_stream(key, [data])
    with backend.sessions.begin() as session:
        session.add(Video(vid=vid, video_link=key, size=len(data), openid=owner, kind=kind, filename=name))
    return vid


def task_row(backend: DatabaseBackend, task_id: str) -> Task:
    with backend.sessions() as session:
        return session.query(Task).filter(Task.task_id == task_id).one()


def stored(storage: Storage, owner: str, task_id: str) -> list[str]:
    prefix = f"{owner}/tasks/{task_id}"
    return [k[len(prefix) + 1:] for k in storage.keys(prefix)]


def frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def check_results(storage: Storage, owner: str, task_id: str, n_frames: int) -> list[str]:
    """Every stored result is whole: videos decode with every frame, JSON parses."""
    files = stored(storage, owner, task_id)
    for rel in files:
        path = Path(storage.path(f"{owner}/tasks/{task_id}/{rel}"))
        if rel.endswith(".mp4"):
            assert frames(path) == n_frames, rel
        elif rel.endswith(".json"):
            json.loads(path.read_text())
    return files


# --- the database backend ------------------------------------------------------------------

def test_a_demo_task_ends_done_with_every_result_file_stored(worker_backend, worker_owner):
    task_id = add_task(worker_backend, worker_owner, presets=["wide", "two-shot"])
    assert run_worker(worker_backend, SerialExecutor(), threading.Event(), once=True) == 1
    task = task_row(worker_backend, task_id)
    assert (task.status, task.progress, task.attempts, task.lease_until) == (Status.DONE, 100.0, 1, None)
    message = json.loads(task.return_msg)
    files = check_results(worker_backend.storage, worker_owner, task_id, 50)
    assert sorted(message["files"]) == files
    for name in ("wide", "two-shot"):
        assert set(task_job.camera_paths(name)) <= set(files)
    assert {"manifest.json", "contact_sheet.png", "scores.json", "best.mp4", "programme.mp4"} <= set(files)
    assert message["best"] in ("wide", "two-shot") and message["cameras"] == ["wide", "two-shot"]
    assert message["restored"] == [] and message["attempt"] == 1
    with worker_backend.sessions() as session:
        server = session.query(Server).filter(Server.server_id == worker_backend.server_id).one()
    assert server.name.startswith("worker@") and server.name.endswith(f":{os.getpid()}") and server.last_time
    # Nothing left to do: another pass claims nothing.
    assert run_worker(worker_backend, SerialExecutor(), threading.Event(), once=True) == 0


def test_a_clip_that_is_not_a_video_fails_the_task_with_one_line(worker_backend, worker_owner):
    vid = add_upload(worker_backend, worker_owner, os.urandom(4096))
    task_id = add_task(worker_backend, worker_owner, "shoot", vid)
    run_worker(worker_backend, SerialExecutor(), threading.Event(), once=True)
    task = task_row(worker_backend, task_id)
    error = json.loads(task.return_msg)["error"]
    assert task.status == Status.FAILED and "\n" not in error and error.startswith("reference.mp4: ")
    assert "cinestage-task" not in error  # the worker's folders are not the user's business


def test_an_unexpected_error_fails_the_task_with_its_class_and_is_logged(worker_backend, worker_owner, monkeypatch,
                                                                         caplog):
    def broken(spec, settings=None):
        raise RuntimeError("the stage fell down")

    monkeypatch.setattr(task_job, "plan", broken)
    task_id = add_task(worker_backend, worker_owner)
    with caplog.at_level(logging.ERROR, "cinestage.service.worker"):
        run_worker(worker_backend, SerialExecutor(), threading.Event(), once=True)
    task = task_row(worker_backend, task_id)
    assert task.status == Status.FAILED
    assert json.loads(task.return_msg) == {"error": "RuntimeError: the stage fell down"}
    assert any(r.exc_info and "the stage fell down" in str(r.exc_info[1]) for r in caplog.records)


def test_a_retried_task_restores_the_cameras_an_earlier_attempt_stored(worker_backend, worker_owner, monkeypatch):
    task_id = add_task(worker_backend, worker_owner, presets=["wide", "orbit"])
    # An earlier attempt stored the camera "wide" (all its files), then died.
    spec = task_job.TaskSpec("demo", duration=2.0, presets=("wide", "orbit"), width=128, height=72, highlights=1)
    plan = task_job.plan(spec)
    (group,) = task_job.camera_groups(plan, ["wide"], 1)
    prefix = f"{worker_owner}/tasks/{task_id}"
    for rel, data in task_job.render_group_job(group).items():
        worker_backend.storage.put_stream(f"{prefix}/{rel}", [data])
    before = {rel: Path(worker_backend.storage.path(f"{prefix}/{rel}")).stat().st_mtime_ns
              for rel in task_job.camera_paths("wide")}
    rendered = []
    real = task_job.render_group_job
    monkeypatch.setattr(task_job, "render_group_job", lambda g: rendered.append(g.names) or real(g))
    run_worker(worker_backend, SerialExecutor(), threading.Event(), once=True)
    task = task_row(worker_backend, task_id)
    assert task.status == Status.DONE and rendered == [("orbit",)]
    assert json.loads(task.return_msg)["restored"] == ["wide"]
    after = {rel: Path(worker_backend.storage.path(f"{prefix}/{rel}")).stat().st_mtime_ns for rel in before}
    assert after == before, "the restored camera's files were uploaded again"
    check_results(worker_backend.storage, worker_owner, task_id, 50)


def test_a_lost_lease_stops_the_work_without_a_report(worker_settings, worker_owner, monkeypatch):
    backend = DatabaseBackend(worker_settings.model_copy(update={"lease_s": 0.6}))
    monkeypatch.setattr(backend, "heartbeat", lambda job, progress: False)  # another server took it
    task_id = add_task(backend, worker_owner, presets=["wide", "orbit"])
    job = backend.claim()
    assert run_task(backend, SerialExecutor(), job, threading.Event(), group_size=1) == "lost"
    task = task_row(backend, task_id)
    assert task.status == Status.RUNNING and task.return_msg == "{}"
    backend.close()


def test_a_stop_lets_the_running_group_land_and_gives_the_task_back(worker_backend, worker_owner, monkeypatch):
    task_id = add_task(worker_backend, worker_owner, presets=["wide", "orbit"])
    stop = threading.Event()
    real = task_job.render_group_job

    def render_then_stop(group):
        files = real(group)
        stop.set()  # SIGTERM arrives while the first group renders
        return files

    monkeypatch.setattr(task_job, "render_group_job", render_then_stop)
    job = worker_backend.claim()
    assert run_task(worker_backend, SerialExecutor(), job, stop, group_size=1) == "released"
    task = task_row(worker_backend, task_id)
    assert (task.status, task.server_id) == (Status.QUEUED, None)
    assert task_job.finished_cameras(["wide", "orbit"], stored(worker_backend.storage, worker_owner, task_id)) == ["wide"]


# --- the fault test ------------------------------------------------------------------------

def _wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the worker exited ({proc.returncode}) before {what}")
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def _queued_demo(data: Path, cameras: list[str]):
    """A data folder whose database holds one queued 4 s demo task, for `cinestage worker`
    subprocesses: its sessions, storage, owner and task_id."""
    settings = Settings(data_dir=str(data))
    db = sessions(migrate(settings.database()))
    owner = new_id()
    with db.begin() as session:
        session.add(User(openid=owner, name="ann", token_hash=hash_secret(new_id())))
    with db.begin() as session:
        task = Task(task_type="demo", openid=owner,
                    camera_parameter=json.dumps({**TINY, "duration": 4.0, "presets": cameras}))
        session.add(task)
    return db, Storage(settings.storage()), owner, task.task_id


def test_a_worker_killed_mid_task_is_replaced_and_the_task_completes_once(tmp_path):
    cameras = ["wide", "two-shot", "orbit", "dolly"]
    db, storage, owner, task_id = _queued_demo(tmp_path / "data", cameras)
    env = {**os.environ, "CINESTAGE_DATA_DIR": str(tmp_path / "data"), "CINESTAGE_LEASE_S": "3", "OMP_NUM_THREADS": "1"}
    env.pop("RAY_ADDRESS", None)
    command = [CLI, "worker", "--executor", "process", "--workers", "1", "--group-size", "1"]

    def finished() -> list[str]:
        return task_job.finished_cameras(cameras, stored(storage, owner, task_id))

    with open(tmp_path / "first.log", "w") as log:
        first = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_for(finished, 240, "the first worker uploaded a camera", first)
        finally:
            os.killpg(first.pid, signal.SIGKILL)  # the worker and its render processes, like a machine dying
            first.wait()
    done_first = finished()
    assert len(done_first) < len(cameras), "the first worker finished everything before it could be killed"
    with db() as session:
        killed = session.query(Task).filter(Task.task_id == task_id).one()
    assert killed.status == Status.RUNNING and killed.attempts == 1
    prefix = f"{owner}/tasks/{task_id}"
    kept = {rel: Path(storage.path(f"{prefix}/{rel}")).stat().st_mtime_ns for n in done_first
            for rel in task_job.camera_paths(n)}

    _wait_for(lambda: utcnow() > killed.lease_until, 10, "the lease to expire")
    second = subprocess.run(command + ["--once"], env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-3000:]
    log2, log1 = second.stderr, (tmp_path / "first.log").read_text()
    print(f"first worker (killed):\n{log1}\nsecond worker:\n{log2}")  # shown with -rP

    with db() as session:
        task = session.query(Task).filter(Task.task_id == task_id).one()
    assert (task.status, task.attempts, task.progress) == (Status.DONE, 2, 100.0)
    message = json.loads(task.return_msg)
    assert message["restored"] == done_first and message["attempt"] == 2
    # Done exactly once, by the second worker, which rendered only what the first had not finished.
    assert " done (attempt" not in log1 and log2.count(" done (attempt 2)") == 1
    assert f"restored cameras {', '.join(done_first)} from an earlier attempt" in log2
    rendered = [line.rsplit("rendering cameras ", 1)[1].strip() for line in log2.splitlines() if "rendering cameras" in line]
    assert sorted(rendered) == sorted(set(cameras) - set(done_first))
    assert {rel: Path(storage.path(f"{prefix}/{rel}")).stat().st_mtime_ns for rel in kept} == kept
    files = check_results(storage, owner, task_id, 100)
    assert sorted(message["files"]) == files
    assert all(set(task_job.camera_paths(n)) <= set(files) for n in cameras)


def test_sigterm_lets_the_running_group_land_then_gives_the_task_back_and_exits(tmp_path):
    cameras = ["wide", "two-shot", "orbit"]
    db, storage, owner, task_id = _queued_demo(tmp_path / "data", cameras)
    env = {**os.environ, "CINESTAGE_DATA_DIR": str(tmp_path / "data"), "OMP_NUM_THREADS": "1"}
    worker = subprocess.Popen([CLI, "worker", "--executor", "serial", "--group-size", "1"], env=env,
                              stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: task_job.finished_cameras(cameras, stored(storage, owner, task_id)), 180,
                  "the worker uploaded a camera", worker)
        worker.send_signal(signal.SIGTERM)
        _, log = worker.communicate(timeout=120)
    finally:
        worker.kill()
    assert worker.returncode == 0, log[-3000:]
    assert "stopped; released back to the queue" in log
    with db() as session:
        task = session.query(Task).filter(Task.task_id == task_id).one()
    assert (task.status, task.server_id, task.lease_until) == (Status.QUEUED, None, None)
    assert 1 <= len(task_job.finished_cameras(cameras, stored(storage, owner, task_id))) < len(cameras)


# --- the HTTP backend ----------------------------------------------------------------------

@pytest.fixture
def worker_api(tmp_path):
    """The real API on a free port (uvicorn in a thread), with a user and a render server."""
    api = pytest.importorskip("cinestage.service.api", reason="the API (service/api.py) is not there yet")
    uvicorn = pytest.importorskip("uvicorn")
    from cinestage.service import accounts

    settings = Settings(data_dir=str(tmp_path / "api-data"), lease_s=30.0)
    app = api.create_app(settings)
    db = sessions(migrate(settings.database()))
    _, token = accounts.add_user(db, "ann")
    server, credential = accounts.add_server(db, "render-1")
    server_thread = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server_thread.run, daemon=True)
    thread.start()
    _wait_for(lambda: server_thread.started, 30, "uvicorn to start")
    url = f"http://127.0.0.1:{server_thread.config.port}"
    try:
        yield url, token, server.server_id, credential
    finally:
        server_thread.should_exit = True
        thread.join(10)


def test_the_http_backend_runs_a_demo_task_through_the_real_api(worker_api):
    from cinestage.service.worker_http import HttpBackend

    url, token, server_id, credential = worker_api
    user = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    body = {"task_type": "demo", "camera_parameter": {**TINY, "presets": ["wide", "two-shot"]}}
    created = user.post("/v1/tasks", json=body)
    assert created.status_code == 201, created.text
    task_id = created.json()["data"]["task_id"]
    backend = HttpBackend(url, server_id, credential, lease_s=30.0)
    try:
        assert run_worker(backend, SerialExecutor(), threading.Event(), once=True) == 1
    finally:
        backend.close()
    task = user.get(f"/v1/tasks/{task_id}").json()["data"]
    assert (task["status"], task["progress"], task["attempts"], task["server_id"]) == (2, 100.0, 1, server_id)
    files = user.get(f"/v1/tasks/{task_id}/files").json()["data"]
    assert set(task_job.camera_paths("wide")) | set(task_job.camera_paths("two-shot")) <= set(files)
    assert {"best.mp4", "scores.json", "manifest.json"} <= set(files)
    best = user.get(f"/v1/tasks/{task_id}/files/best.mp4")
    assert best.status_code == 200 and best.content[4:8] == b"ftyp"
    scores = user.get(f"/v1/tasks/{task_id}/files/scores.json").json()
    assert scores["best"]["camera"] in ("wide", "two-shot")
    user.close()


def test_the_http_backend_claims_the_next_task_when_another_server_was_faster():
    from cinestage.service.worker_http import HttpBackend

    seen = []

    def api(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path, request.headers.get("AFS-SERVER-ID"),
                     request.headers.get("Authorization")))
        if request.url.path == "/v1/tasks":
            assert request.url.params["all"] == "0"
            tasks = [{"task_id": "t1"}, {"task_id": "t2"}]
            return httpx.Response(200, json={"code": 0, "message": "ok", "data": {"total": 2, "tasks": tasks}})
        if request.url.path == "/v1/tasks/t1":
            return httpx.Response(409, json={"code": 409, "message": "task_id t1: held by another server", "data": None})
        assert json.loads(request.content) == {"status": 1, "return_msg": {}}
        return httpx.Response(200, json={"code": 0, "message": "ok", "data": {
            "task_id": "t2", "task_type": "demo", "camera_parameter": {"width": 128}, "vid": None,
            "performance_vid": None, "attempts": 1}})

    backend = HttpBackend("http://api.test", "srv", "secret", transport=httpx.MockTransport(api))
    job = backend.claim()
    assert job == Job("t2", "demo", {"width": 128}, None, None, 1)
    assert [s[:2] for s in seen] == [("GET", "/v1/tasks"), ("POST", "/v1/tasks/t1"), ("POST", "/v1/tasks/t2")]
    assert all(s[2:] == ("srv", "Bearer secret") for s in seen)
