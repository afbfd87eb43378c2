"""Questions on a stored scenario: routes (and, as they land, plans and briefs)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from app.api import examples
from app.api.deps import CatalogDep, PlannerDep
from app.api.schemas import RoutesOut
from app.services.metrics import METRICS
from app.services.requests import RouteRequest
from app.services.routes import compute_routes

router = APIRouter(prefix="/v1/scenarios/{scenario_id}", tags=["computations"])


@router.post(
    "/routes",
    response_model=RoutesOut,
    response_model_by_alias=True,
    response_model_exclude_unset=False,
    summary="Safest route(s) between two places",
    responses={422: {"description": "Invalid request, or no route (type …/no-route, with cut)."}},
)
def routes(
    scenario_id: str,
    request: Annotated[RouteRequest, Body(openapi_examples=examples.ROUTE_REQUEST)],
    catalog: CatalogDep,
    principal: PlannerDep,
    version: Annotated[int | None, Query(ge=1, description="Default: current version")] = None,
) -> dict[str, Any]:
    used, network = catalog.network(scenario_id, version)
    with METRICS.timed("route"):
        answer = compute_routes(network, request)
    catalog.record(
        principal,
        "route.compute",
        scenario_id,
        used,
        {"from": request.from_, "to": request.to, "routes": len(answer["routes"])},
    )
    return answer
