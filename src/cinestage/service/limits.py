"""Request body limits, answered with the API's envelope: 413 before anything is read when
Content-Length says too much, and as soon as a streamed (chunked) body passes the limit.

Uploads (POST /v1/videos, PUT of a task's result file) may carry up to the upload limit plus
some multipart framing; every other body is JSON and small.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cinestage.service.storage import TooLarge

TOO_LARGE = "cinestage.body_too_large"  # scope flag: the body was cut off at the limit


def is_upload(method: str, path: str) -> bool:
    return (method == "POST" and path.rstrip("/") == "/v1/videos") or (method == "PUT" and path.startswith("/v1/tasks/"))


class BodyLimit:
    def __init__(self, app: ASGIApp, json_limit: int, upload_limit: int):
        self.app, self.json_limit, self.upload_limit = app, json_limit, upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_limit if is_upload(scope["method"], scope["path"]) else self.json_limit
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, limit)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    scope[TOO_LARGE] = limit
                    raise TooLarge("body", f"larger than the limit of {limit} bytes")
            return message

        await self.app(scope, limited, send)


def too_large_message(limit: int) -> str:
    return f"body: larger than the limit of {limit} bytes"


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps({"code": 413, "message": too_large_message(limit), "data": None}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
