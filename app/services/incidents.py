"""Adding incident reports to a scenario: from request bodies, CSV or GeoJSON text.

The result is a new, validated :class:`Scenario`; storage saves it as a new
version (HTTP) or the CLI writes it back to a file. Nothing is added from a
text with a bad row unless ``skip_bad`` is set; problems a whole file has (no
date column, not GeoJSON) are never skipped.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field
from datetime import UTC
from typing import Annotated, Any, Literal

from pydantic import Field

from app.domain.compact import IdIndex, compact_of
from app.domain.errors import Problem, ValidationError
from app.domain.incidents_import import (
    ImportDefaults,
    ParsedIncidents,
    parse_incidents,
)
from app.domain.scenario import Scenario
from app.domain.validation import validate_scenario
from app.services import large_scenarios as large
from app.services.requests import Request


class ImportRequest(Request):
    """Options of an incident import (CLI flags; HTTP query parameters)."""

    format: Literal["csv", "geojson"] | None = Field(
        default=None, description="csv or geojson; guessed from the text when omitted."
    )
    skip_bad: bool = Field(
        default=False,
        description="Import the good rows of a file that has bad ones (each bad row is "
        "still reported). Without it, nothing is imported from a file with errors.",
    )
    severity: Annotated[float, Field(ge=0.0, lt=1.0)] | None = Field(
        default=None,
        description="Severity for reports without one; default by kind (shelling and air "
        "strikes 0.05, clashes and sniper fire 0.03, abductions 0.02, protests 0, other 0.02).",
    )
    radius_m: Annotated[float, Field(ge=0.0)] = Field(
        default=250.0, description="Radius in metres for located reports without one."
    )
    confidence: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        default=0.5, description="Confidence for reports without one."
    )
    half_life_h: Annotated[float, Field(gt=0.0)] | None = Field(
        default=24.0, description="Half-life in hours for reports without one (null: no decay)."
    )
    source: str | None = Field(
        default=None, max_length=10_000, description="Source for reports without one."
    )


@dataclass
class ImportOutcome:
    """The scenario with the reports added, the reports added, and the import report."""

    scenario: Scenario
    added: list[dict[str, Any]]
    parsed: ParsedIncidents
    skipped: list[str] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        return {
            **self.parsed.report(),
            "imported": len(self.added),
            "ids": [i["id"] for i in self.added],
            "incidents": len(self.scenario.incidents),
        }


def defaults_for(scenario: Scenario, request: ImportRequest) -> ImportDefaults:
    """Import defaults; dates without an offset take the scenario's ``as_of`` offset (else UTC)."""
    tz = scenario.as_of.tzinfo if scenario.as_of is not None else None
    return ImportDefaults(
        severity=request.severity,
        radius_m=request.radius_m,
        confidence=request.confidence,
        half_life_h=request.half_life_h,
        source=request.source,
        tz=tz or UTC,
    )


def import_incidents(scenario: Scenario, text: str, request: ImportRequest) -> ImportOutcome:
    """Parse CSV/GeoJSON ``text`` and add its reports to ``scenario``.

    Raises :class:`ValidationError` listing every bad row (pointers
    ``/rows/N/column`` or ``/features/N/...``) unless ``skip_bad`` is set and
    the file as a whole is readable.
    """
    parsed = parse_incidents(
        text,
        request.format,
        defaults_for(scenario, request),
        known_edges=_edge_ids(scenario),
    )
    existing = {i.id for i in scenario.incidents}
    keep: list[int] = []
    for k, doc in enumerate(parsed.incidents):
        if doc["id"] in existing:
            parsed.problems.append(
                Problem(
                    parsed.pointers[k],
                    f"{parsed.origins[k]}: incident {doc['id']!r} is already in the scenario",
                )
            )
            parsed.bad.append(parsed.origins[k])
        else:
            keep.append(k)
    if parsed.fatal:
        raise ValidationError(
            parsed.problems, detail="the text cannot be read as incident reports; nothing imported"
        )
    if parsed.problems and not request.skip_bad:
        n = len(parsed.bad)
        raise ValidationError(
            parsed.problems,
            detail=f"{n} bad report{'s' if n != 1 else ''} of {parsed.read}; nothing imported "
            "(import the others with --skip-bad, or skip_bad=true over HTTP)",
        )
    added = [parsed.incidents[k] for k in keep]
    parsed.incidents = added
    parsed.origins = [parsed.origins[k] for k in keep]
    parsed.pointers = [parsed.pointers[k] for k in keep]
    updated = apply_incidents(scenario, added, parsed.pointers)
    return ImportOutcome(updated, added, parsed, skipped=list(parsed.bad))


def apply_incidents(
    scenario: Scenario, incidents: list[dict[str, Any]], origins: list[str] | None = None
) -> Scenario:
    """A new validated scenario with ``incidents`` appended.

    Problems are reported at ``origins[k]`` (default ``/incidents/k``, relative
    to the list given), not at their place in the merged document.
    """
    before = len(scenario.incidents)
    try:
        compact = compact_of(scenario)
        if compact is not None:  # only the header is validated again, not each road
            return large.with_incidents(compact, incidents).view()
        document = scenario.to_document()
        document["incidents"] = [*document.get("incidents", []), *incidents]  # type: ignore[misc]
        return validate_scenario(document)
    except ValidationError as exc:
        raise ValidationError(
            [repoint_appended(p, before, origins) for p in exc.problems], detail=exc.detail
        ) from None


def _edge_ids(scenario: Scenario) -> Container[str]:
    """The scenario's road ids, looked up in its columns when it has them."""
    compact = compact_of(scenario)
    if compact is not None:
        return IdIndex(compact.edges.id)
    return {e.id for e in scenario.edges}


def repoint_appended(problem: Problem, before: int, origins: list[str] | None = None) -> Problem:
    """Point a problem in the ``k``-th appended incident at ``origins[k]`` (or ``/incidents/k``).

    ``before`` is how many incidents the scenario had; problems elsewhere are kept as they are.
    """
    parts = problem.pointer.split("/")
    if len(parts) >= 3 and parts[1] == "incidents" and parts[2].isdigit():
        k = int(parts[2]) - before
        if k >= 0:
            head = origins[k] if origins is not None else f"/incidents/{k}"
            return Problem("/".join([head, *parts[3:]]), problem.detail)
    return problem
