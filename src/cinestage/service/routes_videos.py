"""/v1/videos: every upload (reference clips, performance files, BVH motions), its file and its
thumbnail.

An upload is streamed into `staging/<vid>/` and checked there; only a file that passed goes
under its owner's key and gets its row, so a rejected, oversized or cut-off upload leaves
neither a stored file nor a row.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import or_, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from cinestage.service.auth import current_caller, current_user
from cinestage.service.context import Conflict, Invalid, NotFound, Service, service
from cinestage.service.db import Server, Status, Task, User, Video, new_id
from cinestage.service.downloads import send_file
from cinestage.service.protocol import Envelope, VideoDeleted, VideoOut, VideoPage
from cinestage.service.storage import CHUNK, Storage, safe_name
from cinestage.service.uploads import DEFAULT_NAMES, KINDS, LIMITS, check_upload
from cinestage.service.views import MAX_OFFSET, ok, own_video, page, thumb_key, video_key, video_out, video_prefix

router = APIRouter(tags=["videos"])


def _local(storage: Storage, key: str, workdir: Path) -> Path:
    """The stored file as a path on this machine (a copy when storage is remote)."""
    return storage.local_path(key) or storage.get_file(key, workdir / key.rpartition("/")[2])


UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary", "description": "the clip, PERFORMANCE.yaml or BVH file"},
        "kind": {"type": "string", "enum": list(KINDS), "default": "clip"}}}}}}}


@router.post("/v1/videos", status_code=201, response_model=Envelope[VideoOut], openapi_extra=UPLOAD_BODY)
async def upload(request: Request, user: User = Depends(current_user), svc: Service = Depends(service)):
    """Upload (multipart: `file`, `kind`) a reference clip (it must decode; its duration and a
    thumbnail are taken), a performance file (YAML that cinestage reads, motions named by file
    name) or a BVH motion. The body is read only once the caller is known."""
    form = await request.form(max_files=1, max_fields=1)
    try:
        file, kind = form.get("file"), form.get("kind", "clip")
        if not isinstance(file, UploadFile):
            raise Invalid("file", "required: the file to upload, as a multipart/form-data part with a file name")
        if kind not in KINDS:
            raise Invalid("kind", f"must be one of {', '.join(KINDS)}")
        video = await run_in_threadpool(_store, svc, user, file, kind)
    finally:
        await form.close()
    return ok(video_out(video))


def _store(svc: Service, user: User, file: UploadFile, kind: str) -> Video:
    storage = svc.storage
    vid = new_id()
    name = safe_name(file.filename or "", DEFAULT_NAMES[kind])
    staging, key, thumb = f"staging/{vid}", video_key(user.openid, vid, name), thumb_key(user.openid, vid)
    limit = min(svc.max_upload, LIMITS.get(kind, svc.max_upload))
    kept: list[str] = []
    try:
        size = storage.put_stream(f"{staging}/upload/{name}", iter(lambda: file.file.read(CHUNK), b""), limit)
        with tempfile.TemporaryDirectory(prefix="cinestage-upload-") as work:
            checked = check_upload(kind, _local(storage, f"{staging}/upload/{name}", Path(work)), name, Path(work))
            if checked.thumb is not None:
                storage.put_file(f"{staging}/thumb.jpg", checked.thumb)
        kept.append(video_prefix(user.openid, vid))
        storage.move(f"{staging}/upload/{name}", key)
        if checked.thumb is not None:
            kept.append(thumb)
            storage.move(f"{staging}/thumb.jpg", thumb)
        video = Video(vid=vid, video_link=key, size=float(size), duration=checked.duration,
                      thumb=thumb if checked.thumb is not None else "", openid=user.openid, kind=kind, filename=name)
        with svc.sessions.begin() as session:
            session.add(video)
    except BaseException:
        for prefix in kept:
            storage.delete(prefix)
        raise
    finally:
        storage.delete(staging)
    return video


@router.get("/v1/videos", response_model=Envelope[VideoPage])
def list_videos(offset: int = Query(0, ge=0, le=MAX_OFFSET), limit: int = Query(20, ge=1, le=100),
                user: User = Depends(current_user), svc: Service = Depends(service)):
    """The caller's uploads, newest first."""
    query = select(Video).where(Video.openid == user.openid).order_by(Video.upload_time.desc(), Video.id.desc())
    with svc.sessions() as session:
        total, rows = page(session, query, offset, limit)
    return ok(VideoPage(total=total, offset=offset, limit=limit, videos=[video_out(v) for v in rows]))


@router.get("/v1/videos/{vid}", response_model=Envelope[VideoOut])
def get_video(vid: str, user: User = Depends(current_user), svc: Service = Depends(service)):
    with svc.sessions() as session:
        return ok(video_out(own_video(session, user, vid)))


def _server_video(session, server: Server, vid: str) -> Video:
    """A file a render server may fetch: one that a task it holds uses, or a motion of that task's owner."""
    video = session.scalars(select(Video).where(Video.vid == vid)).first()
    if video is None:
        raise NotFound(f"vid {vid}")
    uses = [Task.vid == vid, Task.performance_vid == vid]
    if video.kind == "motion":
        uses.append(Task.openid == video.openid)
    held = select(Task.id).where(Task.status == Status.RUNNING, Task.server_id == server.server_id, or_(*uses))
    if session.scalar(held.limit(1)) is None:
        raise NotFound(f"vid {vid}")
    return video


@router.get("/v1/videos/{vid}/file", responses={200: {"content": {"application/octet-stream": {}}}})
def video_file(vid: str, caller: User | Server = Depends(current_caller), svc: Service = Depends(service)):
    """The uploaded file, streamed: for its owner, or for a render server holding a task that uses it."""
    with svc.sessions() as session:
        video = own_video(session, caller, vid) if isinstance(caller, User) else _server_video(session, caller, vid)
    return send_file(svc.storage, video.video_link, f"vid {vid}", video.filename)


@router.get("/v1/videos/{vid}/thumb", responses={200: {"content": {"image/jpeg": {}}}})
def video_thumb(vid: str, user: User = Depends(current_user), svc: Service = Depends(service)):
    with svc.sessions() as session:
        video = own_video(session, user, vid)
    if not video.thumb:
        raise NotFound(f"vid {vid}", "has no thumbnail")
    return send_file(svc.storage, video.thumb, f"vid {vid}")


def _delete(svc: Service, user: User, vid: str) -> dict:
    with svc.sessions.begin() as session:
        video = own_video(session, user, vid, lock=True)
        uses = [Task.vid == vid, Task.performance_vid == vid, Task.camera_parameter.contains(vid)]
        busy = session.scalar(select(Task.task_id).where(Task.openid == user.openid, or_(*uses),
                                                         Task.status.in_([Status.QUEUED, Status.RUNNING])).limit(1))
        if busy is not None:
            raise Conflict(f"vid {vid}", f"task {busy} (queued or running) uses it; delete or wait for that task first")
        session.delete(video)
    # The row goes first: a row never points at a deleted file.
    svc.storage.delete(video_prefix(user.openid, vid))
    if video.thumb:
        svc.storage.delete(video.thumb)
    return ok(VideoDeleted(vid=vid))


@router.delete("/v1/videos/{vid}", response_model=Envelope[VideoDeleted])
def delete_video(vid: str, user: User = Depends(current_user), svc: Service = Depends(service)):
    """Delete the upload and its files (409 while a queued or running task uses it)."""
    return _delete(svc, user, vid)


@router.get("/v1/delvideos", response_model=Envelope[VideoDeleted])
def delvideos(vid: str = Query(..., max_length=64), user: User = Depends(current_user), svc: Service = Depends(service)):
    """The paper's alias of DELETE /v1/videos/{vid}."""
    return _delete(svc, user, vid)
