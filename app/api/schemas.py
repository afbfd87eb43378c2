"""Response shapes for the OpenAPI document (SPEC §3 ROUTE; extra members are allowed)."""

from __future__ import annotations

from typing import Any

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
    optimal: bool = Field(
        description="True for the optimal method, and for a fast plan that meets its bounds "
        "(egress_time_min = lower_bound_min and evacuated = upper_bound_evacuated; `note` "
        "says so); false for a fast plan that does not (method fast, or the time budget)."
    )
    movements: list[Movement]
    bottlenecks: list[Bottleneck]
    consents_needed: list[str]


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
