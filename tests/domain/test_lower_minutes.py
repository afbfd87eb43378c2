"""A concession's minutes to safe zones found from the base plan's (``to_zone_after``, the
compiled ``lower_minutes``) against a whole search of the changed network and against the
Python statement of the search."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from app.domain.plans import concessions
from app.domain.plans.kernel import kernel
from app.domain.plans.model import UNREACHABLE, compile_model, to_zone_after
from tests.domain import kernel_statements
from tests.domain.test_concessions import negotiated


def scipy_minutes(
    n: int, tail: np.ndarray, head: np.ndarray, time: np.ndarray, sources: list[int]
) -> np.ndarray:
    """Least minutes from any of ``sources`` along the arcs (scipy's Dijkstra over a matrix
    of the quickest arc between each two nodes), UNREACHABLE where there is no way."""
    quickest: dict[tuple[int, int], int] = {}
    for t, h, w in zip(tail.tolist(), head.tolist(), time.tolist(), strict=True):
        quickest[t, h] = min(w, quickest.get((t, h), w))
    pairs = list(quickest)
    rows = [t for t, _ in pairs]
    cols = [h for _, h in pairs]
    graph = csr_matrix(([float(quickest[p]) for p in pairs], (rows, cols)), shape=(n, n))
    dist = dijkstra(graph, directed=True, indices=sources, min_only=True)
    out = np.full(n, UNREACHABLE, dtype=np.int64)
    finite = np.isfinite(dist)
    out[finite] = np.rint(dist[finite]).astype(np.int64)
    return out


def whole_search(n: int, tail: np.ndarray, head: np.ndarray, time: np.ndarray) -> np.ndarray:
    """Least minutes from node 0."""
    return scipy_minutes(n, tail, head, time, [0])


@pytest.mark.parametrize("seed", range(40))
def test_a_model_s_minutes_to_and_from_are_scipy_s(seed: int) -> None:
    """``to_zone`` and ``from_people`` (the compiled search over the network's rows, parallel
    roads included) against scipy's Dijkstra on the model's arcs."""
    from tests.domain.test_fast_trees import random_model

    model, _ = random_model(seed, parallel=seed % 2 == 0)
    n, tail, head, time = model.n_nodes, model.arc_tail, model.arc_head, model.arc_time
    zones = np.flatnonzero(model.is_zone).tolist()
    people = np.flatnonzero(model.population > 0).tolist()
    if zones:
        assert model.to_zone.tolist() == scipy_minutes(n, head, tail, time, zones).tolist()
    if people:
        assert model.from_people.tolist() == scipy_minutes(n, tail, head, time, people).tolist()


@pytest.mark.parametrize("seed", range(40))
def test_lowering_by_added_arcs_gives_the_minutes_of_a_whole_search(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 40))
    m = int(rng.integers(1, 5 * n))
    tail, head = rng.integers(0, n, m), rng.integers(0, n, m)
    time = rng.integers(1, 6, m)  # small integers: many ties
    old = rng.random(m) < 0.6
    before = whole_search(n, tail[old], head[old], time[old])
    # The compiled search and its statement, over arcs ordered by tail (as the network's).
    order = np.argsort(tail, kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(tail, minlength=n), out=indptr[1:])
    added = np.flatnonzero(~old)
    reach = before[tail[added]] < UNREACHABLE
    u, v, t = tail[added][reach], head[added][reach], time[added][reach]
    through = before[u] + t
    lower = through < before[v]
    dist = before.copy()
    np.minimum.at(dist, v[lower], through[lower])
    seeds = np.unique(v[lower])
    stated = dist.copy()
    settled = kernel.lower_minutes(indptr, order, head, time, dist, seeds)
    assert settled == kernel_statements.lower_minutes(indptr, order, head, time, stated, seeds)
    assert dist.tolist() == stated.tolist()
    assert dist.tolist() == whole_search(n, tail, head, time).tolist()


def test_every_concession_s_minutes_to_safe_zones_are_those_of_its_whole_search() -> None:
    found, whole, lost = 0, 0, 0
    for net, options, base in negotiated(900, 60):
        model = base.model
        for cand in concessions._candidates(net, options, base):
            if cand.options is None:
                continue
            changed = compile_model(net, model.conditions, cand.options)
            lowered = to_zone_after(model, changed)
            if lowered is None:
                whole += 1
                continue
            assert lowered.tolist() == changed.to_zone.tolist(), (cand.kind, cand.what)
            found += 1
            if len(changed.arc_index) > len(model.arc_index):  # the other way loses arcs
                assert to_zone_after(changed, model) is None
                lost += 1
            primed = concessions._changed_model(net, model, cand)
            assert primed.to_zone.tolist() == changed.to_zone.tolist()
    assert found > 100 and lost > 50, (found, whole, lost)
