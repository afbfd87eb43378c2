"""Questions on a stored scenario: routes, plans, parties, briefs."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from app.api import examples
from app.api.deps import CatalogDep, PlannerDep, PlanWorkersDep
from app.api.routers.jobs import as_job
from app.api.schemas import BriefOut, FleetPlanOut, PartiesOut, PlanOut, RoutesOut
from app.services.brief_formats import BriefFormat
from app.services.briefs import (
    MEDIA_TYPES,
    BriefRequest,
    brief_format,
    compute_brief,
    render_brief,
)
from app.services.plans import PlanRequest
from app.services.requests import MAX_STORED_INT, PartiesRequest, RouteRequest
from app.services.routes import compute_parties, compute_routes

router = APIRouter(prefix="/v1/scenarios/{scenario_id}", tags=["computations"])

VersionQuery = Annotated[
    int | None, Query(ge=1, le=MAX_STORED_INT, description="Default: current version")
]


def json_response(document: dict[str, Any]) -> Response:
    """``document`` as JSON: with orjson when installed (several times faster on long
    routes), else the standard library."""
    try:
        import orjson
    except ImportError:
        return JSONResponse(document)
    return Response(orjson.dumps(document), media_type="application/json")


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
def routes(
    scenario_id: str,
    body: Annotated[RouteRequest, Body(openapi_examples=examples.ROUTE_REQUEST)],
    request: Request,
    catalog: CatalogDep,
    principal: PlannerDep,
    version: VersionQuery = None,
) -> Response:
    used, network = catalog.network(scenario_id, version)
    started = time.perf_counter()
    answer = compute_routes(network, body)
    _observe(request, "route", time.perf_counter() - started)
    catalog.record(
        principal,
        "route.compute",
        scenario_id,
        used,
        {"from": body.from_, "to": body.to, "routes": len(answer["routes"])},
    )
    # Already in the documented shape: sent as is (validating hundreds of steps again
    # against RoutesOut would cost more than the search on a city's streets).
    return json_response(answer)


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
            "description": "Answered as a job (docs/jobs.md): with `Prefer: respond-async`, "
            "when estimated longer than SAFE_PASSAGE_JOB_INLINE_S (`Prefer: wait=N` sets it), "
            "or for the `Idempotency-Key` of an earlier job. `Location: /v1/jobs/{id}`."
        },
        503: {"description": "Plan workers busy and the queue full, or the worker stopped."},
    },
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
