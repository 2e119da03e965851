"""The /v1 HTTP API (the paper's routes, with users, uploads, downloads and the render servers'
queue protocol) as a FastAPI app. OpenAPI at /openapi.json, interactive docs at /docs.

    uvicorn --factory cinestage.service.api:create_app     # settings from CINESTAGE_* variables

Every answer is the envelope {"code": 0, "message": "ok", "data": ...}; every problem the client
caused is {"code": <4xx>, "message": "<input>: <problem>", "data": null} with that status,
never a 500 (see service/protocol.py for the bodies, routes.md for the contract).
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from cinestage.errors import CinestageError, MotionError, PerformanceError, VideoError
from cinestage.service import routes_results, routes_tasks, routes_users, routes_videos
from cinestage.service.auth import SECURITY, SECURITY_SCHEMES
from cinestage.service.context import MB, ApiError, Service, Unauthorized
from cinestage.service.db import migrate, sessions
from cinestage.service.limits import TOO_LARGE, BodyLimit, too_large_message
from cinestage.service.protocol import Envelope
from cinestage.service.storage import Storage, TooLarge
from cinestage.service.webapp import mount_web
from cinestage.settings import Settings

log = logging.getLogger(__name__)
JSON_LIMIT = 1 * MB  # JSON bodies (sign-up, new task, reports); uploads have their own limit
MULTIPART_SLACK = 64 * 1024  # part headers and boundaries around an upload of the maximum size
ERRORS = {status: {"model": Envelope[None], "description": text} for status, text in (
    (400, "malformed request (a body that cannot be parsed)"), (403, "sign-up is closed"), (401, "not signed in (user token, or server credential with AFS-SERVER-ID)"), (404, "no such object for the caller"),
    (409, "conflicts with the object's state (a lease, a task using it)"), (413, "upload over the size limit"),
    (422, "invalid input"))}


def _answer(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"code": status, "message": " ".join(message.split()), "data": None}, status, headers=headers)


def status_of(exc: CinestageError) -> int:
    if isinstance(exc, ApiError):
        return exc.status
    if isinstance(exc, TooLarge):
        return 413
    if isinstance(exc, (VideoError, MotionError, PerformanceError)):
        return 422
    return 400


async def _cinestage_error(_request: Request, exc: CinestageError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    return _answer(status_of(exc), str(exc), headers)


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {"loc": ("request",), "msg": "invalid"}
    loc = [str(p) for p in first.get("loc", ())]
    where = ".".join(loc[1:] if len(loc) > 1 and loc[0] in ("body", "query", "path", "header") else loc) or "request"
    return _answer(422, f"{where}: {first.get('msg', 'invalid')}")


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    if TOO_LARGE in request.scope:  # the body parser failed because BodyLimit cut the body off
        return _answer(413, too_large_message(request.scope[TOO_LARGE]))
    return _answer(exc.status_code, f"{request.method} {request.url.path}: {exc.detail}", exc.headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("%s %s failed", request.method, request.url.path)
    return _answer(500, f"{request.method} {request.url.path}: internal error ({type(exc).__name__})")


def _document_security(app: FastAPI, routes: list) -> None:
    """Name the auth schemes in the OpenAPI schema, on each route by the caller it depends on."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
            for route in routes:
                calls = {d.call for d in route.dependant.dependencies}
                security = next((SECURITY[c] for c in calls if c in SECURITY), None)
                for method in route.methods if security else ():
                    schema["paths"][route.path_format][method.lower()]["security"] = security
        return app.openapi_schema

    app.openapi = openapi


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API over `settings`' database (migrated to the latest schema) and storage."""
    settings = settings or Settings()
    engine = migrate(settings.database())
    storage = Storage(settings.storage())
    for path in storage.sweep():
        log.warning("removed %s: left behind by a write that was killed", path)
    svc = Service(settings, engine, sessions(engine), storage)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        engine.dispose()

    app = FastAPI(title="cinestage", version="1", lifespan=lifespan, responses=ERRORS,
                  summary="Automatic virtual cinematography: upload a reference clip, shoot a performance, "
                          "download the cameras.")
    app.state.service = svc
    app.add_exception_handler(CinestageError, _cinestage_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    routers = [m.router for m in (routes_users, routes_videos, routes_tasks, routes_results)]
    for router in routers:
        app.include_router(router)
    app.add_middleware(BodyLimit, json_limit=JSON_LIMIT, upload_limit=svc.max_upload + MULTIPART_SLACK)
    _document_security(app, [route for router in routers for route in router.routes])
    mount_web(app)
    return app
