"""The goal-directed search (A* with landmark bounds, compiled) against the plain search it
stands in for: the same route — same roads, same choice among equally safe and equally
fast ones — on random graphs under random conditions, and after edits that raise and
lower costs."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from app.domain.network.graph import OBJECTIVES, Network, least_costs
from app.domain.routes import engine
from app.domain.routes.engine import (
    PLAIN,
    RouteOptions,
    goal_directed_path,
    lexicographic_path,
    question_conditions,
    safest_route,
)
from app.domain.routes.holdings import exclusion, usable_roads
from app.domain.routes.landmarks import compute_landmarks, landmarks_of, no_landmarks, prepare
from app.domain.scenario.edits import apply_edits
from app.domain.scenario.reading import validate_scenario
from tests.domain.randomgraphs import random_document

AS_OF = datetime(2025, 1, 1, 12, tzinfo=UTC)
PROFILES = ["general", "medical", "military_age_men", "convoy"]


def grid_document(rng: random.Random, side: int, risks: list[float]) -> dict[str, Any]:
    """A street grid with random extra roads (parallel and one-way ones among them),
    statuses, parties, checkpoints, unknown risks and incidents: many equally safe routes
    when ``risks`` is a short list."""
    doc = random_document(rng, side * side, 0, risks=risks)
    doc["as_of"] = AS_OF.isoformat()
    pairs = [(r * side + c, r * side + c + 1) for r in range(side) for c in range(side - 1)]
    pairs += [(r * side + c, (r + 1) * side + c) for r in range(side - 1) for c in range(side)]
    pairs += [tuple(rng.sample(range(side * side), 2)) for _ in range(side)]
    pairs += [rng.choice(pairs) for _ in range(side)]  # parallel roads
    parties = [p["id"] for p in doc["parties"]]
    for k, (a, b) in enumerate(pairs):
        edge: dict[str, Any] = {
            "id": f"e{k}",
            "from": f"n{a}",
            "to": f"n{b}",
            "directed": rng.random() < 0.1,
            "travel_time_min": rng.choice([1, 2, 2, 3]),
            "status": rng.choice(["open"] * 12 + ["restricted", "damaged", "blocked"]),
            "controlled_by": rng.choice([None] * 6 + parties),
            "checkpoint": rng.choice([None] * 12 + parties),
            "vehicle_passable": rng.random() < 0.9,
        }
        if rng.random() < 0.9:
            edge["risk"] = rng.choice(risks)
        doc["edges"].append(edge)
    for node in doc["nodes"]:
        node["controlled_by"] = rng.choice([None] * 10 + parties)
    doc["incidents"] = [
        {
            "id": f"i{k}",
            "edges": [f"e{j}" for j in rng.sample(range(len(pairs)), 3)],
            "severity": rng.choice([0.05, 0.2, 0.5]),
            "confidence": rng.choice([0.5, 1.0]),
            "observed_at": (AS_OF - timedelta(hours=rng.randint(-3, 10))).isoformat(),
            "half_life_h": rng.choice([None, 2.0]),
        }
        for k in range(rng.randint(0, 4))
    ]
    return doc


def random_options(rng: random.Random, parties: list[str]) -> RouteOptions:
    return RouteOptions(
        profile=rng.choice(PROFILES),
        at=rng.choice([None, AS_OF + timedelta(hours=rng.randint(-5, 5))]),
        avoid_parties=tuple(rng.sample(parties, rng.randint(0, min(1, len(parties))))),
        consenting_only=rng.random() < 0.2,
        objective=rng.choice(["survival", "survival", "harm"]),
        unknown_risk=rng.choice([None, 0.0, 0.03, "highest"]),
    )


def plain_route(net: Network, opts: RouteOptions, s: int, t: int) -> engine.Route | None:
    """What the plain search (two scipy Dijkstra runs) answers."""
    cond = question_conditions(net, opts)
    excluded = exclusion(net, opts.avoid_parties, opts.consenting_only)
    mask = usable_roads(net, cond.usable, excluded.parties)
    return lexicographic_path(cond, mask[net.arc_edge], s, t)


def check_same(net: Network, marks: Any, opts: RouteOptions, s: int, t: int) -> str:
    """Asserts the goal-directed answer is the plain one; returns how it was found."""
    cond = question_conditions(net, opts)
    excluded = exclusion(net, opts.avoid_parties, opts.consenting_only)
    found = goal_directed_path(cond, marks, s, t, excluded.parties)
    expected = plain_route(net, opts, s, t)
    if found is PLAIN:
        return "plain"
    if expected is None:
        assert found is None
        return "none"
    assert found is not None and not isinstance(found, engine._Plain)
    assert (found.nodes, found.edges) == (expected.nodes, expected.edges)
    assert found.survival_probability == pytest.approx(expected.survival_probability, abs=1e-9)
    assert found.cost == expected.cost
    assert found.travel_time_min == expected.travel_time_min
    return "route"


@pytest.mark.parametrize("landmarks", [True, False], ids=["landmarks", "no-landmark"])
@pytest.mark.parametrize("seed", range(40))
def test_same_route_as_the_plain_search_on_random_grids(seed: int, landmarks: bool) -> None:
    # Without landmarks every bound is 0: the compiled search small networks use.
    rng = random.Random(seed)
    side = rng.randint(3, 14)
    risks = rng.choice([[0.0, 0.01, 0.02], [0.0, 0.001], [0.005, 0.01, 0.02, 0.05, 0.1]])
    net = Network(validate_scenario(grid_document(rng, side, risks)))
    marks = compute_landmarks(net, rng.randint(1, 8)) if landmarks else no_landmarks(net)
    assert marks is not None
    parties = list(net.party_ids)
    seen = []
    for _ in range(25):
        s, t = (rng.randrange(net.n_nodes) for _ in range(2))
        seen.append(check_same(net, marks, random_options(rng, parties), s, t))
    assert seen.count("route") + seen.count("none") >= len(seen) // 2


@pytest.mark.parametrize("landmarks", [True, False], ids=["landmarks", "no-landmark"])
@pytest.mark.parametrize("seed", range(60))
def test_same_route_as_the_plain_search_on_random_graphs(seed: int, landmarks: bool) -> None:
    rng = random.Random(1000 + seed)
    n = rng.randint(2, 60)
    risks = rng.choice([None, [0.0, 0.01, 0.02, 0.05, 0.1]])
    doc = random_document(rng, n, rng.randint(1, 4 * n), risks=risks)
    doc["as_of"] = AS_OF.isoformat()
    net = Network(validate_scenario(doc))
    marks = compute_landmarks(net, rng.randint(1, 8)) if landmarks else no_landmarks(net)
    assert marks is not None
    for _ in range(10):
        s, t = (rng.randrange(n) for _ in range(2))
        check_same(net, marks, random_options(rng, list(net.party_ids)), s, t)


def test_many_equally_safe_routes_are_left_to_the_plain_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No risk anywhere: every route ties on cost; the least cost is 0.
    rng = random.Random(5)
    net = Network(validate_scenario(grid_document(rng, 8, [0.0])))
    marks = compute_landmarks(net)
    opts = RouteOptions(profile="general")
    s, t = 0, net.n_nodes - 1
    assert plain_route(net, opts, s, t) is not None
    assert check_same(net, marks, opts, s, t) == "plain"
    # Ties on a positive cost over more places than the plain search's limit.
    net = Network(validate_scenario(grid_document(random.Random(6), 8, [0.01])))
    monkeypatch.setattr(engine, "MOST_TIED", 3)
    found = [check_same(net, compute_landmarks(net), opts, 0, t) for t in range(1, net.n_nodes)]
    assert "plain" in found


def test_least_costs_bound_every_question_cost() -> None:
    for seed in range(10):
        rng = random.Random(seed)
        net = Network(validate_scenario(grid_document(rng, 6, [0.0, 0.003, 0.2, 0.7, 0.99])))
        floor = least_costs(net.edge_base_risk)
        for objective in ("survival", "harm"):
            for _ in range(8):
                opts = random_options(rng, list(net.party_ids))
                cond = net.conditions(
                    opts.profile, opts.at, objective=objective, unknown_risk=opts.unknown_risk
                )
                assert np.all(floor <= cond.cost)
    assert "detention" in OBJECTIVES  # bounded by nothing useful: searched plainly


def test_landmark_bounds_never_exceed_the_cost_still_to_go() -> None:
    rng = random.Random(3)
    doc = grid_document(rng, 12, [0.0, 0.01, 0.02, 0.05])
    net = Network(validate_scenario(doc))
    marks = compute_landmarks(net, 6)
    assert marks is not None
    cond = net.conditions("medical", objective="harm", unknown_risk=0.0)
    graph = csr_matrix((cond.arc_usable_cost, net.csr_indices, net.csr_indptr))
    to = dijkstra(graph.T.tocsr(), indices=list(range(0, net.n_nodes, 7)))  # d(v, t)
    fwd = marks.forward.astype(np.float64) * marks.scale_forward
    bwd = marks.backward.astype(np.float64) * marks.scale_backward
    for row, t in enumerate(range(0, net.n_nodes, 7)):
        exact = to[row]
        reach = np.isfinite(exact)
        bound = np.maximum((fwd[t] - fwd).max(axis=1), (bwd - bwd[t]).max(axis=1))
        assert np.all(bound[reach] <= exact[reach])


def test_edits_that_raise_costs_keep_the_landmarks_and_lowering_one_drops_them() -> None:
    rng = random.Random(11)
    doc = grid_document(rng, 10, [0.01, 0.02, 0.05])
    for edge in doc["edges"]:
        edge["risk"] = edge.get("risk", 0.02)
    first = Network(validate_scenario(doc))
    marks = prepare(first)
    assert marks is not None
    opts = RouteOptions(profile="general")
    raised = [
        {"op": "set_road", "road": "e3", "status": "blocked"},
        {"op": "set_road", "road": "e7", "risk": 0.3},
        {
            "op": "add_incident",
            "incident": {
                "id": "new",
                "edges": ["e12", "e40"],
                "severity": 0.5,
                "observed_at": AS_OF.isoformat(),
            },
        },
        {"op": "set_road", "road": "e20", "checkpoint": "p0"},
    ]
    second = Network(apply_edits(first.columns, raised), like=first)
    assert landmarks_of(second) is marks  # taken over at once
    for s, t in [(0, 99), (9, 90), (45, 3), (0, 13)]:
        for avoid in [(), ("p1",)]:
            check_same(second, marks, RouteOptions(profile="general", avoid_parties=avoid), s, t)
    lowered = [{"op": "set_road", "road": "e5", "risk": 0.0}]
    third = Network(apply_edits(second.columns, lowered), like=second)
    assert landmarks_of(third) is None  # a cheaper road: the old bounds may overestimate
    again = prepare(third)
    assert again is not None and again is not marks
    for s, t in [(0, 99), (9, 90), (45, 3)]:
        check_same(third, again, opts, s, t)


def test_safest_route_searches_goal_directed_on_large_networks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(21)
    net = Network(validate_scenario(grid_document(rng, 12, [0.0, 0.01, 0.02, 0.05])))
    calls: list[int] = []
    real = engine.goal_directed_path

    def counted(*args: Any, **kw: Any) -> Any:
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(engine, "goal_directed_path", counted)
    monkeypatch.setattr(engine, "GOAL_DIRECTED_NODES", 100)
    questions = [(rng.choice(net.node_ids), rng.choice(net.node_ids)) for _ in range(30)]

    def answers() -> list[Any]:
        out: list[Any] = []
        for s, t in questions:
            try:
                out.append(safest_route(net, s, t, RouteOptions(avoid_parties=("p0",))).as_dict())
            except Exception as error:  # the same refusal either way
                out.append(str(error))
        return out

    plain = answers()
    assert not calls  # landmarks not prepared: searched plainly
    prepare(net)
    assert answers() == plain
    assert calls
    detention = RouteOptions(objective="detention")
    calls.clear()
    safest_route(net, net.node_ids[0], net.node_ids[-1], detention)
    assert not calls  # landmarks bound survival and harm only


def test_small_networks_answer_with_the_compiled_search_and_no_landmark(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(22)
    net = Network(validate_scenario(grid_document(rng, 9, [0.0, 0.01, 0.02, 0.05])))
    assert net.n_nodes < engine.GOAL_DIRECTED_NODES
    used: list[int] = []
    real = engine.goal_directed_path

    def counted(cond: Any, marks: Any, *args: Any, **kw: Any) -> Any:
        used.append(marks.forward.shape[1])
        return real(cond, marks, *args, **kw)

    monkeypatch.setattr(engine, "goal_directed_path", counted)
    for _ in range(30):
        s, t = rng.randrange(net.n_nodes), rng.randrange(net.n_nodes)
        opts = random_options(rng, list(net.party_ids))
        try:
            found = safest_route(net, net.node_ids[s], net.node_ids[t], opts)
        except Exception as error:  # a refusal: the plain search finds no route either
            assert plain_route(net, opts, s, t) is None or "risk" in str(error)
            continue
        expected = plain_route(net, opts, s, t)
        assert expected is not None and (found.nodes, found.edges) == (
            expected.nodes,
            expected.edges,
        )
    assert used and set(used) == {0}  # every question searched compiled, without landmarks
    assert landmarks_of(net) is None  # and nothing was prepared for it
