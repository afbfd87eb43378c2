"""Alembic environment: runs on the connection handed over by app.storage.db.upgrade."""

from __future__ import annotations

from alembic import context

from app.storage.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - always called through app.storage.db
    raise RuntimeError("run migrations with `safe-passage db upgrade`")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
