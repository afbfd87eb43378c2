"""The disjoint pair against min-cost flow (networkx) and brute force over path pairs."""

from __future__ import annotations

import math
import random
from itertools import combinations
from typing import Any

import networkx as nx
import numpy as np
import pytest

from app.domain.errors import NoRouteError
from app.domain.network.graph import Conditions, Network
from app.domain.routes import engine
from app.domain.routes.alternatives import apart_route, pose
from app.domain.routes.disjoint import (
    TIME_RESOLUTION_MIN,
    NoDisjointPairError,
    _decompose,
    _in_corridor,
    _tie_scale,
    disjoint_pair,
    suurballe,
)
from app.domain.routes.engine import RouteOptions, edge_mask, safest_route
from app.domain.routes.landmarks import prepare
from app.domain.scenario.reading import validate_scenario
from tests.domain.randomgraphs import document_of, random_scenario, road_objects
from tests.domain.test_goal_directed import AS_OF, grid_document


def usable_multigraph(net: Network, cond: Conditions, options: RouteOptions) -> nx.MultiDiGraph:
    mask = edge_mask(cond, options.avoid_parties, options.consenting_only)
    g = nx.MultiDiGraph()
    g.add_nodes_from(net.node_ids)
    for i, e in enumerate(road_objects(net)):
        if mask[i]:
            g.add_edge(e.from_, e.to, key=i)
            if not e.directed:
                g.add_edge(e.to, e.from_, key=i)
    return g


def min_cost_flow_optimum(net: Network, options: RouteOptions, s: str, t: str) -> int | None:
    """Least total cost of two road-disjoint routes, as a min-cost flow of two units.

    An undirected road becomes a gadget u→x, v→x, x→y (capacity 1, the road's cost),
    y→u, y→v, so that it carries one unit in total whichever way it is travelled.
    """
    cond = net.conditions(options.profile, options.at)
    mask = edge_mask(cond, options.avoid_parties, options.consenting_only)
    g = nx.DiGraph()
    g.add_nodes_from(net.node_ids)
    for i, e in enumerate(road_objects(net)):
        if not mask[i]:
            continue
        c = int(cond.cost[i])
        x, y = ("x", i), ("y", i)
        g.add_edge(x, y, capacity=1, weight=c)
        g.add_edge(e.from_, x, capacity=1, weight=0)
        g.add_edge(y, e.to, capacity=1, weight=0)
        if not e.directed:
            g.add_edge(e.to, x, capacity=1, weight=0)
            g.add_edge(y, e.from_, capacity=1, weight=0)
    g.nodes[s]["demand"] = -2
    g.nodes[t]["demand"] = 2
    try:
        cost, _ = nx.network_simplex(g)
    except nx.NetworkXUnfeasible:
        return None
    return int(cost)


def brute_force_pair(
    net: Network, options: RouteOptions, s: str, t: str
) -> tuple[float, float] | None:
    """Least (total cost, total time in 0.01-min ticks) over all pairs of road-disjoint routes."""
    cond = net.conditions(options.profile, options.at)
    g = usable_multigraph(net, cond, options)
    paths = [[k for _, _, k in p] for p in nx.all_simple_edge_paths(g, s, t)]
    best: tuple[float, float] | None = None
    for p, q in combinations(paths, 2):
        if set(p) & set(q):
            continue
        key = (
            sum(cond.cost[i] for i in p + q),
            sum(max(1, round(cond.time[i] / TIME_RESOLUTION_MIN)) for i in p + q),
        )
        if best is None or key < best:
            best = key
    return best


def assert_is_route(net: Network, route: Any, s: str, t: str) -> None:
    assert route.node_ids[0] == s and route.node_ids[-1] == t
    assert len(set(route.nodes)) == len(route.nodes), "a route visits a place once"
    for k, e in enumerate(route.edges):
        edge = road_objects(net)[e]
        u, v = route.node_ids[k], route.node_ids[k + 1]
        assert (edge.from_, edge.to) == (u, v) or (
            not edge.directed and (edge.to, edge.from_) == (u, v)
        )


def random_case(seed: int) -> tuple[Network, RouteOptions, str, str]:
    rng = random.Random(seed)
    n = rng.randint(2, 7)
    scenario = random_scenario(
        rng, n, rng.randint(1, 16), risks=[0.0, 0.01, 0.02, 0.05, 0.1], directed_share=0.2
    )
    net = Network(scenario)
    options = RouteOptions(
        profile=rng.choice(["general", "medical", "military_age_men"]),
        avoid_parties=tuple(rng.sample(["p0", "p1"], rng.randint(0, 1))),
    )
    s, t = rng.sample(net.node_ids, 2)
    return net, options, s, t


@pytest.mark.parametrize("seed", range(250))
def test_joint_survival_equals_min_cost_flow_optimum(seed: int) -> None:
    net, options, s, t = random_case(seed)
    expected = min_cost_flow_optimum(net, options, s, t)
    if expected is None:
        with pytest.raises((NoRouteError, NoDisjointPairError)):
            disjoint_pair(net, s, t, options)
        return
    pair = disjoint_pair(net, s, t, options)
    first, second = pair.routes
    assert not set(first.edges) & set(second.edges), "the two routes share no road"
    for r in pair.routes:
        assert_is_route(net, r, s, t)
    assert pair.cost == expected
    assert pair.joint_survival_probability == pytest.approx(math.exp(-expected / 1e9), rel=1e-8)
    assert first.cost <= second.cost


@pytest.mark.parametrize("seed", range(150))
def test_ties_in_survival_go_to_the_shorter_total_time(seed: int) -> None:
    net, options, s, t = random_case(1000 + seed)
    expected = brute_force_pair(net, options, s, t)
    if expected is None:
        with pytest.raises((NoRouteError, NoDisjointPairError)):
            disjoint_pair(net, s, t, options)
        return
    pair = disjoint_pair(net, s, t, options)
    cond = net.conditions(options.profile)
    ticks = sum(
        max(1, round(cond.time[i] / TIME_RESOLUTION_MIN)) for r in pair.routes for i in r.edges
    )
    assert (pair.cost, ticks) == expected


@pytest.mark.parametrize("seed", range(150))
def test_roads_named_when_no_pair_are_exactly_those_every_route_uses(seed: int) -> None:
    net, options, s, t = random_case(2000 + seed)
    try:
        disjoint_pair(net, s, t, options)
    except NoDisjointPairError as exc:
        cond = net.conditions(options.profile)
        g = usable_multigraph(net, cond, options)
        best = safest_route(net, s, t, options)
        must = []
        for e in best.edges:
            h = g.copy()
            h.remove_edges_from([(u, v, k) for u, v, k in g.edges(keys=True) if k == e])
            if not nx.has_path(h, s, t):
                must.append(net.edge_ids[e])
        assert [r["edge"] for r in exc.shared_roads] == must
        assert must, "no disjoint pair means at least one road is on every route"
        assert exc.extra()["route"]["edges"] == best.edge_ids
    except NoRouteError:
        pass


def trap(extra_detour: bool) -> Network:
    """Suurballe's trap: the safest route s-a-b-t blocks every second route through b or a.

    Costs in units of −ln(1 − risk): s-a, a-b, b-t 1; s-b, a-t 3; optional detour s-c-t 5 + 5.
    """

    def risk(units: float) -> float:
        return 1.0 - math.exp(-0.01 * units)

    roads = [("s", "a", 1), ("a", "b", 1), ("b", "t", 1), ("s", "b", 3), ("a", "t", 3)]
    if extra_detour:
        roads += [("s", "c", 5), ("c", "t", 5)]
    nodes = sorted({x for u, v, _ in roads for x in (u, v)})
    return Network(
        validate_scenario(
            {
                "schema": "safe-passage/scenario@1",
                "nodes": [{"id": x} for x in nodes],
                "edges": [
                    {"id": f"{u}-{v}", "from": u, "to": v, "travel_time_min": 10, "risk": risk(c)}
                    for u, v, c in roads
                ],
            }
        )
    )


def greedy_pair(net: Network, s: str, t: str) -> float:
    """Joint survival of "safest route, then the safest route on the roads left"."""
    first = safest_route(net, s, t)
    doc = document_of(net)
    for e in doc["edges"]:  # type: ignore[attr-defined]
        if e["id"] in first.edge_ids:
            e["status"] = "blocked"
    second = safest_route(Network(validate_scenario(doc)), s, t)
    return first.survival_probability * second.survival_probability


def test_greedy_fails_on_the_trap_where_the_exact_pair_exists() -> None:
    net = trap(extra_detour=False)
    with pytest.raises(NoRouteError):
        greedy_pair(net, "s", "t")
    pair = disjoint_pair(net, "s", "t")
    assert sorted(r.edge_ids for r in pair.routes) == [["s-a", "a-t"], ["s-b", "b-t"]]
    assert pair.joint_survival_probability == pytest.approx(math.exp(-0.08))


def test_greedy_is_worse_on_the_trap_with_a_detour() -> None:
    net = trap(extra_detour=True)
    greedy = greedy_pair(net, "s", "t")
    pair = disjoint_pair(net, "s", "t")
    assert greedy == pytest.approx(math.exp(-0.13))  # s-a-b-t then s-c-t
    assert pair.joint_survival_probability == pytest.approx(math.exp(-0.08))
    assert pair.joint_survival_probability > greedy + 0.04


def small(edges: list[dict[str, Any]]) -> Network:
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


def test_parallel_roads_form_a_pair() -> None:
    net = small(
        [
            {"id": "old", "from": "s", "to": "t", "travel_time_min": 5, "risk": 0.1},
            {"id": "new", "from": "s", "to": "t", "travel_time_min": 9, "risk": 0.01},
        ]
    )
    pair = disjoint_pair(net, "s", "t")
    assert [r.edge_ids for r in pair.routes] == [["new"], ["old"]]


def test_one_road_is_never_travelled_both_ways() -> None:
    # Without the rule, s-a-b-t and s-b-a-t would share the free road a-b in opposite directions.
    net = small(
        [
            {"id": "s-a", "from": "s", "to": "a", "travel_time_min": 5, "risk": 0.0},
            {"id": "a-b", "from": "a", "to": "b", "travel_time_min": 1, "risk": 0.0},
            {"id": "b-t", "from": "b", "to": "t", "travel_time_min": 5, "risk": 0.0},
            {"id": "s-b", "from": "s", "to": "b", "travel_time_min": 50, "risk": 0.0},
            {"id": "a-t", "from": "a", "to": "t", "travel_time_min": 50, "risk": 0.0},
        ]
    )
    pair = disjoint_pair(net, "s", "t")
    assert sorted(r.edge_ids for r in pair.routes) == [["s-a", "a-t"], ["s-b", "b-t"]]
    assert sum(r.travel_time_min for r in pair.routes) == 110


def test_a_bridge_is_named_when_no_pair_exists() -> None:
    net = small(
        [
            {"id": "s-a", "from": "s", "to": "a", "travel_time_min": 5},
            {"id": "s-a2", "from": "s", "to": "a", "travel_time_min": 7},
            {"id": "bridge", "from": "a", "to": "b", "travel_time_min": 3, "name": "Old Bridge"},
            {"id": "b-t", "from": "b", "to": "t", "travel_time_min": 5},
            {"id": "b-c", "from": "b", "to": "c", "travel_time_min": 5},
            {"id": "c-t", "from": "c", "to": "t", "travel_time_min": 5},
        ]
    )
    with pytest.raises(NoDisjointPairError) as info:
        disjoint_pair(net, "s", "t")
    assert [r["edge"] for r in info.value.shared_roads] == ["bridge"]
    assert "Old Bridge" in info.value.detail
    assert info.value.slug == "no-disjoint-pair"


@pytest.mark.parametrize("seed", range(60))
def test_optimum_holds_when_costs_are_too_large_to_break_ties_by_time(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.domain.routes.disjoint._EXACT_LIMIT", 0.0)
    net, options, s, t = random_case(seed)
    expected = min_cost_flow_optimum(net, options, s, t)
    if expected is None:
        return
    pair = disjoint_pair(net, s, t, options)
    assert not set(pair.routes[0].edges) & set(pair.routes[1].edges)
    for r in pair.routes:
        assert_is_route(net, r, s, t)
    assert pair.cost == expected


# On large networks the pair is searched in a corridor (compiled); the plain method is the
# oracle, and networkx's min-cost flow the independent one.


def grid_case(seed: int) -> tuple[Network, RouteOptions, str, str]:
    rng = random.Random(seed)
    side = rng.randint(3, 11)
    risks = rng.choice(
        [[0.0, 0.01, 0.02], [0.01, 0.02, 0.05, 0.1], [round(0.001 * k, 3) for k in range(1, 60)]]
    )
    net = Network(validate_scenario(grid_document(rng, side, risks)))
    parties = list(net.party_ids)
    options = RouteOptions(
        profile=rng.choice(["general", "medical", "military_age_men"]),
        at=rng.choice([None, AS_OF]),
        avoid_parties=tuple(rng.sample(parties, rng.randint(0, min(1, len(parties))))),
        consenting_only=rng.random() < 0.2,
    )
    s, t = rng.sample(net.node_ids, 2)
    return net, options, s, t


def tie_break_by_time(q: Any) -> bool:
    cond, arcs = q.conditions, q.mask[q.network.arc_edge]
    cost, time = cond.arc_cost[arcs], cond.arc_time[arcs]
    return _tie_scale(cost, np.maximum(1.0, np.rint(time / TIME_RESOLUTION_MIN)))[1]


def ticks(pair: Any) -> int:
    cond = pair.routes[0].conditions
    edges = pair.routes[0].edges + pair.routes[1].edges
    return sum(max(1, round(float(cond.time[e]) / TIME_RESOLUTION_MIN)) for e in edges)


@pytest.mark.parametrize("seed", range(150))
def test_the_corridor_gives_the_plain_methods_pair(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    net, options, s, t = grid_case(seed)
    monkeypatch.setattr(engine, "GOAL_DIRECTED_NODES", 1)
    prepare(net)
    try:
        q = pose(net, s, t, options)
    except NoRouteError:
        return
    plain = suurballe(q)
    found = _in_corridor(q)
    if apart_route(q, [q.best]) is not None:
        assert found is not None  # a witness pair: the corridor search answers
    if found is None:
        return
    assert plain is not None
    a, b = _decompose(q, found), _decompose(q, plain)
    if [r.edges for r in a.routes] != [r.edges for r in b.routes]:
        # Only among equally safe pairs, and as fast too where time breaks ties (sums
        # exact: see the module docstring); both methods may pick any such pair.
        assert a.cost == b.cost
        if tie_break_by_time(q):
            assert ticks(a) == ticks(b)
    assert a.cost == min_cost_flow_optimum(net, options, s, t)
    for r in a.routes:
        assert_is_route(net, r, s, t)
    assert disjoint_pair(net, s, t, options).routes[0].edges == a.routes[0].edges
