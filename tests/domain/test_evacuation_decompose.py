"""Splitting an exact flow into groups: the numpy sweep against a plain queue-by-queue sweep."""

from __future__ import annotations

import random
from collections import defaultdict, deque
from typing import Any

import numpy as np
import pytest

from app.domain.network.graph import Network
from app.domain.plans.evacuation import PlanOptions, model_options
from app.domain.plans.expanded import Movement, Solution, decompose, solve_horizon
from app.domain.plans.model import FlowModel, compile_model, most_evacuable
from app.domain.scenario.reading import validate_scenario
from tests.domain.evacuation_oracle import flow_document


def reference_decompose(
    model: FlowModel, solution: Solution
) -> tuple[list[Movement], list[Movement]]:
    """First come, first served at every node, one person-group at a time (plain Python)."""
    assert solution.cells is not None and solution.receptions is not None
    tail, head = model.arc_tail.tolist(), model.arc_head.tolist()
    time = model.arc_time.tolist()
    parent: list[int] = []
    via: list[int] = []
    entered: list[int] = []
    where: list[int] = []
    queues: dict[int, deque[list[int]]] = defaultdict(deque)
    for v in np.flatnonzero(model.population > 0).tolist():
        parent.append(-1)
        via.append(-1)
        entered.append(-1)
        where.append(v)
        queues[v].append([int(model.population[v]), len(parent) - 1])
    leaving: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for a, m, c in zip(*(x.tolist() for x in solution.cells), strict=True):
        leaving[m].append((a, c))
    receiving: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for zn, m, c in zip(*(x.tolist() for x in solution.receptions), strict=True):
        receiving[m].append((zn, c))
    arriving: dict[int, dict[tuple[int, int], int]] = defaultdict(dict)
    done: dict[int, int] = defaultdict(int)

    def take(queue: deque[list[int]], count: int) -> list[tuple[int, int]]:
        out = []
        while count > 0:
            item = queue[0]
            got = min(item[0], count)
            out.append((got, item[1]))
            item[0] -= got
            count -= got
            if item[0] == 0:
                queue.popleft()
        return out

    for m in range(solution.horizon + 1):
        for (node, pid), c in arriving.pop(m, {}).items():
            queues[node].append([c, pid])
        for zn, c in receiving.pop(m, []):
            for got, pid in take(queues[zn], c):
                done[pid] += got
        for a, c in leaving.pop(m, []):
            for got, pid in take(queues[tail[a]], c):
                parent.append(pid)
                via.append(a)
                entered.append(m)
                where.append(head[a])
                arriving[m + time[a]][(head[a], len(parent) - 1)] = got

    def journey(pid: int, c: int, arrive: int | None) -> Movement:
        arcs, enters, nodes = [], [], [where[pid]]
        while via[pid] >= 0:
            arcs.append(via[pid])
            enters.append(entered[pid])
            pid = parent[pid]
            nodes.append(where[pid])
        return Movement(c, tuple(nodes[::-1]), tuple(arcs[::-1]), tuple(enters[::-1]), arrive)

    evacuated = [journey(pid, c, entered[pid] + time[via[pid]]) for pid, c in done.items()]
    stranded = [journey(pid, c, None) for q in queues.values() for c, pid in q if via[pid] >= 0]
    evacuated.sort(key=lambda mv: (mv.enter[0], mv.nodes[0], mv.arrive or 0, mv.nodes))
    return evacuated, stranded


def random_model(rng: random.Random, most_nodes: int) -> tuple[dict[str, Any], FlowModel | None]:
    """A small random scenario and its model (``None`` when nobody can be evacuated)."""
    n = rng.randint(4, most_nodes)
    doc = flow_document(rng, n, rng.randint(n, 3 * n))
    net = Network(validate_scenario(doc))
    model = compile_model(net, net.conditions(None, None), model_options(PlanOptions()))
    if model.total_population == 0 or not model.is_zone.any() or most_evacuable(model) == 0:
        return doc, None
    return doc, model


@pytest.mark.parametrize("seed", range(40))
def test_numpy_sweep_splits_the_flow_like_the_plain_sweep(seed: int) -> None:
    rng = random.Random(seed)
    _, model = random_model(rng, 16)
    if model is None:
        return
    solution = solve_horizon(model, rng.randint(1, 30), keep_flows=True)
    moved, stranded = decompose(model, solution)
    assert (moved, stranded) == reference_decompose(model, solution)
    assert sum(m.count for m in moved) == solution.evacuated


@pytest.mark.parametrize("seed", range(60))
def test_a_longer_horizon_started_from_a_shorter_ones_flow_is_exact_and_valid(seed: int) -> None:
    """Warm starts: same maximum as solving from nothing (and as the linear program), and the
    flow still splits into groups that respect every capacity when replayed."""
    from app.domain.plans.evacuation import Plan
    from tests.domain.evacuation_oracle import lp_evacuated, replay

    rng = random.Random(1000 + seed)
    doc, model = random_model(rng, 14)
    if model is None:
        return
    short = rng.randint(1, 12)
    long = short + rng.choice([1, 1, 2, 5, 13])
    first = solve_horizon(model, short, keep_state=True)
    warm = solve_horizon(model, long, keep_flows=True, start=first)
    cold = solve_horizon(model, long)
    assert warm.evacuated == cold.evacuated
    if seed % 4 == 0:
        assert warm.evacuated == lp_evacuated(doc, long)
    assert int(warm.received_per_min.sum()) == warm.evacuated
    moved, stranded = decompose(model, warm)
    assert sum(m.count for m in moved) == warm.evacuated
    plan = Plan(model, "optimal", True, long, moved, stranded).as_dict()
    replay(doc, plan, long)


def test_a_start_must_come_from_a_shorter_horizon_with_its_state() -> None:
    doc = flow_document(random.Random(3), 8, 16)
    net = Network(validate_scenario(doc))
    model = compile_model(net, net.conditions(None, None), model_options(PlanOptions()))
    without_state = solve_horizon(model, 5)
    with pytest.raises(ValueError):
        solve_horizon(model, 9, start=without_state)
    with pytest.raises(ValueError):
        solve_horizon(model, 5, start=solve_horizon(model, 5, keep_state=True))


@pytest.mark.parametrize("seed", range(20))
def test_compiled_walk_back_reads_the_same_journeys_as_numpy(seed: int) -> None:
    from app.domain.plans import expanded
    from app.domain.plans.kernel import kernel
    from tests.domain.kernel_statements import journeys

    _, model = random_model(random.Random(500 + seed), 16)
    if model is None:
        return
    solution = solve_horizon(model, random.Random(seed).randint(1, 30), keep_flows=True)
    tree, done, _, left, _ = expanded._sweep(model, solution)
    ends = np.concatenate([done, left])
    got = kernel.walk_back(ends, *tree)
    assert got == journeys(ends, *tree)


@pytest.mark.parametrize("seed", range(60))
def test_the_most_people_ever_evacuable_is_networkx_s_maximum_flow(seed: int) -> None:
    """With and without safe zones that limit their reception (without, no flow is solved:
    everybody who can reach a safe zone), against networkx's maximum flow."""
    import networkx as nx

    rng = random.Random(3300 + seed)
    n = rng.randint(3, 16)
    doc = flow_document(rng, n, rng.randint(n, 3 * n))
    if rng.random() < 0.5:
        for node in doc["nodes"]:
            if node.get("kind") == "safe_zone":
                node.pop("capacity", None)
    net = Network(validate_scenario(doc))
    model = compile_model(net, net.conditions(None, None), model_options(PlanOptions()))
    graph = nx.DiGraph()
    graph.add_nodes_from(["s", "t"])
    for t, h in zip(model.arc_tail.tolist(), model.arc_head.tolist(), strict=True):
        graph.add_edge(t, h)  # no capacity: unbounded
    for v in np.flatnonzero(model.population > 0).tolist():
        graph.add_edge("s", v, capacity=int(model.population[v]))
    for z in np.flatnonzero(model.is_zone).tolist():
        if model.reception[z] < model.big:
            graph.add_edge(z, "t", capacity=int(model.reception[z]))
        else:
            graph.add_edge(z, "t")
    expected = nx.maximum_flow_value(graph, "s", "t") if model.is_zone.any() else 0
    assert most_evacuable(model) == expected
