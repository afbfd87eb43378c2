"""Tables. Scenario documents are immutable versions; a scenario row points at the newest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class ScenarioRow(Base):
    __tablename__ = "scenarios"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    current_version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    forked_from_id: Mapped[str | None] = mapped_column(String(200))
    """The scenario this one was forked from (a what-if), if any."""
    forked_from_version: Mapped[int | None] = mapped_column(Integer)


class ScenarioVersionRow(Base):
    __tablename__ = "scenario_versions"

    scenario_id: Mapped[str] = mapped_column(
        String(200), ForeignKey("scenarios.id"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    document: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    """The document as JSON, zlib-compressed (loaded only when read); None for a version
    stored as its edits."""
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    """None for a version stored as edits until its document is first read."""
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    node_count: Mapped[int] = mapped_column(Integer, nullable=False)
    edge_count: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(64))
    change: Mapped[str] = mapped_column(String(200), nullable=False)
    """What made this version, in words: created, replaced, 2 incident(s) added, …"""
    kind: Mapped[str | None] = mapped_column(String(20))
    """How: created, replaced, edited, incidents, forked (None: stored before kinds)."""
    author: Mapped[str | None] = mapped_column(Text)
    """The name of the token that made it."""
    reason: Mapped[str | None] = mapped_column(Text)
    base_version: Mapped[int | None] = mapped_column(Integer)
    """The version ``edits`` apply to, for a version stored as its edits."""
    edits: Mapped[list[dict[str, object]] | None] = mapped_column(JSON)
    """The edit list that made this version from the one before (kept for the record
    also when the whole document is stored)."""
    arrays: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    """Large scenarios only: nodes and roads as compressed columns (.npz), compiled from
    without parsing the JSON document."""
    arrays_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    """Size of ``arrays`` in bytes; None for scenarios stored as JSON alone."""


class TokenRow(Base):
    __tablename__ = "tokens"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditRow(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_scenario", "scenario_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    token_id: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(50), nullable=False)
    scenario_id: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, object] | None] = mapped_column(JSON)


class JobRow(Base):
    """A long computation run as a job (docs/jobs.md): what was asked, on which version,
    how far it is, and its answer or problem."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_scenario", "scenario_id"),
        Index("ix_jobs_idempotency", "token_id", "idempotency_key", unique=True),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    """What is computed: ``plan`` (plans, concession rankings and fleet plans)."""
    scenario_id: Mapped[str] = mapped_column(String(200), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    """The scenario version the job answers (resolved when it was submitted)."""
    request: Mapped[str] = mapped_column(Text, nullable=False)
    """The request body as JSON."""
    request_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    state: Mapped[str] = mapped_column(String(20), nullable=False)
    """queued, running, done, failed or cancelled."""
    token_id: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    """Times a worker started it (a worker killed mid-job makes one more)."""
    phase: Mapped[str | None] = mapped_column(Text)
    done: Mapped[float | None] = mapped_column(Float)
    total: Mapped[float | None] = mapped_column(Float)
    parts_total: Mapped[int | None] = mapped_column(Integer)
    """Pieces priced each as a task of its own (concessions), once fanned out."""
    parts_done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    result: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    """The answer as zlib-compressed JSON; while parts run, the base plan they complete."""
    summary: Mapped[dict[str, object] | None] = mapped_column(JSON)
    problem: Mapped[dict[str, object] | None] = mapped_column(JSON)
    """The RFC 9457 problem document of a failed job."""
    backend: Mapped[str] = mapped_column(String(20), nullable=False)


class JobPartRow(Base):
    """One piece of a job priced as a task of its own (a concession to re-plan)."""

    __tablename__ = "job_parts"

    job_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    spec: Mapped[dict[str, object]] = mapped_column(JSON, nullable=False)
    """What to price (the concession), as the domain describes it."""
    state: Mapped[str] = mapped_column(String(20), nullable=False)
    """pending or done."""
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    """Times a worker took it up while pending (bounded by ``job_attempts``)."""
    result: Mapped[dict[str, object] | None] = mapped_column(JSON)
