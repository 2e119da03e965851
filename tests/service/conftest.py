"""Fixtures for the service's tests: an app over a fresh database and storage folder, signed-up
users, registered render servers, real uploads, and a throwaway PostgreSQL.

`database` is parametrized over SQLite and PostgreSQL, so every test that uses an app runs on
both. The PostgreSQL cluster comes from Debian's binaries (/usr/lib/postgresql/15/bin): one
per test session, on a free port in a temporary folder, with a fresh database per test; those
tests are skipped (with the reason) when the binaries or psycopg are missing.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from service_support import Account, free_port, make_video, register_server, sign_up, upload

from cinestage.service.api import create_app
from cinestage.settings import Settings

PG_BIN = Path("/usr/lib/postgresql/15/bin")
DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


# --- PostgreSQL ----------------------------------------------------------------------------

def _as_owner(owner: str | None) -> list[str]:
    """initdb and postgres refuse to run as root: run them as `owner` then."""
    return ["runuser", "-u", owner, "--"] if owner else []


@pytest.fixture(scope="session")
def postgres_server():
    """postgresql+psycopg://postgres@127.0.0.1:PORT of a cluster that lives for the session."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL 15 binaries not found in {PG_BIN} (Debian: apt-get install postgresql-15)")
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'psycopg[binary]')")
    owner = None
    if os.geteuid() == 0:
        owner = next((u for u in ("postgres", "nobody") if _user_exists(u)), None)
        if owner is None or shutil.which("runuser") is None:
            pytest.skip("running as root, and there is no 'postgres'/'nobody' user (or no runuser) to run PostgreSQL as")
    root = Path(tempfile.mkdtemp(prefix="cinestage-pg-"))
    root.chmod(0o755)
    if owner:
        shutil.chown(root, owner)
    data, port = root / "data", free_port()
    run = lambda *args: subprocess.run([*_as_owner(owner), *map(str, args)], check=True, capture_output=True, text=True)  # noqa: E731
    try:
        run(PG_BIN / "initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        run(PG_BIN / "pg_ctl", "-D", data, "-l", root / "log", "-w", "-t", "60", "start", "-o",
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -F -c max_connections=200")
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"could not start a throwaway PostgreSQL: {exc.stderr.strip() or exc}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([*_as_owner(owner), str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _admin(server_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(server_url.replace("+psycopg", "") + "/postgres", autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture
def pg_database(postgres_server):
    """A fresh, empty database on the session's cluster; dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    _admin(postgres_server, f'CREATE DATABASE "{name}"')
    yield f"{postgres_server}/{name}"
    _admin(postgres_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cinestage.db'}"
    return request.getfixturevalue("pg_database")


# --- the app -------------------------------------------------------------------------------

@pytest.fixture
def settings(tmp_path, database) -> Settings:
    return Settings(data_dir=str(tmp_path / "data"), database_url=database, storage_url="",
                    max_upload_mb=2.0, lease_s=30.0, signup=True)


@pytest.fixture
def app(settings):
    return create_app(settings)


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


def _user(name: str):
    @pytest.fixture(name=name)
    def signed_up(client) -> Account:
        return sign_up(client, name)
    return signed_up


def _server(name: str, server_name: str):
    @pytest.fixture(name=name)
    def registered(app) -> Account:
        return register_server(app, server_name)
    return registered


alice, bob = _user("alice"), _user("bob")  # two users
server, server2 = _server("server", "render-1"), _server("server2", "render-2")  # two render servers


# --- uploads -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def tiny_video() -> bytes:
    return make_video()


@pytest.fixture(scope="session")
def real_clip() -> Path:
    """The shortest real clip of ../shared/data/videos (by size)."""
    folder = DATA / "videos"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent: the real clips (see ../shared/data/MANIFEST.md) are not on this machine")
    return min(folder.glob("*.mp4"), key=lambda p: p.stat().st_size)


@pytest.fixture
def clip(client, alice, tiny_video) -> dict:
    """Alice's uploaded reference clip (VideoOut)."""
    r = upload(client, alice, tiny_video)
    assert r.status_code == 201, r.text
    return r.json()["data"]


