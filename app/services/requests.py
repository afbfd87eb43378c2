"""Questions users ask, as wire models shared by the HTTP API and the CLI."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, populate_by_name=True)


class RouteRequest(Request):
    """Body of ``POST /v1/scenarios/{id}/routes`` (SPEC §4)."""

    from_: str = Field(alias="from", min_length=1, description="Node id to leave from.")
    to: str = Field(min_length=1, description="Node id to reach.")
    profile: str | None = Field(
        default=None,
        description="Who travels: general (default), military_age_men, medical, "
        "convoy, or a profile of the scenario.",
    )
    avoid_parties: list[str] = Field(
        default_factory=list,
        description="Never use roads controlled by, or with a checkpoint of, these parties.",
    )
    consenting_only: bool = Field(
        default=False,
        description="Use only roads of parties that have granted consent (and roads of no party).",
    )
    max_risk: Annotated[float, Field(ge=0.0, le=1.0)] | None = Field(
        default=None, description="Largest acceptable route risk (1 − survival probability)."
    )
    at: AwareDatetime | None = Field(
        default=None, description="Time the question is about (incident decay); default as_of."
    )
    alternatives: Annotated[int, Field(ge=1, le=10)] = Field(
        default=1, description="Up to this many genuinely different routes, safest first."
    )
    disjoint: bool = Field(
        default=False,
        description="Two routes sharing no road with the greatest joint survival probability.",
    )
