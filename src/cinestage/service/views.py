"""Rows as protocol bodies, the envelope, storage keys and download URLs, and the ownership
queries every route goes through (another user's object is simply not found: 404)."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel
from urllib.parse import quote

from sqlalchemy import Engine, bindparam, func, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from cinestage.service.context import NotFound
from cinestage.service.db import Server, Status, Task, User, Video
from cinestage.service.protocol import ServerOut, TaskOut, UserOut, VideoOut
from cinestage.service.storage import Storage

T = TypeVar("T")
BEST = "best.mp4"  # the chosen camera's video among a task's results
MAX_OFFSET = 10**9  # pagination offsets beyond any real table (and within every SQL integer)


def ok(data: Any) -> dict:
    return {"code": 0, "message": "ok", "data": data}


def ok_json(model: BaseModel) -> Response:
    """The envelope around a body that is already validated, serialized once (hot routes)."""
    return Response(b'{"code":0,"message":"ok","data":' + model.__pydantic_serializer__.to_json(model) + b"}",
                    media_type="application/json")


# --- storage keys and URLs -----------------------------------------------------------------

def video_key(openid: str, vid: str, name: str) -> str:
    return f"{openid}/videos/{vid}/{name}"


def video_prefix(openid: str, vid: str) -> str:
    return f"{openid}/videos/{vid}"


def thumb_key(openid: str, vid: str) -> str:
    return f"{openid}/thumbs/{vid}.jpg"


def task_prefix(task: Task) -> str:
    return f"{task.openid}/tasks/{task.task_id}"


def result_files(storage: Storage, task: Task) -> list[str]:
    """The task's stored result files, as paths relative to its folder."""
    prefix = task_prefix(task)
    return [key[len(prefix) + 1:] for key in storage.keys(prefix)]


def result_url(task_id: str, path: str) -> str:
    return f"/v1/tasks/{task_id}/files/{quote(path)}"


# --- bodies --------------------------------------------------------------------------------

def user_out(user: User) -> UserOut:
    return UserOut(openid=user.openid, name=user.name, created_time=user.created_time)


def server_out(server: Server) -> ServerOut:
    return ServerOut(server_id=server.server_id, name=server.name, last_time=server.last_time,
                     created_time=server.created_time)


def video_out(video: Video) -> VideoOut:
    return VideoOut(vid=video.vid, video_link=f"/v1/videos/{video.vid}/file", size=video.size,
                    duration=video.duration, thumb=f"/v1/videos/{video.vid}/thumb" if video.thumb else "",
                    upload_time=video.upload_time, openid=video.openid, kind=video.kind, filename=video.filename)


def _json(text: str) -> dict:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {"value": value}


def results(task: Task) -> dict[str, Any]:
    """return_msg as data: its `files` (result paths, filled by the API when a task finishes)
    become download URLs keyed by path; every other key (`error`, ...) passes through."""
    message = _json(task.return_msg)
    files = message.pop("files", None)
    out = dict(message)
    if isinstance(files, list):
        out.update({p: result_url(task.task_id, p) for p in files if isinstance(p, str)})
    return out


def task_out(task: Task) -> TaskOut:
    done = task.status == Status.DONE
    return TaskOut(task_id=task.task_id, task_type=task.task_type, status=task.status, progress=task.progress,
                   results=results(task), vid=task.vid, performance_vid=task.performance_vid,
                   camera_parameter=_json(task.camera_parameter), command=task.command,
                   created_time=task.created_time, start_time=task.start_time, end_time=task.end_time,
                   video_download_link=result_url(task.task_id, BEST) if done else None,
                   attempts=task.attempts, server_id=task.server_id)


# --- queries -------------------------------------------------------------------------------

def page(session: Session, query, offset: int, limit: int) -> tuple[int, list]:
    """(total, rows offset..offset+limit) of an ordered select."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    return int(total or 0), list(session.scalars(query.offset(offset).limit(limit)))


def own_video(session: Session, user: User, vid: str, lock: bool = False) -> Video:
    query = select(Video).where(Video.vid == vid, Video.openid == user.openid)
    video = session.scalars(query.with_for_update() if lock else query).first()
    if video is None:
        raise NotFound(f"vid {vid}")
    return video


_TASK = Task.__table__
_TASK_BY_ID = select(_TASK).where(_TASK.c.task_id == bindparam("task_id"))


def read_task(engine: Engine, caller: User | Server, task_id: str):
    """`visible_task` without an ORM session: a read-only row with the task's columns (the
    status route, which clients poll)."""
    with engine.connect() as conn:
        task = conn.execute(_TASK_BY_ID, {"task_id": task_id}).first()
    if task is None or (isinstance(caller, User) and task.openid != caller.openid):
        raise NotFound(f"task_id {task_id}")
    return task


def find_task(session: Session, task_id: str) -> Task:
    task = session.scalars(select(Task).where(Task.task_id == task_id)).first()
    if task is None:
        raise NotFound(f"task_id {task_id}")
    return task


def visible_task(session: Session, caller: User | Server, task_id: str) -> Task:
    """A user sees their own tasks, a render server every task."""
    task = find_task(session, task_id)
    if isinstance(caller, User) and task.openid != caller.openid:
        raise NotFound(f"task_id {task_id}")
    return task


def holds(server: Server, task: Task) -> bool:
    return task.status == Status.RUNNING and task.server_id == server.server_id
