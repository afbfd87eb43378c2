"""What some tests need from outside Python: PostgreSQL, RabbitMQ and Debian's Chromium.

Tests marked ``postgres``, ``rabbitmq`` or ``browser`` need them. ``tests/conftest.py``
probes each once per run; when one is missing its tests are skipped with a one-line
reason, or fail when ``SAFE_PASSAGE_REQUIRE_SERVICES=1`` (set by ``.ci/run``: CI never
skips them silently).

Where the tests look (environment variables, read when the tests start):

- ``SAFE_PASSAGE_TEST_POSTGRES``: ``HOST:PORT/DATABASE`` of a PostgreSQL server with trust
  auth for user ``postgres`` or ``root`` (default ``127.0.0.1:5432/test``). Each test works
  in a schema of its own, created and dropped by the test.
- ``SAFE_PASSAGE_TEST_RABBITMQ``: the RabbitMQ broker of the job queue's tests (default
  ``amqp://guest:guest@127.0.0.1:5672/``); each test uses a queue of its own. The broker
  restart test also starts a private RabbitMQ node (``rabbitmq-server``) on another port.
- ``SAFE_PASSAGE_CHROMIUM``: the Chromium binary Playwright drives (default
  ``/usr/bin/chromium``, Debian's package: ``scripts/install-browser`` installs it).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

REQUIRE_ENV = "SAFE_PASSAGE_REQUIRE_SERVICES"
POSTGRES_ENV = "SAFE_PASSAGE_TEST_POSTGRES"
CHROMIUM_ENV = "SAFE_PASSAGE_CHROMIUM"


def services_required() -> bool:
    """True when a missing PostgreSQL or Chromium must fail the run (CI), not skip tests."""
    return os.environ.get(REQUIRE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def _postgres_target() -> tuple[str, int, str]:
    value = os.environ.get(POSTGRES_ENV, "").strip() or "127.0.0.1:5432/test"
    address, _, database = value.partition("/")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not database:
        raise pytest.UsageError(f"{POSTGRES_ENV}={value!r}: expected HOST:PORT/DATABASE")
    return host, int(port), database


PG_HOST, PG_PORT, PG_DB = _postgres_target()
PG_USERS = ("postgres", "root")


def _chromium() -> Path:
    value = os.environ.get(CHROMIUM_ENV, "").strip() or "/usr/bin/chromium"
    found = shutil.which(value) if os.sep not in value else None  # a bare name: on PATH
    return Path(found or value)


CHROMIUM = _chromium()


def _cause(error: Exception) -> str:
    """The gist of a libpq error: 'Connection refused', 'role "root" does not exist'…"""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    first = lines[0] if lines else type(error).__name__
    gist = first.rsplit("failed: ", 1)[-1]
    return gist if len(gist) <= 80 else gist[:79] + "…"


def _try_connect(connect_timeout: int) -> tuple[Any, str] | str:
    """An autocommit connection and its user, or why there is none (one line)."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed: python3 -m pip install -e '.[test]'"
    causes: dict[str, str] = {}
    for user in PG_USERS:
        try:
            conn = psycopg.connect(
                host=PG_HOST,
                port=PG_PORT,
                dbname=PG_DB,
                user=user,
                connect_timeout=connect_timeout,
                autocommit=True,
            )
        except psycopg.OperationalError as exc:
            causes.setdefault(_cause(exc), user)
            continue
        return conn, user
    return (
        f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT}, database {PG_DB!r} "
        f"({'; '.join(causes)}); set {POSTGRES_ENV}=HOST:PORT/DATABASE"
    )


def pg_connect() -> tuple[Any, str]:
    """An autocommit psycopg connection to the test database and the user it connected as.

    The run-wide probe has found the server when this is called, so failing to connect now
    is an error of its own: the test fails.
    """
    found = _try_connect(connect_timeout=5)
    if isinstance(found, str):
        pytest.fail(found, pytrace=False)
    return found


def postgres_missing() -> str | None:
    """Why the ``postgres`` tests cannot run here, or None when they can."""
    found = _try_connect(connect_timeout=3)
    if isinstance(found, str):
        return found
    found[0].close()
    return None


def browser_missing() -> str | None:
    """Why the ``browser`` tests cannot run here, or None when they can."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return (
            f"Chromium not found at {CHROMIUM}: run scripts/install-browser "
            f"(Debian's chromium), or set {CHROMIUM_ENV}"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed: python3 -m pip install -e '.[test]'"
    return None


RABBITMQ_ENV = "SAFE_PASSAGE_TEST_RABBITMQ"
RABBITMQ_URL = os.environ.get(RABBITMQ_ENV, "").strip() or "amqp://guest:guest@127.0.0.1:5672/"
RABBITMQ_SERVER = shutil.which("rabbitmq-server") or "/usr/sbin/rabbitmq-server"


def rabbitmq_missing() -> str | None:
    """Why the ``rabbitmq`` tests cannot run here (the job queue's broker), or None."""
    try:
        import pika
    except ImportError:
        return "pika is not installed: python3 -m pip install -e '.[test]'"
    try:
        params = pika.URLParameters(RABBITMQ_URL)
        params.socket_timeout = params.blocked_connection_timeout = 3
        pika.BlockingConnection(params).close()
    except Exception as exc:
        return f"RabbitMQ is not reachable at {RABBITMQ_URL} ({exc!r:.80}); set {RABBITMQ_ENV}"
    return None


#: Marker name -> the probe that says why its tests cannot run here.
PROBES = {"postgres": postgres_missing, "browser": browser_missing, "rabbitmq": rabbitmq_missing}
