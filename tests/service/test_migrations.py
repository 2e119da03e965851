"""`db.migrate` on an empty database creates every table (SQLite and PostgreSQL); a second run
changes nothing."""

from __future__ import annotations

from sqlalchemy import inspect, text

from cinestage.service.db import Base, migrate

TABLES = {"user", "video", "task", "server"}


def _schema(engine) -> dict:
    found = inspect(engine)
    return {t: sorted((c["name"], str(c["type"])) for c in found.get_columns(t)) for t in found.get_table_names()}


def test_migrate_creates_every_table_and_is_idempotent(database):
    engine = migrate(database)
    try:
        schema = _schema(engine)
        assert TABLES | {"alembic_version"} == set(schema)
        for table in TABLES:  # every column of the models, nothing missing
            assert {c.name for c in Base.metadata.tables[table].columns} == {name for name, _ in schema[table]}
        with engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
            conn.execute(text("INSERT INTO \"user\" (openid, name, token_hash, created_time) "
                              "VALUES ('o', 'n', 'h', CURRENT_TIMESTAMP)"))
            conn.commit()
    finally:
        engine.dispose()
    again = migrate(database)
    try:
        assert _schema(again) == schema
        with again.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == version
            assert conn.execute(text("SELECT count(*) FROM \"user\"")).scalar() == 1  # data kept
            if again.dialect.name == "sqlite":
                assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        again.dispose()
