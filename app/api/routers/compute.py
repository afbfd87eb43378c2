"""Questions on a stored scenario: routes, plans, parties, briefs."""

from __future__ import annotations

import time
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State

from app.api import examples, problems
from app.api.deps import CatalogDep, PlannerDep, PlanWorkersDep, read_store
from app.api.routers.jobs import as_job
from app.api.schemas import (
    IDEMPOTENCY_KEY,
    JOB_LOCATION,
    PREFER,
    PREFERENCE_APPLIED,
    BriefOut,
    FleetPlanOut,
    Job,
    PartiesOut,
    PlanOut,
    RoutesOut,
)
from app.domain.errors import ScenarioError
from app.domain.network.graph import Network
from app.services.access import Principal
from app.services.answers import Answer
from app.services.brief_formats import BriefFormat
from app.services.briefs import (
    MEDIA_TYPES,
    BriefRequest,
    brief_format,
    compute_brief,
    render_brief,
)
from app.services.catalog import Catalog
from app.services.plans import PlanRequest
from app.services.requests import MAX_STORED_INT, PartiesRequest, RouteRequest
from app.services.routes import compute_parties, compute_routes

router = APIRouter(prefix="/v1/scenarios/{scenario_id}", tags=["computations"])

INLINE_ARCS = 20_000
"""Routes on networks of at most this many arcs (both directions of every road) are
computed in the event loop: a few milliseconds at most (a 4,900-place grid corner to
corner: 3 ms on the project machine; Aleppo's 136 places: 0.5–2.6 ms)."""

VersionQuery = Annotated[
    int | None, Query(ge=1, le=MAX_STORED_INT, description="Default: current version")
]


def _observe(request: Request, kind: str, seconds: float) -> None:
    observe = getattr(request.app.state, "observe_compute", None)
    if observe is not None:
        observe(kind, seconds)


@router.post(
    "/routes",
    response_model=RoutesOut,
    response_model_by_alias=True,
    operation_id="compute_routes",
    summary="Safest route(s) between two places",
    responses={422: {"description": "Invalid request, or no route (type …/no-route, with cut)."}},
)
async def routes(
    scenario_id: str,
    body: Annotated[RouteRequest, Body(openapi_examples=examples.ROUTE_REQUEST)],
    request: Request,
    principal: PlannerDep,
    version: VersionQuery = None,
) -> Response:
    # The same function answers plain questions before FastAPI's routing (app.api.fast_routes).
    kept = await answer_route(
        request.app.state, request.url.path, scenario_id, body, principal, version
    )
    response = Response(kept.body, status_code=kept.status)
    response.raw_headers = list(kept.headers)
    return response


async def answer_route(
    state: State,
    path: str,
    scenario_id: str,
    body: RouteRequest,
    principal: Principal,
    version: int | None,
) -> Answer:
    """The answer to a route question as sent (status, headers, body), audited.

    The current version is read from the store: on SQLite in the event loop (25 µs, on a
    connection of the loop's own), on PostgreSQL in the thread pool; the network is
    compiled the first time, in the thread pool. The same question on the same version is
    answered as the first time, from memory (:mod:`app.services.answers`). A route on a
    small network takes about a millisecond: computed in the event loop, as a hop to the
    thread pool would cost as much; on a larger one, in the thread pool, so that it holds
    no other request. Raises the errors of the scenario and version (not found); answers
    the errors of the question (no route, unknown place) as problem documents.
    """
    catalog: Catalog = state.catalog
    if catalog.repo.reads_in_place:
        used = catalog.resolve(scenario_id, version, in_place=True)
    else:
        used = await read_store(state, catalog.resolve, scenario_id, version)
    network = catalog.networks.find((scenario_id, used))
    if network is None:
        network = await run_in_threadpool(catalog.compiled, scenario_id, used)
    key = (scenario_id, used, path, body.model_dump_json(by_alias=True))
    kept = catalog.answers.get(key)
    if kept is None:
        kept = await _compute_route(state, path, network, body)
        catalog.answers.keep(key, kept)
    if kept.note is not None:  # a route, not a problem: audited as before
        detail = {"from": body.from_, "to": body.to, **kept.note}
        catalog.record(principal, "route.compute", scenario_id, used, detail)
    return kept


async def _compute_route(state: State, path: str, network: Network, body: RouteRequest) -> Answer:
    """The answer to a route question as sent: the routes, or the problem document of the
    error (rendered as the service renders every error)."""
    started = time.perf_counter()
    try:
        if len(network.arc_head) <= INLINE_ARCS:
            answer = compute_routes(network, body)
        else:
            answer = await run_in_threadpool(compute_routes, network, body)
    except ScenarioError as exc:
        sent: Response = problems.from_error(exc, instance=path)
        return Answer(sent.status_code, sent.raw_headers, bytes(sent.body))
    observe = getattr(state, "observe_compute", None)
    if observe is not None:
        observe("route", time.perf_counter() - started)
    # Already in the documented shape: sent as is (validating hundreds of steps again
    # against RoutesOut would cost more than the search on a city's streets).
    sent = Response(orjson.dumps(answer), media_type="application/json")
    return Answer(200, sent.raw_headers, bytes(sent.body), {"routes": len(answer["routes"])})


@router.post(
    "/plans",
    response_model=None,
    operation_id="compute_plan",
    summary="Evacuation plan: how many people, through which roads, within a window",
    responses={
        200: {
            "model": PlanOut | FleetPlanOut,
            "description": "A plan on foot (PlanOut, with `movements`), or with `fleet` in "
            "the request a fleet plan (FleetPlanOut, with `trips`).",
        },
        422: {
            "description": "Invalid request, plan too large or too long to compute, or "
            "nothing can be evacuated."
        },
        202: {
            "model": Job,
            "description": "Answered as a job (docs/jobs.md): with `Prefer: respond-async`, "
            "when estimated longer than SAFE_PASSAGE_JOB_INLINE_S (`Prefer: wait=N` sets it), "
            "or for the `Idempotency-Key` of an earlier job. Follow it at `Location`.",
            "headers": {"Location": JOB_LOCATION, "Preference-Applied": PREFERENCE_APPLIED},
        },
        503: {
            "description": "Plan workers busy and the queue full, the worker stopped, or the "
            "job queue could not take the job (broker unreachable: no job was made)."
        },
    },
    openapi_extra={"parameters": [PREFER, IDEMPOTENCY_KEY]},
)
async def plans(
    scenario_id: str,
    body: Annotated[PlanRequest, Body(openapi_examples=examples.PLAN_REQUEST)],
    request: Request,
    catalog: CatalogDep,
    workers: PlanWorkersDep,
    principal: PlannerDep,
    version: VersionQuery = None,
) -> Response:
    accepted = await as_job(request, scenario_id, version, body, catalog, principal)
    if accepted is not None:  # Prefer: respond-async, or estimated too long (docs/jobs.md)
        return accepted
    # Computed in a worker process: awaiting it holds neither the event loop nor a thread.
    started = time.perf_counter()
    answer = await workers.plan(catalog, scenario_id, version, body)
    _observe(request, "plan", time.perf_counter() - started)
    await run_in_threadpool(
        catalog.record, principal, "plan.compute", scenario_id, answer.version, answer.summary
    )
    # Already JSON in the documented shape (PlanOut): tens of megabytes on a city's streets,
    # which validating and encoding again here would cost the other requests seconds.
    return Response(answer.body, media_type="application/json")


@router.post(
    "/parties",
    response_model=None,
    operation_id="compute_parties",
    responses={200: {"model": PartiesOut}},
    summary="Whose agreement would open the safest route, and how much safer it would be",
)
def parties(
    scenario_id: str,
    body: Annotated[PartiesRequest, Body(openapi_examples=examples.PARTIES_REQUEST)],
    catalog: CatalogDep,
    principal: PlannerDep,
    version: VersionQuery = None,
) -> dict[str, Any]:
    used, network = catalog.network(scenario_id, version)
    answer = compute_parties(network, body)
    catalog.record(
        principal, "parties.compute", scenario_id, used, {"from": body.from_, "to": body.to}
    )
    return answer


@router.post(
    "/briefs",
    response_model=None,
    operation_id="compute_brief",
    summary="A proposal brief: JSON, Markdown or a printable HTML page",
    description="The format is `?format=json|markdown|html`, else the `Accept` header "
    "(`text/html`, `text/markdown`), else JSON (which carries the Markdown under `markdown`).",
    responses={
        200: {
            "model": BriefOut,
            "description": "The brief: JSON (BriefOut), Markdown or HTML.",
            "content": {
                "text/markdown": {"schema": {"type": "string"}},
                "text/html": {"schema": {"type": "string"}},
            },
        }
    },
)
def briefs(
    scenario_id: str,
    body: Annotated[BriefRequest, Body(openapi_examples=examples.BRIEF_REQUEST)],
    request: Request,
    catalog: CatalogDep,
    principal: PlannerDep,
    version: VersionQuery = None,
    format: Annotated[BriefFormat | None, Query(description="json, markdown or html")] = None,
) -> Any:
    used, network = catalog.network(scenario_id, version)
    brief = compute_brief(network, body)
    catalog.record(
        principal, "brief.compute", scenario_id, used, {"from": body.from_, "to": body.to}
    )
    fmt = brief_format(format, request.headers.get("accept", ""))
    if fmt != BriefFormat.json:
        return PlainTextResponse(render_brief(brief, fmt), media_type=MEDIA_TYPES[fmt])
    brief["scenario"] = {"id": scenario_id, "version": used}
    return brief


__all__ = ["Response", "router"]
