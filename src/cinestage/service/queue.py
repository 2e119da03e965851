"""The task queue in the database: render servers claim tasks under a lease, keep it alive with
heartbeats, and finish them. The API (for remote servers) and the local worker use the same
functions, so both follow one protocol.

A claim is one conditional UPDATE (status queued, or running with an expired lease) checked by
its row count: on SQLite it runs inside the writer's transaction, on PostgreSQL the candidate
row is first locked with SELECT ... FOR UPDATE SKIP LOCKED so concurrent servers never wait on
each other. Only the server holding the lease can report on or finish a task, so a server
whose lease expired (it was killed, or lost the network) cannot complete a task twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from cinestage.service.db import Server, Status, Task, utcnow

MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Claim:
    """A task a server now holds until `lease_until` unless it heartbeats."""

    task_id: str
    attempt: int
    lease_until: datetime


def claimable(now: datetime):
    """Tasks no server holds: queued, or running under a lease that has expired."""
    return or_(Task.status == Status.QUEUED, (Task.status == Status.RUNNING) & (Task.lease_until < now))


def touch_server(session: Session, server_id: str, now: datetime) -> None:
    session.execute(update(Server).where(Server.server_id == server_id).values(last_time=now))


def claim(sessions: sessionmaker, server_id: str, lease_s: float, task_id: str | None = None) -> Claim | None:
    """Take the oldest claimable task (or `task_id`, if it is claimable) for `server_id`."""
    now = utcnow()
    with sessions.begin() as session:
        touch_server(session, server_id, now)
        query = select(Task.id, Task.task_id, Task.attempts).where(claimable(now))
        if task_id is not None:
            query = query.where(Task.task_id == task_id)
        query = query.order_by(Task.id).limit(1)
        if session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = session.execute(query).first()
        if row is None:
            return None
        if row.attempts >= MAX_ATTEMPTS:
            _give_up(session, row.id, now)
            return None
        lease_until = now + timedelta(seconds=lease_s)
        taken = session.execute(
            update(Task).where(Task.id == row.id, claimable(now))
            .values(status=Status.RUNNING, server_id=server_id, lease_until=lease_until,
                    attempts=Task.attempts + 1, start_time=now, end_time=None)
        ).rowcount
        return Claim(row.task_id, row.attempts + 1, lease_until) if taken == 1 else None


def _give_up(session: Session, row_id: int, now: datetime) -> None:
    message = json.dumps({"error": f"the task was interrupted {MAX_ATTEMPTS} times (its server stopped reporting); "
                                   "not retried again"})
    session.execute(update(Task).where(Task.id == row_id)
                    .values(status=Status.FAILED, end_time=now, lease_until=None, return_msg=message))


def _held(task_id: str, server_id: str):
    return (Task.task_id == task_id) & (Task.server_id == server_id) & (Task.status == Status.RUNNING)


def heartbeat(sessions: sessionmaker, server_id: str, task_id: str, lease_s: float, progress: float | None = None) -> bool:
    """Extend the lease (and record progress, percent). False: the server no longer holds the task."""
    now = utcnow()
    values: dict = {"lease_until": now + timedelta(seconds=lease_s)}
    if progress is not None:
        values["progress"] = float(min(max(progress, 0.0), 100.0))
    with sessions.begin() as session:
        touch_server(session, server_id, now)
        return session.execute(update(Task).where(_held(task_id, server_id)).values(**values)).rowcount == 1


def finish(sessions: sessionmaker, server_id: str, task_id: str, status: Status, return_msg: dict) -> bool:
    """Mark a held task done or failed with its result files (or error). False: not held."""
    if status not in (Status.DONE, Status.FAILED):
        raise ValueError(f"a task finishes as DONE or FAILED, not {status!r}")
    now = utcnow()
    values = {"status": status, "end_time": now, "lease_until": None, "return_msg": json.dumps(return_msg)}
    if status == Status.DONE:
        values["progress"] = 100.0
    with sessions.begin() as session:
        touch_server(session, server_id, now)
        return session.execute(update(Task).where(_held(task_id, server_id)).values(**values)).rowcount == 1


def release(sessions: sessionmaker, server_id: str, task_id: str) -> bool:
    """Give a held task back to the queue (a server shutting down cleanly)."""
    with sessions.begin() as session:
        return session.execute(update(Task).where(_held(task_id, server_id))
                               .values(status=Status.QUEUED, server_id=None, lease_until=None)).rowcount == 1
