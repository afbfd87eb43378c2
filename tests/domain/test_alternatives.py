"""Alternatives: real routes, safest first, genuinely different (bounded overlap)."""

from __future__ import annotations

import random
from itertools import islice
from typing import Any

import networkx as nx
import pytest

from app.domain.alternatives import MAX_OVERLAP, alternative_routes, overlap
from app.domain.errors import InvalidRequestError, NoRouteError, RiskLimitError
from app.domain.network import Network
from app.domain.routing import RouteOptions, safest_route
from app.domain.validation import validate_scenario
from tests.domain.randomgraphs import random_scenario


def network(edges: list[dict[str, Any]]) -> Network:
    nodes = sorted({x for e in edges for x in (e["from"], e["to"])})
    return Network(
        validate_scenario(
            {
                "schema": "safe-passage/scenario@1",
                "nodes": [{"id": x} for x in nodes],
                "edges": edges,
            }
        )
    )


@pytest.mark.parametrize("seed", range(200))
def test_alternatives_are_real_routes_safest_first_with_bounded_overlap(seed: int) -> None:
    rng = random.Random(seed)
    scenario = random_scenario(
        rng, rng.randint(2, 8), rng.randint(1, 20), risks=[0.0, 0.01, 0.02, 0.05, 0.1]
    )
    net = Network(scenario)
    options = RouteOptions(profile=rng.choice(["general", "medical"]))
    s, t = rng.sample(net.node_ids, 2)
    k = rng.randint(1, 5)
    bound = rng.choice([0.0, 0.3, MAX_OVERLAP, 0.8])
    try:
        best = safest_route(net, s, t, options)
    except NoRouteError:
        with pytest.raises(NoRouteError):
            alternative_routes(net, s, t, options, k=k, max_overlap=bound)
        return
    routes = alternative_routes(net, s, t, options, k=k, max_overlap=bound)
    assert 1 <= len(routes) <= k
    assert routes[0].edges == best.edges
    assert [r.cost for r in routes] == sorted(r.cost for r in routes)
    assert len({tuple(r.edges) for r in routes}) == len(routes)
    for i, r in enumerate(routes):
        assert r.node_ids[0] == s and r.node_ids[-1] == t
        assert len(set(r.nodes)) == len(r.nodes)
        for k_, e in enumerate(r.edges):
            edge = net.edges[e]
            u, v = r.node_ids[k_], r.node_ids[k_ + 1]
            assert (edge.from_, edge.to) == (u, v) or (
                not edge.directed and (edge.to, edge.from_) == (u, v)
            )
        for better in routes[:i]:
            assert overlap(r, better) <= bound + 1e-12


def ladder() -> Network:
    """A main street of 6 blocks, the first two with a slightly worse side street, and a far
    corridor.

    k-shortest paths gives the main street with a block or two swapped for side
    streets; the far corridor is the only genuinely different route.
    """
    edges: list[dict[str, Any]] = []
    for i in range(6):
        a, b = f"m{i}", f"m{i + 1}"
        edges.append({"id": f"main{i}", "from": a, "to": b, "travel_time_min": 5, "risk": 0.01})
        if i >= 2:
            continue
        edges.append({"id": f"side{i}a", "from": a, "to": f"j{i}", "travel_time_min": 3})
        edges.append(
            {"id": f"side{i}b", "from": f"j{i}", "to": b, "travel_time_min": 3, "risk": 0.011}
        )
    edges.append({"id": "far1", "from": "m0", "to": "f", "travel_time_min": 30, "risk": 0.05})
    edges.append({"id": "far2", "from": "f", "to": "m6", "travel_time_min": 30, "risk": 0.05})
    return network(edges)


def test_near_copies_are_left_out_for_a_genuinely_different_route() -> None:
    net = ladder()
    # What plain k-shortest paths would offer: the main street with one block swapped.
    cond = net.conditions()
    g = nx.Graph()
    for i, e in enumerate(net.edges):
        g.add_edge(e.from_, e.to, weight=cond.cost[i])
    ksp = list(islice(nx.shortest_simple_paths(g, "m0", "m6", weight="weight"), 3))
    assert all(len(p) == 8 for p in ksp[1:]), "each differs from the best by one junction"
    assert all(len(set(p) & set(ksp[0])) == 7 for p in ksp[1:])

    routes = alternative_routes(net, "m0", "m6", k=3)
    assert [r.node_ids for r in routes] == [
        [f"m{i}" for i in range(7)],
        ["m0", "f", "m6"],
    ]
    assert overlap(routes[1], routes[0]) == 0.0


def test_the_overlap_bound_is_a_parameter() -> None:
    net = ladder()
    loose = alternative_routes(net, "m0", "m6", k=3, max_overlap=0.9)
    assert len(loose) == 3
    assert 0.5 < overlap(loose[1], loose[0]) <= 0.9


def test_max_risk_keeps_only_routes_within_it() -> None:
    net = ladder()
    routes = alternative_routes(net, "m0", "m6", RouteOptions(max_risk=0.07), k=3)
    assert [r.node_ids[1] for r in routes] == ["m1"]
    with pytest.raises(RiskLimitError):
        alternative_routes(net, "m0", "m6", RouteOptions(max_risk=0.01), k=3)


def test_k_out_of_range_is_a_usage_error() -> None:
    with pytest.raises(InvalidRequestError):
        alternative_routes(ladder(), "m0", "m6", k=0)
    with pytest.raises(InvalidRequestError):
        alternative_routes(ladder(), "m0", "m6", k=11)


@pytest.mark.parametrize("seed", range(150))
def test_a_road_disjoint_route_is_found_when_one_exists(seed: int) -> None:
    rng = random.Random(5000 + seed)
    net = Network(
        random_scenario(rng, rng.randint(3, 7), rng.randint(3, 16), risks=[0.0, 0.02, 0.1, 0.3])
    )
    s, t = rng.sample(net.node_ids, 2)
    try:
        best = safest_route(net, s, t)
    except NoRouteError:
        return
    cond = net.conditions()
    g = nx.MultiDiGraph()
    for i, e in enumerate(net.edges):
        if cond.usable[i] and i not in best.edges:
            g.add_edge(e.from_, e.to)
            if not e.directed:
                g.add_edge(e.to, e.from_)
    disjoint_exists = g.has_node(s) and g.has_node(t) and nx.has_path(g, s, t)
    routes = alternative_routes(net, s, t, k=2, max_overlap=0.0)
    assert (len(routes) == 2) == disjoint_exists
