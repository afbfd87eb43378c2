"""Answering route questions: the safest route (alternatives and pairs come on top)."""

from __future__ import annotations

from typing import Any

from app.domain.network import Network
from app.domain.routing import RouteOptions, safest_route
from app.services.requests import RouteRequest


def options_of(request: RouteRequest) -> RouteOptions:
    return RouteOptions(
        profile=request.profile,
        at=request.at,
        avoid_parties=tuple(request.avoid_parties),
        consenting_only=request.consenting_only,
        max_risk=request.max_risk,
    )


def compute_routes(network: Network, request: RouteRequest) -> dict[str, Any]:
    """``{"routes": [ROUTE, ...]}``, best first (SPEC §3)."""
    route = safest_route(network, request.from_, request.to, options_of(request))
    return {"routes": [route.as_dict()]}
