"""The web app (service/web: one HTML page, a script and a style sheet, no build step), served
by the API's own process: `/` is the page, `/app/*` its files. It speaks only the /v1 API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

WEB = Path(__file__).with_name("web")


def mount_web(app: FastAPI) -> None:
    app.mount("/app", StaticFiles(directory=WEB), name="app")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(WEB / "index.html", headers={"Cache-Control": "no-cache"})
