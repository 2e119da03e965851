"""The service's database: the paper's `video` and `task` tables (every column it names) plus
`user` and `server`, as SQLAlchemy 2 models. Alembic migrations (service/migrations) create
them; `migrate(url)` brings any database up to date.

SQLite (WAL mode, the default) or PostgreSQL by URL. Times are UTC, stored naive.

Ownership: every video and task carries the owner's `openid` (the paper's user id), and every
query the API makes goes through it, so no user reaches another's rows.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Engine, Float, ForeignKey, Integer, String, Text, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def new_id() -> str:
    """Public ids (vid, task_id, server_id): unguessable, URL-safe, 32 hex characters."""
    return secrets.token_hex(16)


def hash_secret(secret: str) -> str:
    """Tokens are stored hashed: a copied database does not sign anyone in."""
    return hashlib.sha256(secret.encode()).hexdigest()


class Status(enum.IntEnum):
    """task.status (an int in the paper)."""

    QUEUED = 0  # waiting for a render server ("not yet taken": GET /v1/tasks?all=0)
    RUNNING = 1  # held by a server under a lease
    DONE = 2
    FAILED = 3
    CANCELLED = 4


class VideoKind(str, enum.Enum):
    """What an upload is: a reference clip (the paper's video), a performance file, or a BVH motion."""

    CLIP = "clip"
    PERFORMANCE = "performance"
    MOTION = "motion"


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_time: Mapped[datetime] = mapped_column(default=utcnow)


class Video(Base):
    __tablename__ = "video"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vid: Mapped[str] = mapped_column(String(32), unique=True, index=True, default=new_id)
    video_link: Mapped[str] = mapped_column(Text)  # storage key of the uploaded file
    size: Mapped[float] = mapped_column(Float)  # bytes
    duration: Mapped[float] = mapped_column(Float, default=0.0)  # seconds (0 for non-video files)
    thumb: Mapped[str] = mapped_column(Text, default="")  # storage key of the thumbnail, if any
    upload_time: Mapped[datetime] = mapped_column(default=utcnow)
    openid: Mapped[str] = mapped_column(String(64), ForeignKey("user.openid", ondelete="CASCADE"), index=True)
    # cinestage: one table for every upload, with what it is and the name it was uploaded under.
    kind: Mapped[str] = mapped_column(String(16), default=VideoKind.CLIP.value)
    filename: Mapped[str] = mapped_column(String(255), default="")


class Task(Base):
    __tablename__ = "task"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[str] = mapped_column(String(32), unique=True, index=True, default=new_id)
    task_type: Mapped[str] = mapped_column(String(32))  # "shoot" (reference + performance) or "demo"
    status: Mapped[int] = mapped_column(Integer, default=Status.QUEUED, index=True)
    return_msg: Mapped[str] = mapped_column(Text, default="{}")  # JSON: result files, or the error
    vid: Mapped[str | None] = mapped_column(String(32), nullable=True)  # the reference clip
    start_time: Mapped[datetime | None] = mapped_column(nullable=True)
    end_time: Mapped[datetime | None] = mapped_column(nullable=True)
    openid: Mapped[str] = mapped_column(String(64), ForeignKey("user.openid", ondelete="CASCADE"), index=True)
    camera_parameter: Mapped[str] = mapped_column(Text, default="{}")  # JSON: presets, size, duration, ...
    command: Mapped[str] = mapped_column(Text, default="")  # the equivalent `cinestage` command line
    # cinestage: the performance upload, progress, and the queue's lease.
    performance_vid: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_time: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)  # percent
    server_id: Mapped[str | None] = mapped_column(String(32), nullable=True)  # the server holding it
    lease_until: Mapped[datetime | None] = mapped_column(nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class Server(Base):
    __tablename__ = "server"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    server_id: Mapped[str] = mapped_column(String(32), unique=True, index=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120))
    credential_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last_time: Mapped[datetime | None] = mapped_column(nullable=True)  # last contact (heartbeat)
    created_time: Mapped[datetime] = mapped_column(default=utcnow)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers (task status polls) never wait for the writer (a worker's progress update).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def engine_for(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def migrate(url: str) -> Engine:
    """Run the Alembic migrations up to head on `url`, and return an engine for it."""
    from alembic import command
    from alembic.config import Config

    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    engine = engine_for(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return engine


def sessions(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)
