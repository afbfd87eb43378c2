"""Adding incident reports to a scenario: from request bodies, CSV or GeoJSON text.

The result is a new, validated :class:`Scenario`; storage saves it as a new
version (HTTP) or the CLI writes it back to a file. Nothing is added from a
text with a bad row unless ``skip_bad`` is set; problems a whole file has (no
date column, not GeoJSON) are never skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC
from typing import Annotated, Any, Literal

from pydantic import Field

from app.domain.errors import Problem, ValidationError
from app.domain.formats.incidents import (
    ImportDefaults,
    ParsedIncidents,
    parse_incidents,
)
from app.domain.scenario.columns import CompactScenario, IdIndex
from app.domain.scenario.edits import apply_edits
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

    scenario: CompactScenario
    added: list[dict[str, Any]]
    parsed: ParsedIncidents
    skipped: list[str] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        return {
            **self.parsed.report(),
            "imported": len(self.added),
            "ids": [i["id"] for i in self.added],
            "incidents": len(self.scenario.header.incidents),
        }


def defaults_for(scenario: CompactScenario, request: ImportRequest) -> ImportDefaults:
    """Import defaults; dates without an offset take the scenario's ``as_of`` offset (else UTC)."""
    as_of = scenario.header.as_of
    tz = as_of.tzinfo if as_of is not None else None
    return ImportDefaults(
        severity=request.severity,
        radius_m=request.radius_m,
        confidence=request.confidence,
        half_life_h=request.half_life_h,
        source=request.source,
        tz=tz or UTC,
    )


def import_incidents(scenario: CompactScenario, text: str, request: ImportRequest) -> ImportOutcome:
    """Parse CSV/GeoJSON ``text`` and add its reports to ``scenario``.

    Raises :class:`ValidationError` listing every bad row (pointers
    ``/rows/N/column`` or ``/features/N/...``) unless ``skip_bad`` is set and
    the file as a whole is readable.
    """
    parsed = parse_incidents(
        text,
        request.format,
        defaults_for(scenario, request),
        known_edges=IdIndex(scenario.edges.id),
    )
    existing = {i.id for i in scenario.header.incidents}
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
    scenario: CompactScenario, incidents: list[dict[str, Any]], origins: list[str] | None = None
) -> CompactScenario:
    """The scenario with ``incidents`` added (``add_incident`` edits).

    Problems are reported at ``origins[k]`` (default ``/incidents/k``, relative
    to the list given), not at their place in the merged document.
    """
    try:
        return apply_edits(scenario, incident_edits(incidents))
    except ValidationError as exc:
        raise ValidationError(
            [_at_origin(p, origins) for p in exc.problems], detail=exc.detail
        ) from None


def incident_edits(incidents: list[dict[str, Any]]) -> list[Any]:
    """Incident reports as the edits that add them."""
    return [{"op": "add_incident", "incident": i} for i in incidents]


def _at_origin(problem: Problem, origins: list[str] | None) -> Problem:
    """A problem of the ``k``-th edit (``/k/incident/...``) at ``origins[k]`` (or
    ``/incidents/k``)."""
    parts = problem.pointer.split("/")
    if len(parts) >= 3 and parts[1].isdigit() and parts[2] == "incident":
        k = int(parts[1])
        head = origins[k] if origins is not None else f"/incidents/{k}"
        return Problem("/".join([head, *parts[3:]]), problem.detail)
    return problem
