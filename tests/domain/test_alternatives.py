"""Alternatives: real routes, safest first, genuinely different (bounded overlap)."""

from __future__ import annotations

import random
from itertools import islice
from typing import Any

import networkx as nx
import pytest

from app.domain.errors import NoRouteError, QuestionError, RiskLimitError
from app.domain.network.graph import Network
from app.domain.routes import engine
from app.domain.routes.alternatives import MAX_OVERLAP, alternative_routes, overlap
from app.domain.routes.engine import RouteOptions, safest_route
from app.domain.routes.landmarks import prepare
from app.domain.scenario.reading import validate_scenario
from tests.domain.randomgraphs import document_of, random_scenario, road_objects
from tests.domain.test_goal_directed import grid_document, random_options
from tests.domain.tools_before import alternative_routes_before


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
    alts = alternative_routes(net, s, t, options, k=k, max_overlap=bound)
    routes = alts.routes
    assert 1 <= len(routes) <= k
    assert routes[0].edges == best.edges
    assert [r.cost for r in routes] == sorted(r.cost for r in routes)
    assert len({tuple(r.edges) for r in routes}) == len(routes)
    for i, r in enumerate(routes):
        assert r.node_ids[0] == s and r.node_ids[-1] == t
        assert len(set(r.nodes)) == len(r.nodes)
        for k_, e in enumerate(r.edges):
            edge = road_objects(net)[e]
            u, v = r.node_ids[k_], r.node_ids[k_ + 1]
            assert (edge.from_, edge.to) == (u, v) or (
                not edge.directed and (edge.to, edge.from_) == (u, v)
            )
        for better in routes[:i]:
            assert overlap(r, better, frozenset(alts.unavoidable)) <= bound + 1e-12
        assert alts.overlap_with_safer(i) <= bound + 1e-12
    # The roads left out of the overlap are exactly those no route can avoid.
    assert alts.unavoidable == on_every_route(net, options, s, t, best.edges)


def usable_graph(net: Network, options: RouteOptions, leave_out: set[int]) -> nx.MultiDiGraph:
    cond = net.conditions(options.profile)
    g = nx.MultiDiGraph()
    g.add_nodes_from(net.node_ids)
    for i, e in enumerate(road_objects(net)):
        if cond.usable[i] and i not in leave_out:
            g.add_edge(e.from_, e.to, key=i)
            if not e.directed:
                g.add_edge(e.to, e.from_, key=i)
    return g


def on_every_route(
    net: Network, options: RouteOptions, s: str, t: str, candidates: list[int]
) -> list[int]:
    """The candidate roads whose closure alone separates s from t (brute force)."""
    return [e for e in candidates if not nx.has_path(usable_graph(net, options, {e}), s, t)]


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
        edges.append(
            {"id": f"side{i}a", "from": a, "to": f"j{i}", "travel_time_min": 3, "risk": 0.0}
        )
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
    for i, e in enumerate(road_objects(net)):
        g.add_edge(e.from_, e.to, weight=cond.cost[i])
    ksp = list(islice(nx.shortest_simple_paths(g, "m0", "m6", weight="weight"), 3))
    assert all(len(p) == 8 for p in ksp[1:]), "each differs from the best by one junction"
    assert all(len(set(p) & set(ksp[0])) == 7 for p in ksp[1:])

    routes = alternative_routes(net, "m0", "m6", k=3).routes
    assert [r.node_ids for r in routes] == [
        [f"m{i}" for i in range(7)],
        ["m0", "f", "m6"],
    ]
    assert overlap(routes[1], routes[0]) == 0.0


def test_the_overlap_bound_is_a_parameter() -> None:
    net = ladder()
    loose = alternative_routes(net, "m0", "m6", k=3, max_overlap=0.9).routes
    assert len(loose) == 3
    assert 0.5 < overlap(loose[1], loose[0]) <= 0.9


def test_max_risk_keeps_only_routes_within_it() -> None:
    net = ladder()
    routes = alternative_routes(net, "m0", "m6", RouteOptions(max_risk=0.07), k=3).routes
    assert [r.node_ids[1] for r in routes] == ["m1"]
    with pytest.raises(RiskLimitError):
        alternative_routes(net, "m0", "m6", RouteOptions(max_risk=0.01), k=3)


def test_roads_every_route_must_use_do_not_count_as_overlap() -> None:
    # The ladder behind one long bridge: every route crosses it, alternatives still exist.
    net = ladder()
    doc = document_of(net)
    doc["nodes"].append({"id": "far-bank"})  # type: ignore[attr-defined]
    doc["edges"].append(  # type: ignore[attr-defined]
        {"id": "bridge", "from": "m6", "to": "far-bank", "travel_time_min": 500}
    )
    net = Network(validate_scenario(doc))
    alts = alternative_routes(net, "m0", "far-bank", k=3)
    assert [r.node_ids[1] for r in alts.routes] == ["m1", "f"]
    assert [net.edge_ids[e] for e in alts.unavoidable] == ["bridge"]
    assert alts.overlap_with_safer(1) == 0.0


def test_k_out_of_range_is_a_usage_error() -> None:
    for k in (0, 11):
        with pytest.raises(QuestionError) as info:
            alternative_routes(ladder(), "m0", "m6", k=k)
        assert [f.subject for f in info.value.faults] == ["alternatives"]


@pytest.mark.parametrize("seed", range(150))
def test_a_route_avoiding_every_avoidable_road_of_the_best_is_found_when_one_exists(
    seed: int,
) -> None:
    rng = random.Random(5000 + seed)
    net = Network(
        random_scenario(rng, rng.randint(3, 7), rng.randint(3, 16), risks=[0.0, 0.02, 0.1, 0.3])
    )
    s, t = rng.sample(net.node_ids, 2)
    try:
        best = safest_route(net, s, t)
    except NoRouteError:
        return
    forced = on_every_route(net, RouteOptions(), s, t, best.edges)
    avoidable = set(best.edges) - set(forced)
    # A route made only of unavoidable roads is the only route there is.
    disjoint_exists = bool(avoidable) and nx.has_path(
        usable_graph(net, RouteOptions(), avoidable), s, t
    )
    routes = alternative_routes(net, s, t, k=2, max_overlap=0.0).routes
    assert (len(routes) == 2) == disjoint_exists


@pytest.mark.parametrize("seed", range(120))
def test_goal_directed_re_runs_give_the_plain_searches_alternatives(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large networks re-run the penalised searches goal-directed, with penalties kept per
    road used: the same routes, in the same order, as the plain searches with penalties
    recomputed over every arc (the method before, kept as the oracle)."""
    rng = random.Random(seed)
    side = rng.randint(3, 11)
    risks = rng.choice([[0.0, 0.01, 0.02], [0.01, 0.05, 0.1], [0.001 * k for k in range(60)]])
    net = Network(validate_scenario(grid_document(rng, side, risks)))
    monkeypatch.setattr(engine, "GOAL_DIRECTED_NODES", 1)
    prepare(net)
    options = random_options(rng, list(net.party_ids))
    s, t = rng.sample(net.node_ids, 2)
    k = rng.randint(1, 6)
    bound = rng.choice([0.0, 0.3, MAX_OVERLAP, 0.8])
    try:
        expected = alternative_routes_before(net, s, t, options, k=k, max_overlap=bound)
    except (NoRouteError, RiskLimitError) as error:
        with pytest.raises(type(error)):
            alternative_routes(net, s, t, options, k=k, max_overlap=bound)
        return
    found = alternative_routes(net, s, t, options, k=k, max_overlap=bound)
    assert [r.edges for r in found.routes] == [r.edges for r in expected.routes]
    assert [r.nodes for r in found.routes] == [r.nodes for r in expected.routes]
    assert found.unavoidable == expected.unavoidable
