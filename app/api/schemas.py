"""Response shapes for the OpenAPI document (SPEC §3 ROUTE; extra members are allowed)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Step(BaseModel):
    model_config = ConfigDict(extra="allow")  # the CLI's members too, not only these

    edge: str
    from_: str = Field(alias="from")
    to: str
    controlled_by: str | None
    checkpoint: str | None
    travel_time_min: float
    risk: float
    risk_inputs: dict[str, Any]
    cumulative_survival: float


class RouteOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    nodes: list[str]
    edges: list[str]
    survival_probability: float = Field(description="Π(1 − risk) over the route's roads.")
    risk: float = Field(description="1 − survival_probability.")
    travel_time_min: float
    length_m: float | None
    parties: list[str] = Field(description="Parties whose territory or roads the route crosses.")
    checkpoints: list[str] = Field(description="Parties whose checkpoints the route passes.")
    consents_needed: list[str] = Field(description="Parties on the route without consent.")
    geometry: dict[str, Any] | None = Field(description="GeoJSON LineString, if located.")
    steps: list[Step]


class RoutesOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    routes: list[RouteOut] = Field(description="Best first.")


class Health(BaseModel):
    status: str
    version: str
    storage: dict[str, Any]


class Movement(BaseModel):
    model_config = ConfigDict(extra="allow")

    from_: str = Field(alias="from")
    to: str
    count: int
    depart_min: int
    arrive_min: int
    nodes: list[str]


class Bottleneck(BaseModel):
    model_config = ConfigDict(extra="allow")

    edge: str
    saturated_minutes: int


class ConcessionRow(BaseModel):
    """One concession priced by planning again (b: with it, a: the plan as asked)."""

    kind: Literal["crossing", "road", "checkpoint", "party", "pause", "capacity"]
    what: str = Field(description="The road, the party, or the minutes added ('+30 min').")
    people_gained: int = Field(description="Evacuated b − a.")
    harm_change: float = Field(description="Expected harm b − a (people).")
    egress_change_min: int = Field(description="Egress time b − a (minutes; < 0: sooner).")
    evacuated: int
    expected_harm: float
    egress_time_min: int
    optimal: bool
    sentence: str


class Concessions(BaseModel):
    """What to negotiate first (``rank_openings``), best first in ``order``."""

    order: str
    rows: list[ConcessionRow]
    considered: int = Field(description="Concessions found for this plan.")
    priced: int = Field(description="Planned again (one row each).")
    skipped: int = Field(description="Not planned again: provably change nothing.")
    not_priced: int = Field(description="Beyond the limits (or the time budget).")
    max_candidates: int
    max_replans: int
    nothing_gains: str | None = Field(
        description="When no row gains people: why, from the flow model's bounds."
    )


class PlanOut(BaseModel):
    """SPEC §3 PLAN; times in whole minutes from the start of the plan."""

    model_config = ConfigDict(extra="allow")  # the CLI's members too, not only these

    egress_time_min: int | None = Field(
        description="When the last evacuee reaches a safe zone (null if nobody can)."
    )
    total_population: int
    evacuated: int
    stranded: int
    method: str
    optimal: bool = Field(description="False when the fast plan answered (time budget).")
    movements: list[Movement]
    bottlenecks: list[Bottleneck]
    consents_needed: list[str]
    concessions: Concessions | None = Field(
        default=None, description="With rank_openings: what to negotiate first."
    )


class ProblemItem(BaseModel):
    pointer: str = Field(description="JSON pointer into the request ('' for the whole of it).")
    detail: str


class Problem(BaseModel):
    """RFC 9457 problem document; every error is one (application/problem+json)."""

    model_config = ConfigDict(extra="allow")  # e.g. `cut`, `current_version`, `best_risk`

    type: str = Field(description="`/problems/<slug>`, described at that address.")
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[ProblemItem] | None = Field(
        default=None, description="For invalid input: every problem, each at its pointer."
    )
