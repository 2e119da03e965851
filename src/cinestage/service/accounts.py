"""Creating users and render servers. Their secrets (a user's token, a server's credential) are
returned once and only their hashes are stored; `POST /v1/users`, `cinestage user add` and
`cinestage server add` all come here."""

from __future__ import annotations

import secrets

from sqlalchemy.orm import sessionmaker

from cinestage.errors import CinestageError
from cinestage.service.db import Server, User, hash_secret, new_id


def _checked_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 120:
        raise CinestageError(repr(name), "a name needs 1 to 120 characters")
    return name


def _add(sessions: sessionmaker, make):
    """A new row made by `make(hash of its secret)`, and the secret (shown once)."""
    secret = secrets.token_urlsafe(32)
    row = make(hash_secret(secret))
    with sessions.begin() as session:
        session.add(row)
    return row, secret


def add_user(sessions: sessionmaker, name: str) -> tuple[User, str]:
    """A new user and their token."""
    name = _checked_name(name)
    return _add(sessions, lambda digest: User(openid=new_id(), name=name, token_hash=digest))


def add_server(sessions: sessionmaker, name: str) -> tuple[Server, str]:
    """A new render server and its credential."""
    name = _checked_name(name)
    return _add(sessions, lambda digest: Server(server_id=new_id(), name=name, credential_hash=digest))
