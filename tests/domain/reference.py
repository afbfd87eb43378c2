"""The safest route the plain way: networkx over the scenario's own objects.

This is the readable reference the fast engine (:mod:`app.domain.network.graph`,
:mod:`app.domain.routes.engine`) is tested against; it is not used to answer requests, and
networkx is a dependency of the tests only (the ``test`` extra), not of the service.
It follows SPEC §1–2 directly, one road at a time:

* a road's harm at time ``at`` is ``1 − (1 − base) × Π(1 − p_incident)`` (``base``: what is
  assumed where the road has no estimate), its detention the profile's checkpoint figure,
  and its risk ``1 − (1 − harm) × (1 − detention)``;
* a road is usable unless blocked, of a status the profile excludes, not passable by
  the profile's vehicles, held (or checkpointed) by a refusing party — an avoided or,
  with ``consenting_only``, a non-consenting one —, or certain to harm;
* a place held by a refusing party is left out of the graph (SPEC §1 Consent: no route
  passes, leaves or reaches it);
* its travel time is ``travel_time_min × 64 / speed`` when given, else
  ``length_m / speed`` (length from the coordinates when not given);
* the route minimises ``(Σ cost, Σ time)`` in lexicographic order, where
  ``cost = round(−ln(1 − risk) × 1e9)``. Both are folded into one exact integer
  weight, ``cost × BIG + round(time × 1e6)`` with ``BIG`` larger than any route's
  time term, so one Dijkstra run of networkx finds it.

``O((n + m) log n)`` with Python-level work per road: about 20× slower than the engine.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import datetime

import networkx as nx
import numpy as np

from app.domain.network.risk import (
    default_time,
    haversine_m,
    incident_probability,
    segment_distances_m,
)
from app.domain.scenario.model import Edge, Node, Profile, Scenario
from app.domain.scenario.profiles import WALKING_SPEED_M_PER_MIN, resolve_profile

COST_SCALE = 10**9
TIME_SCALE = 10**6
"""Travel times are compared in microminutes."""


@dataclass(frozen=True)
class ReferenceRoute:
    """A route found by the reference: edge ids in order, and its totals."""

    nodes: list[str]
    edges: list[str]
    cost: int
    """Σ round(−ln(1 − risk) × 1e9) over its roads."""
    travel_time_min: float
    survival_probability: float
    harm_probability: float = 0.0
    detention_probability: float = 0.0


def assumed_unknown(scenario: Scenario, rule: float | str | None = None) -> float:
    """What is assumed for a road without an estimate: the rule (the request's, else the
    scenario's, else "highest"), "highest" being the highest estimate of any road."""
    rule = rule if rule is not None else scenario.unknown_risk
    if rule is None or rule == "highest":
        known = [e.risk for e in scenario.edges if e.risk is not None]
        return max(known, default=0.0)
    return float(rule)


def road_risks(
    scenario: Scenario,
    nodes: dict[str, Node],
    edge: Edge,
    profile: Profile,
    at: datetime | None,
    unknown: float = 0.0,
) -> tuple[float, float]:
    """Probability of harm and of detention on one road for ``profile`` at ``at``
    (``unknown``: the risk assumed where the road has no estimate)."""
    survive = 1.0 - (unknown if edge.risk is None else edge.risk)
    a, b = nodes[edge.from_], nodes[edge.to]
    if at is not None:
        for incident in scenario.incidents:
            p, _ = incident_probability(incident, at)
            if p <= 0.0:
                continue
            hit = edge.id in (incident.edges or [])
            located = None not in (incident.lat, incident.lon, incident.radius_m)
            if not hit and located and None not in (a.lat, a.lon, b.lat, b.lon):
                d = segment_distances_m(
                    incident.lat,  # type: ignore[arg-type]
                    incident.lon,  # type: ignore[arg-type]
                    np.array([a.lat]),
                    np.array([a.lon]),
                    np.array([b.lat]),
                    np.array([b.lon]),
                )
                hit = bool(d[0] <= incident.radius_m)
            if hit:
                survive *= 1.0 - p
    detention = 0.0
    if edge.checkpoint is not None:
        party = next(p for p in scenario.parties if p.id == edge.checkpoint)
        extra = profile.checkpoint_risk.get(party.id)
        if extra is None and party.detention_record:
            extra = profile.detention_checkpoint_risk
        detention = extra or 0.0
    return 1.0 - survive, detention


def road_time(nodes: dict[str, Node], edge: Edge, profile: Profile) -> float:
    """Travel time in minutes for ``profile``."""
    if edge.travel_time_min is not None:
        return edge.travel_time_min * WALKING_SPEED_M_PER_MIN / profile.speed_m_per_min
    length = edge.length_m
    if length is None:
        a, b = nodes[edge.from_], nodes[edge.to]
        length = haversine_m(a.lat, a.lon, b.lat, b.lon)  # type: ignore[arg-type]
    return length / profile.speed_m_per_min


def road_usable(
    scenario: Scenario,
    edge: Edge,
    profile: Profile,
    risk: float,
    refusing: set[str],
) -> bool:
    if edge.status == "blocked" or edge.status in profile.excluded_statuses:
        return False
    if profile.vehicle and not edge.vehicle_passable:
        return False
    if edge.controlled_by in refusing or edge.checkpoint in refusing:
        return False
    return risk < 1.0


def reference_route(
    scenario: Scenario,
    source: str,
    target: str,
    *,
    profile: str | None = None,
    at: datetime | None = None,
    avoid_parties: tuple[str, ...] = (),
    consenting_only: bool = False,
    objective: str = "survival",
    unknown_risk: float | str | None = None,
) -> ReferenceRoute | None:
    """The safest route (ties to the faster), or None when no usable route exists.

    ``objective``: the probability minimised — of being harmed or detained (``survival``),
    harmed (``harm``) or detained (``detention``)."""
    prof = resolve_profile(scenario, profile)
    when = at if at is not None else default_time(scenario)
    nodes = {n.id: n for n in scenario.nodes}
    assumed = assumed_unknown(scenario, unknown_risk)
    refusing = set(avoid_parties)
    if consenting_only:
        refusing |= {p.id for p in scenario.parties if p.consent != "granted"}
    places = [n.id for n in scenario.nodes if n.controlled_by not in refusing]
    if source not in places or target not in places:
        return None
    roads = []
    for edge in scenario.edges:
        harm, detention = road_risks(scenario, nodes, edge, prof, when, assumed)
        risk = 1.0 - (1.0 - harm) * (1.0 - detention)
        if not road_usable(scenario, edge, prof, risk, refusing):
            continue
        minimised = {"survival": risk, "harm": harm, "detention": detention}[objective]
        cost = round(-math.log1p(-minimised) * COST_SCALE)
        time = road_time(nodes, edge, prof)
        roads.append((edge, risk, cost, time, harm, detention))
    big = sum(round(time * TIME_SCALE) for _, _, _, time, _, _ in roads) + 1
    graph = nx.DiGraph()
    graph.add_nodes_from(places)
    best: dict[tuple[str, str], tuple[int, Edge, float, float, float, float]] = {}
    for edge, risk, cost, time, harm, detention in roads:
        weight = cost * big + round(time * TIME_SCALE)
        ends = [(edge.from_, edge.to)] + ([] if edge.directed else [(edge.to, edge.from_)])
        for u, v in ends:
            if (u, v) not in best or weight < best[(u, v)][0]:
                best[(u, v)] = (weight, edge, risk, time, harm, detention)
    for (u, v), (weight, *_) in best.items():
        if graph.has_node(u) and graph.has_node(v):
            graph.add_edge(u, v, weight=weight)
    try:
        path = nx.dijkstra_path(graph, source, target, weight="weight")
    except nx.NetworkXNoPath:
        return None
    hops = [best[(u, v)] for u, v in itertools.pairwise(path)]
    return ReferenceRoute(
        nodes=path,
        edges=[h[1].id for h in hops],
        cost=sum(h[0] // big for h in hops),
        travel_time_min=sum(h[3] for h in hops),
        survival_probability=math.prod(1.0 - h[2] for h in hops),
        harm_probability=1.0 - math.prod(1.0 - h[4] for h in hops),
        detention_probability=1.0 - math.prod(1.0 - h[5] for h in hops),
    )
