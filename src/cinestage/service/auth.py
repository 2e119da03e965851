"""Who is calling: FastAPI dependencies that turn the request's credentials into a `User` or a
`Server`, or answer 401.

- users: `Authorization: Bearer <token>`;
- render servers: `Authorization: Bearer <credential>` plus `AFS-SERVER-ID: <server_id>`.

Only hashes of secrets are stored (db.hash_secret); the stored and the computed hash are compared
in constant time, and a server id that does not exist costs the same comparison, so timing tells
nothing about which part was wrong. The headers are read directly (one dependency per route,
the cheapest FastAPI offers; the OpenAPI schema still names the schemes). A caller found is remembered for a few seconds
(`Service.callers`), so a client polling a task does not cost a database lookup per request;
failures are never remembered. The objects returned are detached rows, for reading.
"""

from __future__ import annotations

import hmac

from fastapi import Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from cinestage.service.context import Service, Unauthorized
from cinestage.service.db import Server, User, hash_secret
from cinestage.service.protocol import SERVER_HEADER

# How the OpenAPI schema describes these (api.py adds them to each route by the dependency it uses).
SECURITY_SCHEMES = {
    "token": {"type": "http", "scheme": "bearer",
              "description": "a user's token, or a render server's credential (with AFS-SERVER-ID)"},
    "server_id": {"type": "apiKey", "in": "header", "name": SERVER_HEADER,
                  "description": "a render server's id; send it with the server's credential as bearer token"},
}
USER, SERVER = {"token": []}, {"token": [], "server_id": []}
_NO_MATCH = hash_secret("no server has this credential")
TOKEN_COOKIE = "cinestage_token"  # set by the web app (service/web/app.js)


def _credentials(request: Request) -> tuple[str, str | None]:
    """(bearer secret, AFS-SERVER-ID or None); 401 without a bearer secret."""
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and secret.strip():
        return secret.strip(), request.headers.get(SERVER_HEADER) or None
    # The web app's <video> and <img> elements cannot send a header, so a user's token may also
    # come from its same-site cookie, for reading only: a cookie never authorises a change.
    cookie = request.cookies.get(TOKEN_COOKIE, "").strip() if request.method in ("GET", "HEAD") else ""
    if cookie:
        return cookie, None
    raise Unauthorized("Authorization", "missing: send 'Authorization: Bearer <token>'")


def find_user(svc: Service, digest: str) -> User:
    with svc.sessions() as session:
        user = session.scalars(select(User).where(User.token_hash == digest)).first()
    if user is None or not hmac.compare_digest(user.token_hash, digest):
        raise Unauthorized("Authorization", "the token does not belong to any user")
    return user


def find_server(svc: Service, digest: str, server_id: str) -> Server:
    with svc.sessions() as session:
        server = session.scalars(select(Server).where(Server.server_id == server_id)).first()
    stored = server.credential_hash if server is not None else _NO_MATCH
    if not hmac.compare_digest(stored, digest) or server is None:
        raise Unauthorized(SERVER_HEADER, "unknown server id, or the credential does not match it")
    return server


async def _lookup(request: Request, secret: str, server_id: str | None) -> User | Server:
    svc: Service = request.app.state.service
    digest = hash_secret(secret)
    key = (digest, server_id)
    known = svc.callers.get(key)
    if known is not None and (known[1] or not svc.callers.refresh_by_me(key)):
        return known[0]
    try:
        if server_id:
            found = await run_in_threadpool(find_server, svc, digest, server_id)
        else:
            found = await run_in_threadpool(find_user, svc, digest)
    except BaseException:
        svc.callers.forget(key)
        raise
    svc.callers.put(key, found)
    return found


async def current_user(request: Request) -> User:
    """The signed-in user; 401 for anyone else (render servers included)."""
    secret, _ = _credentials(request)
    return await _lookup(request, secret, None)


async def current_server(request: Request) -> Server:
    """The calling render server; 401 for anyone else (users included)."""
    secret, server_id = _credentials(request)
    if not server_id:
        raise Unauthorized(SERVER_HEADER, "missing: only render servers may do this")
    return await _lookup(request, secret, server_id)


async def current_caller(request: Request) -> User | Server:
    """A render server when the request names one (AFS-SERVER-ID), otherwise a user."""
    return await _lookup(request, *_credentials(request))


SECURITY = {current_user: [USER], current_server: [SERVER], current_caller: [USER, SERVER]}
