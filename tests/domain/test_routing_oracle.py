"""The safest route against brute force over every simple path, on random graphs."""

from __future__ import annotations

import math
import random

import networkx as nx
import pytest

from app.domain.errors import NoRouteError
from app.domain.network.graph import Network
from app.domain.routes.engine import RouteOptions, edge_mask, safest_route
from tests.domain.randomgraphs import random_scenario, road_objects


def brute_force(net: Network, options: RouteOptions, s: str, t: str) -> tuple[float, float] | None:
    """Best (cost, time) over all simple paths, enumerated with networkx."""
    cond = net.conditions(options.profile, options.at)
    mask = edge_mask(cond, options.avoid_parties, options.consenting_only)
    g = nx.MultiDiGraph()
    g.add_nodes_from(net.node_ids)
    for i, e in enumerate(road_objects(net)):
        if not mask[i]:
            continue
        g.add_edge(e.from_, e.to, key=i)
        if not e.directed:
            g.add_edge(e.to, e.from_, key=i)
    best: tuple[float, float] | None = None
    for path in nx.all_simple_edge_paths(g, s, t):
        idx = [k for _, _, k in path]
        key = (sum(cond.cost[i] for i in idx), sum(cond.time[i] for i in idx))
        if best is None or key[0] < best[0] or (key[0] == best[0] and key[1] < best[1] - 1e-9):
            best = key
    return best


@pytest.mark.parametrize("seed", range(300))
def test_safest_route_matches_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(2, 7)
    # Risks from a small set so that equal-survival ties (and the time tie-break) occur.
    scenario = random_scenario(rng, n, rng.randint(1, 14), risks=[0.0, 0.01, 0.02, 0.05, 0.1])
    net = Network(scenario)
    options = RouteOptions(
        profile=rng.choice(["general", "medical", "military_age_men"]),
        avoid_parties=tuple(rng.sample(["p0", "p1"], rng.randint(0, 1))),
        consenting_only=rng.random() < 0.2,
    )
    s, t = rng.sample(net.node_ids, 2)
    expected = brute_force(net, options, s, t)
    if expected is None:
        with pytest.raises(NoRouteError):
            safest_route(net, s, t, options)
        return
    route = safest_route(net, s, t, options)
    cond = net.conditions(options.profile)
    # The route is a walk along usable roads from s to t.
    assert route.node_ids[0] == s and route.node_ids[-1] == t
    for k, e in enumerate(route.edges):
        edge = road_objects(net)[e]
        u, v = route.node_ids[k], route.node_ids[k + 1]
        assert (edge.from_, edge.to) == (u, v) or (
            not edge.directed and (edge.to, edge.from_) == (u, v)
        )
    # Optimal: same cost as brute force, and the fastest among equally safe routes.
    assert route.cost == expected[0]
    assert route.travel_time_min == pytest.approx(expected[1])
    # The reported figure is the product over the route's roads.
    product = math.prod(1.0 - cond.risk[e] for e in route.edges)
    assert route.survival_probability == pytest.approx(product, rel=1e-12)
    assert route.as_dict()["survival_probability"] == pytest.approx(
        math.exp(-expected[0] / 1e9), rel=1e-8
    )
