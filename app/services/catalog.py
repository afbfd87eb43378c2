"""Stored scenarios: create, read, replace, delete, versions, incidents, and questions on them.

Every change makes a new immutable version (negotiators must be able to show
what was proposed when). Replacing needs the version the writer read
(``If-Match``); of several writers holding the same version exactly one wins.
Rejected requests change nothing: validation happens before any write.
"""

from __future__ import annotations

import random
import re
import time
import unicodedata
from collections.abc import Iterator
from typing import IO, Any

from app.config import Settings
from app.domain.compact import CompactScenario
from app.domain.document import parse_document
from app.domain.errors import ValidationError
from app.domain.network import Network
from app.domain.scenario import Scenario
from app.domain.validation import validate_scenario
from app.services import large_scenarios as large
from app.services.access import Principal
from app.services.cache import NetworkCache
from app.services.errors import (
    ConflictError,
    PreconditionFailedError,
    PreconditionRequiredError,
    ScenarioNotFoundError,
)
from app.services.incidents import repoint_appended
from app.services.requests import MAX_STORED_INT
from app.storage.repository import (
    EncodedDocument,
    Repository,
    ScenarioMissing,
    VersionConflict,
    VersionInfo,
)

INCIDENT_RETRIES = 20
BACKOFF_S = 0.01
"""First pause after a lost race to add incidents (seconds); doubles each time, up to 0.5 s,
drawn at random below that so that the writers who lost do not collide again at once."""


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:80] or "scenario"


def parse_if_match(header: str | None) -> int | None:
    """The version named by an ``If-Match`` header; ``None`` for ``*``.

    Raises :class:`PreconditionRequiredError` when the header is absent.
    """
    if header is None or not header.strip():
        raise PreconditionRequiredError(
            "send 'If-Match' with the ETag of the version you read, e.g. If-Match: \"3\""
        )
    value = header.split(",")[0].strip()
    if value == "*":
        return None
    value = value.removeprefix("W/").strip('"')
    if not (value.isascii() and value.isdigit()) or int(value) >= MAX_STORED_INT:
        raise PreconditionFailedError(f"If-Match {header!r} is not a version ETag", None)
    return int(value)


class Catalog:
    """The use cases over stored scenarios, shared by the HTTP API and the CLI."""

    def __init__(self, repo: Repository, settings: Settings) -> None:
        self.repo = repo
        self.settings = settings
        self.cache = NetworkCache(settings.cache_entries)

    # Documents --------------------------------------------------------------

    def parse(self, raw: bytes, fmt: str | None = None) -> tuple[dict[str, Any], Scenario]:
        data = parse_document(raw, max_bytes=self.settings.max_body_bytes, fmt=fmt)
        scenario = validate_scenario(
            data, max_nodes=self.settings.max_nodes, max_edges=self.settings.max_edges
        )
        return data, scenario

    def create(
        self,
        raw: bytes,
        principal: Principal,
        fmt: str | None = None,
        scenario_id: str | None = None,
    ) -> VersionInfo:
        data, scenario = self.parse(raw, fmt)
        return self._create(scenario, data, principal, scenario_id)

    def create_upload(
        self,
        upload: IO[bytes],
        size: int,
        principal: Principal,
        fmt: str | None = None,
        scenario_id: str | None = None,
    ) -> VersionInfo:
        """Store an uploaded document held in a (temporary) file of ``size`` bytes.

        Large JSON documents are read item by item and stored with compact columns
        (:mod:`app.services.large_scenarios`); others as :meth:`create`.
        """
        if not large.is_large(upload, size, fmt, self.settings):
            upload.seek(0)
            return self.create(upload.read(), principal, fmt, scenario_id)
        compact = large.read_upload(upload, self.settings)
        large.release_memory()
        encoded = large.encode_upload(upload, compact)
        info = self._create(compact.view(), None, principal, scenario_id, encoded)
        del encoded
        self._keep_compiled(info, compact)
        return info

    def _create(
        self,
        scenario: Scenario,
        data: dict[str, Any] | None,
        principal: Principal,
        scenario_id: str | None,
        encoded: EncodedDocument | None = None,
    ) -> VersionInfo:
        counts = (len(scenario.nodes), len(scenario.edges))
        audit = {"action": "scenario.create", **principal.audit()}
        token = principal.token_id
        if scenario_id is not None:
            try:
                return self.repo.create_scenario(
                    scenario_id, scenario.name, data, counts, token, audit, encoded=encoded
                )
            except VersionConflict:
                raise ConflictError(f"a scenario with id {scenario_id!r} exists") from None
        base = slugify(scenario.name or "scenario")
        for n in range(1, 1000):
            candidate = base if n == 1 else f"{base}-{n}"
            if self.repo.scenario_exists(candidate):
                continue
            try:
                return self.repo.create_scenario(
                    candidate, scenario.name, data, counts, token, audit, encoded=encoded
                )
            except VersionConflict:
                continue  # another writer took the id between the check and the insert
        raise ConflictError(f"could not find a free id for {base!r}")

    def _keep_compiled(self, info: VersionInfo, compact: CompactScenario) -> None:
        """Compile a large version now, while its columns are at hand (first route is fast)."""
        self.cache.get((info.scenario_id, info.version), lambda: Network(compact.view()))
        large.release_memory()

    def replace(
        self,
        scenario_id: str,
        raw: bytes,
        if_match: str | None,
        principal: Principal,
        fmt: str | None = None,
    ) -> VersionInfo:
        expected = parse_if_match(if_match)
        data, scenario = self.parse(raw, fmt)
        if expected is None:
            expected = self._current(scenario_id)
        return self._store(scenario_id, expected, data, scenario, principal, "replaced")

    def replace_upload(
        self,
        scenario_id: str,
        upload: IO[bytes],
        size: int,
        if_match: str | None,
        principal: Principal,
        fmt: str | None = None,
    ) -> VersionInfo:
        """:meth:`replace` with the document in a (temporary) file, large ones as columns."""
        if not large.is_large(upload, size, fmt, self.settings):
            upload.seek(0)
            return self.replace(scenario_id, upload.read(), if_match, principal, fmt)
        expected = parse_if_match(if_match)
        compact = large.read_upload(upload, self.settings)
        if expected is None:
            expected = self._current(scenario_id)
        large.release_memory()
        encoded = large.encode_upload(upload, compact)
        info = self._store(
            scenario_id, expected, None, compact.view(), principal, "replaced", encoded
        )
        del encoded
        self._keep_compiled(info, compact)
        return info

    def delete(self, scenario_id: str, if_match: str | None, principal: Principal) -> None:
        expected = None
        if if_match is not None and if_match.strip():
            expected = parse_if_match(if_match)
        try:
            self.repo.delete_scenario(
                scenario_id, expected, {"action": "scenario.delete", **principal.audit()}
            )
        except ScenarioMissing:
            raise ScenarioNotFoundError(f"no scenario {scenario_id!r}") from None
        except VersionConflict as exc:
            raise PreconditionFailedError(
                f"scenario {scenario_id!r} is at version {exc.current}, not {expected}",
                exc.current,
            ) from None
        self.cache.forget(scenario_id)

    def add_incidents(
        self,
        scenario_id: str,
        incidents: list[dict[str, Any]],
        if_match: str | None,
        principal: Principal,
    ) -> VersionInfo:
        """Append incident reports as a new version. Without ``If-Match`` it retries on races."""
        expected = parse_if_match(if_match) if if_match and if_match.strip() else None
        for attempt in range(INCIDENT_RETRIES):
            if attempt:
                time.sleep(random.uniform(0, min(BACKOFF_S * 2**attempt, 0.5)))
            current = self._current(scenario_id)
            if expected is not None and expected != current:  # 412 even for a future version
                raise PreconditionFailedError(
                    f"scenario {scenario_id!r} is at version {current}, not {expected}", current
                )
            stored = self.version_info(scenario_id, expected)
            if stored.arrays_bytes is not None:
                try:
                    return self._add_incidents_compact(stored, incidents, principal)
                except PreconditionFailedError:
                    if expected is not None:
                        raise
                    continue
            info, document = self.get(scenario_id, expected)
            existing = list(document.get("incidents") or [])
            merged = {**document, "incidents": existing + incidents}
            try:
                scenario = validate_scenario(
                    merged, max_nodes=self.settings.max_nodes, max_edges=self.settings.max_edges
                )
            except ValidationError as exc:
                raise _relative_to_request(exc, len(existing)) from None
            try:
                return self._store(
                    scenario_id,
                    info.version,
                    merged,
                    scenario,
                    principal,
                    f"{len(incidents)} incident(s) added",
                )
            except PreconditionFailedError:
                if expected is not None:
                    raise
        raise ConflictError("the scenario kept changing; try again")

    def _add_incidents_compact(
        self, stored: VersionInfo, incidents: list[dict[str, Any]], principal: Principal
    ) -> VersionInfo:
        compact = self.compact(stored.scenario_id, stored.version)
        existing = len(compact.header.incidents)
        try:
            merged = large.with_incidents(compact, incidents)
        except ValidationError as exc:
            raise _relative_to_request(exc, existing) from None
        info = self._store(
            stored.scenario_id,
            stored.version,
            None,
            merged.view(),
            principal,
            f"{len(incidents)} incident(s) added",
            large.encode_columns(merged),
        )
        self._keep_compiled(info, merged)
        return info

    def _store(
        self,
        scenario_id: str,
        expected: int,
        data: dict[str, Any] | None,
        scenario: Scenario,
        principal: Principal,
        change: str,
        encoded: EncodedDocument | None = None,
    ) -> VersionInfo:
        counts = (len(scenario.nodes), len(scenario.edges))
        action = "scenario.incidents" if "incident" in change else "scenario.replace"
        try:
            return self.repo.replace_scenario(
                scenario_id,
                expected,
                scenario.name,
                data,
                counts,
                principal.token_id,
                change,
                {"action": action, **principal.audit(), "detail": {"change": change}},
                encoded=encoded,
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

    def _current(self, scenario_id: str) -> int:
        try:
            return self.repo.current_version(scenario_id)
        except ScenarioMissing:
            raise ScenarioNotFoundError(f"no scenario {scenario_id!r}") from None

    def get(
        self, scenario_id: str, version: int | None = None
    ) -> tuple[VersionInfo, dict[str, Any]]:
        try:
            return self.repo.get_version(scenario_id, version)
        except ScenarioMissing:
            what = f"no scenario {scenario_id!r}"
            if version is not None:
                what += f" at version {version}"
            raise ScenarioNotFoundError(what) from None

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
        current = self._current(scenario_id)
        if version is not None and version > current:
            raise ScenarioNotFoundError(_missing(scenario_id, version))
        wanted = current if version is None else version

        def build() -> Network:
            return Network(self.scenario(scenario_id, wanted))

        return wanted, self.cache.get((scenario_id, wanted), build)

    def version_info(self, scenario_id: str, version: int | None = None) -> VersionInfo:
        try:
            return self.repo.version_info(scenario_id, version)
        except ScenarioMissing:
            raise ScenarioNotFoundError(_missing(scenario_id, version)) from None

    def scenario(self, scenario_id: str, version: int | None = None) -> Scenario:
        """A stored version as a Scenario (large ones as a view over their columns)."""
        info = self.version_info(scenario_id, version)
        if info.arrays_bytes is not None:
            return self.compact(scenario_id, info.version).view()
        _, document = self.get(scenario_id, info.version)
        return validate_scenario(document)

    def compact(self, scenario_id: str, version: int) -> CompactScenario:
        """The columns of a large version."""
        try:
            arrays = self.repo.version_arrays(scenario_id, version)
        except ScenarioMissing:
            raise ScenarioNotFoundError(_missing(scenario_id, version)) from None
        if arrays is None:
            raise ScenarioNotFoundError(f"scenario {scenario_id!r} version {version} is not large")
        return CompactScenario.from_bytes(arrays)

    def document_chunks(
        self, scenario_id: str, version: int | None = None
    ) -> tuple[VersionInfo, Iterator[bytes]]:
        """A version's JSON text as stored, in pieces (large documents are never whole)."""
        try:
            info, blob = self.repo.document_blob(scenario_id, version)
        except ScenarioMissing:
            raise ScenarioNotFoundError(_missing(scenario_id, version)) from None
        return info, large.decompressed(blob)

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


def _relative_to_request(exc: ValidationError, offset: int) -> ValidationError:
    """Re-point problems in appended incidents at the request's own list."""
    return ValidationError([repoint_appended(p, offset) for p in exc.problems])
