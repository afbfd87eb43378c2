"""A concession's minutes to safe zones found from the base plan's (``to_zone_after``, the
compiled ``lower_minutes``) against a whole search of the changed network and against the
Python statement of the search."""

from __future__ import annotations

import random

import numpy as np
import pytest

from app.domain.network.graph import Network
from app.domain.plans import concessions
from app.domain.plans.evacuation import PlanOptions, plan_evacuation
from app.domain.plans.kernel import kernel
from app.domain.plans.model import UNREACHABLE, _multi_source_minutes, compile_model, to_zone_after
from app.domain.scenario.reading import validate_scenario
from tests.domain import kernel_statements
from tests.domain.test_concessions import negotiable


def whole_search(n: int, tail: np.ndarray, head: np.ndarray, time: np.ndarray) -> np.ndarray:
    """Least minutes from node 0 (scipy's Dijkstra over the arcs given)."""
    return _multi_source_minutes(n, tail, head, time, [0])


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
    for seed in range(60):
        rng = random.Random(900 + seed)
        doc = negotiable(rng)
        options = PlanOptions(horizon=rng.choice([None, 6, 10]), consenting_only=True)
        net = Network(validate_scenario(doc))
        try:
            base = plan_evacuation(net, options)
        except Exception:  # nothing to evacuate: no plan to negotiate over
            continue
        model = base.model
        for cand in concessions._candidates(net, options, base):
            if cand.options is None:
                continue
            changed = compile_model(net, model.conditions, cand.options)
            lowered = to_zone_after(model, changed)
            if lowered is None:
                whole += 1
                continue
            assert lowered.tolist() == changed.to_zone.tolist(), (seed, cand.kind, cand.what)
            found += 1
            if len(changed.arc_index) > len(model.arc_index):  # the other way loses arcs
                assert to_zone_after(changed, model) is None
                lost += 1
            primed = concessions._changed_model(net, model, cand)
            assert primed.to_zone.tolist() == changed.to_zone.tolist()
    assert found > 100 and lost > 50, (found, whole, lost)
