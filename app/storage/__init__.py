"""Persistence: SQLAlchemy 2 models, a repository, Alembic migrations.

Embedded SQLite by default; PostgreSQL for several replicas. Nothing outside
this package speaks SQL.
"""
