"""A scenario as GeoJSON (RFC 7946): nodes, roads with their risk, incidents, routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.domain.network import Network
from app.domain.routing import Route, RouteOptions, safest_route
from app.services.errors import in_request_terms


def map_with_route(
    network: Network,
    profile: str | None = None,
    at: datetime | None = None,
    origin: str | None = None,
    destination: str | None = None,
) -> dict[str, Any]:
    """:func:`scenario_geojson`, with the safest route when both places are given."""
    with in_request_terms():
        routes = []
        if origin and destination:
            routes.append(
                safest_route(network, origin, destination, RouteOptions(profile=profile, at=at))
            )
        return scenario_geojson(network, profile, at, routes)


def scenario_geojson(
    network: Network,
    profile: str | None = None,
    at: datetime | None = None,
    routes: list[Route] | None = None,
) -> dict[str, Any]:
    """Features for every located node and road, each incident, and the given routes.

    Road properties carry the final risk for ``profile`` at ``at`` and whether
    the profile may use the road. Nodes without coordinates are left out.
    """
    cond = network.conditions(profile, at)
    features: list[dict[str, Any]] = []
    for node in network.nodes:
        if node.lat is None or node.lon is None:
            continue
        features.append(
            {
                "type": "Feature",
                "id": f"node:{node.id}",
                "geometry": {"type": "Point", "coordinates": [node.lon, node.lat]},
                "properties": {
                    "layer": "node",
                    "id": node.id,
                    "name": node.name,
                    "kind": node.kind,
                    "population": node.population,
                    "capacity": node.capacity,
                    "controlled_by": node.controlled_by,
                },
            }
        )
    for i, edge in enumerate(network.edges):
        a, b = network.nodes[network.edge_tail[i]], network.nodes[network.edge_head[i]]
        if a.lat is None or a.lon is None or b.lat is None or b.lon is None:
            continue
        features.append(
            {
                "type": "Feature",
                "id": f"edge:{edge.id}",
                "geometry": {"type": "LineString", "coordinates": [[a.lon, a.lat], [b.lon, b.lat]]},
                "properties": {
                    "layer": "road",
                    "id": edge.id,
                    "name": edge.name,
                    "from": edge.from_,
                    "to": edge.to,
                    "directed": edge.directed,
                    "status": edge.status,
                    "base_risk": edge.risk,
                    "risk": float(cond.risk[i]),
                    "usable": bool(cond.usable[i]),
                    "travel_time_min": float(cond.time[i]),
                    "capacity_per_min": edge.capacity_per_min,
                    "controlled_by": edge.controlled_by,
                    "checkpoint": edge.checkpoint,
                },
            }
        )
    when = cond.at
    for incident in network.scenario.incidents:
        if incident.lat is None or incident.lon is None:
            continue
        age_h = (when - incident.observed_at).total_seconds() / 3600 if when else None
        features.append(
            {
                "type": "Feature",
                "id": f"incident:{incident.id}",
                "geometry": {"type": "Point", "coordinates": [incident.lon, incident.lat]},
                "properties": {
                    "layer": "incident",
                    "id": incident.id,
                    "kind": incident.kind,
                    "radius_m": incident.radius_m,
                    "severity": incident.severity,
                    "confidence": incident.confidence,
                    "observed_at": incident.observed_at.isoformat(),
                    "age_h": None if age_h is None else round(age_h, 2),
                    "source": incident.source,
                },
            }
        )
    for k, route in enumerate(routes or []):
        geometry = route.geometry()
        if geometry is None:
            continue
        features.append(
            {
                "type": "Feature",
                "id": f"route:{k}",
                "geometry": geometry,
                "properties": {
                    "layer": "route",
                    "rank": k + 1,
                    "nodes": route.node_ids,
                    "edges": route.edge_ids,
                    "survival_probability": route.survival_probability,
                    "travel_time_min": route.travel_time_min,
                    "consents_needed": route.consents_needed(),
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "features": features,
        "properties": {
            "name": network.scenario.name,
            "profile": cond.profile.id,
            "at": when.isoformat() if when else None,
            "parties": [p.model_dump() for p in network.scenario.parties],
            "credits": network.scenario.credits,
        },
    }
