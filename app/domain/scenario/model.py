"""The scenario document (SPEC §2) as pydantic models.

Units: metres, minutes, persons; risk is a probability of harm per person per
pass. These models check types and ranges; cross-references (unknown ids,
duplicates, population above capacity) are checked in
:mod:`app.domain.scenario.problems`, which reports every problem at once.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SCHEMA_ID = "safe-passage/scenario@1"

NodeKind = Literal["district", "junction", "crossing", "assembly", "safe_zone"]
Consent = Literal["granted", "pending", "refused", "unknown"]
RoadStatus = Literal["open", "restricted", "damaged", "blocked"]

Probability = Annotated[float, Field(ge=0.0, lt=1.0)]
Positive = Annotated[float, Field(gt=0.0)]
Identifier = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(max_length=10_000)]
UnknownRisk = Probability | Literal["highest"]
"""What to assume for a road without a risk estimate: a probability, or ``"highest"``."""
Timestamp = Annotated[AwareDatetime, Field(strict=False)]
"""ISO 8601 text with a UTC offset (JSON), or a timestamp YAML already parsed."""

# Upper bounds far beyond any real place or road, so that sums of people and of minutes stay
# exact in 64-bit integers (plans, disjoint pairs and the Pareto front count in whole units).
MAX_PEOPLE = 10_000_000_000
"""Most people at one place (more than live on Earth)."""
MAX_LENGTH_M = 10_000_000.0
"""Longest road, metres (10,000 km)."""
MAX_TRAVEL_TIME_MIN = 1_000_000.0
"""Longest time on one road, minutes (about 694 days)."""
MIN_SPEED_M_PER_MIN = 1.0
"""Slowest profile speed, metres per minute (a road's time is at most length ÷ this)."""


class Model(BaseModel):
    """Base of every document model: unknown fields and NaN/inf are errors."""

    # defer_build: a model's validator is built when first used, not on import (the
    # command line's start: a route validates a few of these models, not all).
    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        populate_by_name=True,
        frozen=True,
        strict=True,
        defer_build=True,
    )


class Party(Model):
    id: Identifier
    name: Text | None = None
    consent: Consent = "unknown"
    detention_record: bool = Field(
        default=False,
        description="Documented detentions or disappearances at this party's checkpoints; "
        "profiles may add checkpoint risk for such parties.",
    )
    notes: Text | None = None


class Node(Model):
    id: Identifier
    name: Text | None = None
    name_ar: Text | None = None
    kind: NodeKind = "junction"
    lat: Annotated[float, Field(ge=-90.0, le=90.0)] | None = None
    lon: Annotated[float, Field(ge=-180.0, le=180.0)] | None = None
    population: Annotated[int, Field(ge=0, le=MAX_PEOPLE)] = 0
    population_source: Text | None = Field(
        default=None, description="Where the population figure comes from, or 'estimate: how'."
    )
    capacity: Annotated[int, Field(gt=0)] | None = None
    controlled_by: Identifier | None = None
    notes: Text | None = None

    @property
    def has_geometry(self) -> bool:
        return self.lat is not None and self.lon is not None


class Edge(Model):
    id: Identifier
    from_: Identifier = Field(alias="from")
    to: Identifier
    name: Text | None = None
    directed: bool = False
    length_m: Annotated[float, Field(gt=0.0, le=MAX_LENGTH_M)] | None = None
    travel_time_min: Annotated[float, Field(gt=0.0, le=MAX_TRAVEL_TIME_MIN)] | None = None
    capacity_per_min: Annotated[int, Field(gt=0)] | None = None
    status: RoadStatus = "open"
    risk: Probability | None = Field(
        default=None,
        description="Probability that one person passing once is harmed. Omitted or null: "
        "unknown (answers say how much of a route is unknown and what they assumed; see "
        "the scenario's unknown_risk).",
    )
    risk_low: Probability | None = Field(
        default=None, description="Low end of the road's risk estimate (needs risk)."
    )
    risk_high: Probability | None = Field(
        default=None, description="High end of the road's risk estimate (needs risk)."
    )
    risk_source: Text | None = Field(
        default=None, description="Where the base risk comes from, or 'estimate: how'."
    )
    controlled_by: Identifier | None = None
    checkpoint: Identifier | None = Field(
        default=None, description="Id of the party running a checkpoint on this road, if any."
    )
    vehicle_passable: bool = Field(
        default=True, description="Whether buses and ambulances can use this road."
    )
    candidate: bool = Field(
        default=False,
        description="A road or crossing closed today (status blocked) that could be negotiated "
        "open: plans price opening it as a second crossing. No effect on a road not blocked.",
    )
    vehicles_per_min: Annotated[float, Field(gt=0.0)] | None = Field(
        default=None,
        description="Vehicles that may enter the road per minute, per direction (fleet plans; "
        "null: unbounded).",
    )
    screening_min_per_vehicle: Annotated[float, Field(ge=0.0, le=MAX_TRAVEL_TIME_MIN)] | None = (
        Field(
            default=None,
            description="Minutes the checkpoint on this road takes to screen one vehicle "
            "(fleet plans; needs checkpoint).",
        )
    )
    screening_min_per_person: Annotated[float, Field(ge=0.0, le=MAX_TRAVEL_TIME_MIN)] | None = (
        Field(
            default=None,
            description="Minutes the checkpoint takes per person aboard (added to the "
            "vehicle's; needs checkpoint).",
        )
    )
    screening_lanes: Annotated[int, Field(gt=0, le=10_000)] | None = Field(
        default=None,
        description="Vehicles the checkpoint screens at once (default 1 where screening "
        "is given; needs checkpoint).",
    )
    notes: Text | None = None


class Incident(Model):
    id: Identifier
    kind: Text = "unspecified"
    lat: Annotated[float, Field(ge=-90.0, le=90.0)] | None = None
    lon: Annotated[float, Field(ge=-180.0, le=180.0)] | None = None
    radius_m: Annotated[float, Field(ge=0.0)] | None = None
    edges: list[Identifier] | None = Field(
        default=None, description="Roads the incident affects, for networks without geometry."
    )
    severity: Probability
    confidence: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0
    observed_at: Timestamp
    half_life_h: Positive | None = Field(
        default=None, description="Hours for the effect to halve; null means it does not decay."
    )
    source: Text | None = None
    notes: Text | None = None


class Window(Model):
    id: Identifier
    name: Text | None = None
    start: Timestamp
    end: Timestamp
    agreed_by: list[Identifier] = Field(default_factory=list)
    notes: Text | None = None


class Profile(Model):
    """Who travels: speed, which roads they may use, and extra risk at checkpoints."""

    id: Identifier
    name: Text | None = None
    description: Text | None = None
    speed_m_per_min: Annotated[float, Field(ge=MIN_SPEED_M_PER_MIN)] = 64.0
    vehicle: bool = Field(
        default=False, description="Travels in vehicles: only vehicle-passable roads."
    )
    excluded_statuses: list[RoadStatus] = Field(
        default_factory=list,
        description="Road statuses this profile cannot use (blocked roads are never used).",
    )
    checkpoint_risk: dict[Identifier, Probability] = Field(
        default_factory=dict,
        description="Probability of detention or disappearance when passing a checkpoint of "
        "the named party (counted apart from harm on the road).",
    )
    detention_checkpoint_risk: Probability = Field(
        default=0.0,
        description="Probability of detention or disappearance at checkpoints of parties with "
        "detention_record true, unless checkpoint_risk names the party.",
    )
    checkpoint_risk_source: Text | None = Field(
        default=None,
        description="Where the checkpoint figures come from, or 'assumption: why'.",
    )
    capacity_factor: Positive = Field(
        default=1.0, description="Multiplies roads' capacity_per_min (people per minute)."
    )
    source: Text | None = None


GroupNeeds = Literal["seat", "stretcher"]


class PopulationGroup(Model):
    """People who travel apart or first (e.g. the wounded on stretchers). The scenario's
    ``groups`` list is in priority order: vehicles carry the first group first. The people of
    a place not counted in any group's ``at`` are ``general`` (seats), last unless a group
    with id ``general`` (and no ``at``) sets its place in the order."""

    id: Identifier
    name: Text | None = None
    needs: GroupNeeds = Field(
        default="seat", description="What one person of the group takes in a vehicle."
    )
    at: dict[Identifier, Annotated[int, Field(ge=0, le=MAX_PEOPLE)]] = Field(
        default_factory=dict, description="People of this group at each place (place id: count)."
    )
    source: Text | None = None


class Fleet(Model):
    """Vehicles of one kind: how many, what they carry, where they start, how fast."""

    id: Identifier
    name: Text | None = None
    kind: Text = "bus"
    count: Annotated[int, Field(ge=1, le=100_000)]
    seats: Annotated[int, Field(ge=0, le=10_000)] = 0
    stretchers: Annotated[int, Field(ge=0, le=10_000)] = 0
    speed_m_per_min: Annotated[float, Field(ge=MIN_SPEED_M_PER_MIN)] = 250.0
    depot: Identifier = Field(description="Place the vehicles start from.")
    load_min: Annotated[float, Field(ge=0.0, le=MAX_TRAVEL_TIME_MIN)] = 10.0
    unload_min: Annotated[float, Field(ge=0.0, le=MAX_TRAVEL_TIME_MIN)] = 5.0
    turnaround_min: Annotated[float, Field(ge=0.0, le=MAX_TRAVEL_TIME_MIN)] = 0.0
    excluded_statuses: list[RoadStatus] = Field(
        default_factory=lambda: list[RoadStatus](["damaged"]),
        description="Road statuses the vehicles cannot use (blocked roads and roads not "
        "vehicle_passable are never used).",
    )
    source: Text | None = Field(
        default=None, description="Where these figures come from, or 'assumption: why'."
    )


class ScenarioHeader(Model):
    """Everything in a scenario document but its places and roads.

    The places and roads of a scenario are held as columns
    (:class:`~app.domain.scenario.columns.CompactScenario`), whatever its size; this model
    holds the rest.
    """

    schema_: Literal["safe-passage/scenario@1"] = Field(alias="schema")
    name: Text | None = None
    description: Text | None = None
    illustrative: bool = Field(
        default=False,
        description="The data are illustrative (historical, approximate or invented, for "
        "teaching and research), not a current picture: outputs meant to be handed over (the "
        "brief) carry a 'not for operational use' banner.",
    )
    as_of: Timestamp | None = None
    credits: list[Text] = Field(default_factory=list)
    notes: list[Text] = Field(default_factory=list)
    parties: list[Party] = Field(default_factory=list)
    incidents: list[Incident] = Field(default_factory=list)
    windows: list[Window] = Field(default_factory=list)
    profiles: list[Profile] = Field(default_factory=list)
    unknown_risk: UnknownRisk | None = Field(
        default=None,
        description="What answers assume for a road without a risk estimate: a probability, "
        "or 'highest' (the highest estimate of any road in the scenario). Default 'highest'.",
    )
    groups: list[PopulationGroup] = Field(
        default_factory=list, description="Population groups, in the order vehicles carry them."
    )
    fleets: list[Fleet] = Field(default_factory=list)


class Scenario(ScenarioHeader):
    """The whole scenario document (SPEC §2): its schema, and a test oracle's reading of it.

    Validating a document is :func:`~app.domain.scenario.problems.validate_scenario`'s job (it
    reports every problem at once and gives columns); this model states the fields.
    """

    nodes: list[Node]
    edges: list[Edge] = Field(default_factory=list)
