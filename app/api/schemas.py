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


class AssumptionOut(BaseModel):
    """One assumed or estimated figure an answer rests on."""

    quantity: str
    value: float | None = Field(description="The figure, when it is one number.")
    range: list[float] | None = Field(description="Lowest and highest, when figures differ.")
    unit: str
    source: str = Field(description="Where it comes from, or how it was estimated.")
    applies_to: list[str] = Field(description="Roads or places (at most 20 listed).")
    count: int = Field(description="How many roads or places it applies to.")


class UnknownPolicyOut(BaseModel):
    rule: float | str = Field(description="A probability, or 'highest'.")
    assumed: float = Field(description="Probability assumed for roads without an estimate.")
    given_by: str = Field(description="request, scenario or default.")


class UnknownRouteOut(BaseModel):
    """How much of a route has no risk estimate."""

    roads: int
    of_roads: int
    travel_time_min: float
    share_of_time: float
    assumed_risk: float
    policy: UnknownPolicyOut


class UnknownPlanOut(BaseModel):
    """How much of a plan travels over roads without a risk estimate."""

    roads: int
    of_roads: int
    people_on_unknown_roads: int
    assumed_risk: float
    policy: UnknownPolicyOut


class RouteOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    nodes: list[str]
    edges: list[str]
    survival_probability: float = Field(
        description="Chance of arriving unharmed and free: Π(1 − risk) over the route's "
        "roads, incidents and checkpoints."
    )
    survival_range: list[float] = Field(
        description="Low and high survival probability from the ranges of the risk inputs."
    )
    risk: float = Field(description="1 − survival_probability.")
    harm_probability: float = Field(description="Chance of being harmed on the way.")
    harm_range: list[float]
    detention_probability: float = Field(
        description="Chance of detention or disappearance at the route's checkpoints."
    )
    objective: str = Field(description="What the route minimises: survival, harm, detention.")
    unknown_risk: UnknownRouteOut
    assumptions: list[AssumptionOut] = Field(
        description="Every assumed or estimated figure the answer rests on."
    )
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
    optimal: bool = Field(description="False when the fast plan answered (time budget).")
    expected_harm: float = Field(description="Expected number of people harmed on the way.")
    expected_harm_range: list[float] = Field(
        description="Low and high expected harm from the ranges of the risk inputs."
    )
    expected_detained: float = Field(
        description="Expected number of people detained or disappeared at checkpoints."
    )
    unknown_risk: UnknownPlanOut
    assumptions: list[AssumptionOut]
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
