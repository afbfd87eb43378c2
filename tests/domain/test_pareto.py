"""The risk–time Pareto front against brute force over every simple path."""

from __future__ import annotations

import random

import networkx as nx
import numpy as np
import pytest

from app.domain.errors import NoRouteError, RiskLimitError
from app.domain.network.graph import Network
from app.domain.routes.alternatives import pose
from app.domain.routes.engine import Route, RouteOptions, edge_mask, safest_route
from app.domain.routes.pareto import TIME_RESOLUTION_MIN, _martins, pareto_front, spread
from app.domain.scenario.reading import validate_scenario
from tests.domain.randomgraphs import random_scenario, road_objects
from tests.domain.test_goal_directed import grid_document, random_options
from tests.domain.tools_before import martins_before

Vector = tuple[int, int]


def all_route_vectors(net: Network, options: RouteOptions, s: str, t: str) -> set[Vector]:
    """(cost, time ticks) of every simple route, enumerated with networkx."""
    cond = net.conditions(options.profile, options.at)
    mask = edge_mask(cond, options.avoid_parties, options.consenting_only)
    g = nx.MultiDiGraph()
    g.add_nodes_from(net.node_ids)
    for i, e in enumerate(road_objects(net)):
        if mask[i]:
            g.add_edge(e.from_, e.to, key=i)
            if not e.directed:
                g.add_edge(e.to, e.from_, key=i)
    vectors = set()
    for path in nx.all_simple_edge_paths(g, s, t):
        idx = [k for _, _, k in path]
        vectors.add(
            (
                int(sum(cond.cost[i] for i in idx)),
                sum(max(1, round(cond.time[i] / TIME_RESOLUTION_MIN)) for i in idx),
            )
        )
    return vectors


def vector(route: Route) -> Vector:
    cond = route.conditions
    return (
        int(route.cost),
        sum(max(1, round(cond.time[i] / TIME_RESOLUTION_MIN)) for i in route.edges),
    )


def inside(route: Route, gap: dict[str, list[float]]) -> bool:
    """Whether the route's figures lie in the gap (strictly, but for rounding)."""
    (s_low, s_high), (t_low, t_high) = gap["survival_probability"], gap["travel_time_min"]
    s, t = route.survival_probability, route.travel_time_min
    return s_low - 1e-9 <= s <= s_high + 1e-9 and t_low - 1e-9 <= t <= t_high + 1e-9


def dominates(a: Vector, b: Vector) -> bool:
    return a[0] <= b[0] and a[1] <= b[1] and a != b


@pytest.mark.parametrize("seed", range(250))
def test_front_is_exactly_the_non_dominated_routes(seed: int) -> None:
    rng = random.Random(seed)
    # Random risks and times make large fronts; a few repeated values make ties.
    scenario = random_scenario(
        rng,
        rng.randint(2, 7),
        rng.randint(1, 16),
        risks=[0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.2],
    )
    net = Network(scenario)
    options = RouteOptions(profile=rng.choice(["general", "medical", "military_age_men"]))
    s, t = rng.sample(net.node_ids, 2)
    everything = all_route_vectors(net, options, s, t)
    if not everything:
        with pytest.raises(NoRouteError):
            pareto_front(net, s, t, options, cap=50)
        return
    front = pareto_front(net, s, t, options, cap=50)
    members = [vector(r) for r in front.routes]
    assert front.complete and front.size == len(members)
    # No member is dominated by any route of the graph.
    for m in members:
        assert not any(dominates(v, m) for v in everything)
    # Every route not on the front is dominated by a member (or has a member's figures).
    for v in everything:
        assert v in members or any(dominates(m, v) for m in members)
    # Members are distinct and ordered safest (slowest) first.
    assert members == sorted(set(members))
    assert [m[1] for m in members] == sorted((m[1] for m in members), reverse=True)
    for r in front.routes:
        assert r.node_ids[0] == s and r.node_ids[-1] == t
    # With almost no label budget: still only front members, the safest and fastest included.
    partial = pareto_front(net, s, t, options, cap=50, max_labels=1)
    found = [vector(r) for r in partial.routes]
    assert set(found) <= set(members)
    assert found[0] == members[0] and found[-1] == members[-1]
    # Every member not found lies in one of the gaps the answer names.
    assert (partial.missing == []) == partial.complete
    for r in front.routes:
        if vector(r) not in found:
            assert any(inside(r, gap) for gap in partial.missing)


def chain_of_choices(n: int) -> Network:
    """n independent choices between a safe slow road and a fast risky one: n + 1 members."""
    edges = []
    for i in range(n):
        edges.append(
            {
                "id": f"slow{i}",
                "from": f"x{i}",
                "to": f"x{i + 1}",
                "travel_time_min": 20 + i,
                "risk": 0.0,
            }
        )
        edges.append(
            {
                "id": f"fast{i}",
                "from": f"x{i}",
                "to": f"x{i + 1}",
                "travel_time_min": 5,
                "risk": 0.01 * (i + 1),
            }
        )
    return Network(
        validate_scenario(
            {
                "schema": "safe-passage/scenario@1",
                "nodes": [{"id": f"x{i}"} for i in range(n + 1)],
                "edges": edges,
            }
        )
    )


def fan(n: int) -> Network:
    """n parallel roads from s to t, each riskier and faster than the one before: n members."""
    return Network(
        validate_scenario(
            {
                "schema": "safe-passage/scenario@1",
                "nodes": [{"id": "s"}, {"id": "t"}],
                "edges": [
                    {
                        "id": f"r{i}",
                        "from": "s",
                        "to": "t",
                        "travel_time_min": 60 - 5 * i,
                        "risk": 0.01 * i,
                    }
                    for i in range(n)
                ],
            }
        )
    )


def test_cap_keeps_the_safest_the_fastest_and_evenly_spread_members() -> None:
    full = pareto_front(fan(7), "s", "t", cap=50)
    assert full.size == 7
    assert [r.edge_ids[0] for r in full.routes] == [f"r{i}" for i in range(7)]
    capped = pareto_front(fan(7), "s", "t", cap=4)
    assert capped.size == 7
    assert [r.edge_ids[0] for r in capped.routes] == ["r0", "r2", "r4", "r6"]


def test_spread_keeps_short_fronts_whole() -> None:
    routes = pareto_front(fan(3), "s", "t").routes
    assert spread(routes, 3) == routes
    assert spread(routes, 1) == routes[:1]


def test_max_risk_leaves_out_the_riskier_members() -> None:
    front = pareto_front(fan(7), "s", "t", RouteOptions(max_risk=0.035), cap=50)
    assert [r.edge_ids[0] for r in front.routes] == ["r0", "r1", "r2", "r3"]
    assert front.size == 4


@pytest.mark.parametrize("budget", [1, 3, 8])
def test_an_exhausted_label_budget_still_returns_only_front_members_and_says_so(
    budget: int,
) -> None:
    net = chain_of_choices(6)
    everything = all_route_vectors(net, RouteOptions(), "x0", "x6")
    full = pareto_front(net, "x0", "x6", cap=50)
    partial = pareto_front(net, "x0", "x6", cap=50, max_labels=budget)
    assert full.complete and not partial.complete
    members = [vector(r) for r in partial.routes]
    assert members == sorted(set(members))
    for m in members:
        assert not any(dominates(v, m) for v in everything)
    # The safest and the fastest route are always there; some members in between too.
    assert members[0] == vector(full.routes[0]) and members[-1] == vector(full.routes[-1])
    assert 2 < partial.size < full.size
    # What is missing lies in the gaps named, and no gap is among the members found exactly.
    assert partial.missing
    for r in full.routes:
        if vector(r) not in members:
            assert any(inside(r, gap) for gap in partial.missing)


def test_a_large_grid_gives_a_spread_front_within_the_budget() -> None:
    rng = random.Random(7)
    side = 30
    edges = []
    for i in range(side):
        for j in range(side):
            for a, b in ((i + 1, j), (i, j + 1)):
                if a < side and b < side:
                    edges.append(
                        {
                            "id": f"{i}.{j}-{a}.{b}",
                            "from": f"{i}.{j}",
                            "to": f"{a}.{b}",
                            "travel_time_min": rng.randint(1, 10),
                            "risk": round(rng.random() * 0.02, 4),
                        }
                    )
    nodes = [{"id": f"{i}.{j}"} for i in range(side) for j in range(side)]
    net = Network(
        validate_scenario({"schema": "safe-passage/scenario@1", "nodes": nodes, "edges": edges})
    )
    target = f"{side - 1}.{side - 1}"
    front = pareto_front(net, "0.0", target, max_labels=2_000)
    assert not front.complete and len(front.routes) == 10
    times = [r.travel_time_min for r in front.routes]
    survival = [r.survival_probability for r in front.routes]
    assert times == sorted(times, reverse=True) and survival == sorted(survival, reverse=True)
    assert front.routes[0].cost == safest_route(net, "0.0", target).cost


@pytest.mark.parametrize("seed", range(60))
def test_the_compiled_search_gives_the_python_searchs_front(seed: int) -> None:
    """The label-setting search, compiled, against the Python version it replaced (kept as
    the oracle): the same members, the same route for each, the same point of stopping."""
    rng = random.Random(seed)
    side = rng.randint(2, 9)
    risks = rng.choice([[0.0, 0.01, 0.02], [round(0.001 * k, 3) for k in range(40)]])
    net = Network(validate_scenario(grid_document(rng, side, risks)))
    options = random_options(rng, list(net.party_ids))
    s, t = rng.sample(net.node_ids, 2)
    try:
        q = pose(net, s, t, options)
    except (NoRouteError, RiskLimitError):
        return
    cond = q.conditions
    arc_ok = q.mask[net.arc_edge]
    cost = cond.cost.astype(np.int64)
    ticks = np.maximum(1, np.rint(cond.time / TIME_RESOLUTION_MIN)).astype(np.int64)
    for budget in (1, 5, 40, 1_000_000):
        found, complete, stop = _martins(q, arc_ok, cost, ticks, budget)
        expected, expected_complete = martins_before(q, arc_ok, cost, ticks, budget)
        assert [r.edges for r in found] == [r.edges for r in expected]
        assert [r.nodes for r in found] == [r.nodes for r in expected]
        assert complete == expected_complete and (stop is None) == complete
