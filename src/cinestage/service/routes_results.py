"""/v1/tasks/{task_id}/files: a task's result files. The render server holding the task uploads
them (raw body, streamed); its owner (and that server) lists and downloads them."""

from __future__ import annotations

import anyio
from anyio import from_thread, to_thread
from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from cinestage.service.auth import current_caller, current_server
from cinestage.service.context import Conflict, Invalid, Service, service
from cinestage.service.db import Server, Task, User
from cinestage.service.downloads import send_file
from cinestage.service.protocol import Envelope, FileStored
from cinestage.service.storage import safe_name
from cinestage.service.views import holds, ok, result_files, task_prefix, visible_task

router = APIRouter(tags=["results"])
MAX_PATH = 255
RAW_BODY = {"requestBody": {"required": True, "content": {
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}


def result_path(path: str) -> str:
    """A result file's path inside its task's folder: plain names ('letters, digits, . _ -', not
    starting with a dot) separated by '/'; anything else (.., absolute, empty parts) is refused."""
    parts = path.split("/")
    if len(path) > MAX_PATH or any(not part or safe_name(part, "") != part for part in parts):
        raise Invalid(f"path {path[:80]!r}", "a result path is names of letters, digits, '.', '_' and '-' "
                                              "(not starting with '.') separated by '/'")
    return path


def _readable(svc: Service, caller: User | Server, task_id: str) -> Task:
    """The task, for its owner or the server holding it."""
    with svc.sessions() as session:
        task = visible_task(session, caller, task_id)
    if isinstance(caller, Server) and not holds(caller, task):
        raise Conflict(f"task_id {task_id}", "not held by this server")
    return task


@router.get("/v1/tasks/{task_id}/files", response_model=Envelope[list[str]])
def list_results(task_id: str, caller: User | Server = Depends(current_caller), svc: Service = Depends(service)):
    """The result files' paths (download each at /v1/tasks/{task_id}/files/{path})."""
    return ok(result_files(svc.storage, _readable(svc, caller, task_id)))


@router.get("/v1/tasks/{task_id}/files/{path:path}",
            responses={200: {"content": {"application/octet-stream": {}}}})
def get_result(task_id: str, path: str, caller: User | Server = Depends(current_caller),
               svc: Service = Depends(service)):
    """One result file, streamed, typed by its extension."""
    path = result_path(path)
    task = _readable(svc, caller, task_id)
    return send_file(svc.storage, f"{task_prefix(task)}/{path}", f"path {path}")


def _blocking(stream):
    """An async byte stream as a plain iterator, for a worker thread started by anyio."""
    chunks = stream.__aiter__()
    while True:
        try:
            chunk = from_thread.run(chunks.__anext__)
        except StopAsyncIteration:
            return
        if chunk:
            yield chunk


@router.put("/v1/tasks/{task_id}/files/{path:path}", response_model=Envelope[FileStored], openapi_extra=RAW_BODY)
async def put_result(request: Request, task_id: str, path: str, server: Server = Depends(current_server),
                     svc: Service = Depends(service)):
    """Store one result file (the raw request body, streamed) for a task this server holds."""
    path = result_path(path)
    task = await run_in_threadpool(_readable, svc, server, task_id)
    key = f"{task_prefix(task)}/{path}"
    size = await to_thread.run_sync(svc.storage.put_stream, key, _blocking(request.stream()), svc.max_upload)
    try:
        await run_in_threadpool(_readable, svc, server, task_id)
    except BaseException:
        # The task was cancelled or lost while its file came in: keep nothing of it.
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(svc.storage.delete, key)
        raise
    return ok(FileStored(path=path, size=size))
