"""Response shapes of the OpenAPI document: every member each answer carries (SPEC §3).

These models declare the wire format; they never make it. Answers are written by the
domain (``as_dict``) and sent as they are; tests/api/test_contract.py sends a real request to
every operation and checks each answer against these schemas with no other member allowed.
A member that is present only in some answers has a default (it is then not ``required``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

DateTime = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
"""An ISO 8601 time with its UTC offset (RFC 3339), sent as a string."""

Pair = Annotated[list[float], Field(min_length=2, max_length=2)]
"""Low and high."""


class Out(BaseModel):
    """A response shape (members named as on the wire: ``from``, not ``from_``)."""

    model_config = ConfigDict(populate_by_name=True)


# --- Routes ---------------------------------------------------------------------------------


class IncidentEffect(Out):
    """What one incident report adds to a road's risk at the time asked."""

    incident: str
    kind: str
    probability: float = Field(description="Added probability of harm at the time asked.")
    age_h: float = Field(description="Hours since it was observed.")
    source: str | None
    confidence: float
    range: Pair = Field(description="Added probability if the report is false or all true.")
    label: str = Field(description='As a step table shows it: "shelling, 1 h ago, …".')


class RiskInputs(Out):
    """Where a road's risk comes from."""

    base: float | None = Field(description="The road's own risk (null: no estimate).")
    base_unknown: bool = Field(description="The road has no risk estimate: assumed.")
    base_source: str | None
    incidents: list[IncidentEffect]
    detention: float = Field(description="Chance of detention at the road's checkpoint.")


class Step(Out):
    """One road of a route, in the order travelled."""

    edge: str
    from_: str = Field(alias="from")
    to: str
    name: str | None
    status: str = Field(description="open, damaged, blocked… (SPEC §2).")
    controlled_by: str | None
    checkpoint: str | None = Field(description="Party holding a checkpoint on the road.")
    travel_time_min: float
    risk: float
    harm: float
    harm_range: Pair
    detention: float
    risk_inputs: RiskInputs
    cumulative_survival: float
    cumulative_time_min: float


class AssumptionOut(Out):
    """One assumed or estimated figure an answer rests on."""

    quantity: str
    value: float | None = Field(description="The figure, when it is one number.")
    range: Pair | None = Field(description="Lowest and highest, when figures differ.")
    unit: str
    source: str = Field(description="Where it comes from, or how it was estimated.")
    applies_to: list[str] = Field(description="Roads or places (at most 20 listed).")
    count: int = Field(description="How many roads or places it applies to.")


class UnknownPolicyOut(Out):
    rule: float | str = Field(description="A probability, or 'highest'.")
    assumed: float = Field(description="Probability assumed for roads without an estimate.")
    given_by: str = Field(description="request, scenario or default.")


class UnknownRouteOut(Out):
    """How much of a route has no risk estimate."""

    roads: int
    of_roads: int
    travel_time_min: float
    share_of_time: float
    assumed_risk: float
    policy: UnknownPolicyOut


class UnknownPlanOut(Out):
    """How much of a plan travels over roads without a risk estimate."""

    roads: int
    of_roads: int
    people_on_unknown_roads: int
    assumed_risk: float
    policy: UnknownPolicyOut


class LineString(Out):
    type: Literal["LineString"]
    coordinates: list[Annotated[list[float], Field(min_length=2, max_length=3)]] = Field(
        description="[longitude, latitude] pairs (RFC 7946)."
    )


class Point(Out):
    type: Literal["Point"]
    coordinates: Annotated[list[float], Field(min_length=2, max_length=3)]


class RouteOut(Out):
    """A ROUTE (SPEC §3)."""

    nodes: list[str]
    edges: list[str]
    survival_probability: float = Field(
        description="Chance of arriving unharmed and free: Π(1 − risk) over the route's "
        "roads, incidents and checkpoints."
    )
    survival_range: Pair = Field(
        description="Low and high survival probability from the ranges of the risk inputs."
    )
    risk: float = Field(description="1 − survival_probability.")
    harm_probability: float = Field(description="Chance of being harmed on the way.")
    harm_range: Pair
    detention_probability: float = Field(
        description="Chance of detention or disappearance at the route's checkpoints."
    )
    objective: Literal["survival", "harm", "detention"] = Field(
        description="What the route minimises."
    )
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
    profile: str = Field(description="Who travels.")
    at: DateTime | None = Field(description="The time the risks are evaluated at.")
    incidents_after_at: list[str] = Field(
        description="Incident reports left out: observed after `at`."
    )
    geometry: LineString | None = Field(description="GeoJSON LineString, if located.")
    steps: list[Step]
    overlap_with_safer: float | None = Field(
        default=None,
        description="With alternatives: largest share of this route's travel time on roads "
        "of a safer route (absent otherwise).",
    )


class RoutesOut(Out):
    """The answer to a route question: routes best first, and what the kind of question adds."""

    routes: list[RouteOut] = Field(description="Best first.")
    joint_survival_probability: float | None = Field(
        default=None, description="With disjoint: both routes' survival probabilities multiplied."
    )
    unavoidable_roads: list[str] | None = Field(
        default=None, description="With alternatives: roads every route uses."
    )
    pareto: bool | None = Field(
        default=None, description="With pareto: true; the routes are the risk–time front."
    )
    front_size: int | None = Field(default=None, description="With pareto: routes on the front.")
    front_complete: bool | None = Field(
        default=None, description="With pareto: false when the front was cut at pareto_cap."
    )


# --- Plans on foot --------------------------------------------------------------------------


class Movement(Out):
    """A group of people moving together, and the minute it enters each road."""

    from_: str = Field(alias="from")
    to: str
    count: int
    depart_min: int
    arrive_min: int | None = Field(description="Null for a stranded group.")
    nodes: list[str]
    edges: list[str]
    enter_min: list[int] = Field(description="Minute the group enters each road.")
    risk: float = Field(description="Chance of harm or detention on the group's roads.")


class Bottleneck(Out):
    """A road used at its capacity."""

    edge: str
    saturated_minutes: int
    capacity_per_min: int
    first_min: int
    last_min: int


class StrandedAt(Out):
    node: str
    count: int


class PlanWindow(Out):
    """The window a plan was asked for: a scenario's window, or start and end."""

    id: str | None
    name: str | None
    agreed_by: list[str]
    start: DateTime
    end: DateTime
    minutes: int


class ConcessionRow(Out):
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


class Concessions(Out):
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


class PlanOut(Out):
    """A plan on foot (SPEC §3 PLAN); times in whole minutes from the start of the plan.

    Told from a fleet plan by ``movements`` (a fleet plan has ``trips``)."""

    egress_time_min: int | None = Field(
        description="When the last evacuee reaches a safe zone (null if nobody can)."
    )
    total_population: int
    evacuated: int
    stranded: int
    method: Literal["optimal", "fast"] = Field(description="The method that made the plan.")
    optimal: bool = Field(
        description="True for the optimal method, and for a fast plan that meets its bounds "
        "(egress_time_min = lower_bound_min and evacuated = upper_bound_evacuated; `note` "
        "says so); false for a fast plan that does not (method fast, or the time budget)."
    )
    horizon_min: int | None = Field(description="Minutes of the window (null: none).")
    lower_bound_min: int | None = Field(
        description="No plan gets everyone out sooner (null in a window too short for all)."
    )
    upper_bound_evacuated: int | None = Field(
        description="No plan gets more people out in the window."
    )
    expected_harm: float = Field(description="Expected number of people harmed on the way.")
    expected_harm_range: Pair = Field(
        description="Low and high expected harm from the ranges of the risk inputs."
    )
    expected_detained: float = Field(
        description="Expected number of people detained or disappeared at checkpoints."
    )
    unknown_risk: UnknownPlanOut
    assumptions: list[AssumptionOut]
    profile: str
    at: DateTime | None
    incidents_after_at: list[str]
    movements: list[Movement]
    bottlenecks: list[Bottleneck]
    parties: list[str]
    consents_needed: list[str]
    stranded_at: list[StrandedAt] = Field(description="Where the people left behind are.")
    stranded_movements: list[Movement] = Field(
        description="Groups on their way when the window closes."
    )
    note: str | None
    requested_method: Literal["optimal", "fast"]
    window: PlanWindow | None
    concessions: Concessions | None = Field(
        default=None, description="With rank_openings: what to negotiate first."
    )


# --- Fleet plans ----------------------------------------------------------------------------


class Screening(Out):
    """A vehicle's stop at a checkpoint: arrival, start and end of its screening."""

    edge: str
    arrive_min: int
    start_min: int
    end_min: int


class Trip(Out):
    """One trip of one vehicle: to a pickup, loaded, screened, to a safe zone."""

    vehicle: str
    fleet: str
    trip: int = Field(description="The vehicle's trip number, from 1.")
    from_: str = Field(alias="from", description="Where the vehicle starts the trip.")
    depart_min: int
    pickup: str
    arrive_pickup_min: int
    loaded_min: int
    screened: list[Screening]
    to: str = Field(description="The safe zone.")
    arrive_min: int
    return_min: int = Field(description="When the vehicle is free again.")
    people: dict[str, int] = Field(description="People aboard by group.")
    count: int
    nodes: list[str] = Field(description="Places from pickup to safe zone.")


class GroupOutcome(Out):
    group: str
    name: str | None
    needs: Literal["seat", "stretcher"]
    population: int
    evacuated: int
    stranded: int
    last_arrival_min: int | None


class CheckpointUse(Out):
    edge: str
    party: str | None
    vehicles: int
    people: int
    screening_min: int
    waiting_min: int
    longest_wait_min: int


class TimeUse(Out):
    """Vehicle-minutes by what the vehicles were doing."""

    driving: int
    loading: int
    queueing: int
    screening: int
    road_waits: int
    idle: int


class FleetBottleneck(Out):
    kind: Literal["none", "window", "road", "reception", "fleet", "loading", "screening"]
    explanation: str


class Gain(Out):
    """A fast re-plan with one thing changed."""

    evacuated: int
    gained: int = Field(description="Evacuated b − a.")
    egress_time_min: int | None


class LaneGain(Gain):
    checkpoint: str = Field(description="The busiest checkpoint's road, given one more lane.")


class FleetToClear(Out):
    people: int
    vehicles: int | None = Field(description="Fewest vehicles (null: not within tried_up_to).")
    tried_up_to: int


class Sizing(Out):
    """What one more vehicle, lane or hour would give, and what clears everyone."""

    method: Literal["fast"]
    one_more_vehicle: dict[str, Gain] = Field(description="By fleet.")
    one_more_lane: LaneGain | None
    one_more_hour: Gain | None = Field(default=None, description="In a window only.")
    shortest_window_min: int | None
    shortest_window_lower_bound_min: int | None
    vehicles_to_clear: dict[str, FleetToClear] = Field(description="By fleet.")


class FleetPlanOut(Out):
    """A fleet plan (`fleet` in the request; docs/fleets.md); told from a plan on foot by
    ``trips``."""

    fleets: list[str]
    vehicles: dict[str, int] = Field(description="Vehicles by fleet.")
    method: Literal["optimal", "fast"]
    optimal: bool
    horizon_min: int | None
    total_population: int
    evacuated: int
    stranded: int
    egress_time_min: int | None
    upper_bound_evacuated: int | None
    lower_bound_min: int | None
    by_group: list[GroupOutcome] = Field(description="Groups in priority order.")
    trips: list[Trip]
    checkpoints: list[CheckpointUse]
    time_use_vehicle_min: TimeUse
    fleet_utilisation: float = Field(description="Share of vehicle time not idle.")
    bottleneck: FleetBottleneck
    expected_harm: float
    parties: list[str]
    consents_needed: list[str]
    assumptions: list[AssumptionOut]
    note: str | None
    requested_method: Literal["optimal", "fast"]
    window: PlanWindow | None
    sizing: Sizing | None = Field(default=None, description="With sizing.")


# --- Parties --------------------------------------------------------------------------------


class RouteSummary(Out):
    nodes: list[str]
    edges: list[str]
    survival_probability: float
    risk: float
    travel_time_min: float
    consents_needed: list[str]


class ConsentOption(RouteSummary):
    agreements: list[str] = Field(description="The new agreements this route needs.")
    survival_gain: float | None = Field(description="Survival b − today (null: no route today).")


class PartyEffectOut(Out):
    id: str
    name: str | None
    consent: str
    needed_for_safest: bool
    indispensable: bool = Field(description="No route at all if this party refuses.")
    if_only_this_party_agrees: RouteSummary | None
    if_this_party_refuses: RouteSummary | None
    survival_lost_if_refuses: float | None


class PartiesOut(Out):
    """Whose agreement would open the safest route, and how much safer it would be."""

    from_: str = Field(alias="from")
    to: str
    profile: str
    at: DateTime | None
    granted: list[str]
    not_granted: list[str]
    today: RouteOut | None = Field(description="The safest route with today's consents.")
    safest: RouteOut = Field(description="The safest route if every party agreed.")
    safest_needs: list[str]
    survival_gain: float | None
    options: list[ConsentOption]
    parties: list[PartyEffectOut]
    all_combinations_examined: bool


# --- Briefs ---------------------------------------------------------------------------------


class BriefPlace(Out):
    id: str
    name: str | None
    name_ar: str | None
    kind: str
    lat: float | None
    lon: float | None
    controlled_by: str | None


class Timed(Out):
    """Minutes from the start of the clock, and that time."""

    min: int | None
    at: DateTime | None


class BriefStep(Step):
    minutes: int
    from_place: BriefPlace
    to_place: BriefPlace
    first_arrival: Timed
    last_arrival: Timed


class BriefRoute(RouteOut):
    steps: list[BriefStep]  # type: ignore[assignment]


class BriefClock(Out):
    start: DateTime | None
    from_: str | None = Field(alias="from", description="window start or time evaluated.")
    utc_offset: str | None


class BriefProfile(Out):
    id: str
    name: str | None
    description: str | None


class BriefWindow(Out):
    id: str
    name: str | None
    start: DateTime
    end: DateTime
    length_min: int
    agreed_by: list[str]


class Verdict(Out):
    status: Literal["no_people", "no_window", "nothing_moves", "nothing_fits", "partial", "fits"]
    people_moved: int | None
    people_not_moved: int | None
    receivable: int | None
    first_arrival: Timed
    egress: Timed
    recommended_window_min: int | None
    recommended_window_end: DateTime | None
    how: str | None = Field(default=None, description="How the figures were found.")


class BriefCheckpoint(Out):
    edge: str
    name: str | None
    party: str
    between: list[BriefPlace]


class Figure(Out):
    id: str
    label: str
    value: float | int | str | list[float] | None
    unit: str


class Corridor(Out):
    name: str
    status: Literal["proposed", "too_long", "standby"]
    route: BriefRoute
    places: list[BriefPlace]
    people: int | None
    throughput_per_min: float | None
    travel_min: int
    first_departure: Timed
    last_departure: Timed
    first_arrival: Timed
    last_arrival: Timed
    last_arrival_min: int | None
    fits_window: bool | None
    expected_harmed: float | None
    expected_detained: float | None
    unknown: str | None = Field(description="What the route's unknown risk means, if any.")
    checkpoints: list[BriefCheckpoint]
    figures: list[Figure]


class BriefSurvival(Out):
    per_corridor: list[float]
    joint: float
    expected_harmed: float | None
    expected_detained: float | None


class BriefParty(Out):
    id: str
    name: str | None
    consent: str
    territory: bool
    checkpoints: list[str]
    agreed_window: bool | None


class CrossingOrCheckpoint(Out):
    kind: Literal["crossing", "checkpoint"]
    party: str | None
    place: BriefPlace | None = Field(default=None, description="For a crossing.")
    edge: str | None = Field(default=None, description="For a checkpoint.")
    name: str | None = Field(default=None, description="For a checkpoint.")
    between: list[BriefPlace] | None = Field(default=None, description="For a checkpoint.")


class RoadInput(Out):
    edge: str
    name: str | None
    status: str
    base_risk: float | None = Field(description="null: the road has no risk estimate.")
    base_source: str | None
    checkpoint_risk: float
    risk: float


class IncidentInput(Out):
    id: str
    kind: str
    observed_at: DateTime
    age_h: float
    source: str | None
    confidence: float
    added_risk: float
    roads: list[str]


class BriefInputs(Out):
    roads: list[RoadInput]
    incidents: list[IncidentInput]


class Fallback(Out):
    nodes: list[str]
    edges: list[str]
    places: list[BriefPlace]
    survival_probability: float
    travel_time_min: float
    consents_needed: list[str]
    people_moved: int | None
    last_arrival: Timed
    window_needed_min: int | None


class IfPartyRefuses(Out):
    party: str
    party_name: str | None
    detail: str | None
    fallback: Fallback | None = Field(description="The safest route without the party.")
    survival_change: float | None = Field(default=None, description="With a fallback.")


class Notification(Out):
    movement: str
    from_: BriefPlace = Field(alias="from")
    to: BriefPlace
    route: list[BriefPlace]
    checkpoints: list[BriefCheckpoint]
    window: list[DateTime] | None
    first_departure: DateTime | None
    last_departure: DateTime | None
    first_arrival: DateTime | None
    last_arrival: DateTime | None
    people: int | None


class BriefScenario(Out):
    id: str
    version: int


class BriefOut(Out):
    """A proposal brief as JSON; ``markdown`` carries the same brief as Markdown."""

    title: str
    scenario: BriefScenario
    illustrative: bool
    banner: str | None
    as_of: DateTime | None
    evaluated_at: DateTime | None
    requested_by: str | None
    clock: BriefClock
    from_: BriefPlace = Field(alias="from")
    to: BriefPlace
    people: int | None
    profile: BriefProfile
    window: BriefWindow | None
    verdict: Verdict
    corridors: list[Corridor]
    survival: BriefSurvival
    consents_needed: list[str]
    window_not_yet_agreed_by: list[str]
    parties: list[BriefParty]
    checkpoints_and_crossings: list[CrossingOrCheckpoint]
    inputs: BriefInputs
    if_a_party_refuses: list[IfPartyRefuses]
    notification: list[Notification]
    figures: list[Figure]
    assumed_figures: list[AssumptionOut]
    caveats: list[str]
    markdown: str


# --- Comparisons ----------------------------------------------------------------------------


class ScenarioVersion(Out):
    scenario: str
    version: int


class CompareVersions(Out):
    a: ScenarioVersion
    b: ScenarioVersion


class SidesConsents(Out):
    a: list[str] | None
    b: list[str] | None


class RouteDifference(Out):
    """b − a of the first routes (null where a side has no route)."""

    survival_probability: float | None
    harm_probability: float | None
    detention_probability: float | None
    travel_time_min: float | None
    roads_only_in_a: list[str]
    roads_only_in_b: list[str]
    consents_needed: SidesConsents


class PlanDifference(Out):
    """b − a of the plans (null where a side has no plan or the figure)."""

    evacuated: int | None
    egress_time_min: int | None
    expected_harm: float | None
    expected_detained: float | None


# --- Maps -----------------------------------------------------------------------------------


class NodeProperties(Out):
    layer: Literal["node"]
    id: str
    name: str | None
    kind: str
    population: int
    capacity: int | None
    controlled_by: str | None


class RoadProperties(Out):
    layer: Literal["road"]
    id: str
    name: str | None
    from_: str = Field(alias="from")
    to: str
    directed: bool
    status: str
    base_risk: float | None
    risk: float
    harm: float
    detention: float
    usable: bool = Field(description="Usable by the profile at the time asked.")
    travel_time_min: float
    capacity_per_min: float | None
    controlled_by: str | None
    checkpoint: str | None


class IncidentProperties(Out):
    layer: Literal["incident"]
    id: str
    kind: str
    radius_m: float | None
    severity: float
    confidence: float
    observed_at: DateTime
    age_h: float | None
    source: str | None
    label: str | None = Field(
        default=None, description="As the map shows it (a report not after the time asked)."
    )
    road: str | None = Field(default=None, description="For a report on a road: the road.")


class RouteProperties(Out):
    layer: Literal["route"]
    rank: int
    nodes: list[str]
    edges: list[str]
    survival_probability: float
    travel_time_min: float
    consents_needed: list[str]


class NodeFeature(Out):
    type: Literal["Feature"]
    id: str
    geometry: Point
    properties: NodeProperties


class RoadFeature(Out):
    type: Literal["Feature"]
    id: str
    geometry: LineString
    properties: RoadProperties


class IncidentFeature(Out):
    type: Literal["Feature"]
    id: str
    geometry: Point
    properties: IncidentProperties


class RouteFeature(Out):
    type: Literal["Feature"]
    id: str
    geometry: LineString
    properties: RouteProperties


class MapParty(Out):
    id: str
    name: str | None
    consent: str
    detention_record: bool
    notes: str | None


class MapProperties(Out):
    name: str | None
    profile: str
    at: DateTime | None
    parties: list[MapParty]
    credits: list[str]


class MapOut(Out):
    """A GeoJSON FeatureCollection (RFC 7946): places, roads, incident reports and, with
    from and to, the safest route."""

    type: Literal["FeatureCollection"]
    features: list[NodeFeature | RoadFeature | IncidentFeature | RouteFeature]
    properties: MapProperties


# --- Service --------------------------------------------------------------------------------


class HealthStorage(Out):
    backend: str = Field(description="sqlite or postgresql.")
    ok: bool
    cached_versions: int | None = Field(
        default=None, description="Compiled versions held in memory (when reachable)."
    )
    error: str | None = Field(default=None, description="The error's kind (when unreachable).")


class Health(Out):
    status: Literal["ok", "degraded"]
    version: str
    storage: HealthStorage


# --- Problems (RFC 9457) --------------------------------------------------------------------


class ProblemItem(Out):
    pointer: str = Field(description="JSON pointer into the request ('' for the whole of it).")
    detail: str


class CutRoad(Out):
    edge: str
    reasons: list[str] = Field(
        description="Why the road is closed: blocked, the profile, or each avoided or "
        "non-consenting party that holds it, its checkpoint or one of its ends."
    )


class CutPlace(Out):
    node: str
    role: Literal["origin", "destination"]
    held_by: str = Field(description="The party holding the place.")
    reasons: list[str] = Field(
        description="E.g. \"origin 'as-sukkari' is held by 'opposition', which has not "
        'granted consent" (or "…, which is avoided").'
    )


class Cut(Out):
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


class SharedRoad(Out):
    edge: str
    name: str | None
    from_: str = Field(alias="from")
    to: str
    controlled_by: str | None
    checkpoint: str | None


class PlainProblem(Out):
    """RFC 9457 problem document (application/problem+json) of a kind with no members of
    its own; ``type`` says which kind (``/problems/<slug>``, described at that address)."""

    type: str = Field(description="`/problems/<slug>`, described at that address.")
    title: str
    status: int
    detail: str
    instance: str | None = Field(
        default=None, description="The path asked (absent in a comparison's side)."
    )


class InvalidProblem(PlainProblem):
    """Invalid input: every problem, each at its JSON pointer into the request."""

    errors: list[ProblemItem] | None = Field(
        default=None,
        description="Every problem (the first 1000), each at its pointer; absent only when "
        "a body was refused for its size before it was read.",
    )


class NoRouteProblem(PlainProblem):
    """No usable route joins the two places."""

    cut: Cut = Field(description="What separates the two places.")


class RiskLimitProblem(PlainProblem):
    """Routes exist, but none within ``max_risk``."""

    best_risk: float = Field(description="The risk of the safest route there is.")
    max_risk: float = Field(description="The limit asked for.")


class NoDisjointPairProblem(PlainProblem):
    """Routes exist, but every two of them share a road."""

    shared_roads: list[SharedRoad] = Field(description="The roads every route must use.")
    route: RouteOut = Field(description="The safest route.")


class PreconditionFailedProblem(PlainProblem):
    """The scenario changed since the version named by If-Match."""

    current_version: int | None = Field(
        description="The scenario's current version (null: If-Match named no version)."
    )


class ConflictProblem(PlainProblem):
    """The resource exists or kept changing, or a job has no answer (yet)."""

    state: Literal["queued", "running", "cancelled"] | None = Field(
        default=None,
        description="For `GET /v1/jobs/{id}/result`: the job's state, which has no answer "
        "(absent otherwise).",
    )


PROBLEM_REF = "#/components/schemas/Problem"

AnyProblem = Annotated[dict[str, Any], WithJsonSchema({"$ref": PROBLEM_REF})]
"""A problem document of any kind (the ``Problem`` schema: one of the kinds, by ``type``)."""


class CompareOut(Out):
    """One question asked of two scenarios or versions: each side's answer, and b − a."""

    kind: Literal["route", "plan"]
    a: RoutesOut | PlanOut | FleetPlanOut | AnyProblem = Field(
        description="Side a's answer, or its problem document when it has none."
    )
    b: RoutesOut | PlanOut | FleetPlanOut | AnyProblem
    versions: CompareVersions
    difference: RouteDifference | PlanDifference


# --- Jobs (docs/jobs.md) --------------------------------------------------------------------

JobState = Literal["queued", "running", "done", "failed", "cancelled"]

PLAN_REQUEST_REF = WithJsonSchema({"allOf": [{"$ref": "#/components/schemas/PlanRequest"}]})
"""The body of ``POST …/plans`` (a request component, referred to by name)."""


class JobScenario(Out):
    id: str
    version: int = Field(description="The version the job answers (fixed when submitted).")


class JobParts(Out):
    """A ranking of concessions: concessions priced so far, of all to price."""

    done: int
    total: int


class JobProgress(Out):
    """How far the job is: what the computation last reported (the phases the command line
    shows as its progress bar)."""

    phase: str | None = Field(description="What it is doing (null while queued).")
    done: float | None
    total: float | None
    fraction: float | None = Field(description="How far it is, 0 to 1 (null: not known yet).")
    parts: JobParts | None = Field(
        default=None,
        description="A ranking of concessions once the base plan chose what to price "
        "(absent otherwise).",
    )


class JobSummary(Out):
    """A done job's answer in three figures."""

    method: str | None
    evacuated: int | None
    egress_time_min: float | None


class JobLinks(Out):
    self_: str = Field(alias="self", description="/v1/jobs/{id}")
    events: str = Field(description="/v1/jobs/{id}/events: progress as Server-Sent Events.")
    result: str = Field(description="/v1/jobs/{id}/result: the answer alone.")


class Job(Out):
    """A JOB (docs/jobs.md): a plan request answered by a worker, read back from any
    replica. The answer of ``202 Accepted``, ``GET`` and ``DELETE /v1/jobs/{id}``, and the
    data of every Server-Sent Event; only ``GET /v1/jobs/{id}`` carries ``result``."""

    id: str
    kind: Literal["plan"]
    state: JobState = Field(
        description="queued → running → done or failed; cancelled from queued or running."
    )
    scenario: JobScenario
    request: Annotated[dict[str, Any], PLAN_REQUEST_REF] = Field(
        description="The request as submitted (the members it set)."
    )
    progress: JobProgress
    attempts: int = Field(description="Times a worker started it (more after a worker died).")
    created_by: str | None = Field(description="The name of the token that submitted it.")
    created_at: DateTime
    started_at: DateTime | None
    finished_at: DateTime | None
    summary: JobSummary | None = Field(description="When done: the answer in brief.")
    problem: AnyProblem | None = Field(
        description="When failed: the problem document the inline answer would have been "
        "(`instance`: the job), or one of type internal-error."
    )
    links: JobLinks
    result: PlanOut | FleetPlanOut | None = Field(
        default=None,
        description="When done, in `GET /v1/jobs/{id}` only: the answer (PlanOut, or "
        "FleetPlanOut for a request with `fleet`).",
    )


JOB_EVENT = {
    "title": "JobEvent",
    "description": "One Server-Sent Event of `GET /v1/jobs/{id}/events` (text/event-stream: "
    "this is the schema of each event, its `event:` line and its `data:` line, a blank line "
    "after each). An `event: progress` whenever the job's state or progress changes, then one "
    "`event: done`, `failed` or `cancelled` with the job as it ended, and the stream ends. "
    "Comment lines (`: ping`) keep a quiet connection open.",
    "type": "object",
    "properties": {
        "event": {"type": "string", "enum": ["progress", "done", "failed", "cancelled"]},
        "data": {
            "type": "string",
            "description": "The Job as JSON, without `result` (read it with GET /v1/jobs/{id}).",
            "contentMediaType": "application/json",
            "contentSchema": {"$ref": "#/components/schemas/Job"},
        },
    },
    "required": ["event", "data"],
}
"""Written out rather than a model: pydantic cannot refer to Job from a string member."""


# --- Response headers -----------------------------------------------------------------------

ETAG = {
    "description": 'The version as an entity tag, e.g. "3": send it back in If-Match.',
    "required": True,
    "schema": {"type": "string"},
}
LOCATION = {
    "description": "Address of the scenario.",
    "required": True,
    "schema": {"type": "string"},
}
JOB_LOCATION = {
    "description": "Address of the job: /v1/jobs/{id}.",
    "required": True,
    "schema": {"type": "string"},
}
PREFER = {
    "name": "Prefer",
    "in": "header",
    "required": False,
    "description": "RFC 7240: `respond-async` answers 202 with a job; `wait=N` answers inline "
    "unless the plan is estimated to take longer than N seconds (docs/jobs.md).",
    "schema": {"type": "string"},
    "example": "respond-async",
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "A key of your choice: a retried submission with the same key (and the "
    "same request) answers 202 with the same job instead of a second one; the same key with "
    "another request is refused (422). Keys are per token.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
}
PREFERENCE_APPLIED = {
    "description": "`respond-async` when the request said `Prefer: respond-async` (RFC 7240); "
    "absent when the service chose to answer as a job.",
    "required": False,
    "schema": {"type": "string", "enum": ["respond-async"]},
}
SCENARIO_VERSION = {
    "description": "The version read (the current one).",
    "required": True,
    "schema": {"type": "integer"},
}


class Change(Out):
    """One difference between two versions."""

    kind: Literal["road", "place", "party", "incident", "window", "profile", "scenario"]
    id: str | None
    change: Literal["added", "removed", "changed"]
    field: str | None = Field(default=None, description="For changed: the field.")
    before: Any = Field(default=None, description="For changed: its value before.")
    after: Any = Field(default=None, description="For changed: its value after.")


class EditOperation(BaseModel):
    """One named edit, as sent in ``POST /v1/scenarios/{id}/edits`` (its members depend on
    ``op``)."""

    model_config = ConfigDict(extra="allow")

    op: str = Field(description="set_road, set_place, set_party, add_incident, …")


REFERENCED = (Change, EditOperation)
"""Components that schemas refer to by name only (the answers are passed on as they are)."""
WRITTEN_OUT = {"JobEvent": JOB_EVENT}
"""Components written as JSON Schema (referred to by name)."""

CHANGES = WithJsonSchema({"type": "array", "items": {"$ref": "#/components/schemas/Change"}})
EDITS = WithJsonSchema({"type": "array", "items": {"$ref": "#/components/schemas/EditOperation"}})
