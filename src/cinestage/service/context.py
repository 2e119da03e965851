"""What every route needs, built once per app: settings, the database and the storage.

`create_app` puts one `Service` on `app.state.service`; routes take it with `Depends(service)`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from cinestage.errors import CinestageError
from cinestage.service.storage import Storage
from cinestage.settings import Settings

MB = 1 << 20


class Recent:
    """A small in-process memory of recent lookups, each fresh for `ttl` seconds (signed-in
    callers: a client polling a task's status is not looked up in the database every time).

    When an entry goes stale, one request refreshes it while the others keep using it for those
    few milliseconds, so fifty polling clients do not all hit the database at the same instant.
    """

    def __init__(self, ttl: float = 10.0, size: int = 10_000):
        self.ttl, self.size = ttl, size
        self._items: dict = {}
        self._refreshing: set = set()

    def get(self, key) -> tuple[Any, bool] | None:
        """(value, still fresh), or None when unknown."""
        found = self._items.get(key)
        return None if found is None else (found[1], found[0] >= time.monotonic())

    def refresh_by_me(self, key) -> bool:
        """True for the one caller that should refresh a stale entry now."""
        if key in self._refreshing:
            return False
        self._refreshing.add(key)
        return True

    def put(self, key, value) -> None:
        if len(self._items) >= self.size:
            self._items.clear()
        self._items[key] = (time.monotonic() + self.ttl, value)
        self._refreshing.discard(key)

    def forget(self, key) -> None:
        self._items.pop(key, None)
        self._refreshing.discard(key)


@dataclass
class Service:
    settings: Settings
    engine: Engine
    sessions: sessionmaker
    storage: Storage
    callers: Recent = field(default_factory=Recent)

    @property
    def max_upload(self) -> int:
        """Bytes one upload (a clip, a motion, a result file) may have."""
        return int(self.settings.max_upload_mb * MB)


async def service(request: Request) -> Service:
    return request.app.state.service


class ApiError(CinestageError):
    """A problem with a request, answered with `status` and the one-line message."""

    status = 400


class Invalid(ApiError):
    status = 422


class Unauthorized(ApiError):
    status = 401


class NotFound(ApiError):
    status = 404

    def __init__(self, source: str, problem: str = "not found"):
        super().__init__(source, problem)


class Conflict(ApiError):
    status = 409
