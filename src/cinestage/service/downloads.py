"""Stored files as HTTP responses, streamed: straight from disk when storage is local, in
chunks through the app otherwise."""

from __future__ import annotations

import mimetypes

from fastapi.responses import FileResponse, StreamingResponse
from starlette.responses import Response

from cinestage.service.context import NotFound
from cinestage.service.storage import Storage

mimetypes.add_type("text/yaml", ".yaml")
mimetypes.add_type("text/plain", ".bvh")
mimetypes.add_type("model/gltf+json", ".gltf")


def media_type(key: str) -> str:
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


def send_file(storage: Storage, key: str, source: str, filename: str | None = None) -> Response:
    """The file under `key`; 404 naming `source` when it is not there."""
    kind = media_type(key)
    disposition = {"content_disposition_type": "inline", "filename": filename} if filename else {}
    local = storage.local_path(key)
    if local is not None:
        if not local.is_file():
            raise NotFound(source, "the file is not in storage")
        return FileResponse(local, media_type=kind, **disposition)
    if not storage.exists(key):
        raise NotFound(source, "the file is not in storage")
    headers = {"content-length": str(storage.size(key))}
    if filename:
        headers["content-disposition"] = f'inline; filename="{filename}"'
    return StreamingResponse(storage.chunks(key), media_type=kind, headers=headers)
