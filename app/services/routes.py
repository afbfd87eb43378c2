"""Answering route questions: the safest route, alternatives, a disjoint pair, the Pareto front.

Each answer is ``{"routes": [ROUTE, ...]}``, best first (SPEC §3). A disjoint
pair adds ``joint_survival_probability``; alternatives add each route's
``overlap_with_safer`` and the ``unavoidable_roads`` every route uses; the
Pareto front adds ``"pareto": true`` with ``front_size`` and ``front_complete`` (and, when
the front is not complete, ``front_missing``: where the members not found may lie).
"""

from __future__ import annotations

from typing import Any

from app.domain.network.graph import Network
from app.domain.routes.consent import consent_analysis
from app.domain.routes.engine import RouteOptions, safest_route
from app.services.errors import in_request_terms
from app.services.requests import PartiesRequest, RouteRequest


def options_of(request: RouteRequest) -> RouteOptions:
    return RouteOptions(
        profile=request.profile,
        at=request.at,
        avoid_parties=tuple(request.avoid_parties),
        consenting_only=request.consenting_only,
        max_risk=request.max_risk,
        objective=request.objective,
        unknown_risk=request.unknown_risk,
    )


def compute_routes(network: Network, request: RouteRequest) -> dict[str, Any]:
    """``{"routes": [ROUTE, ...]}``, best first (SPEC §3), for any kind of route question."""
    with in_request_terms():
        return _routes(network, request)


def _routes(network: Network, request: RouteRequest) -> dict[str, Any]:
    options = options_of(request)
    a, b = request.from_, request.to
    # The negotiation tools are imported when asked for: they load scipy's sparse graphs,
    # which a safest route on a small network does not need (the command line's start).
    if request.disjoint:
        from app.domain.routes.disjoint import disjoint_pair

        pair = disjoint_pair(network, a, b, options)
        return {
            "routes": [r.as_dict() for r in pair.routes],
            "joint_survival_probability": pair.joint_survival_probability,
        }
    if request.pareto:
        from app.domain.routes.pareto import pareto_front

        front = pareto_front(network, a, b, options, cap=request.pareto_cap)
        answer: dict[str, Any] = {
            "routes": [r.as_dict() for r in front.routes],
            "pareto": True,
            "front_size": front.size,
            "front_complete": front.complete,
        }
        if not front.complete:
            answer["front_missing"] = front.missing
        return answer
    if request.alternatives > 1:
        from app.domain.routes.alternatives import alternative_routes

        alts = alternative_routes(
            network, a, b, options, k=request.alternatives, max_overlap=request.max_overlap
        )
        return {
            "routes": [
                {**r.as_dict(), "overlap_with_safer": alts.overlap_with_safer(i)}
                for i, r in enumerate(alts.routes)
            ],
            "unavoidable_roads": [network.edge_ids[e] for e in alts.unavoidable],
        }
    route = safest_route(network, a, b, options)
    return {"routes": [route.as_dict()]}


def compute_parties(network: Network, request: PartiesRequest) -> dict[str, Any]:
    """Whose agreement opens the safest route, and how much safer than today it is."""
    options = RouteOptions(
        profile=request.profile,
        at=request.at,
        avoid_parties=tuple(request.avoid_parties),
        unknown_risk=request.unknown_risk,
    )
    with in_request_terms():
        return consent_analysis(network, request.from_, request.to, options).as_dict()
