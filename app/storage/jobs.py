"""Reads and writes of jobs (docs/jobs.md): every state change is one conditional update.

A job moves ``queued → running → done | failed``, or to ``cancelled`` from either of the
first two. Workers may run a job more than once (a worker killed mid-job: the broker
delivers it again), so every write that ends a job, or records a part, is conditional on
the state it expects: only the first finish counts, the others change nothing.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.storage.models import JobPartRow, JobRow
from app.storage.repository import _aware, now

log = logging.getLogger("safe_passage.jobs")

STATES = ("queued", "running", "done", "failed", "cancelled")
FINAL = ("done", "failed", "cancelled")
JOB_CHANNEL = "safe_passage_jobs"
"""PostgreSQL: the channel every change of a job's row notifies, with its id (migration 0006)."""
RECONNECT_S = 1.0
"""Wait before the listener connects again after losing its connection."""


@dataclass(frozen=True)
class JobInfo:
    """A job as its owner sees it, without its answer."""

    id: str
    kind: str
    scenario_id: str
    version: int
    request: str
    request_sha256: str
    state: str
    created_by: str | None
    token_id: str | None
    idempotency_key: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int
    phase: str | None
    done: float | None
    total: float | None
    parts_total: int | None
    parts_done: int
    summary: dict[str, Any] | None
    problem: dict[str, Any] | None
    backend: str


class IdempotencyClash(Exception):
    """Another job already has this token's idempotency key (``existing``)."""

    def __init__(self, existing: JobInfo) -> None:
        super().__init__(existing.id)
        self.existing = existing


class JobStore:
    """Jobs in the service's database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._session = sessionmaker(engine, expire_on_commit=False)
        self._write = sessionmaker(engine.execution_options(immediate=True), expire_on_commit=False)

    @contextmanager
    def writing(self) -> Iterator[Session]:
        with self._write() as session, session.begin():
            yield session

    def create(self, **fields: Any) -> JobInfo:
        """A new queued job; :class:`IdempotencyClash` when its key is taken."""
        row = JobRow(state="queued", created_at=now(), attempts=0, parts_done=0, **fields)
        try:
            with self.writing() as s:
                s.add(row)
        except IntegrityError:
            existing = self.by_key(fields.get("token_id"), fields.get("idempotency_key"))
            if existing is None:
                raise
            raise IdempotencyClash(existing) from None
        return _info(row)

    def delete(self, job_id: str) -> None:
        """Forget a job the queue never took (its idempotency key is free again)."""
        with self.writing() as s:
            s.execute(delete(JobPartRow).where(JobPartRow.job_id == job_id))
            s.execute(delete(JobRow).where(JobRow.id == job_id))

    def by_key(self, token_id: str | None, key: str | None) -> JobInfo | None:
        if key is None:
            return None
        with self._session() as s:
            row = s.scalars(
                select(JobRow).where(JobRow.token_id == token_id, JobRow.idempotency_key == key)
            ).first()
            return None if row is None else _info(row)

    def get(self, job_id: str) -> JobInfo | None:
        with self._session() as s:
            row = s.get(JobRow, job_id)
            return None if row is None else _info(row)

    def result(self, job_id: str) -> bytes | None:
        """The answer's JSON text of a done job."""
        with self._session() as s:
            blob = s.scalar(select(JobRow.result).where(JobRow.id == job_id))
        return None if blob is None else zlib.decompress(blob)

    def unfinished(self, backend: str) -> list[JobInfo]:
        with self._session() as s:
            rows = s.scalars(
                select(JobRow).where(
                    JobRow.backend == backend, JobRow.state.in_(("queued", "running"))
                )
            ).all()
            return [_info(r) for r in rows]

    def claim(self, job_id: str) -> JobInfo | None:
        """Mark the job running (one more attempt); ``None`` when it has ended or is gone."""
        with self.writing() as s:  # one statement, one round trip: the job as changed
            row = s.scalars(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.state.in_(("queued", "running")))
                .values(state="running", attempts=JobRow.attempts + 1, started_at=now())
                .returning(JobRow),
                execution_options={"synchronize_session": False},
            ).one_or_none()
            return None if row is None else _info(row)

    def progress(self, job_id: str, phase: str, done: float, total: float | None) -> str | None:
        """Record how far a running job is; returns its state (``cancelled``: stop)."""
        with self.writing() as s:
            s.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.state == "running")
                .values(phase=phase, done=done, total=total)
            )
            state: str | None = s.scalar(select(JobRow.state).where(JobRow.id == job_id))
        return state

    def state(self, job_id: str) -> str | None:
        with self._session() as s:
            found: str | None = s.scalar(select(JobRow.state).where(JobRow.id == job_id))
            return found

    def finish(self, job_id: str, answer: bytes, summary: dict[str, Any]) -> bool:
        """Store the answer of a running job; False when it had ended already."""
        with self.writing() as s:
            changed = s.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.state == "running")
                .values(
                    state="done",
                    result=zlib.compress(answer, 6),
                    summary=summary,
                    finished_at=now(),
                    phase="done",
                    done=1.0,
                    total=1.0,
                )
            ).rowcount  # type: ignore[attr-defined]
        return bool(changed)

    def fail(self, job_id: str, problem: dict[str, Any]) -> bool:
        """A queued or running job failed with ``problem``; False when it had ended already."""
        with self.writing() as s:
            changed = s.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.state.in_(("queued", "running")))
                .values(state="failed", problem=problem, finished_at=now(), result=None)
            ).rowcount  # type: ignore[attr-defined]
        return bool(changed)

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued or running job; False when it had ended already."""
        with self.writing() as s:
            changed = s.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.state.in_(("queued", "running")))
                .values(state="cancelled", finished_at=now(), result=None)
            ).rowcount  # type: ignore[attr-defined]
        return bool(changed)

    def fan_out(self, job_id: str, base: bytes, specs: list[dict[str, Any]]) -> bool:
        """Keep the base answer and the parts to price; False when the job has ended (or
        another attempt fanned out already: its parts stand)."""
        with self.writing() as s:
            changed = s.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.state == "running", JobRow.parts_total.is_(None))
                .values(result=zlib.compress(base, 6), parts_total=len(specs), parts_done=0)
            ).rowcount  # type: ignore[attr-defined]
            if changed:
                s.add_all(
                    JobPartRow(job_id=job_id, index=i, spec=spec, state="pending")
                    for i, spec in enumerate(specs)
                )
        return bool(changed)

    def pending_parts(self, job_id: str) -> list[int]:
        with self._session() as s:
            return list(
                s.scalars(
                    select(JobPartRow.index).where(
                        JobPartRow.job_id == job_id, JobPartRow.state == "pending"
                    )
                )
            )

    def claim_part(self, job_id: str, index: int) -> tuple[str, dict[str, Any], int] | None:
        """Take up a part: one more attempt if it is pending; returns its state, spec and
        attempts after that (``None`` when there is no such part)."""
        with self.writing() as s:
            s.execute(
                update(JobPartRow)
                .where(
                    JobPartRow.job_id == job_id,
                    JobPartRow.index == index,
                    JobPartRow.state == "pending",
                )
                .values(attempts=JobPartRow.attempts + 1)
            )
            row = s.get(JobPartRow, (job_id, index))
            return None if row is None else (row.state, dict(row.spec), row.attempts)

    def finish_part(self, job_id: str, index: int, result: dict[str, Any]) -> tuple[int, int]:
        """Record a part's result once; returns ``(parts_done, parts_total)`` after it."""
        with self.writing() as s:
            first = s.execute(
                update(JobPartRow)
                .where(
                    JobPartRow.job_id == job_id,
                    JobPartRow.index == index,
                    JobPartRow.state == "pending",
                )
                .values(state="done", result=result)
            ).rowcount  # type: ignore[attr-defined]
            if first:
                s.execute(
                    update(JobRow)
                    .where(JobRow.id == job_id)
                    .values(parts_done=JobRow.parts_done + 1)
                )
            done, total = s.execute(
                select(JobRow.parts_done, JobRow.parts_total).where(JobRow.id == job_id)
            ).one()
        return int(done), int(total or 0)

    def part_results(self, job_id: str) -> list[dict[str, Any]]:
        with self._session() as s:
            rows = s.scalars(
                select(JobPartRow).where(JobPartRow.job_id == job_id).order_by(JobPartRow.index)
            ).all()
            return [dict(r.result or {}) for r in rows]


def listen_for_jobs(
    engine: Engine,
    tell: Callable[[str], None],
    stop: threading.Event,
    listening: Callable[[], None] = lambda: None,
) -> None:
    """PostgreSQL: call ``tell(job_id)`` for every change of a job, whoever made it, until
    ``stop`` is set (run it in a thread of its own). A lost connection is made again after
    :data:`RECONNECT_S`; ``listening`` is called each time it listens (news may have been
    missed in between: callers read their jobs again then)."""
    import psycopg

    conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    while not stop.is_set():
        try:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute(f"LISTEN {JOB_CHANNEL}")
                listening()
                while not stop.is_set():
                    for note in conn.notifies(timeout=RECONNECT_S):
                        tell(note.payload)
        except psycopg.Error as exc:
            log.warning(
                "job news: listening on PostgreSQL failed (%s); again in %g s", exc, RECONNECT_S
            )
            stop.wait(RECONNECT_S)


def _info(row: JobRow) -> JobInfo:
    return JobInfo(
        id=row.id,
        kind=row.kind,
        scenario_id=row.scenario_id,
        version=row.version,
        request=row.request,
        request_sha256=row.request_sha256,
        state=row.state,
        created_by=row.created_by,
        token_id=row.token_id,
        idempotency_key=row.idempotency_key,
        created_at=_aware(row.created_at),
        started_at=_aware(row.started_at) if row.started_at else None,
        finished_at=_aware(row.finished_at) if row.finished_at else None,
        attempts=row.attempts,
        phase=row.phase,
        done=row.done,
        total=row.total,
        parts_total=row.parts_total,
        parts_done=row.parts_done,
        summary=row.summary,
        problem=row.problem,
        backend=row.backend,
    )
