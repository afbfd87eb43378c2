"""A scenario as GeoJSON (RFC 7946): nodes, roads with their risk, incidents, routes.

The document is written in pieces (:func:`scenario_geojson`), a few thousand
features at a time straight from the network's columns: a city's map is hundreds
of megabytes of text, never one dictionary or one string in memory. The pieces
joined are the text ``json.dumps`` would give for the whole document with
``separators=(",", ":")`` and ``ensure_ascii=False`` (what the API sent before).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import datetime
from itertools import chain
from json.encoder import encode_basestring
from typing import Any

import numpy as np
import numpy.typing as npt

from app.domain.network.graph import Conditions, IntArray, Network
from app.domain.network.risk import IncidentEffect
from app.domain.routes.engine import Route, RouteOptions, safest_route
from app.domain.scenario.columns import NODE_KINDS, ROAD_STATUSES, Ids, Texts
from app.services.errors import in_request_terms


def map_with_route(
    network: Network,
    profile: str | None = None,
    at: datetime | None = None,
    origin: str | None = None,
    destination: str | None = None,
) -> Iterator[str]:
    """:func:`scenario_geojson` in pieces, with the safest route when both places are given
    (computed before the first piece, so that a bad question is answered as a problem)."""
    with in_request_terms():
        routes = []
        if origin and destination:
            routes.append(
                safest_route(network, origin, destination, RouteOptions(profile=profile, at=at))
            )
        pieces = scenario_geojson(network, profile, at, routes)
    return pieces


BATCH = 5_000
"""Features written per piece."""

NODE_FEATURE = (
    '{"type":"Feature","id":"node:%s,"geometry":{"type":"Point","coordinates":[%r,%r]},'
    '"properties":{"layer":"node","id":%s,"name":%s,"kind":%s,"population":%d,'
    '"capacity":%s,"controlled_by":%s}}'
)
EDGE_FEATURE = (
    '{"type":"Feature","id":"edge:%s,"geometry":{"type":"LineString",'
    '"coordinates":[[%r,%r],[%r,%r]]},"properties":{"layer":"road","id":%s,"name":%s,'
    '"from":%s,"to":%s,"directed":%s,"status":%s,"base_risk":%s,"risk":%r,"harm":%r,'
    '"detention":%r,"usable":%s,'
    '"travel_time_min":%r,"capacity_per_min":%s,"controlled_by":%s,"checkpoint":%s}}'
)
"""One road; ``%s`` after ``edge:`` is the id's JSON string without its opening quote."""


def _optional_floats(values: npt.NDArray[np.float64]) -> list[str]:
    """Each value's JSON text; ``null`` where it is NaN (not given: a road without a risk
    estimate has ``base_risk`` null)."""
    return ["null" if math.isnan(v) else repr(v) for v in values.tolist()]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def scenario_geojson(
    network: Network,
    profile: str | None = None,
    at: datetime | None = None,
    routes: list[Route] | None = None,
) -> Iterator[str]:
    """Features for every located node and road, each incident, and the given routes, as
    pieces of one FeatureCollection's JSON text.

    Road properties carry the final risk for ``profile`` at ``at`` and whether
    the profile may use the road. Nodes without coordinates are left out.
    The profile and time are checked here (errors are raised by this call, before
    any piece is written).
    """
    cond = network.conditions(profile, at)
    return _pieces(network, cond, list(routes or []))


def _pieces(network: Network, cond: Conditions, routes: list[Route]) -> Iterator[str]:
    yield '{"type":"FeatureCollection","features":['
    first = True
    for piece in chain(_node_pieces(network), _edge_pieces(network, cond)):
        if piece:
            yield piece if first else "," + piece
            first = False
    for feature in chain(_incident_features(network, cond), _route_features(routes)):
        yield _dumps(feature) if first else "," + _dumps(feature)
        first = False
    scenario = network.scenario
    when = cond.at
    properties = {
        "name": scenario.name,
        "profile": cond.profile.id,
        "at": when.isoformat() if when else None,
        "parties": [p.model_dump() for p in scenario.parties],
        "credits": scenario.credits,
    }
    yield '],"properties":' + _dumps(properties) + "}"


def _node_pieces(net: Network) -> Iterator[str]:
    located = ~(np.isnan(net.node_lat) | np.isnan(net.node_lon))
    kinds = np.array([encode_basestring(k) for k in NODE_KINDS], dtype=object)
    ids = net.columns.nodes.id
    name, controlled_by = net.node_texts("name"), net.node_texts("controlled_by")
    for start in range(0, net.n_nodes, BATCH):
        rows = start + np.flatnonzero(located[start : start + BATCH])
        if not len(rows):
            continue
        id_json = _id_strings(ids, rows)
        capacity = net.node_capacity[rows]
        columns = (
            [s[1:] for s in id_json],
            net.node_lon[rows].tolist(),
            net.node_lat[rows].tolist(),
            id_json,
            _text_strings(name, rows),
            kinds[net.node_kind[rows]].tolist(),
            net.node_population[rows].tolist(),
            _optional_ints(capacity),
            _text_strings(controlled_by, rows),
        )
        yield ",".join(map(NODE_FEATURE.__mod__, zip(*columns, strict=True)))


def _edge_pieces(net: Network, cond: Conditions) -> Iterator[str]:
    located = ~(np.isnan(net.node_lat) | np.isnan(net.node_lon))
    drawn = located[net.edge_tail] & located[net.edge_head]
    statuses = np.array([encode_basestring(s) for s in ROAD_STATUSES], dtype=object)
    truth = np.array(["false", "true"], dtype=object)
    node_ids, edge_ids = net.columns.nodes.id, net.columns.edges.id
    name, controlled_by, checkpoint = (
        net.edge_texts(k) for k in ("name", "controlled_by", "checkpoint")
    )
    for start in range(0, len(net.edge_tail), BATCH):
        rows = start + np.flatnonzero(drawn[start : start + BATCH])
        if not len(rows):
            continue
        tail, head = net.edge_tail[rows], net.edge_head[rows]
        risk, time = cond.risk[rows], cond.time[rows]
        _check_finite(risk, time)
        id_json = _id_strings(edge_ids, rows)
        capacity = net.columns.edges.capacity_per_min[rows]
        columns = (
            [s[1:] for s in id_json],
            net.node_lon[tail].tolist(),
            net.node_lat[tail].tolist(),
            net.node_lon[head].tolist(),
            net.node_lat[head].tolist(),
            id_json,
            _text_strings(name, rows),
            _id_strings(node_ids, tail),
            _id_strings(node_ids, head),
            truth[net.edge_directed[rows].astype(np.int64)].tolist(),
            statuses[net.edge_status[rows]].tolist(),
            _optional_floats(net.edge_base_risk[rows]),
            risk.tolist(),
            cond.harm[rows].tolist(),
            cond.detention[rows].tolist(),
            truth[cond.usable[rows].astype(np.int64)].tolist(),
            time.tolist(),
            _optional_ints(capacity),
            _text_strings(controlled_by, rows),
            _text_strings(checkpoint, rows),
        )
        yield ",".join(map(EDGE_FEATURE.__mod__, zip(*columns, strict=True)))


def _optional_ints(values: IntArray) -> list[str]:
    """Positive numbers as JSON, 0 (not given) as ``null``."""
    strings: list[str] = np.where(values > 0, values.astype(str), "null").tolist()
    return strings


def _id_strings(ids: Ids, rows: IntArray) -> list[str]:
    """The ids at ``rows`` as JSON strings."""
    if isinstance(ids, Ids) and ids.is_bytes:
        values: list[str] = np.char.decode(ids.raw[rows], "utf-8").tolist()
    else:
        values = [ids[int(k)] for k in rows.tolist()]
    return list(map(encode_basestring, values))


def _text_strings(texts: Texts, rows: IntArray) -> list[str]:
    """The texts at ``rows`` as JSON strings or ``null``."""
    table = np.array(["null", *map(encode_basestring, texts.values)], dtype=object)
    strings: list[str] = table[texts.codes[rows].astype(np.int64) + 1].tolist()
    return strings


def _check_finite(*columns: npt.NDArray[np.float64]) -> None:
    for column in columns:
        if not np.isfinite(column).all():
            raise ValueError("Out of range float values are not JSON compliant")


def _incident_features(net: Network, cond: Conditions) -> Iterator[dict[str, Any]]:
    """A point per located report, and one at the middle of each located road a report
    names without a location (a road-attached report), each with its reader's label."""
    when = cond.at
    for incident in net.scenario.incidents:
        age_h = (when - incident.observed_at).total_seconds() / 3600 if when else None
        properties: dict[str, Any] = {
            "layer": "incident",
            "id": incident.id,
            "kind": incident.kind,
            "radius_m": incident.radius_m,
            "severity": incident.severity,
            "confidence": incident.confidence,
            "observed_at": incident.observed_at.isoformat(),
            "age_h": None if age_h is None else round(age_h, 2),
            "source": incident.source,
        }
        if age_h is not None and age_h >= 0:
            effect = IncidentEffect(
                incident.id, 0.0, age_h, incident.source, incident.kind, incident.confidence
            )
            properties["label"] = effect.label
        points: list[tuple[str, list[float], str | None]] = []
        if incident.lat is not None and incident.lon is not None:
            points.append((f"incident:{incident.id}", [incident.lon, incident.lat], None))
        else:
            for road in incident.edges or ():
                e = net.edge_index[road]
                t, h = int(net.edge_tail[e]), int(net.edge_head[e])
                lat1, lon1 = float(net.node_lat[t]), float(net.node_lon[t])
                lat2, lon2 = float(net.node_lat[h]), float(net.node_lon[h])
                if any(math.isnan(c) for c in (lat1, lon1, lat2, lon2)):
                    continue
                middle = [(lon1 + lon2) / 2, (lat1 + lat2) / 2]
                points.append((f"incident:{incident.id}:{road}", middle, road))
        for feature_id, coordinates, on_road in points:
            yield {
                "type": "Feature",
                "id": feature_id,
                "geometry": {"type": "Point", "coordinates": coordinates},
                "properties": properties if on_road is None else {**properties, "road": on_road},
            }


def _route_features(routes: list[Route]) -> Iterator[dict[str, Any]]:
    for k, route in enumerate(routes):
        geometry = route.geometry()
        if geometry is None:
            continue
        yield {
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
