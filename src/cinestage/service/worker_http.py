"""The worker's backend for a remote render server: the paper's protocol against the /v1 API,
with a server credential (`cinestage server add NAME` prints the id and credential once).

    GET  /v1/tasks?all=0                  claimable tasks (queued, or their lease expired)
    POST /v1/tasks/{id} {"status": 1}     claim (409: another server was faster) or, once held,
                                          heartbeat with {"progress": percent}
    GET  /v1/videos/{vid}/file            the task's inputs (clip, performance file, motions)
    GET  /v1/tasks/{id}/files             result files already stored (an earlier attempt's)
    GET/PUT /v1/tasks/{id}/files/{path}   download / upload one result file (raw body, streamed)
    POST /v1/tasks/{id} {"status": 2|3, "return_msg": {...}}   done / failed
    POST /v1/tasks/{id} {"status": 0}     give the task back to the queue (shutting down)

Every request carries `Authorization: Bearer <credential>` and `AFS-SERVER-ID: <server_id>`.
A 409 on a heartbeat, an upload or the final report means the lease is no longer this
server's. The protocol has no "give back" report: a stopped worker's task returns to the
queue when its lease expires.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable, TypeVar
from urllib.parse import quote

import httpx

from cinestage.errors import CinestageError
from cinestage.files import atomic_path
from cinestage.service.db import Status
from cinestage.service.protocol import SERVER_HEADER, Report
from cinestage.service.worker import Job, LeaseLost

log = logging.getLogger(__name__)

CHUNK = 1 << 20
T = TypeVar("T")
TRIES = 3  # attempts of an idempotent request (GET, PUT) that failed on the network


class ApiProblem(CinestageError):
    """The API refused a request (its status and one-line message)."""

    def __init__(self, source: str, problem: str, status: int = 0):
        self.status = status
        super().__init__(source, problem)

    def __reduce__(self):
        return type(self), (self.source, self.problem, self.status)


class HttpBackend:
    def __init__(self, api_url: str, server_id: str, credential: str, lease_s: float = 60.0,
                 transport: httpx.BaseTransport | None = None, timeout: float = 60.0):
        self.name = f"server {server_id}"
        self.server_id = server_id
        self.lease_s = float(lease_s)  # how often to heartbeat (every lease_s / 3): the API's lease length
        self.client = httpx.Client(base_url=api_url.rstrip("/"), transport=transport, timeout=timeout,
                                   headers={"Authorization": f"Bearer {credential}", SERVER_HEADER: server_id})

    # --- requests ---------------------------------------------------------------------------

    @staticmethod
    def _retried(what: str, action: Callable[[], T], tries: int = TRIES) -> T:
        """`action` again after a network failure (for requests that may be repeated)."""
        for attempt in range(1, tries + 1):
            try:
                return action()
            except httpx.TransportError as exc:
                if attempt == tries:
                    raise
                log.warning("%s failed (%s); retrying", what, exc)
                time.sleep(0.5 * attempt)
        raise AssertionError("unreachable")

    def _request(self, method: str, url: str, retry: bool = True, **kwargs) -> httpx.Response:
        return self._retried(f"{method} {url}", lambda: self.client.request(method, url, **kwargs), TRIES if retry else 1)

    @staticmethod
    def _data(response: httpx.Response, source: str):
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 400:
            message = body.get("message") if isinstance(body, dict) else None
            raise ApiProblem(source, f"HTTP {response.status_code}: {message or response.reason_phrase}",
                             response.status_code)
        return body.get("data") if isinstance(body, dict) else None

    def _report(self, job_id: str, report: Report) -> dict | None:
        """POST a report; None on 409 (not ours)."""
        response = self._request("POST", f"/v1/tasks/{quote(job_id)}", retry=False,
                                 json=report.model_dump(mode="json", exclude_none=True))
        if response.status_code == 409:
            return None
        return self._data(response, f"task {job_id}")

    def _save(self, url: str, target: Path, source: str) -> Path:
        def get() -> Path:
            with self.client.stream("GET", url) as response:
                if response.status_code >= 400:
                    response.read()
                    self._data(response, source)
                with atomic_path(target) as tmp, open(tmp, "wb") as f:
                    for chunk in response.iter_bytes(CHUNK):
                        f.write(chunk)
            return target

        return self._retried(f"GET {url}", get)

    # --- the Backend protocol -----------------------------------------------------------------

    def claim(self) -> Job | None:
        page = self._data(self._request("GET", "/v1/tasks", params={"all": 0, "limit": 20}), "tasks")
        for task in page["tasks"]:
            held = self._report(task["task_id"], Report(status=1))
            if held is None:
                continue  # another server was faster
            return Job(held["task_id"], held["task_type"], dict(held.get("camera_parameter") or {}), held.get("vid"),
                       held.get("performance_vid"), int(held.get("attempts") or 1))
        return None

    def heartbeat(self, job: Job, progress: float) -> bool:
        return self._report(job.task_id, Report(status=1, progress=round(min(max(progress, 0.0), 100.0), 2))) is not None

    def finish(self, job: Job, status: Status, return_msg: dict) -> bool:
        return self._report(job.task_id, Report(status=int(status), return_msg=return_msg)) is not None

    def release(self, job: Job) -> None:
        if self._report(job.task_id, Report(status=0)) is None:
            log.info("task %s: no longer held by %s, nothing to give back", job.task_id, self.name)

    def fetch_video(self, job: Job, vid: str, target: Path) -> Path:
        return self._save(f"/v1/videos/{quote(vid)}/file", target, f"vid {vid}")

    def stored(self, job: Job) -> list[str]:
        response = self._request("GET", f"/v1/tasks/{quote(job.task_id)}/files")
        if response.status_code == 409:
            raise LeaseLost(f"task {job.task_id}: not held by {self.name}")
        return [str(p) for p in self._data(response, f"task {job.task_id}")]

    def download(self, job: Job, path: str, target: Path) -> Path:
        return self._save(f"/v1/tasks/{quote(job.task_id)}/files/{quote(path)}", target, f"result {path}")

    def upload(self, job: Job, path: str, source: Path) -> None:
        url = f"/v1/tasks/{quote(job.task_id)}/files/{quote(path)}"

        def put() -> httpx.Response:
            with open(source, "rb") as f:
                return self.client.put(url, content=iter(lambda: f.read(CHUNK), b""),
                                       headers={"Content-Type": "application/octet-stream"})

        response = self._retried(f"PUT {url}", put)
        if response.status_code == 409:
            raise LeaseLost(f"task {job.task_id}: not held by {self.name} (upload of {path} refused)")
        self._data(response, f"result {path}")

    def close(self) -> None:
        self.client.close()
