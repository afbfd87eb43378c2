"""The fast plan's shortest-path trees (``app/domain/plans/fast.py``).

On a network where no two arcs join the same two nodes the same way, every tree of a plan
searches one reversed graph built once; with parallel arcs each tree chooses among them.
Either way the trees must be those of the statement in ``tests/domain/kernel_statements.py``
(a graph made anew by scipy for each tree), ties included (weights of 1–3 minutes make
many); distances must be networkx's, and every node's arc must lie on a shortest path (and
be the lightest of its parallel arcs). The compiled load of a tree must be its Python
statement's, to the last bit.
"""

from __future__ import annotations

import random
from typing import Any

import networkx as nx
import numpy as np
import pytest

from app.domain.network.graph import Network
from app.domain.plans.evacuation import PlanOptions, model_options
from app.domain.plans.fast import tree_load, tree_search
from app.domain.plans.model import FlowModel, compile_model
from app.domain.scenario.reading import validate_scenario
from tests.domain import kernel_statements
from tests.domain.evacuation_oracle import flow_document


def model_of(doc: dict[str, Any]) -> FlowModel:
    net = Network(validate_scenario(doc))
    return compile_model(net, net.conditions(None, None), model_options(PlanOptions()))


def without_parallel_roads(doc: dict[str, Any]) -> dict[str, Any]:
    """The document with only the first road between any two places."""
    seen: set[frozenset[str]] = set()
    edges = []
    for e in doc["edges"]:
        pair = frozenset((e["from"], e["to"]))
        if pair not in seen:
            seen.add(pair)
            edges.append(e)
    return {**doc, "edges": edges}


def random_model(seed: int, parallel: bool) -> tuple[FlowModel, random.Random]:
    """A random network; with ``parallel``, at least two roads join the same two places
    the same way (open twins of its first roads)."""
    rng = random.Random(9100 + seed)
    n = rng.randint(3, 40)
    doc = flow_document(rng, n, rng.randint(n, 4 * n))
    if not parallel:
        return model_of(without_parallel_roads(doc)), rng
    twins = [
        {**e, "id": f"twin-{e['id']}", "status": "open", "travel_time_min": rng.choice([1, 3])}
        for e in doc["edges"][:3]
    ]
    return model_of({**doc, "edges": [*doc["edges"], *twins]}), rng


def distances(model: FlowModel, weight: np.ndarray, zones: list[int]) -> dict[int, float]:
    """Least weight from each node to any of ``zones``, by networkx."""
    graph = nx.DiGraph()
    graph.add_nodes_from(range(model.n_nodes))
    arcs = zip(model.arc_tail.tolist(), model.arc_head.tolist(), weight.tolist(), strict=True)
    for t, h, w in arcs:
        if not graph.has_edge(h, t) or graph[h][t]["w"] > w:
            graph.add_edge(h, t, w=w)  # reversed: from the zones outwards
    return nx.multi_source_dijkstra_path_length(graph, zones, weight="w")


@pytest.mark.parametrize("seed", range(60))
def test_shared_reversed_graph_gives_the_trees_chosen_per_tree(seed: int) -> None:
    model, rng = random_model(seed, parallel=False)
    if len(model.arc_tail) == 0:
        pytest.skip("every road blocked: no tree")
    tree = tree_search(model)
    zones = np.flatnonzero(model.is_zone)
    for _ in range(4):
        weight = np.array([rng.choice([1.0, 2.0, 3.0]) for _ in model.arc_tail])
        nxt, dist = tree(weight, zones)
        expected_nxt, expected_dist = kernel_statements.tree(model, weight, zones)
        assert np.array_equal(nxt, expected_nxt)
        assert np.array_equal(dist, expected_dist)
        least = distances(model, weight, zones.tolist())
        for v in range(model.n_nodes):
            assert dist[v] == least.get(v, np.inf)
            a = int(nxt[v])
            if a >= 0:  # the arc leaves v and lies on a shortest path
                assert model.arc_tail[a] == v
                assert dist[v] == weight[a] + dist[model.arc_head[a]]
            else:
                assert v in zones or not np.isfinite(dist[v])


@pytest.mark.parametrize("seed", range(20))
def test_with_parallel_arcs_each_tree_takes_the_lightest(seed: int) -> None:
    model, rng = random_model(seed, parallel=True)
    pairs = list(zip(model.arc_tail.tolist(), model.arc_head.tolist(), strict=True))
    assert len(set(pairs)) < len(pairs), "the twins are parallel arcs"
    zones = np.flatnonzero(model.is_zone)
    weight = np.array([rng.choice([1.0, 2.0, 3.0]) for _ in pairs])
    nxt, dist = tree_search(model)(weight, zones)
    expected_nxt, expected_dist = kernel_statements.tree(model, weight, zones)
    assert np.array_equal(nxt, expected_nxt) and np.array_equal(dist, expected_dist)
    least = distances(model, weight, zones.tolist())
    for v in range(model.n_nodes):
        assert dist[v] == least.get(v, np.inf)
        a = int(nxt[v])
        if a >= 0:
            twins = [b for b, p in enumerate(pairs) if p == pairs[a]]
            assert weight[a] == min(weight[b] for b in twins)
            assert dist[v] == weight[a] + dist[model.arc_head[a]]


@pytest.mark.parametrize("seed", range(40))
def test_compiled_tree_load_is_its_statement(seed: int) -> None:
    model, rng = random_model(seed, parallel=seed % 2 == 0)
    if len(model.arc_tail) == 0:
        pytest.skip("every road blocked: no tree")
    weight = np.array([rng.uniform(0.5, 3.0) for _ in model.arc_tail])
    nxt, dist = tree_search(model)(weight, np.flatnonzero(model.is_zone))
    compiled = tree_load(model, nxt, dist)
    assert np.array_equal(compiled, kernel_statements.tree_load(model, nxt, dist))
    # everybody with a way out is counted on the last arc into a safe zone
    into_zone = sum(compiled[a] for a in range(len(compiled)) if model.is_zone[model.arc_head[a]])
    leaving = sum(model.population[v] for v in range(model.n_nodes) if nxt[v] >= 0)
    assert into_zone == pytest.approx(leaving)
