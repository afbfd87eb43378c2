"""Stored scenarios: create, read, replace, delete, versions, incidents, and questions on them.

Every change makes a new immutable version (negotiators must be able to show
what was proposed when). Replacing needs the version the writer read
(``If-Match``); of several writers holding the same version exactly one wins.
Rejected requests change nothing: validation happens before any write.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import re
import threading
import time
import unicodedata
from collections.abc import Iterator
from typing import IO, Any

from app.config import Settings
from app.domain.errors import ValidationError
from app.domain.network.graph import Network
from app.domain.scenario.columns import CompactScenario
from app.domain.scenario.document import parse_document, spliced_document
from app.domain.scenario.edits import apply_edits, diff, touched_ids
from app.domain.scenario.reading import validate_scenario
from app.services import large_scenarios as large
from app.services.access import Principal
from app.services.answers import AnswerCache
from app.services.errors import (
    ConflictError,
    PreconditionFailedError,
    ScenarioNotFoundError,
    under,
)
from app.services.incidents import apply_incidents, incident_edits
from app.services.networks import Networks
from app.services.shared_networks import SharedNetworks
from app.storage.repository import (
    Change,
    EncodedDocument,
    Repository,
    ScenarioMissing,
    VersionConflict,
    VersionInfo,
)

SNAPSHOT_VERSIONS = 64
SNAPSHOT_EDIT_BYTES = 256 * 1024
"""A version made by edits is stored whole (document and columns) when it would be the 64th
in a row stored as edits, or when the edits since the last whole version pass 256 KiB of
JSON; otherwise it stores its edits alone. Reading one replays the edits since the last
whole version in one pass (their size, not their number, sets the cost)."""

AUDIT_ACTIONS = {
    "replaced": "scenario.replace",
    "edited": "scenario.edit",
    "incidents": "scenario.incidents",
}
"""The audit log's action for each kind of new version of a scenario."""

INCIDENT_RETRIES = 20
APPEND_LOCKS = 64
"""Locks that put one process's incident reports for one scenario in a queue (by id)."""
BACKOFF_S = 0.01
"""First pause after a lost race to add incidents (seconds); doubles each time, up to 0.5 s,
drawn at random below that so that the writers who lost do not collide again at once."""


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:80] or "scenario"


class Catalog:
    """The use cases over stored scenarios, shared by the HTTP API and the CLI."""

    def __init__(self, repo: Repository, settings: Settings) -> None:
        self.repo = repo
        self.settings = settings
        self.shared = (
            SharedNetworks(settings.data_dir / "compiled", 2 * settings.cache_bytes)
            if settings.share_compiled
            else None
        )
        self.networks = Networks(
            settings.cache_bytes, self.shared.size_of if self.shared is not None else None
        )
        self.answers = AnswerCache(settings.answer_cache_bytes)
        self._appending = [threading.Lock() for _ in range(APPEND_LOCKS)]
        """Incident reports of this process for one scenario are appended one at a time:
        a scenario's lock is one of these, by its id's hash (a fixed set, however many
        scenarios come and go; two scenarios sharing one only wait for each other)."""

    # Documents --------------------------------------------------------------

    def parse(self, raw: bytes, fmt: str | None = None) -> tuple[dict[str, Any], CompactScenario]:
        data = parse_document(raw, max_bytes=self.settings.max_body_bytes, fmt=fmt)
        scenario = validate_scenario(
            data, max_nodes=self.settings.max_nodes, max_edges=self.settings.max_edges
        )
        return data, scenario

    def _read(
        self, upload: IO[bytes], size: int, fmt: str | None
    ) -> tuple[CompactScenario, EncodedDocument]:
        """Validate a document held in a (temporary) file and encode it for storage.

        Large JSON documents are read item by item from the file; others are parsed
        whole. Both go through the same collector into columns, and every version is
        stored as its JSON text and its columns (:mod:`app.services.large_scenarios`).
        """
        if large.is_large(upload, size, fmt, self.settings):
            compact = large.read_upload(upload, self.settings)
            large.release_memory()
            return compact, large.encode_upload(upload, compact)
        upload.seek(0)
        data, compact = self.parse(upload.read(), fmt)
        return compact, large.encode_parsed(data, compact)

    def create(
        self,
        raw: bytes,
        principal: Principal,
        fmt: str | None = None,
        scenario_id: str | None = None,
    ) -> VersionInfo:
        return self.create_upload(io.BytesIO(raw), len(raw), principal, fmt, scenario_id)

    def create_upload(
        self,
        upload: IO[bytes],
        size: int,
        principal: Principal,
        fmt: str | None = None,
        scenario_id: str | None = None,
    ) -> VersionInfo:
        """Store an uploaded document held in a (temporary) file of ``size`` bytes."""
        compact, encoded = self._read(upload, size, fmt)
        change = Change("created", "created", principal.name)
        info = self._create(compact, principal, scenario_id, encoded, change)
        del encoded
        self._keep_compiled(info, compact)
        return info

    def _create(
        self,
        scenario: CompactScenario,
        principal: Principal,
        scenario_id: str | None,
        encoded: EncodedDocument,
        change: Change,
        *,
        name: str | None = None,
        forked_from: tuple[str, int] | None = None,
    ) -> VersionInfo:
        counts = scenario.counts
        name = name or scenario.header.name
        action = "scenario.fork" if forked_from else "scenario.create"
        audit: dict[str, Any] = {"action": action, **principal.audit()}
        if forked_from:
            parent = {"scenario": forked_from[0], "version": forked_from[1]}
            audit["detail"] = {"forked_from": parent}

        def store(candidate: str) -> VersionInfo:
            return self.repo.create_scenario(
                candidate,
                name,
                encoded,
                counts,
                principal.token_id,
                change,
                audit,
                forked_from=forked_from,
            )

        if scenario_id is not None:
            try:
                return store(scenario_id)
            except VersionConflict:
                raise ConflictError(f"a scenario with id {scenario_id!r} exists") from None
        base = slugify(name or "scenario")
        for n in range(1, 1000):
            candidate = base if n == 1 else f"{base}-{n}"
            if self.repo.scenario_exists(candidate):
                continue
            try:
                return store(candidate)
            except VersionConflict:
                continue  # another writer took the id between the check and the insert
        raise ConflictError(f"could not find a free id for {base!r}")

    def _keep_compiled(
        self, info: VersionInfo, compact: CompactScenario, like: tuple[str, int] | None = None
    ) -> None:
        """Compile a new version now, while its columns are at hand (first route is fast);
        an edited one shares what it can with the version edited (``like``)."""
        earlier = self.networks.peek(like) if like is not None else None
        self.networks.put((info.scenario_id, info.version), Network(compact, like=earlier))

    def replace(
        self,
        scenario_id: str,
        raw: bytes,
        expected: int | None,
        principal: Principal,
        fmt: str | None = None,
    ) -> VersionInfo:
        return self.replace_upload(scenario_id, io.BytesIO(raw), len(raw), expected, principal, fmt)

    def replace_upload(
        self,
        scenario_id: str,
        upload: IO[bytes],
        size: int,
        expected: int | None,
        principal: Principal,
        fmt: str | None = None,
    ) -> VersionInfo:
        """Store a new version from a document held in a (temporary) file, onto version
        ``expected`` (``None``: whichever is current)."""
        compact, encoded = self._read(upload, size, fmt)
        if expected is None:
            expected = self._current(scenario_id)
        change = Change("replaced", "replaced", principal.name)
        info = self._store(scenario_id, expected, compact, principal, change, encoded)
        del encoded
        self._keep_compiled(info, compact)
        return info

    def delete(self, scenario_id: str, expected: int | None, principal: Principal) -> None:
        """Delete a scenario (only at version ``expected``, unless that is ``None``)."""
        try:
            self.repo.delete_scenario(
                scenario_id, expected, {"action": "scenario.delete", **principal.audit()}
            )
            self.networks.forget(scenario_id)
            self.answers.forget(scenario_id)
            if self.shared is not None:
                self.shared.forget(scenario_id)
        except ScenarioMissing:
            raise ScenarioNotFoundError(f"no scenario {scenario_id!r}") from None
        except VersionConflict as exc:
            raise PreconditionFailedError(
                f"scenario {scenario_id!r} is at version {exc.current}, not {expected}",
                exc.current,
            ) from None

    def edit(
        self,
        scenario_id: str,
        expected: int | None,
        edits: list[Any],
        reason: str | None,
        principal: Principal,
        pointer_prefix: str = "/edits",
    ) -> VersionInfo:
        """Apply an edit list onto version ``expected`` (``None``: whichever is current) as a
        new version, all or nothing.

        Raises :class:`ValidationError` with pointers into the request (the edit list's
        own, ``/2/road``, under ``pointer_prefix``) and
        :class:`PreconditionFailedError` when ``expected`` is not the current version.
        """
        version = self._expected_current(scenario_id, expected)
        base = self._columns(scenario_id, version)
        try:
            edited = apply_edits(base, edits)
        except ValidationError as exc:
            raise under(pointer_prefix, exc) from None
        change = Change("edited", "edited", principal.name, reason, edits)
        return self._store_edited(scenario_id, version, base, edited, principal, change)

    def add_incidents(
        self,
        scenario_id: str,
        incidents: list[dict[str, Any]],
        expected: int | None,
        principal: Principal,
    ) -> VersionInfo:
        """Append incident reports as a new version (``add_incident`` edits) onto version
        ``expected``; with ``None`` onto whichever is current, retrying on races."""
        edits = incident_edits(incidents)
        change = Change(
            "incidents", f"{len(incidents)} incident(s) added", principal.name, None, edits
        )
        # Reports arriving at once on this replica go one after the other instead of
        # racing (50 at once on PostgreSQL had some lose INCIDENT_RETRIES races in a row);
        # only writers on other replicas race, and retry.
        with self._append_lock(scenario_id):
            return self._append_incidents(scenario_id, incidents, expected, principal, change)

    def _append_lock(self, scenario_id: str) -> threading.Lock:
        return self._appending[hash(scenario_id) % APPEND_LOCKS]

    def _append_incidents(
        self,
        scenario_id: str,
        incidents: list[dict[str, Any]],
        expected: int | None,
        principal: Principal,
        change: Change,
    ) -> VersionInfo:
        for attempt in range(INCIDENT_RETRIES):
            if attempt:
                time.sleep(random.uniform(0, min(BACKOFF_S * 2**attempt, 0.5)))
            version = self._expected_current(scenario_id, expected)
            base = self._columns(scenario_id, version)
            merged = apply_incidents(base, incidents)
            try:
                return self._store_edited(scenario_id, version, base, merged, principal, change)
            except PreconditionFailedError:
                if expected is not None:
                    raise
        raise ConflictError("the scenario kept changing; try again")

    def _store_edited(
        self,
        scenario_id: str,
        version: int,
        base: CompactScenario,
        edited: CompactScenario,
        principal: Principal,
        change: Change,
    ) -> VersionInfo:
        """Store ``edited`` (``base`` with ``change.edits`` made) as the version after
        ``version``, and keep it compiled, sharing what it can with ``version``."""
        encoded = self._encode_edits(scenario_id, version, base, edited, change.edits or [])
        info = self._store(scenario_id, version, edited, principal, change, encoded)
        self._keep_compiled(info, edited, like=(scenario_id, version))
        return info

    def fork(
        self,
        scenario_id: str,
        version: int | None,
        name: str | None,
        principal: Principal,
        fork_id: str | None = None,
    ) -> VersionInfo:
        """A new scenario whose first version is ``version`` of ``scenario_id`` (current by
        default): a what-if that never changes its parent."""
        info = self.version_info(scenario_id, version)
        compact = self._columns(scenario_id, info.version)
        text = self.document_bytes(scenario_id, info.version)
        encoded = large.encode_text(text, compact)
        detail = f"forked from {scenario_id} version {info.version}"
        change = Change("forked", detail, principal.name)
        created = self._create(
            compact,
            principal,
            fork_id,
            encoded,
            change,
            name=name or f"{info.name or scenario_id} (what-if)",
            forked_from=(scenario_id, info.version),
        )
        self._keep_compiled(created, compact)
        return created

    def forks(self, scenario_id: str) -> list[VersionInfo]:
        try:
            return self.repo.list_forks(scenario_id)
        except ScenarioMissing:
            raise ScenarioNotFoundError(f"no scenario {scenario_id!r}") from None

    def _expected_current(self, scenario_id: str, expected: int | None) -> int:
        current = self._current(scenario_id)
        if expected is not None and expected != current:  # 412 even for a future version
            raise PreconditionFailedError(
                f"scenario {scenario_id!r} is at version {current}, not {expected}. "
                "Read it again, re-apply your change and send the new ETag.",
                current,
            )
        return current

    def _encode_edits(
        self,
        scenario_id: str,
        version: int,
        base: CompactScenario,
        edited: CompactScenario,
        edits: list[Any],
    ) -> EncodedDocument:
        """A version made by edits onto ``version``, as stored: the edits alone (their size,
        not the document's; the document's digest is taken when it is first read), or the
        whole document and columns (see :data:`SNAPSHOT_VERSIONS`)."""
        whole, since, count = self._chain(scenario_id, version)
        total = since + edits
        if count + 1 < SNAPSHOT_VERSIONS and len(json.dumps(total)) < SNAPSHOT_EDIT_BYTES:
            return EncodedDocument(None, None, None, None, version)
        text = spliced_document(
            self.document_bytes(scenario_id, whole),
            self._columns(scenario_id, whole),
            edited,
            touched_ids(total),
        )
        return large.encode_text(text, edited)

    def _chain(self, scenario_id: str, version: int) -> tuple[int, list[Any], int]:
        """``(whole, edits, count)``: the last version stored whole at or before ``version``,
        the edits from it to ``version`` in order, and how many versions they came in."""
        infos = {v.version: v for v in self.versions(scenario_id) if v.version <= version}
        if version not in infos:
            raise ScenarioNotFoundError(_missing(scenario_id, version))
        lists: list[list[Any]] = []
        info = infos[version]
        while info.base_version is not None:
            lists.append(info.edits or [])
            info = infos[info.base_version]
        return info.version, [e for edits in reversed(lists) for e in edits], len(lists)

    def _store(
        self,
        scenario_id: str,
        expected: int,
        scenario: CompactScenario,
        principal: Principal,
        change: Change,
        encoded: EncodedDocument,
    ) -> VersionInfo:
        """Store ``scenario`` as the version after ``expected``. A replaced document names
        the scenario anew; edits keep the scenario's name (a what-if keeps its own)."""
        action = AUDIT_ACTIONS[change.kind]
        name = scenario.header.name
        if change.kind != "replaced":
            name = self.version_info(scenario_id, expected).name
        detail: dict[str, Any] = {"change": change.detail}
        if change.reason is not None:
            detail["reason"] = change.reason
        if change.edits is not None and change.kind == "edited":
            detail["edits"] = change.edits
        try:
            return self.repo.replace_scenario(
                scenario_id,
                expected,
                name,
                encoded,
                scenario.counts,
                principal.token_id,
                change,
                {"action": action, **principal.audit(), "detail": detail},
            )
        except ScenarioMissing:
            raise ScenarioNotFoundError(f"no scenario {scenario_id!r}") from None
        except VersionConflict as exc:
            raise PreconditionFailedError(
                f"scenario {scenario_id!r} is at version {exc.current}; you sent {expected}. "
                "Read it again, re-apply your change and send the new ETag.",
                exc.current,
            ) from None

    # Reads -----------------------------------------------------------------

    def _current(self, scenario_id: str, *, in_place: bool = False) -> int:
        try:
            return self.repo.current_version(scenario_id, in_place=in_place)
        except ScenarioMissing:
            raise ScenarioNotFoundError(f"no scenario {scenario_id!r}") from None

    def list_scenarios(self, limit: int, offset: int) -> tuple[list[VersionInfo], int]:
        return self.repo.list_scenarios(limit, offset)

    def versions(self, scenario_id: str) -> list[VersionInfo]:
        try:
            return self.repo.list_versions(scenario_id)
        except ScenarioMissing:
            raise ScenarioNotFoundError(f"no scenario {scenario_id!r}") from None

    def network(self, scenario_id: str, version: int | None = None) -> tuple[int, Network]:
        """The compiled network of a version (current by default), from the cache if there.

        The store is asked first, also for a version given: the scenario may have been
        deleted since it was compiled, here or through another replica.
        """
        wanted = self.resolve(scenario_id, version)
        return wanted, self.compiled(scenario_id, wanted)

    def resolve(
        self, scenario_id: str, version: int | None = None, *, in_place: bool = False
    ) -> int:
        """The version a question is about: ``version``, else the current one, read from the
        store every time (raises if the scenario or the version does not exist).
        ``in_place``: see :meth:`Repository.current_version`."""
        current = self._current(scenario_id, in_place=in_place)
        if version is not None and version > current:
            raise ScenarioNotFoundError(_missing(scenario_id, version))
        return current if version is None else version

    def compiled(self, scenario_id: str, version: int) -> Network:
        """The network of a version :meth:`resolve` gave, compiled once (and, sharing
        compiled versions, mapped from the file another process wrote)."""

        def compile() -> Network:
            return Network(self.scenario(scenario_id, version))

        def build() -> Network:
            if self.shared is None:
                return compile()
            return self.shared.compiled(self.version_info(scenario_id, version), compile)

        return self.networks.get((scenario_id, version), build)

    def version_info(self, scenario_id: str, version: int | None = None) -> VersionInfo:
        try:
            return self.repo.version_info(scenario_id, version)
        except ScenarioMissing:
            raise ScenarioNotFoundError(_missing(scenario_id, version)) from None

    def scenario(self, scenario_id: str, version: int | None = None) -> CompactScenario:
        """A stored version's columns: stored ones, or those of the last version stored whole
        with the edits since replayed in one pass (versions stored before columns were kept
        are read from their document)."""
        info = self.version_info(scenario_id, version)
        if info.base_version is not None:
            whole, edits, _ = self._chain(scenario_id, info.version)
            return apply_edits(self._columns(scenario_id, whole), edits)
        try:
            arrays = self.repo.version_arrays(scenario_id, info.version)
        except ScenarioMissing:
            raise ScenarioNotFoundError(_missing(scenario_id, info.version)) from None
        if arrays is not None:
            return CompactScenario.from_bytes(arrays)
        return validate_scenario(json.loads(self.document_bytes(scenario_id, info.version)))

    def _columns(self, scenario_id: str, version: int) -> CompactScenario:
        """:meth:`scenario`, from the compiled network when this process holds it."""
        kept = self.networks.peek((scenario_id, version))
        return kept.columns if kept is not None else self.scenario(scenario_id, version)

    def document_bytes(self, scenario_id: str, version: int | None = None) -> bytes:
        """A version's JSON text whole: as stored, or written from the text of the last
        version stored whole (:func:`~app.domain.scenario.document.spliced_document`); the
        first read of such a version records its size and digest."""
        try:
            info, blob = self.repo.document_blob(scenario_id, version)
        except ScenarioMissing:
            raise ScenarioNotFoundError(_missing(scenario_id, version)) from None
        if blob is not None:
            return b"".join(large.decompressed(blob))
        whole, edits, _ = self._chain(scenario_id, info.version)
        text = spliced_document(
            self.document_bytes(scenario_id, whole),
            self._columns(scenario_id, whole),
            self._columns(scenario_id, info.version),
            touched_ids(edits),
        )
        if info.sha256 is None:
            digest = hashlib.sha256(text).hexdigest()
            self.repo.record_digest(scenario_id, info.version, len(text), digest)
        return text

    def document_chunks(
        self, scenario_id: str, version: int | None = None
    ) -> tuple[VersionInfo, Iterator[bytes]]:
        """A version's JSON text in pieces: stored ones are streamed as stored (a large
        document is never whole in memory); one made by edits is written from its base."""
        try:
            info, blob = self.repo.document_blob(scenario_id, version)
        except ScenarioMissing:
            raise ScenarioNotFoundError(_missing(scenario_id, version)) from None
        if blob is not None:
            return info, large.decompressed(blob)
        text = self.document_bytes(scenario_id, info.version)
        return self.version_info(scenario_id, info.version), iter((text,))

    def diff(self, scenario_id: str, before: int, after: int) -> list[dict[str, Any]]:
        """What changed from version ``before`` to version ``after``."""
        return diff(self._columns(scenario_id, before), self._columns(scenario_id, after))

    def record(
        self,
        principal: Principal,
        action: str,
        scenario_id: str | None,
        version: int | None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        self.repo.record(
            action=action,
            scenario_id=scenario_id,
            version=version,
            detail=detail,
            **principal.audit(),
        )


def _missing(scenario_id: str, version: int | None) -> str:
    what = f"no scenario {scenario_id!r}"
    return what + (f" at version {version}" if version is not None else "")
