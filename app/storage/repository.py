"""The repository: every read and write of scenarios, versions, tokens and the audit log.

Writes of a scenario are compare-and-set on its current version: exactly one of
several writers holding the same version wins, the others get
:class:`VersionConflict`, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Select, bindparam, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.storage.audit import AUDIT_INTERVAL_S, AuditBatcher
from app.storage.db import hot_reader, reader_in_place
from app.storage.models import AuditRow, ScenarioRow, ScenarioVersionRow, TokenRow

_CURRENT_VERSION = select(ScenarioRow.current_version).where(
    ScenarioRow.id == bindparam("scenario_id"), ScenarioRow.deleted.is_(False)
)
"""Asked on every computation (see :class:`_OneValue`)."""


class _OneValue:
    """A SELECT of one value, compiled once for the engine's dialect and run through the
    DB-API on a pooled connection.

    For the read every computation makes (a scenario's current version): through a
    SQLAlchemy connection it took 110 µs on SQLite (transaction, events, result objects),
    this way 25 µs, against a route answered in well under a millisecond. The SELECT is a
    transaction of its own: on SQLite the connection is in autocommit already; on
    PostgreSQL it is switched to autocommit for the read (no ``BEGIN`` and ``ROLLBACK``
    round trips; psycopg's setting, client side) and back before it returns to the pool.
    """

    def __init__(self, engine: Engine, statement: Select[Any]) -> None:
        compiled = statement.compile(dialect=engine.dialect)
        self.sql = str(compiled)
        self.positions = compiled.positiontup
        self.engine = engine
        self.switch_autocommit = engine.dialect.name == "postgresql"

    def __call__(self, **params: Any) -> Any:
        """The value (None: no row). On an operational error (a connection the server
        closed: it restarted) the read is made once more on a new connection: the pool this
        reads from does not test connections before handing them out (a round trip)."""
        args = tuple(params[n] for n in self.positions) if self.positions else params
        try:
            return self._read(args)
        except self.engine.dialect.loaded_dbapi.OperationalError:
            return self._read(args)

    def _read(self, args: Any) -> Any:
        connection = self.engine.raw_connection()
        driver: Any = connection.driver_connection
        try:
            if self.switch_autocommit:
                driver.autocommit = True
            cursor = connection.cursor()
            try:
                cursor.execute(self.sql, args)
                row = cursor.fetchone()
            finally:
                cursor.close()
            if self.switch_autocommit:
                driver.autocommit = False
        except BaseException:
            connection.invalidate()  # closed, or left in autocommit: not back to the pool
            raise
        finally:
            connection.close()
        return None if row is None else row[0]


class VersionConflict(Exception):
    """The scenario changed since the version the writer read (or the id is taken)."""

    def __init__(self, current: int | None) -> None:
        super().__init__(f"current version is {current}")
        self.current = current


class ScenarioMissing(Exception):
    """No scenario with that id (or it was deleted)."""


@dataclass(frozen=True)
class VersionInfo:
    scenario_id: str
    version: int
    name: str | None
    created_at: datetime
    created_by: str | None
    change: str
    size_bytes: int | None
    """Bytes of the document; None for a version stored as edits until it is first read."""
    sha256: str | None
    node_count: int
    edge_count: int
    arrays_bytes: int | None = None
    """Size of the columns stored beside the document, else None."""
    kind: str | None = None
    """How the version was made: created, replaced, edited, incidents, forked."""
    author: str | None = None
    """The name of the token that made it."""
    reason: str | None = None
    edits: list[dict[str, Any]] | None = None
    """The edits that made it from the version before (edited and incidents versions)."""
    base_version: int | None = None
    """For a version stored as its edits: the version they apply to."""
    forked_from: tuple[str, int] | None = None
    """The scenario and version this scenario was forked from, if any."""


@dataclass(frozen=True)
class EncodedDocument:
    """A version as stored: its document and columns, or the edits that make it."""

    blob: bytes | None
    """The JSON text, zlib-compressed; None for a version stored as its edits."""
    size: int | None
    """Bytes of the JSON text (None with ``blob``: taken when the version is first read)."""
    sha256: str | None
    """SHA-256 of the JSON text."""
    arrays: bytes | None = None
    """Columns (.npz)."""
    base_version: int | None = None
    """With ``blob`` None: the version the change's edits apply to."""


@dataclass(frozen=True)
class Change:
    """How a version was made, by whom and why."""

    kind: str
    """created, replaced, edited, incidents, forked."""
    detail: str
    """In words: "created", "2 incident(s) added", "forked from aleppo version 3"…"""
    author: str | None = None
    reason: str | None = None
    edits: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class TokenInfo:
    id: str
    name: str | None
    role: str
    created_at: datetime
    revoked_at: datetime | None


def now() -> datetime:
    return datetime.now(UTC)


class Repository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._writer = engine.execution_options(immediate=True)
        self._hot = hot_reader(engine)
        self._current_version = _OneValue(self._hot or engine, _CURRENT_VERSION)
        self._in_place = reader_in_place(engine)
        self._current_version_in_place = (
            _OneValue(self._in_place, _CURRENT_VERSION) if self._in_place is not None else None
        )
        self._write = sessionmaker(self._writer, expire_on_commit=False)
        self.audit_batch: AuditBatcher | None = None
        """Set while computation records are written in batches (:meth:`batch_audit`)."""

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with self._read() as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A write transaction; computation records queued before it are written first."""
        self.flush_audit()
        with self._write() as session, session.begin():
            yield session

    def dispose(self) -> None:
        """Close every connection (when the service stops)."""
        self.engine.dispose()
        for other in (self._in_place, self._hot):
            if other is not None:
                other.dispose()

    def ping(self) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT 1")).scalar() == 1

    # Scenarios -------------------------------------------------------------

    def create_scenario(
        self,
        scenario_id: str,
        name: str | None,
        stored: EncodedDocument,
        counts: tuple[int, int],
        actor: str | None,
        change: Change,
        audit: dict[str, Any] | None = None,
        *,
        forked_from: tuple[str, int] | None = None,
    ) -> VersionInfo:
        """Store a new scenario at version 1. Raises :class:`VersionConflict` if the id exists."""
        stamp = now()
        try:
            with self.writing() as s:
                s.add(
                    ScenarioRow(
                        id=scenario_id,
                        name=name,
                        current_version=1,
                        created_at=stamp,
                        updated_at=stamp,
                        deleted=False,
                        forked_from_id=forked_from[0] if forked_from else None,
                        forked_from_version=forked_from[1] if forked_from else None,
                    )
                )
                s.flush()
                row = self._add_version(s, scenario_id, 1, stored, counts, stamp, actor, change)
                if audit:
                    s.add(_audit(stamp, scenario_id=scenario_id, version=1, **audit))
        except IntegrityError:
            raise VersionConflict(None) from None
        return _info(row, name, forked_from)

    def replace_scenario(
        self,
        scenario_id: str,
        expected_version: int,
        name: str | None,
        stored: EncodedDocument,
        counts: tuple[int, int],
        actor: str | None,
        change: Change,
        audit: dict[str, Any] | None = None,
    ) -> VersionInfo:
        """Store a new version if the current one is ``expected_version`` (compare and set)."""
        stamp = now()
        new_version = expected_version + 1
        try:
            with self.writing() as s:
                result = s.execute(
                    update(ScenarioRow)
                    .where(
                        ScenarioRow.id == scenario_id,
                        ScenarioRow.current_version == expected_version,
                        ScenarioRow.deleted.is_(False),
                    )
                    .values(current_version=new_version, updated_at=stamp, name=name)
                )
                if result.rowcount != 1:  # type: ignore[attr-defined]
                    current = s.execute(
                        select(ScenarioRow.current_version).where(
                            ScenarioRow.id == scenario_id, ScenarioRow.deleted.is_(False)
                        )
                    ).scalar()
                    if current is None:
                        raise ScenarioMissing(scenario_id)
                    raise VersionConflict(current)
                row = self._add_version(
                    s, scenario_id, new_version, stored, counts, stamp, actor, change
                )
                if audit:
                    s.add(_audit(stamp, scenario_id=scenario_id, version=new_version, **audit))
        except IntegrityError:
            raise VersionConflict(None) from None
        return _info(row, name)

    def delete_scenario(
        self,
        scenario_id: str,
        expected_version: int | None,
        audit: dict[str, Any] | None = None,
    ) -> None:
        """Mark a scenario deleted; its versions stay for the record. Compare-and-set if asked."""
        stamp = now()
        with self.writing() as s:
            conditions = [ScenarioRow.id == scenario_id, ScenarioRow.deleted.is_(False)]
            if expected_version is not None:
                conditions.append(ScenarioRow.current_version == expected_version)
            result = s.execute(
                update(ScenarioRow).where(*conditions).values(deleted=True, updated_at=stamp)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                current = s.execute(
                    select(ScenarioRow.current_version).where(
                        ScenarioRow.id == scenario_id, ScenarioRow.deleted.is_(False)
                    )
                ).scalar()
                if current is None:
                    raise ScenarioMissing(scenario_id)
                raise VersionConflict(current)
            if audit:
                s.add(_audit(stamp, scenario_id=scenario_id, **audit))

    def _add_version(
        self,
        s: Session,
        scenario_id: str,
        version: int,
        stored: EncodedDocument,
        counts: tuple[int, int],
        stamp: datetime,
        actor: str | None,
        change: Change,
    ) -> ScenarioVersionRow:
        row = ScenarioVersionRow(
            scenario_id=scenario_id,
            version=version,
            document=stored.blob,
            base_version=stored.base_version,
            kind=change.kind,
            author=change.author,
            reason=change.reason,
            edits=change.edits,
            size_bytes=stored.size,
            sha256=stored.sha256,
            arrays=stored.arrays,
            arrays_bytes=None if stored.arrays is None else len(stored.arrays),
            node_count=counts[0],
            edge_count=counts[1],
            created_at=stamp,
            created_by=actor,
            change=change.detail,
        )
        s.add(row)
        s.flush()
        return row

    @property
    def reads_in_place(self) -> bool:
        """Whether :meth:`current_version` may be asked with ``in_place`` (SQLite files)."""
        return self._current_version_in_place is not None

    def current_version(self, scenario_id: str, *, in_place: bool = False) -> int:
        """The current version of a scenario. ``in_place``: from the event loop's thread,
        on a connection of its own (only where :attr:`reads_in_place`)."""
        read = self._current_version_in_place if in_place else self._current_version
        assert read is not None, "in_place needs reads_in_place"
        v = read(scenario_id=scenario_id)
        if v is None:
            raise ScenarioMissing(scenario_id)
        return int(v)

    def version_info(self, scenario_id: str, version: int | None = None) -> VersionInfo:
        """A version's record without its document (the current one when ``version`` is None)."""
        with self.reading() as s:
            row, head = self._version_row(s, scenario_id, version)
            return _info(row, head.name, _fork(head))

    def document_blob(
        self, scenario_id: str, version: int | None = None
    ) -> tuple[VersionInfo, bytes | None]:
        """A version's record and its stored document, still compressed (to stream it);
        None for a version stored as its edits."""
        with self.reading() as s:
            row, head = self._version_row(s, scenario_id, version)
            return _info(row, head.name, _fork(head)), row.document

    def version_arrays(self, scenario_id: str, version: int) -> bytes | None:
        """The columns of a version, or None for versions stored as JSON alone or as edits."""
        with self.reading() as s:
            row, _ = self._version_row(s, scenario_id, version)
            return row.arrays

    def _version_row(
        self, s: Session, scenario_id: str, version: int | None
    ) -> tuple[ScenarioVersionRow, ScenarioRow]:
        head = s.get(ScenarioRow, scenario_id)
        if head is None or head.deleted:
            raise ScenarioMissing(scenario_id)
        wanted = head.current_version if version is None else version
        row = s.get(ScenarioVersionRow, (scenario_id, wanted))
        if row is None:
            raise ScenarioMissing(f"{scenario_id} version {wanted}")
        return row, head

    def list_scenarios(self, limit: int, offset: int) -> tuple[list[VersionInfo], int]:
        with self.reading() as s:
            total = s.execute(
                select(func.count()).select_from(ScenarioRow).where(ScenarioRow.deleted.is_(False))
            ).scalar_one()
            rows = s.execute(
                select(ScenarioVersionRow, ScenarioRow)
                .join(
                    ScenarioRow,
                    (ScenarioRow.id == ScenarioVersionRow.scenario_id)
                    & (ScenarioRow.current_version == ScenarioVersionRow.version),
                )
                .where(ScenarioRow.deleted.is_(False))
                .order_by(ScenarioRow.created_at, ScenarioRow.id)
                .limit(limit)
                .offset(offset)
            ).all()
            return [_info(r, head.name, _fork(head)) for r, head in rows], int(total)

    def list_versions(self, scenario_id: str) -> list[VersionInfo]:
        with self.reading() as s:
            head = s.get(ScenarioRow, scenario_id)
            if head is None or head.deleted:
                raise ScenarioMissing(scenario_id)
            rows = (
                s.execute(
                    select(ScenarioVersionRow)
                    .where(ScenarioVersionRow.scenario_id == scenario_id)
                    .order_by(ScenarioVersionRow.version)
                )
                .scalars()
                .all()
            )
            return [_info(r, head.name, _fork(head)) for r in rows]

    def record_digest(self, scenario_id: str, version: int, size: int, sha256: str) -> None:
        """The size and digest of a version stored as edits, once its document was written."""
        with self.writing() as s:
            s.execute(
                update(ScenarioVersionRow)
                .where(
                    ScenarioVersionRow.scenario_id == scenario_id,
                    ScenarioVersionRow.version == version,
                    ScenarioVersionRow.sha256.is_(None),
                )
                .values(size_bytes=size, sha256=sha256)
            )

    def list_forks(self, scenario_id: str) -> list[VersionInfo]:
        """The scenarios forked from ``scenario_id`` (their current versions), oldest first."""
        with self.reading() as s:
            head = s.get(ScenarioRow, scenario_id)
            if head is None or head.deleted:
                raise ScenarioMissing(scenario_id)
            rows = s.execute(
                select(ScenarioVersionRow, ScenarioRow)
                .join(
                    ScenarioRow,
                    (ScenarioRow.id == ScenarioVersionRow.scenario_id)
                    & (ScenarioRow.current_version == ScenarioVersionRow.version),
                )
                .where(ScenarioRow.deleted.is_(False), ScenarioRow.forked_from_id == scenario_id)
                .order_by(ScenarioRow.created_at, ScenarioRow.id)
            ).all()
            return [_info(r, h.name, _fork(h)) for r, h in rows]

    def scenario_exists(self, scenario_id: str) -> bool:
        with self.reading() as s:
            return s.get(ScenarioRow, scenario_id) is not None

    # Tokens ----------------------------------------------------------------

    def add_token(self, token_id: str, name: str | None, role: str, token_hash: str) -> TokenInfo:
        stamp = now()
        with self.writing() as s:
            row = TokenRow(
                id=token_id, name=name, role=role, token_hash=token_hash, created_at=stamp
            )
            s.add(row)
            s.add(_audit(stamp, action="token.create", detail={"token": token_id, "role": role}))
        return _token(row)

    def find_token(self, token_hash: str) -> TokenInfo | None:
        with self.reading() as s:
            row = s.execute(
                select(TokenRow).where(TokenRow.token_hash == token_hash)
            ).scalar_one_or_none()
            return _token(row) if row is not None else None

    def list_tokens(self) -> list[TokenInfo]:
        with self.reading() as s:
            rows = s.execute(select(TokenRow).order_by(TokenRow.created_at)).scalars().all()
            return [_token(r) for r in rows]

    def revoke_token(self, token_id: str, audit: dict[str, Any] | None = None) -> TokenInfo | None:
        stamp = now()
        with self.writing() as s:
            row = s.get(TokenRow, token_id)
            if row is None:
                return None
            if row.revoked_at is None:
                row.revoked_at = stamp
                if audit:
                    s.add(_audit(stamp, **audit))
            return _token(row)

    # Audit -----------------------------------------------------------------

    def record(self, **fields: Any) -> None:
        """An audit record of a computation: queued for the next batch while batching
        (:meth:`batch_audit`), else written now."""
        unknown = set(fields) - set(_AUDIT_COLUMNS)
        if unknown:
            raise TypeError(f"not audit fields: {sorted(unknown)}")
        entry = {"at": now(), **fields}
        if self.audit_batch is not None:
            self.audit_batch.add(entry)
        else:
            self._write_audit([entry])

    def _write_audit(self, entries: list[dict[str, Any]]) -> None:
        """Audit records in one transaction, in order (one INSERT of many rows)."""
        rows = [{column: entry.get(column) for column in _AUDIT_COLUMNS} for entry in entries]
        with self._writer.begin() as conn:
            conn.execute(insert(AuditRow), rows)

    def batch_audit(self, interval_s: float = AUDIT_INTERVAL_S) -> AuditBatcher:
        """Write computation records in batches, at least every ``interval_s`` (see
        :mod:`app.storage.audit`); :meth:`stop_batching_audit` writes the rest."""
        if self.audit_batch is None:
            self.audit_batch = AuditBatcher(self._write_audit, interval_s)
            self.audit_batch.start()
        return self.audit_batch

    def stop_batching_audit(self) -> None:
        batch, self.audit_batch = self.audit_batch, None
        if batch is not None:
            batch.close()

    def flush_audit(self) -> None:
        """Write the computation records queued in this process now."""
        if self.audit_batch is not None and self.audit_batch.pending:
            self.audit_batch.flush()

    def audit_entries(
        self, limit: int, offset: int, scenario_id: str | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        self.flush_audit()  # what this process computed is listed at once
        with self.reading() as s:
            q = select(AuditRow)
            c = select(func.count()).select_from(AuditRow)
            if scenario_id is not None:
                q = q.where(AuditRow.scenario_id == scenario_id)
                c = c.where(AuditRow.scenario_id == scenario_id)
            total = s.execute(c).scalar_one()
            rows = s.execute(q.order_by(AuditRow.id.desc()).limit(limit).offset(offset)).scalars()
            return [
                {
                    "id": r.id,
                    "at": r.at.isoformat(),
                    "token_id": r.token_id,
                    "actor": r.actor,
                    "role": r.role,
                    "action": r.action,
                    "scenario_id": r.scenario_id,
                    "version": r.version,
                    "detail": r.detail,
                }
                for r in rows
            ], int(total)


_AUDIT_COLUMNS = ("at", "token_id", "actor", "role", "action", "scenario_id", "version", "detail")


def _audit(stamp: datetime, **fields: Any) -> AuditRow:
    return AuditRow(at=stamp, **fields)


def _fork(head: ScenarioRow) -> tuple[str, int] | None:
    if head.forked_from_id is None or head.forked_from_version is None:
        return None
    return head.forked_from_id, head.forked_from_version


def _info(
    row: ScenarioVersionRow, name: str | None, forked_from: tuple[str, int] | None = None
) -> VersionInfo:
    return VersionInfo(
        scenario_id=row.scenario_id,
        version=row.version,
        name=name,
        created_at=_aware(row.created_at),
        created_by=row.created_by,
        change=row.change,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        node_count=row.node_count,
        edge_count=row.edge_count,
        arrays_bytes=row.arrays_bytes,
        kind=row.kind,
        author=row.author,
        reason=row.reason,
        edits=row.edits,
        base_version=row.base_version,
        forked_from=forked_from,
    )


def _token(row: TokenRow) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        name=row.name,
        role=row.role,
        created_at=_aware(row.created_at),
        revoked_at=_aware(row.revoked_at) if row.revoked_at else None,
    )


def _aware(stamp: datetime) -> datetime:
    # SQLite returns naive datetimes; everything is stored in UTC.
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
