"""Answering plan questions (SPEC §3 PLAN): the request model and the use case.

The HTTP API (``POST /v1/scenarios/{id}/plans``) and ``safe-passage plan`` both
call :func:`compute_plan`, so the same question gets the same answer.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field

from app.domain.errors import InvalidRequestError, Problem
from app.domain.network.graph import Network
from app.domain.plans.budget import Budget, Progress
from app.domain.plans.evacuation import (
    MAX_FAST_CELLS,
    PlanOptions,
    plan_evacuation,
    rank_openings,
)
from app.services.errors import in_request_terms
from app.services.requests import TravelRequest


class PlanRequest(TravelRequest):
    """Body of ``POST /v1/scenarios/{id}/plans`` (SPEC §4): a window, or start and end."""

    window: str | None = Field(
        default=None, min_length=1, description="Id of a pause in the scenario's windows."
    )
    start: AwareDatetime | None = Field(
        default=None, description="Start of the pause (with end; instead of window)."
    )
    end: AwareDatetime | None = Field(
        default=None, description="End of the pause; people arriving by then are evacuated."
    )
    method: Literal["optimal", "fast"] = Field(
        default="optimal",
        description="optimal: the true minimum egress time (maximum flow over time); "
        "fast: a capacity-respecting heuristic for large cities, with its gap to a bound.",
    )
    max_risk: Annotated[float, Field(ge=0.0, le=1.0)] | None = Field(
        default=None, description="Roads whose risk of harm is above this are not used."
    )
    at: AwareDatetime | None = Field(
        default=None,
        description="Time the risks are taken at (incident decay); default the window's start, "
        "else the scenario's as_of.",
    )
    rank_openings: bool = Field(
        default=False,
        description="Also price each blocked road and each excluded non-consenting party: "
        "how many more people, or how many minutes sooner, if it were opened.",
    )


def plan_horizon(
    network: Network, request: PlanRequest
) -> tuple[int | None, dict[str, Any] | None]:
    """The horizon in whole minutes and the window it comes from (``None``: no window)."""
    if request.window is not None and (request.start is not None or request.end is not None):
        raise InvalidRequestError(
            [Problem("/window", "give either window or start and end, not both")],
            detail="give either window or start and end, not both",
        )
    window: dict[str, Any] | None = None
    start: datetime | None
    end: datetime | None
    if request.window is not None:
        found = {w.id: w for w in network.scenario.windows}
        if request.window not in found:
            known = ", ".join(sorted(found)) or "none"
            raise InvalidRequestError(
                [Problem("/window", f"unknown window {request.window!r}")],
                detail=f"unknown window {request.window!r}; this scenario has: {known}",
            )
        w = found[request.window]
        start, end = w.start, w.end
        window = {"id": w.id, "name": w.name, "agreed_by": list(w.agreed_by)}
    else:
        start, end = request.start, request.end
        if start is None and end is None:
            return None, None
        if start is None or end is None:
            where = "/start" if start is None else "/end"
            raise InvalidRequestError(
                [Problem(where, "start and end go together")], detail="start and end go together"
            )
        window = {"id": None, "name": None, "agreed_by": []}
    minutes = math.floor((end - start).total_seconds() / 60)
    if minutes < 1:
        where = "/window" if request.window is not None else "/end"
        raise InvalidRequestError(
            [Problem(where, "the window must end at least one minute after it starts")],
            detail=f"the window from {start.isoformat()} to {end.isoformat()} lasts "
            "less than a minute",
        )
    window.update(start=start.isoformat(), end=end.isoformat(), minutes=minutes)
    return minutes, window


def compute_plan(
    network: Network,
    request: PlanRequest,
    *,
    max_expanded_arcs: int,
    time_budget_s: float | None = None,
    max_fast_cells: int = MAX_FAST_CELLS,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The PLAN document (SPEC §3) for ``request``.

    ``time_budget_s``: an optimal plan that would take longer is answered with
    the fast plan, with its bounds and a note (``"optimal": true`` only if it meets them).
    ``max_expanded_arcs`` bounds the time-expanded network (memory): larger
    questions are refused with an :class:`InvalidRequestError`. The HTTP API and
    the CLI both pass :attr:`Settings.max_expanded_arcs <app.config.Settings>`.
    """
    horizon, window = plan_horizon(network, request)
    at = request.at
    if at is None and window is not None:
        at = datetime.fromisoformat(window["start"])
    options = PlanOptions(
        profile=request.profile,
        at=at,
        avoid_parties=tuple(request.avoid_parties),
        consenting_only=request.consenting_only,
        max_risk=request.max_risk,
        horizon=horizon,
        method=request.method,
        max_expanded_arcs=max_expanded_arcs,
        max_fast_cells=max_fast_cells,
        budget=None if time_budget_s is None else Budget.start(time_budget_s, time.monotonic),
        progress=progress,
    )
    horizon_field = "/window" if request.window is not None else "/end"
    with in_request_terms(horizon=horizon_field), without_cycle_collection():
        plan = plan_evacuation(network, options)
        document = plan.as_dict()
        document["requested_method"] = request.method
        document["window"] = window
        if request.rank_openings:
            ranking_options = options
            if plan.method == "fast":  # asked for, or the optimal method ran out of time
                ranking_options = PlanOptions(**{**options.__dict__, "method": "fast"})
            openings = rank_openings(network, ranking_options, plan)
            document["openings"] = [o.as_dict() for o in openings]
    return document


@contextmanager
def without_cycle_collection() -> Iterator[None]:
    """The cyclic garbage collector paused while a plan is computed and written.

    Plans build millions of tuples, lists and dicts (groups, their roads and minutes),
    none of them in reference cycles; the collector would walk them all again and again
    while they are built (4-7 times the building time, measured). It is switched for the
    whole process, so this belongs to the use case, not to the planner.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
