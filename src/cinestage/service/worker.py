"""`cinestage worker`: a render server. It claims a queued task under a lease, keeps the lease
alive with heartbeats that carry the progress, shoots the task with its cameras fanned out
over an executor, uploads the results and reports the task done (or failed, with a one-line
reason).

One loop, two backends behind the small `Backend` protocol:
- `DatabaseBackend`: the API's own database and storage (a worker beside `cinestage serve`, or
  any machine that reaches both); it registers a `server` row for itself.
- `worker_http.HttpBackend`: the paper's protocol against the /v1 API, for a remote machine
  with only a server credential.

A task's life in the worker (run_task):

    claim -> download the inputs -> plan (every camera's track) -> restore the cameras an earlier
    attempt finished and uploaded (downloaded, not rendered again) -> fan the missing cameras out
    in groups, uploading each camera's files as its group finishes (its scores file last, so a
    stored scores file means the camera is complete) -> finish (contact sheet, manifest,
    assessment, best camera, programme, highlights, tags, report) -> upload the rest -> DONE

- progress: the render share (cameras done) then the finish share, sent every lease_s / 3;
- a heartbeat that finds the lease gone (expired and taken by another server, or the task
  cancelled) stops the work without reporting: the new holder owns the task;
- a bad input (a CinestageError, e.g. a clip that does not decode) -> FAILED {"error": one line};
  anything else -> FAILED with the error's class and message, logged with its traceback;
- `stop` set (SIGTERM): the camera groups running finish and are uploaded, no new one starts, the
  task goes back to the queue, and the loop ends.
"""

from __future__ import annotations

import json
import logging
import math
import os
import secrets
import shutil
import socket
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from cinestage.errors import CinestageError
from cinestage.pipeline import task_job
from cinestage.service import queue
from cinestage.service.db import Server, Status, Task, Video, hash_secret, migrate, sessions, utcnow
from cinestage.service.executor import ItemFailed, Stopped
from cinestage.service.storage import Storage, safe_name
from cinestage.settings import Settings

log = logging.getLogger(__name__)

RENDER_SHARE, FINISH_SHARE = 75.0, 20.0  # percent of a task's progress; uploads take the rest
MAX_ERROR = 500  # characters of an error kept in return_msg


class LeaseLost(Exception):
    """The task is no longer this server's (its lease expired and another took it, or it was cancelled)."""


@dataclass(frozen=True)
class Job:
    """A claimed task. camera_parameter: the task's JSON (protocol.CameraParameter plus the API's
    `motions`: file name -> vid of each motion the performance file uses); owner: the task's
    openid, where the backend knows it."""

    task_id: str
    task_type: str
    camera_parameter: dict = field(default_factory=dict)
    vid: str | None = None
    performance_vid: str | None = None
    attempt: int = 1
    owner: str | None = None


class Backend(Protocol):
    name: str
    lease_s: float

    def claim(self) -> Job | None: ...

    def heartbeat(self, job: Job, progress: float) -> bool: ...

    def finish(self, job: Job, status: Status, return_msg: dict) -> bool: ...

    def release(self, job: Job) -> None: ...

    def fetch_video(self, job: Job, vid: str, target: Path) -> Path: ...

    def stored(self, job: Job) -> list[str]: ...

    def download(self, job: Job, path: str, target: Path) -> Path: ...

    def upload(self, job: Job, path: str, source: Path) -> None: ...

    def close(self) -> None: ...


# ------------------------------------------------------------------------------ the database


class DatabaseBackend:
    """The queue and storage of `settings` (the same database and storage as the API)."""

    def __init__(self, settings: Settings | None = None, name: str | None = None):
        self.settings = settings or Settings()
        self.engine = migrate(self.settings.database())
        self.sessions = sessions(self.engine)
        self.storage = Storage(self.settings.storage())
        self.lease_s = float(self.settings.lease_s)
        self.name = name or f"worker@{socket.gethostname()}:{os.getpid()}"
        with self.sessions.begin() as session:
            # A local worker needs no credential: one nobody knows keeps the row's column filled.
            server = Server(name=self.name, credential_hash=hash_secret(secrets.token_hex(32)), last_time=utcnow())
            session.add(server)
        self.server_id = server.server_id

    def claim(self) -> Job | None:
        claim = queue.claim(self.sessions, self.server_id, self.lease_s)
        if claim is None:
            return None
        with self.sessions() as session:
            task = session.query(Task).filter(Task.task_id == claim.task_id).one()
        return Job(task.task_id, task.task_type, _json_object(task.camera_parameter), task.vid, task.performance_vid,
                   claim.attempt, task.openid)

    def heartbeat(self, job: Job, progress: float) -> bool:
        return queue.heartbeat(self.sessions, self.server_id, job.task_id, self.lease_s, progress)

    def finish(self, job: Job, status: Status, return_msg: dict) -> bool:
        return queue.finish(self.sessions, self.server_id, job.task_id, status, return_msg)

    def release(self, job: Job) -> None:
        queue.release(self.sessions, self.server_id, job.task_id)

    def _prefix(self, job: Job) -> str:
        return f"{job.owner}/tasks/{job.task_id}"

    def fetch_video(self, job: Job, vid: str, target: Path) -> Path:
        with self.sessions() as session:
            video = session.query(Video).filter(Video.vid == vid, Video.openid == job.owner).one_or_none()
        if video is None:
            raise CinestageError(f"vid {vid}", "no such upload of the task's owner (deleted?)")
        return self.storage.get_file(video.video_link, target)

    def stored(self, job: Job) -> list[str]:
        prefix = self._prefix(job)
        return [key[len(prefix) + 1:] for key in self.storage.keys(prefix)]

    def download(self, job: Job, path: str, target: Path) -> Path:
        return self.storage.get_file(f"{self._prefix(job)}/{path}", target)

    def upload(self, job: Job, path: str, source: Path) -> None:
        if not self._holds(job):
            raise LeaseLost(f"task {job.task_id} is no longer held by {self.name}")
        self.storage.put_file(f"{self._prefix(job)}/{path}", source)

    def _holds(self, job: Job) -> bool:
        with self.sessions() as session:
            task = session.query(Task).filter(Task.task_id == job.task_id).one_or_none()
        return task is not None and task.server_id == self.server_id and task.status == Status.RUNNING

    def close(self) -> None:
        self.engine.dispose()


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


# ------------------------------------------------------------------------------ one task


def one_line(text: str, limit: int = MAX_ERROR) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def task_spec(job: Job, reference: Path | None, performance: Path | None) -> task_job.TaskSpec:
    """The TaskSpec of a claimed task with its inputs downloaded."""
    from pydantic import ValidationError

    from cinestage.service.protocol import CameraParameter
    from cinestage.yaml_files import first_problem

    parameters = {k: v for k, v in job.camera_parameter.items() if k != "motions"}
    try:
        p = CameraParameter.model_validate(parameters)
    except ValidationError as exc:
        raise CinestageError("camera_parameter", first_problem(exc)) from None
    return task_job.TaskSpec(job.task_type, None if reference is None else str(reference),
                             None if performance is None else str(performance), p.duration, p.fps,
                             None if p.presets is None else tuple(p.presets), p.width, p.height, p.highlights)


def fetch_inputs(backend: Backend, job: Job, folder: Path) -> task_job.TaskSpec:
    """Download the task's reference clip, and its performance file with the motions it names
    beside it (under the names the file uses), into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    reference = performance = None
    if job.task_type == "shoot":
        if not job.vid:
            raise CinestageError(f"task {job.task_id}", "a shoot needs a reference clip (vid)")
        reference = backend.fetch_video(job, job.vid, folder / "reference.mp4")
    if job.performance_vid:
        performance = backend.fetch_video(job, job.performance_vid, folder / "performance" / "performance.yaml")
        motions = job.camera_parameter.get("motions") or {}
        for name, vid in (motions.items() if isinstance(motions, dict) else ()):
            if safe_name(str(name), "") != name or name == performance.name:
                raise CinestageError(f"motion {str(name)[:80]!r}", "not a plain file name")
            backend.fetch_video(job, str(vid), performance.parent / name)
    return task_spec(job, reference, performance)


class Heartbeat(threading.Thread):
    """Extends the lease every `interval` seconds with the latest progress; sets `lost` when
    the backend answers that the task is no longer ours."""

    def __init__(self, backend: Backend, job: Job, interval: float):
        super().__init__(name=f"heartbeat-{job.task_id[:8]}", daemon=True)
        self.backend, self.job, self.interval = backend, job, interval
        self.progress = 0.0
        self.lost = threading.Event()
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.interval):
            try:
                held = self.backend.heartbeat(self.job, self.progress)
            except Exception as exc:  # the network or database hiccuped: try again next beat
                log.warning("task %s: heartbeat failed (%s: %s); retrying", self.job.task_id, type(exc).__name__, exc)
                continue
            if not held:
                log.warning("task %s: the lease is lost (expired and taken, or cancelled); stopping work on it",
                            self.job.task_id)
                self.lost.set()
                return

    def stop(self) -> None:
        self._done.set()


@dataclass
class _Run:
    """One attempt at a task: where it works, what is uploaded, how far it is."""

    backend: Backend
    job: Job
    out: Path
    beat: Heartbeat
    stop: threading.Event
    uploaded: set[str] = field(default_factory=set)

    def check_lease(self) -> None:
        if self.beat.lost.is_set():
            raise LeaseLost(f"task {self.job.task_id}: lease lost")

    def check(self) -> None:
        self.check_lease()
        if self.stop.is_set():
            raise Stopped(f"task {self.job.task_id}: stopping")

    def upload(self, paths: list[str]) -> None:
        for path in paths:
            self.check_lease()
            self.backend.upload(self.job, path, self.out / path)
            self.uploaded.add(path)

    def progress(self, percent: float) -> None:
        self.beat.progress = max(self.beat.progress, min(99.0, percent))


def run_task(backend: Backend, executor, job: Job, stop: threading.Event, group_size: int | None = None) -> str:
    """Work on one claimed task; returns what became of it: "done", "failed", "lost" or "released"."""
    work = Path(tempfile.mkdtemp(prefix=f"cinestage-task-{job.task_id[:8]}-"))
    beat = Heartbeat(backend, job, max(0.2, backend.lease_s / 3))
    beat.start()
    run = _Run(backend, job, work / "out", beat, stop)
    try:
        message = _shoot(run, executor, work, group_size)
        run.check()
        if backend.finish(job, Status.DONE, message):
            log.info("task %s: done (attempt %d), best camera %s, %d files", job.task_id, job.attempt,
                     message["best"], len(message["files"]))
            return "done"
        log.warning("task %s: finished, but the lease was lost before the report; not reported", job.task_id)
        return "lost"
    except LeaseLost as exc:
        log.warning("%s; leaving the task to its new holder", exc)
        return "lost"
    except Stopped:
        try:
            backend.release(job)
        except Exception as release_error:  # its lease expires anyway
            log.warning("task %s: could not release it (%s); it returns to the queue when its lease expires",
                        job.task_id, release_error)
        log.info("task %s: stopped; released back to the queue", job.task_id)
        return "released"
    except Exception as exc:
        cause = exc.cause if isinstance(exc, ItemFailed) else exc
        # Inputs are named as the task knows them (reference.mp4, performance.yaml), not by this machine's folders.
        where = f"{work / 'inputs'}/"
        if isinstance(cause, CinestageError):
            error = one_line(str(cause).replace(where, ""))
            log.warning("task %s: failed: %s", job.task_id, error)
        else:
            error = one_line(f"{type(cause).__name__}: {cause}".replace(where, ""))
            log.error("task %s: failed unexpectedly: %s", job.task_id, error, exc_info=cause)
        if not beat.lost.is_set():
            try:
                backend.finish(job, Status.FAILED, {"error": error})
            except Exception as report_error:
                log.error("task %s: could not report the failure: %s", job.task_id, report_error)
        return "failed"
    finally:
        beat.stop()
        shutil.rmtree(work, ignore_errors=True)


def _shoot(run: _Run, executor, work: Path, group_size: int | None) -> dict:
    job, backend = run.job, run.backend
    spec = fetch_inputs(backend, job, work / "inputs")
    plan = task_job.plan(spec)
    run.check()
    restored = task_job.finished_cameras(plan.names, backend.stored(job))
    for name in restored:
        for path in task_job.camera_paths(name):
            backend.download(job, path, run.out / path)
    if restored:
        log.info("task %s: restored cameras %s from an earlier attempt (not rendered again)", job.task_id,
                 ", ".join(restored))
    missing = [n for n in plan.names if n not in restored]
    done = [len(restored)]
    run.progress(RENDER_SHARE * done[0] / len(plan.names))
    size = group_size or max(1, math.ceil(len(missing) / max(1, executor.workers)))
    groups = task_job.camera_groups(plan, missing, size)
    for group in groups:
        log.info("task %s: rendering cameras %s", job.task_id, ", ".join(group.names))

    def landed(group: task_job.CameraGroup, files: dict[str, bytes]) -> None:
        task_job.write_files(files, run.out)
        run.upload(list(files))  # in camera_paths order: each camera's scores file last
        done[0] += len(group.names)
        log.info("task %s: cameras %s rendered and uploaded", job.task_id, ", ".join(group.names))
        run.progress(RENDER_SHARE * done[0] / len(plan.names))
        run.check_lease()  # a stop lets the running groups land; map starts no new one

    executor.map(task_job.render_group_job, groups, on_result=landed, stop=run.stop)
    run.check()
    finished = task_job.finish(plan, run.out, lambda d, t: run.progress(RENDER_SHARE + FINISH_SHARE * d / max(t, 1)))
    run.check()
    restored_files = {p for name in restored for p in task_job.camera_paths(name)}
    results = sorted(p.relative_to(run.out).as_posix() for p in run.out.rglob("*")
                     if p.is_file() and not p.name.startswith("."))
    rest = [p for p in results if p not in run.uploaded and p not in restored_files]
    for k, path in enumerate(rest):
        run.check()
        run.upload([path])
        run.progress(RENDER_SHARE + FINISH_SHARE + (100 - RENDER_SHARE - FINISH_SHARE) * (k + 1) / len(rest))
    return {"files": results, "best": finished.best, "reason": finished.reason, "cameras": list(plan.names),
            "restored": restored, "notes": list(finished.notes), "problem": plan.problem,
            "delivered": finished.delivered, "attempt": job.attempt, "server": backend.name}


# ------------------------------------------------------------------------------ the loop


def run_worker(backend: Backend, executor, stop: threading.Event, once: bool = False, poll_s: float = 1.0,
               group_size: int | None = None) -> int:
    """Claim and work on tasks until `stop` is set (once: at most one task, and return at once
    when none is claimable). Returns how many tasks it worked on."""
    worked = 0
    log.info("%s: waiting for tasks (executor %s, %d worker(s), lease %.0f s)", backend.name,
             getattr(executor, "name", type(executor).__name__), getattr(executor, "workers", 1), backend.lease_s)
    while not stop.is_set():
        try:
            job = backend.claim()
        except Exception as exc:  # the database or API is unreachable for now
            log.warning("%s: cannot claim a task (%s: %s); retrying", backend.name, type(exc).__name__, exc)
            job = None
        if job is None:
            if once:
                break
            stop.wait(poll_s)
            continue
        log.info("task %s: claimed (%s, attempt %d)", job.task_id, job.task_type, job.attempt)
        run_task(backend, executor, job, stop, group_size)
        worked += 1
        if once:
            break
    return worked
