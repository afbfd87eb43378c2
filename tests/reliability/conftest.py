"""The API tests' fixtures (a service on SQLite or PostgreSQL, tokens per role), shared here."""

from tests.api.conftest import (  # noqa: F401
    app_client,
    backend,
    database_url,
    make_client,
    make_settings,
    teaching,
    tokens,
)
