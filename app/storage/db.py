"""Engines, sessions and schema migrations for SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import SingletonThreadPool

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_LOCK_ID = 7_215_004_118  # advisory lock key for migrations on PostgreSQL


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``. SQLite: creates the directory, WAL journal, waits on locks.

    SQLite write transactions start with ``BEGIN IMMEDIATE`` (sessions bound to
    ``engine.execution_options(immediate=True)``), so two writers queue instead
    of failing when one tries to upgrade a read lock.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            immediate = conn.get_execution_options().get("immediate")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def reader_in_place(engine: Engine) -> Engine | None:
    """For a SQLite file: an engine on the same file with one connection per thread, for
    reads made in the event loop (a few microseconds each; in WAL mode a reader never waits
    for a writer). Its own connection never waits for the pool, which threads waiting to
    write may hold. None for other stores (PostgreSQL is read from the thread pool)."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return make_engine(url.render_as_string(hide_password=False), poolclass=SingletonThreadPool)


def hot_reader(engine: Engine) -> Engine | None:
    """For PostgreSQL: an engine for the read every computation makes, whose pool does not
    test a connection before handing it out (``pool_pre_ping``: a round trip per read); the
    reader retries once on a connection found closed instead. None for SQLite."""
    if engine.url.get_backend_name() != "postgresql":
        return None
    return make_engine(engine.url.render_as_string(hide_password=False), pool_pre_ping=False)


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision; safe to run from several replicas at once.

    On PostgreSQL an advisory lock makes concurrent upgrades wait for each other;
    the second finds nothing to do.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as conn:
        is_pg = conn.dialect.name == "postgresql"
        if is_pg:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_ID})
            conn.commit()
        try:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            conn.commit()
        finally:
            if is_pg:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_ID})
                conn.commit()


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (``None`` before the first upgrade)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
