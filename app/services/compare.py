"""Comparisons: one question asked of two scenarios or versions, and what differs (SPEC §5).

Each side's answer is exactly what ``/routes`` or ``/plans`` answers for it, or the
problem document of that side (no route, with its cut) where it has none; the
difference is ``b − a``.

Fleet plans compare too: the same fleet on two scenarios or versions (``fleet`` in the
question), or two fleets on one (``fleet``/``vehicles`` on each side, see
:func:`side_question`); their difference adds the people evacuated per group.
"""

from __future__ import annotations

from typing import Any, Literal

import pydantic
from pydantic import Field

from app.domain.errors import InvalidRequestError, Problem, pointer
from app.services.plans import FleetIds, PlanRequest, VehicleCounts
from app.services.requests import MAX_STORED_INT, Request, RouteRequest


class FleetChoice(Request):
    """The fleet one side of a plan comparison plans with, instead of the question's."""

    fleet: FleetIds | None = Field(
        default=None,
        description="Plan question only: this side plans with this fleet (or these fleets) "
        "instead of the question's fleet, with its own vehicles or the fleets' counts: "
        "fleet A against fleet B.",
    )
    vehicles: VehicleCounts | None = Field(
        default=None,
        description="Plan question only: this side's vehicles (N, or {fleet: N}) instead of "
        "the question's.",
    )


class Side(FleetChoice):
    """One side of a comparison: a scenario, at a version (default the current one), and
    optionally the fleet it plans with."""

    scenario: str = Field(min_length=1, max_length=200, description="Scenario id.")
    version: int | None = Field(
        default=None, ge=1, le=MAX_STORED_INT, description="Default: the current version."
    )


class CompareRequest(Request):
    """Body of ``POST /v1/compare``."""

    a: Side
    b: Side
    question: dict[str, Any] = Field(
        description='The body of /routes or /plans, with "kind": "route" or "plan".'
    )


Question = RouteRequest | PlanRequest


def question_of(raw: dict[str, Any]) -> tuple[Literal["route", "plan"], Question]:
    """The question of a comparison, or :class:`InvalidRequestError` pointing into
    ``/question``."""
    kind = raw.get("kind")
    if kind not in ("route", "plan"):
        raise InvalidRequestError(
            [Problem("/question/kind", "'kind' must be 'route' or 'plan'")],
            detail="say which question to compare: kind route or plan",
        )
    body = {k: v for k, v in raw.items() if k != "kind"}
    model: type[Question] = RouteRequest if kind == "route" else PlanRequest
    try:
        return kind, model.model_validate(body)
    except pydantic.ValidationError as exc:
        problems = [
            Problem(pointer("question", *err["loc"]), str(err["msg"]))
            for err in exc.errors(include_url=False)
        ]
        raise InvalidRequestError(problems) from None


def side_question(question: Question, choice: FleetChoice, side: str) -> Question:
    """The question one side answers: ``question`` with the side's fleet, if it names one.

    A side's ``fleet`` replaces the question's fleet and vehicles (its own ``vehicles``, else
    each fleet's count); a side's ``vehicles`` alone replaces the question's vehicles.
    """
    if choice.fleet is None and choice.vehicles is None:
        return question
    if not isinstance(question, PlanRequest):
        field = "fleet" if choice.fleet is not None else "vehicles"
        raise InvalidRequestError(
            [Problem(f"/{side}/{field}", "a fleet goes with a plan question (kind plan)")],
            detail="a side's fleet applies to plan questions only",
        )
    if choice.fleet is not None:
        update = {"fleet": choice.fleet, "vehicles": choice.vehicles}
    else:
        update = {"vehicles": choice.vehicles}
    return question.model_copy(update=update)


def _first_route(answer: dict[str, Any] | None) -> dict[str, Any] | None:
    routes = (answer or {}).get("routes") or []
    first: dict[str, Any] | None = routes[0] if routes else None
    return first


def _minus(b: Any, a: Any) -> Any:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return b - a
    return None


def route_difference(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any]:
    """``b − a`` of the first routes (``None`` for a side without a route)."""
    ra, rb = _first_route(a), _first_route(b)
    roads_a, roads_b = (ra or {}).get("edges", []), (rb or {}).get("edges", [])
    return {
        **{key: _minus((rb or {}).get(key), (ra or {}).get(key)) for key in ROUTE_FIGURES},
        "roads_only_in_a": [e for e in roads_a if e not in set(roads_b)],
        "roads_only_in_b": [e for e in roads_b if e not in set(roads_a)],
        "consents_needed": {
            "a": None if ra is None else ra.get("consents_needed", []),
            "b": None if rb is None else rb.get("consents_needed", []),
        },
    }


ROUTE_FIGURES = (
    "survival_probability",
    "harm_probability",
    "detention_probability",
    "travel_time_min",
)
"""Figures of the first routes whose difference (b − a) a route comparison gives."""

PLAN_FIGURES = ("evacuated", "egress_time_min", "expected_harm", "expected_detained")
"""Figures of two plans whose difference (b − a) a plan comparison gives."""


def plan_difference(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any]:
    """``b − a`` of :data:`PLAN_FIGURES` (``None`` where a side has no plan or the figure);
    for fleet plans also ``evacuated_by_group`` (``{group: b − a}``, see :func:`plan_groups`)
    and the ``vehicles`` of each side."""
    pa, pb = a or {}, b or {}
    out = {key: _minus(pb.get(key), pa.get(key)) for key in PLAN_FIGURES}
    if "by_group" in pa or "by_group" in pb:
        out["evacuated_by_group"] = {
            g: _minus(group_evacuated(b, g), group_evacuated(a, g)) for g in plan_groups(a, b)
        }
        out["vehicles"] = {"a": pa.get("vehicles"), "b": pb.get("vehicles")}
    return out


def plan_groups(a: dict[str, Any] | None, b: dict[str, Any] | None) -> list[str]:
    """The groups of two fleet plans, in priority order (a's, then any only b has)."""
    found = [g["group"] for p in (a, b) for g in (p or {}).get("by_group", [])]
    return list(dict.fromkeys(found))


def group_evacuated(plan: dict[str, Any] | None, group: str) -> int | None:
    """People of ``group`` a fleet plan evacuates (``None``: no plan, or no such group)."""
    for g in (plan or {}).get("by_group", []):
        if g["group"] == group:
            evacuated: int = g["evacuated"]
            return evacuated
    return None


def difference(
    kind: Literal["route", "plan"], a: dict[str, Any] | None, b: dict[str, Any] | None
) -> dict[str, Any]:
    return route_difference(a, b) if kind == "route" else plan_difference(a, b)
