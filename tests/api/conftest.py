"""The service on both backends: embedded SQLite and PostgreSQL (a fresh schema per test).

PostgreSQL: 127.0.0.1:5432, database ``test``, trust auth (CI starts it; elsewhere
``SAFE_PASSAGE_TEST_POSTGRES``). Without it the PostgreSQL cases are skipped, or fail under
``SAFE_PASSAGE_REQUIRE_SERVICES=1`` (tests/conftest.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api.app import create_app
from app.config import Settings
from tests.api import GRAPHS, TEACHING, Stored, Tokens, add_token, load, store
from tests.external import PG_DB, PG_HOST, PG_PORT, pg_connect

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str | None]:
    """``None`` for the default SQLite file under tmp_path; else a URL on a fresh schema."""
    if backend == "sqlite":
        yield None
        return
    from psycopg import sql

    conn, user = pg_connect()
    schema = "sp_" + secrets.token_hex(6)
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield (
            f"postgresql+psycopg://{user}@{PG_HOST}:{PG_PORT}/{PG_DB}"
            f"?options=-csearch_path%3D{schema}"
        )
    finally:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        conn.close()


@pytest.fixture
def make_settings(database_url: str | None, tmp_path: Path) -> Callable[..., Settings]:
    """Settings for this test's database; keyword arguments override single fields."""

    def make(**overrides: Any) -> Settings:
        fields: dict[str, Any] = {
            "data_dir": tmp_path,
            "database_url": database_url,
            "log_json": False,
            "demo_dir": GRAPHS,
        }
        fields.update(overrides)
        return Settings(**fields)

    return make


@pytest.fixture
def make_client(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., TestClient]]:
    """Start another app (a replica) on the same database, e.g. with other limits."""
    with ExitStack() as stack:

        def make(**overrides: Any) -> TestClient:
            app = create_app(make_settings(**overrides))
            return stack.enter_context(TestClient(app))

        yield make


@pytest.fixture
def app_client(make_client: Callable[..., TestClient]) -> TestClient:
    """A client of the service with default settings, its lifespan (migrations) run."""
    return make_client()


@pytest.fixture
def tokens(app_client: TestClient) -> Tokens:
    """Tokens named after their holders: vera (viewer), petra (planner), ada (admin)."""
    made = {
        role: add_token(app_client, role, name)
        for role, name in (("viewer", "vera"), ("planner", "petra"), ("admin", "ada"))
    }
    return Tokens(
        secrets={role: secret for role, (_, secret) in made.items()},
        ids={role: token_id for role, (token_id, _) in made.items()},
    )


@pytest.fixture
def teaching(app_client: TestClient, tokens: Tokens) -> Stored:
    """graphs/teaching.json stored by petra (planner) as version 1."""
    return store(app_client, tokens("planner"), load(TEACHING))
