"""Comparisons: one question asked of two scenarios or versions, and what differs (SPEC §5).

Each side's answer is exactly what ``/routes`` or ``/plans`` answers for it, or the
problem document of that side (no route, with its cut) where it has none; the
difference is ``b − a``.
"""

from __future__ import annotations

from typing import Any, Literal

import pydantic
from pydantic import Field

from app.domain.errors import InvalidRequestError, Problem, pointer
from app.services.plans import PlanRequest
from app.services.requests import MAX_STORED_INT, Request, RouteRequest


class Side(Request):
    """One side of a comparison: a scenario, at a version (default the current one)."""

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
    """``b − a`` of :data:`PLAN_FIGURES` (``None`` where a side has no plan or the figure)."""
    pa, pb = a or {}, b or {}
    return {key: _minus(pb.get(key), pa.get(key)) for key in PLAN_FIGURES}


def difference(
    kind: Literal["route", "plan"], a: dict[str, Any] | None, b: dict[str, Any] | None
) -> dict[str, Any]:
    return route_difference(a, b) if kind == "route" else plan_difference(a, b)
