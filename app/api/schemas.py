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
    parties: list[str] = Field(
        description="Parties holding a place the route passes (origin and destination "
        "included) or a road it uses."
    )
    checkpoints: list[str] = Field(description="Parties whose checkpoints the route passes.")
    consents_needed: list[str] = Field(
        description="Parties of `parties` and `checkpoints` whose consent is not granted."
    )
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
    detained_change: float = Field(description="Expected detained b − a (people).")
    egress_change_min: int = Field(description="Egress time b − a (minutes; < 0: sooner).")
    evacuated: int
    expected_harm: float
    expected_detained: float
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
    optimal: bool = Field(
        description="True for the optimal method, and for a fast plan that meets its bounds "
        "(egress_time_min = lower_bound_min and evacuated = upper_bound_evacuated; `note` "
        "says so); false for a fast plan that does not (method fast, or the time budget)."
    )
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
    concessions: Concessions | None = Field(
        default=None, description="With rank_openings: what to negotiate first."
    )


class ProblemItem(BaseModel):
    pointer: str = Field(description="JSON pointer into the request ('' for the whole of it).")
    detail: str


class CutRoad(BaseModel):
    edge: str
    reasons: list[str] = Field(
        description="Why the road is closed: blocked, the profile, or each avoided or "
        "non-consenting party that holds it, its checkpoint or one of its ends."
    )


class CutPlace(BaseModel):
    node: str
    role: Literal["origin", "destination"]
    held_by: str = Field(description="The party holding the place.")
    reasons: list[str] = Field(
        description="E.g. \"origin 'as-sukkari' is held by 'opposition', which has not "
        'granted consent" (or "…, which is avoided").'
    )


class Cut(BaseModel):
    """What separates the two places of a question that has no route."""

    roads: list[CutRoad] = Field(description="A smallest set of closed roads separating them.")
    disconnected: bool = Field(description="No road joins them even with every closure lifted.")
    open_to_connect: list[CutRoad] = Field(
        description="The fewest closed roads whose opening would give a route."
    )
    places: list[CutPlace] = Field(
        description="The origin and/or destination when held by an avoided party or, with "
        "`consenting_only`, one that has not granted consent: no route may leave or reach it."
    )


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
    cut: Cut | None = Field(
        default=None, description="For `/problems/no-route`: what separates the two places."
    )
