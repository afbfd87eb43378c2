"""Stored scenarios: create, read, replace, delete, versions, incidents, and questions on them.

Every change makes a new immutable version (negotiators must be able to show
what was proposed when). Replacing needs the version the writer read
(``If-Match``); of several writers holding the same version exactly one wins.
Rejected requests change nothing: validation happens before any write.
"""

from __future__ import annotations

import io
import random
import re
import time
import unicodedata
from collections.abc import Iterator
from typing import IO, Any

from app.config import Settings
from app.domain.compact import CompactScenario
from app.domain.document import parse_document
from app.domain.large_document import validate_scenario
from app.domain.network import Network
from app.services import large_scenarios as large
from app.services.access import Principal
from app.services.errors import (
    ConflictError,
    PreconditionFailedError,
    ScenarioNotFoundError,
)
from app.services.incidents import apply_incidents
from app.services.networks import Networks
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


class Catalog:
    """The use cases over stored scenarios, shared by the HTTP API and the CLI."""

    def __init__(self, repo: Repository, settings: Settings) -> None:
        self.repo = repo
        self.settings = settings
        self.networks = Networks(settings.cache_bytes)

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
        info = self._create(compact, principal, scenario_id, encoded)
        del encoded
        self._keep_compiled(info, compact)
        return info

    def _create(
        self,
        scenario: CompactScenario,
        principal: Principal,
        scenario_id: str | None,
        encoded: EncodedDocument,
    ) -> VersionInfo:
        counts = scenario.counts
        name = scenario.header.name
        audit = {"action": "scenario.create", **principal.audit()}
        token = principal.token_id
        if scenario_id is not None:
            try:
                return self.repo.create_scenario(
                    scenario_id, name, None, counts, token, audit, encoded=encoded
                )
            except VersionConflict:
                raise ConflictError(f"a scenario with id {scenario_id!r} exists") from None
        base = slugify(name or "scenario")
        for n in range(1, 1000):
            candidate = base if n == 1 else f"{base}-{n}"
            if self.repo.scenario_exists(candidate):
                continue
            try:
                return self.repo.create_scenario(
                    candidate, name, None, counts, token, audit, encoded=encoded
                )
            except VersionConflict:
                continue  # another writer took the id between the check and the insert
        raise ConflictError(f"could not find a free id for {base!r}")

    def _keep_compiled(self, info: VersionInfo, compact: CompactScenario) -> None:
        """Compile a new version now, while its columns are at hand (first route is fast)."""
        self.networks.put((info.scenario_id, info.version), Network(compact))

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
        info = self._store(scenario_id, expected, compact, principal, "replaced", encoded)
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
        except ScenarioMissing:
            raise ScenarioNotFoundError(f"no scenario {scenario_id!r}") from None
        except VersionConflict as exc:
            raise PreconditionFailedError(
                f"scenario {scenario_id!r} is at version {exc.current}, not {expected}",
                exc.current,
            ) from None

    def add_incidents(
        self,
        scenario_id: str,
        incidents: list[dict[str, Any]],
        expected: int | None,
        principal: Principal,
    ) -> VersionInfo:
        """Append incident reports as a new version onto version ``expected``; with ``None``
        onto whichever is current, retrying on races.

        Only the header is validated again; the places and roads are the stored columns.
        """
        for attempt in range(INCIDENT_RETRIES):
            if attempt:
                time.sleep(random.uniform(0, min(BACKOFF_S * 2**attempt, 0.5)))
            current = self._current(scenario_id)
            if expected is not None and expected != current:  # 412 even for a future version
                raise PreconditionFailedError(
                    f"scenario {scenario_id!r} is at version {current}, not {expected}", current
                )
            version = current if expected is None else expected
            merged = apply_incidents(self.scenario(scenario_id, version), incidents)
            try:
                info = self._store(
                    scenario_id,
                    version,
                    merged,
                    principal,
                    f"{len(incidents)} incident(s) added",
                    large.encode_columns(merged),
                )
            except PreconditionFailedError:
                if expected is not None:
                    raise
                continue
            self._keep_compiled(info, merged)
            return info
        raise ConflictError("the scenario kept changing; try again")

    def _store(
        self,
        scenario_id: str,
        expected: int,
        scenario: CompactScenario,
        principal: Principal,
        change: str,
        encoded: EncodedDocument,
    ) -> VersionInfo:
        action = "scenario.incidents" if "incident" in change else "scenario.replace"
        try:
            return self.repo.replace_scenario(
                scenario_id,
                expected,
                scenario.header.name,
                None,
                scenario.counts,
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

        return wanted, self.networks.get((scenario_id, wanted), build)

    def version_info(self, scenario_id: str, version: int | None = None) -> VersionInfo:
        try:
            return self.repo.version_info(scenario_id, version)
        except ScenarioMissing:
            raise ScenarioNotFoundError(_missing(scenario_id, version)) from None

    def scenario(self, scenario_id: str, version: int | None = None) -> CompactScenario:
        """A stored version's columns (versions stored before columns were kept for every
        size are validated from their document)."""
        info = self.version_info(scenario_id, version)
        try:
            arrays = self.repo.version_arrays(scenario_id, info.version)
        except ScenarioMissing:
            raise ScenarioNotFoundError(_missing(scenario_id, info.version)) from None
        if arrays is not None:
            return CompactScenario.from_bytes(arrays)
        _, document = self.get(scenario_id, info.version)
        return validate_scenario(document)

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
