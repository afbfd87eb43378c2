"""Answering plan questions (SPEC §3 PLAN): the request model and the use case.

The HTTP API (``POST /v1/scenarios/{id}/plans``) and ``safe-passage plan`` both
call :func:`compute_plan`, so the same question gets the same answer.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field

from app.domain.errors import InvalidRequestError, Problem
from app.domain.fleets import FleetOptions, compile_fleet_problem, plan_fleet, sizing
from app.domain.network.graph import Network
from app.domain.plans.budget import Budget
from app.domain.plans.concessions import rank_concessions
from app.domain.plans.evacuation import (
    MAX_FAST_CELLS,
    NothingToEvacuateError,
    Plan,
    PlanOptions,
    plan_evacuation,
    standstill_plan,
)
from app.domain.progress import Progress
from app.domain.routes.engine import check_parties
from app.domain.scenario.profiles import resolve_profile
from app.services.errors import in_request_terms
from app.services.requests import TravelRequest

FleetIds = Annotated[str, Field(min_length=1)] | list[Annotated[str, Field(min_length=1)]]
"""One fleet id, or several fleets planned together (``fleet`` of a plan, a brief or a side of
a comparison)."""
VehicleCount = Annotated[int, Field(ge=0, le=100_000)]
VehicleCounts = VehicleCount | dict[str, VehicleCount]
"""How many vehicles: ``N`` for one fleet, or ``{fleet: N}``."""


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
        description="Also price what to negotiate first: each concession (a candidate "
        "crossing or blocked road opened, a checkpoint lifted, a party's consent, a longer "
        "pause, more capacity at a bottleneck) planned again: people gained, expected harm "
        "and egress time changed. Answered in `concessions`.",
    )
    fleet: FleetIds | None = Field(
        default=None,
        description="Plan with this fleet of the scenario, or these fleets together (buses "
        "and ambulances): vehicles shuttle people from their places to safe zones through "
        "checkpoints with screening, priority groups first. The answer lists every trip "
        "(docs/fleets.md). method optimal: exact for small questions, else the fast plan "
        "with a note.",
    )
    vehicles: VehicleCounts | None = Field(
        default=None,
        description="With fleet: how many vehicles (one fleet), or how many of each fleet "
        "({fleet: count}); default each fleet's count.",
    )
    sizing: bool = Field(
        default=False,
        description="With fleet: also the gain of one more vehicle, one more screening lane "
        "and one more hour, the shortest window that clears everyone, and the smallest "
        "fleet that does it within this window (each a fast re-plan). Answered in `sizing`.",
    )
    sizing_people: Annotated[int, Field(ge=1)] | None = Field(
        default=None,
        description="With sizing: the people the smallest fleet must move within the window "
        "(default everyone).",
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
    ranking: Ranking | None = None,
) -> dict[str, Any]:
    """The PLAN document (SPEC §3) for ``request``.

    ``time_budget_s``: an optimal plan that would take longer is answered with
    the fast plan, with its bounds and a note (``"optimal": true`` only if it meets them).
    ``max_expanded_arcs`` bounds the time-expanded network (memory): larger
    questions are refused with an :class:`InvalidRequestError`. The HTTP API and
    the CLI both pass :attr:`Settings.max_expanded_arcs <app.config.Settings>`.
    ``ranking`` prices the concessions (``rank_openings``): by default one by one here;
    jobs pass one that prices each as a task of its own (:mod:`app.services.jobs`).
    """
    if request.fleet is not None:
        return compute_fleet_plan(network, request, time_budget_s)
    _, window = plan_horizon(network, request)
    _foot_checks(request)
    options = foot_plan_options(
        network,
        request,
        max_expanded_arcs=max_expanded_arcs,
        time_budget_s=time_budget_s,
        max_fast_cells=max_fast_cells,
        progress=progress,
    )
    horizon_field = "/window" if request.window is not None else "/end"
    with in_request_terms(horizon=horizon_field), without_cycle_collection():
        try:
            plan = plan_evacuation(network, options)
        except NothingToEvacuateError as nobody:
            if not request.rank_openings:
                raise
            # Nobody can leave over these roads: what each opening would change is the answer.
            plan = standstill_plan(network, options, nobody)
        document = plan.as_dict()
        document["requested_method"] = request.method
        document["window"] = window
        if request.rank_openings:
            ranking_options = options
            if plan.method == "fast":  # asked for, or the optimal method ran out of time
                ranking_options = PlanOptions(**{**options.__dict__, "method": "fast"})
            rank = ranking or _rank_here
            document["concessions"] = rank(network, ranking_options, plan)
    return document


Ranking = Callable[[Network, PlanOptions, Plan], dict[str, Any]]
"""Prices the concessions of a base plan planned with these options (``rank_openings``):
the ``concessions`` member of the PLAN document."""


def _rank_here(network: Network, options: PlanOptions, plan: Plan) -> dict[str, Any]:
    return rank_concessions(network, options, plan).as_dict()


def foot_plan_options(
    network: Network,
    request: PlanRequest,
    *,
    max_expanded_arcs: int,
    time_budget_s: float | None = None,
    max_fast_cells: int = MAX_FAST_CELLS,
    progress: Progress | None = None,
) -> PlanOptions:
    """What a plan on foot is asked for: the request's restrictions, window and method."""
    horizon, window = plan_horizon(network, request)
    return PlanOptions(
        profile=request.profile,
        at=risks_at(request, window),
        avoid_parties=tuple(request.avoid_parties),
        consenting_only=request.consenting_only,
        max_risk=request.max_risk,
        unknown_risk=request.unknown_risk,
        horizon=horizon,
        method=request.method,
        max_expanded_arcs=max_expanded_arcs,
        max_fast_cells=max_fast_cells,
        budget=None if time_budget_s is None else Budget.start(time_budget_s, time.monotonic),
        progress=progress,
    )


def risks_at(request: PlanRequest, window: dict[str, Any] | None) -> datetime | None:
    """The time risks are taken at: ``at``, else the window's start (else the scenario's)."""
    if request.at is None and window is not None:
        return datetime.fromisoformat(window["start"])
    return request.at


def check_plan_request(network: Network, request: PlanRequest) -> None:
    """Every refusal a plan request gets before any planning — the window, the options that
    go together, the profile, the parties, the fleets — raised as the plan would raise it,
    so that a request answered as a job (:mod:`app.services.jobs`) is refused at once
    rather than queued to fail."""
    plan_horizon(network, request)
    if request.fleet is None:
        _foot_checks(request)
        with in_request_terms():
            check_parties(network, tuple(request.avoid_parties))
            resolve_profile(network.scenario, request.profile)
    else:
        fleets, vehicles = _fleet_checks(request)
        with in_request_terms():
            check_parties(network, tuple(request.avoid_parties))
            compile_fleet_problem(network, FleetOptions(fleets=fleets, vehicles=vehicles))


def _foot_checks(request: PlanRequest) -> None:
    """What a plan on foot refuses of a request's options."""
    if request.sizing or request.vehicles is not None or request.sizing_people is not None:
        field = (
            "/sizing" if request.sizing else "/vehicles" if request.vehicles else "/sizing_people"
        )
        raise InvalidRequestError(
            [Problem(field, "only with a fleet ('fleet')")], detail="sizing needs a fleet"
        )


def _fleet_checks(request: PlanRequest) -> tuple[tuple[str, ...], dict[str, int]]:
    """What a fleet plan refuses of a request's options; the fleets and vehicle counts."""
    if request.rank_openings:
        raise InvalidRequestError(
            [Problem("/rank_openings", "concessions are priced for plans on foot; with a "
                     "fleet, ask for 'sizing'")],
            detail="rank_openings does not apply to fleet plans",
        )  # fmt: skip
    if request.max_risk is not None:
        raise InvalidRequestError(
            [
                Problem(
                    "/max_risk", "a fleet plan uses the quickest drives; max_risk does not apply"
                )
            ],
            detail="max_risk does not apply to fleet plans",
        )
    fleets = (request.fleet,) if isinstance(request.fleet, str) else tuple(request.fleet or ())
    vehicles = request.vehicles
    if isinstance(vehicles, int):
        if len(fleets) != 1:
            raise InvalidRequestError(
                [Problem("/vehicles", "with several fleets give {fleet: count}")],
                detail="how many vehicles of which fleet?",
            )
        vehicles = {fleets[0]: vehicles}
    if request.sizing_people is not None and not request.sizing:
        raise InvalidRequestError(
            [Problem("/sizing_people", "only with 'sizing': true")],
            detail="sizing_people needs sizing",
        )
    return fleets, vehicles or {}


def compute_fleet_plan(
    network: Network, request: PlanRequest, time_budget_s: float | None = None
) -> dict[str, Any]:
    """A fleet plan (``request.fleet``): every trip, totals and the bottleneck (the PLAN
    document of a fleet, docs/fleets.md). The brief's fleet section is this answer.

    ``time_budget_s``: the exact method's time limit in seconds (per search, when it looks
    for the least window), as the HTTP API's plans have (the domain's default otherwise)."""
    fleets, vehicles = _fleet_checks(request)
    horizon, window = plan_horizon(network, request)
    at = risks_at(request, window)
    options = FleetOptions(
        fleets=fleets,
        horizon=horizon,
        at=at,
        avoid_parties=tuple(request.avoid_parties),
        consenting_only=request.consenting_only,
        unknown_risk=request.unknown_risk,
        vehicles=vehicles,
    )
    with in_request_terms():
        check_parties(network, options.avoid_parties)
        if time_budget_s is None:
            plan = plan_fleet(network, options, request.method)
        else:
            plan = plan_fleet(network, options, request.method, time_limit_s=time_budget_s)
        document = plan.as_dict()
        document["requested_method"] = request.method
        document["window"] = window
        if request.sizing:
            document["sizing"] = sizing(network, options, plan, request.sizing_people)
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
