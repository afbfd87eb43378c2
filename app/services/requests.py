"""Questions users ask, as wire models shared by the HTTP API and the CLI."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from app.domain.network.graph import Objective
from app.domain.scenario.model import UnknownRisk

MAX_STORED_INT = 2**31 - 1
"""Largest version number or list offset the store can hold (a 32-bit column); larger ones
are refused before they reach the database, which would fail on them."""


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, populate_by_name=True)


class Assuming(Request):
    """What a question assumes where the scenario has no estimate."""

    unknown_risk: UnknownRisk | None = Field(
        default=None,
        description="What to assume for roads without a risk estimate: a probability, or "
        "'highest' (the highest estimate of any road). Default: the scenario's unknown_risk, "
        "else 'highest'. Answers say how much of a route is unknown and what was assumed.",
    )


class TravelRequest(Assuming):
    """Who travels and which parties' roads may be used: shared by routes and plans."""

    profile: str | None = Field(
        default=None,
        description="Who travels: general (default), military_age_men, medical, "
        "convoy, or a profile of the scenario.",
    )
    avoid_parties: list[str] = Field(
        default_factory=list,
        description="Never use what these parties hold: their roads, checkpoints and places "
        "(no route leaves, passes or reaches a place they hold).",
    )
    consenting_only: bool = Field(
        default=False,
        description="Use only what parties that have granted consent (or no party) hold: roads, "
        "checkpoints and places, the origin and destination included.",
    )


class RouteRequest(TravelRequest):
    """Body of ``POST /v1/scenarios/{id}/routes`` (SPEC §4)."""

    from_: str = Field(alias="from", min_length=1, description="Node id to leave from.")
    to: str = Field(min_length=1, description="Node id to reach.")
    max_risk: Annotated[float, Field(ge=0.0, le=1.0)] | None = Field(
        default=None, description="Largest acceptable route risk (1 − survival probability)."
    )
    at: AwareDatetime | None = Field(
        default=None, description="Time the question is about (incident decay); default as_of."
    )
    objective: Objective = Field(
        default="survival",
        description="What the safest route minimises: 'survival' (the chance of not arriving "
        "unharmed and free, default), 'harm' (harm on the way only) or 'detention' "
        "(detention or disappearance at checkpoints only). Ties go to the shorter time.",
    )
    alternatives: Annotated[int, Field(ge=1, le=10)] = Field(
        default=1,
        description="Up to this many genuinely different routes, safest first: each spends "
        "at most max_overlap of its travel time on roads of any safer one.",
    )
    max_overlap: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        default=0.5,
        description="With alternatives: largest share of a route's travel time on roads "
        "that a safer alternative also uses.",
    )
    disjoint: bool = Field(
        default=False,
        description="Two routes sharing no road with the greatest joint survival probability "
        "(exact minimum-sum pair). No such pair: 422 no-disjoint-pair naming the shared roads.",
    )
    pareto: bool = Field(
        default=False,
        description="The risk–time trade-off: routes no other route beats on both survival "
        "and travel time, safest first, at most pareto_cap of them (evenly spread).",
    )
    pareto_cap: Annotated[int, Field(ge=1, le=50)] = Field(
        default=10, description="With pareto: most routes returned."
    )

    @model_validator(mode="after")
    def one_kind_of_answer(self) -> RouteRequest:
        asked = [
            name
            for name, on in (
                ("alternatives", self.alternatives > 1),
                ("disjoint", self.disjoint),
                ("pareto", self.pareto),
            )
            if on
        ]
        if len(asked) > 1:
            raise ValueError(f"ask for one of alternatives, disjoint or pareto, not {asked}")
        return self


class PartiesRequest(Assuming):
    """Whose agreement would open the safest route between two places (``safe-passage parties``)."""

    from_: str = Field(alias="from", min_length=1, description="Node id to leave from.")
    to: str = Field(min_length=1, description="Node id to reach.")
    profile: str | None = Field(default=None, description="Who travels (default general).")
    avoid_parties: list[str] = Field(
        default_factory=list,
        description="Parties never counted on: their roads, checkpoints and territory are "
        "left out even if they agree.",
    )
    at: AwareDatetime | None = Field(
        default=None, description="Time the question is about (incident decay); default as_of."
    )
