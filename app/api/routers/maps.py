"""GeoJSON of a scenario for the map page and for GIS tools."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import AwareDatetime

from app.api.deps import CatalogDep, ViewerDep
from app.api.schemas import MapOut
from app.services.maps import map_with_route
from app.services.requests import MAX_STORED_INT


class GeoJSONResponse(JSONResponse):
    media_type = "application/geo+json"


router = APIRouter(prefix="/v1/scenarios/{scenario_id}", tags=["maps"])


@router.get(
    "/map.geojson",
    operation_id="get_map",
    summary="Nodes, roads, risk, incidents and (with from/to) the safest route as GeoJSON",
    response_class=GeoJSONResponse,  # for the OpenAPI document; the body is streamed
    responses={200: {"model": MapOut}},
)
def map_geojson(
    scenario_id: str,
    catalog: CatalogDep,
    _: ViewerDep,
    profile: str | None = None,
    at: Annotated[AwareDatetime | None, Query(description="ISO 8601 with offset")] = None,
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
    version: Annotated[int | None, Query(ge=1, le=MAX_STORED_INT)] = None,
) -> StreamingResponse:
    _version, network = catalog.network(scenario_id, version)
    # Written in pieces as it is sent: a city's map is hundreds of megabytes of JSON.
    pieces = map_with_route(network, profile, at, from_, to)
    return StreamingResponse(pieces, media_type="application/geo+json")
