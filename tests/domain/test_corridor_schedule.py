"""Corridor schedules (closed form) against the optimal evacuation planner over the same
corridors, each built as its own chain of places so that nobody can switch corridor."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.network.graph import Network
from app.domain.plans import NothingToEvacuateError, PlanOptions, plan_evacuation
from app.domain.plans.corridors import Corridor, schedule
from app.domain.scenario.reading import validate_scenario

road = st.tuples(st.integers(1, 9), st.integers(1, 6) | st.none())  # minutes, capacity
corridor = st.lists(road, min_size=1, max_size=4)


def chains(corridors: list[list[tuple[int, int | None]]], people: int, reception: int | None):
    """A scenario where corridor k is the chain home → k.1 → … → camp."""
    camp: dict[str, Any] = {"id": "camp", "kind": "safe_zone"}
    if reception is not None:
        camp["capacity"] = reception
    nodes: list[dict[str, Any]] = [{"id": "home", "population": people}, camp]
    edges: list[dict[str, Any]] = []
    for k, roads in enumerate(corridors):
        prev = "home"
        for i, (minutes, cap) in enumerate(roads):
            last = i == len(roads) - 1
            here = "camp" if last else f"c{k}.{i}"
            if not last:
                nodes.append({"id": here})
            edge: dict[str, Any] = {
                "id": f"r{k}.{i}",
                "from": prev,
                "to": here,
                "directed": True,
                "travel_time_min": minutes,
            }
            if cap is not None:
                edge["capacity_per_min"] = cap
            edges.append(edge)
            prev = here
    doc = {"schema": "safe-passage/scenario@1", "nodes": nodes, "edges": edges}
    return Network(validate_scenario(doc))


def closed_form(roads: list[tuple[int, int | None]]) -> Corridor:
    caps = [c for _, c in roads if c is not None]
    return Corridor(sum(m for m, _ in roads), float(min(caps)) if caps else float("inf"))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(corridor, min_size=1, max_size=2),
    st.integers(1, 60),
    st.integers(1, 40) | st.none(),
    st.integers(1, 30) | st.none(),
)
def test_schedule_matches_the_optimal_plan_over_the_corridors(
    corridors: list[list[tuple[int, int | None]]],
    people: int,
    horizon: int | None,
    reception: int | None,
) -> None:
    s = schedule([closed_form(c) for c in corridors], people, horizon, reception)
    net = chains(corridors, people, reception)
    try:
        plan = plan_evacuation(net, PlanOptions(horizon=horizon))
    except NothingToEvacuateError:
        assert s.moved == 0 and s.egress_min is None
        return
    assert s.moved == plan.evacuated
    assert s.egress_min == plan.egress_time_min
    assert sum(x.people for x in s.shares) == s.moved
    whole = plan_evacuation(net, PlanOptions())
    assert s.needed_for_all_min == whole.egress_time_min
    # every share arrives by the egress minute and within the window
    for x in s.shares:
        if x.people:
            assert x.last_arrival_min is not None and x.last_arrival_min <= s.egress_min
            assert horizon is None or x.last_arrival_min <= horizon


def test_a_corridor_longer_than_the_window_moves_nobody() -> None:
    s = schedule([Corridor(231, 80.0)], people=13_550, horizon=180)
    assert (s.moved, s.egress_min, s.first_arrival_min) == (0, None, 231)
    # 80 a minute from minute 0: the last of 13,550 enters at minute ⌈13,550 / 80⌉ − 1 = 169
    assert s.needed_for_all_min == 231 + 169
