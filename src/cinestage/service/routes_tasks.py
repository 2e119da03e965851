"""/v1/tasks: users create, list, read and delete shoots; render servers list the queue and
report on the tasks they hold (claim, heartbeat with progress, finish) under a lease."""

from __future__ import annotations

import json
import shlex
import tempfile
from functools import cache
from importlib import resources
from pathlib import Path

import yaml
from fastapi import APIRouter, Depends, Query
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from cinestage.errors import CinestageError
from cinestage.service import queue
from cinestage.service.auth import current_caller, current_server, current_user
from cinestage.service.context import Conflict, Invalid, Service, service
from cinestage.service.db import Server, Status, Task, User, Video, utcnow
from cinestage.service.protocol import (CameraParameter, Envelope, NewTask, Report, TaskCreated, TaskDeleted, TaskOut,
                                        TaskPage)
from cinestage.service.uploads import motion_names
from cinestage.service.views import (MAX_OFFSET, find_task, ok, ok_json, own_video, page, read_task, result_files,
                                     task_out, task_prefix, visible_task)

router = APIRouter(tags=["tasks"])


@cache
def preset_names() -> tuple[str, ...]:
    """The preset rigs a task may pick (the demo's cameras)."""
    text = (resources.files("cinestage.camera") / "demo_cameras.yaml").read_text()
    return tuple(c["name"] for c in yaml.safe_load(text)["cameras"])


def _upload(session: Session, user: User, vid: str, kind: str, field: str) -> Video:
    video = own_video(session, user, vid, lock=True)
    if video.kind != kind:
        raise Invalid(f"{field} {vid}", f"is a {video.kind} upload, not a {kind}")
    return video


def _motions(session: Session, svc: Service, user: User, performance: Video) -> dict[str, str]:
    """The motion uploads a performance file names: file name -> vid (the newest of that name)."""
    with tempfile.TemporaryDirectory(prefix="cinestage-task-") as work:
        path = svc.storage.get_file(performance.video_link, Path(work) / performance.filename)
        try:
            names = motion_names(path)
        except CinestageError as exc:
            raise Invalid(f"performance_vid {performance.vid}", exc.problem) from None
    found = {}
    for name in names:
        vid = session.scalar(select(Video.vid).where(Video.openid == user.openid, Video.kind == "motion",
                                                     Video.filename == name)
                             .order_by(Video.upload_time.desc(), Video.id.desc()).limit(1))
        if vid is None:
            raise Invalid(f"performance_vid {performance.vid}",
                          f"uses the motion {name!r}, which is not uploaded: upload it with kind=motion first")
        found[name] = vid
    return found


def command_line(body: NewTask, clip: Video | None, performance: Video | None) -> str:
    """The `cinestage` command that does what the task does, on the uploaded files' names."""
    p = body.camera_parameter
    size = ["--width", str(p.width), "--height", str(p.height)]
    if body.task_type == "demo":
        return shlex.join(["cinestage", "demo", "--out", "out", "--duration", f"{p.duration:g}", "--fps", f"{p.fps:g}",
                           *size])
    args = ["cinestage", "shoot", "--reference", clip.filename,
            "--performance", performance.filename if performance else "duet.yaml", "--out", "out", *size]
    notes = []
    if performance is None:
        notes.append(f"duet.yaml: the built-in duet, {p.duration:g} s at {p.fps:g} fps")
    if p.presets is not None:
        args += ["--cameras", "cameras.yaml"]
        notes.append(f"cameras.yaml: the preset rigs {', '.join(p.presets)}")
    return shlex.join(args) + (f"  # {'; '.join(notes)}" if notes else "")


def _check_presets(p: CameraParameter) -> None:
    for i, name in enumerate(p.presets or ()):
        if name not in preset_names():
            raise Invalid(f"camera_parameter.presets.{i}", f"unknown preset {name!r}; choose from {', '.join(preset_names())}")


@router.post("/v1/tasks", status_code=201, response_model=Envelope[TaskCreated])
def create_task(body: NewTask, user: User = Depends(current_user), svc: Service = Depends(service)):
    """Queue a shoot (the reference clip `vid`; optionally a performance file `performance_vid`,
    otherwise the built-in duet) or a demo (no uploads)."""
    _check_presets(body.camera_parameter)
    parameters = body.camera_parameter.model_dump()
    clip = performance = None
    with svc.sessions.begin() as session:
        if body.task_type == "demo":
            if body.vid or body.performance_vid:
                raise Invalid("vid" if body.vid else "performance_vid", "a demo task takes no uploads")
        else:
            if not body.vid:
                raise Invalid("vid", "a shoot needs the vid of an uploaded reference clip")
            clip = _upload(session, user, body.vid, "clip", "vid")
            if body.performance_vid:
                performance = _upload(session, user, body.performance_vid, "performance", "performance_vid")
                parameters["motions"] = _motions(session, svc, user, performance)
        task = Task(task_type=body.task_type, vid=body.vid, performance_vid=body.performance_vid, openid=user.openid,
                    camera_parameter=json.dumps(parameters), command=command_line(body, clip, performance))
        session.add(task)
    return ok(TaskCreated(task_id=task.task_id))


@router.get("/v1/tasks", response_model=Envelope[TaskPage])
def list_tasks(show_all: int = Query(1, alias="all", ge=0, le=1,
                                     description="users: 0 = only tasks no server took yet; servers: 0 = claimable tasks"),
               offset: int = Query(0, ge=0, le=MAX_OFFSET), limit: int = Query(20, ge=1, le=100),
               caller: User | Server = Depends(current_caller), svc: Service = Depends(service)):
    """Users: their own tasks, newest first. Render servers: every user's tasks, oldest first
    (all=0: the claimable ones, queued or with an expired lease)."""
    if isinstance(caller, Server):
        query = select(Task).order_by(Task.id)
        if not show_all:
            query = query.where(queue.claimable(utcnow()))
    else:
        query = select(Task).where(Task.openid == caller.openid).order_by(Task.created_time.desc(), Task.id.desc())
        if not show_all:
            query = query.where(Task.status == Status.QUEUED)
    with svc.sessions() as session:
        total, rows = page(session, query, offset, limit)
    return ok(TaskPage(total=total, offset=offset, limit=limit, tasks=[task_out(t) for t in rows]))


@router.get("/v1/tasks/{task_id}", response_model=Envelope[TaskOut])
async def get_task(task_id: str, caller: User | Server = Depends(current_caller), svc: Service = Depends(service)):
    """Status, progress (percent) and, once done, the result files' download URLs."""
    # The route clients poll. On SQLite (WAL: a reader never waits for a writer) the one-row
    # read costs less than handing it to a thread; other databases are read from a thread.
    if svc.engine.dialect.name == "sqlite":
        task = read_task(svc.engine, caller, task_id)
    else:
        task = await run_in_threadpool(read_task, svc.engine, caller, task_id)
    return ok_json(task_out(task))


def _why_not(task: Task, server: Server, claiming: bool) -> str:
    if claiming and task.status == Status.QUEUED:  # another claim on it has not committed yet
        return "held by another server (claimed at this moment)"
    if task.status in (Status.DONE, Status.FAILED):
        return f"already finished (status {task.status})"
    if task.status == Status.CANCELLED:
        return "cancelled by its owner"
    if task.status == Status.RUNNING and task.server_id != server.server_id:
        return f"held by another server until {task.lease_until:%Y-%m-%dT%H:%M:%S}Z"
    return "not held by this server: claim it first (status 1)"


def _forget(svc: Service, task: Task) -> None:
    """Remove a cancelled task once its server has been told."""
    with svc.sessions.begin() as session:
        session.execute(delete(Task).where(Task.id == task.id, Task.status == Status.CANCELLED))
    svc.storage.delete(task_prefix(task))


@router.post("/v1/tasks/{task_id}", response_model=Envelope[TaskOut])
def report(task_id: str, body: Report, server: Server = Depends(current_server), svc: Service = Depends(service)):
    """A render server's report. status 1: claim (409 when another server holds the task) or,
    when this server holds it, a heartbeat with progress; 2 (done) or 3 (failed): finish it;
    0: give it back to the queue. Only the holder of the lease may report; a task its owner
    deleted answers 409 once."""
    with svc.sessions() as session:
        task = find_task(session, task_id)
    if task.status == Status.CANCELLED and task.server_id == server.server_id:
        _forget(svc, task)
        raise Conflict(f"task_id {task_id}", "cancelled by its owner: stop working on it")
    lease, me = svc.settings.lease_s, server.server_id
    if body.status == Status.QUEUED:
        done = queue.release(svc.sessions, me, task_id)
    elif body.status == 1:
        done = task.server_id == me and queue.heartbeat(svc.sessions, me, task_id, lease, body.progress)
        if not done and queue.claim(svc.sessions, me, lease, task_id) is not None:
            done = body.progress is None or queue.heartbeat(svc.sessions, me, task_id, lease, body.progress)
    else:
        message = dict(body.return_msg)
        if body.status == Status.DONE:
            message["files"] = result_files(svc.storage, task)  # what is stored, whatever the server says
        done = queue.finish(svc.sessions, me, task_id, Status(body.status), message)
    with svc.sessions() as session:
        task = find_task(session, task_id)
    if not done:
        raise Conflict(f"task_id {task_id}", _why_not(task, server, body.status == 1))
    return ok(task_out(task))


def _delete(svc: Service, user: User, task_id: str) -> dict:
    with svc.sessions.begin() as session:
        task = visible_task(session, user, task_id)
        cancelled = session.execute(update(Task).where(Task.id == task.id, Task.status == Status.RUNNING)
                                    .values(status=Status.CANCELLED, lease_until=None)).rowcount == 1
        if not cancelled:
            session.execute(delete(Task).where(Task.id == task.id))
    svc.storage.delete(task_prefix(task))
    return ok(TaskDeleted(task_id=task_id, cancelled=cancelled))


@router.delete("/v1/tasks/{task_id}", response_model=Envelope[TaskDeleted])
def delete_task(task_id: str, user: User = Depends(current_user), svc: Service = Depends(service)):
    """Delete the task and its result files. A running task is cancelled instead (status 4):
    its server's next report gets 409, and then it is gone."""
    return _delete(svc, user, task_id)


@router.get("/v1/deltasks", response_model=Envelope[TaskDeleted])
def deltasks(task_id: str = Query(..., max_length=64), user: User = Depends(current_user),
             svc: Service = Depends(service)):
    """The paper's alias of DELETE /v1/tasks/{task_id}."""
    return _delete(svc, user, task_id)
