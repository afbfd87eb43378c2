"""Fleet plans (issue 17): hand-computable cases, every constraint replayed on random
questions, the fast plan never above the exact optimum, bounds that hold, sizing re-plans."""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from typing import Any

import networkx as nx
import pytest

from app.domain.errors import ValidationError
from app.domain.fleets import FleetOptions, compile_fleet_problem, plan_fleet, sizing
from app.domain.fleets.dispatch import fast_fleet_plan
from app.domain.fleets.exact import exact_fleet_plan
from app.domain.fleets.plan import FleetPlan
from app.domain.fleets.problem import FleetProblem
from app.domain.network.graph import Network
from app.domain.scenario.reading import validate_scenario

SCHEMA = "safe-passage/scenario@1"


def one_road(people: int = 1000, minutes: float = 10, seats: int = 50, **fleet: Any) -> Network:
    doc = {
        "schema": SCHEMA,
        "nodes": [{"id": "town", "population": people}, {"id": "camp", "kind": "safe_zone"}],
        "edges": [{"id": "road", "from": "town", "to": "camp", "travel_time_min": minutes}],
        "fleets": [
            {"id": "bus", "count": 1, "seats": seats, "speed_m_per_min": 64, "depot": "camp",
             "load_min": 0, "unload_min": 0, **fleet}
        ],
    }  # fmt: skip
    return Network(validate_scenario(doc))


@pytest.mark.parametrize("method", ["fast", "optimal"])
@pytest.mark.parametrize("horizon", [19, 20, 39, 40, 120, 125])
def test_one_bus_one_road_carries_trips_times_seats(method: str, horizon: int) -> None:
    # Each trip: 10 min out to the town (empty), 10 min back full; the first arrives at 20,
    # then one every 20 minutes: trips = 1 + floor((H - 20) / 20) when H >= 20.
    plan = plan_fleet(one_road(), FleetOptions(("bus",), horizon=horizon), method)  # type: ignore[arg-type]
    trips = 0 if horizon < 20 else 1 + (horizon - 20) // 20
    assert plan.evacuated == trips * 50
    assert [t.arrive_min for t in plan.trips] == [20 * (k + 1) for k in range(trips)]
    assert plan.optimal and plan.upper_bound_evacuated == trips * 50


def test_loading_and_screening_lengthen_each_round_by_hand() -> None:
    net = one_road(load_min=5, unload_min=3)
    doc_checkpoint = {  # the same road with a checkpoint screening 2 min + 0.1 min a person
        **net.scenario.model_dump(by_alias=True, exclude_none=True),
        "parties": [{"id": "gov"}],
        "nodes": [{"id": "town", "population": 1000}, {"id": "camp", "kind": "safe_zone"}],
        "edges": [{"id": "road", "from": "town", "to": "camp", "travel_time_min": 10,
                   "checkpoint": "gov", "screening_min_per_vehicle": 2,
                   "screening_min_per_person": 0.1}],
    }  # fmt: skip
    net = Network(validate_scenario(doc_checkpoint))
    plan = plan_fleet(net, FleetOptions(("bus",), horizon=200), "fast")
    # Round: 10 out + 5 load + ceil(2 + 50 × 0.1) = 7 screening + 10 in + 3 unload = 35 min;
    # arrivals at 32, 67, 102, 137, 172 (the next would arrive at 207 > 200).
    assert [t.arrive_min for t in plan.trips] == [32, 67, 102, 137, 172]
    assert [(s.start_min, s.end_min) for t in plan.trips[:2] for s in t.screened] == [
        (15, 22),
        (50, 57),
    ]
    assert plan.evacuated == 250


# --- Every constraint, replayed ------------------------------------------------------------


def replay(problem: FleetProblem, plan: FleetPlan, road_limits: bool = True) -> None:
    """Check a plan against the model's rules, trip by trip (raises AssertionError)."""
    p = problem
    horizon = p.horizon
    by_vehicle: dict[int, list[Any]] = defaultdict(list)
    for t in plan.trips:
        by_vehicle[t.vehicle].append(t)
    assert set(by_vehicle) <= set(range(p.vehicles))
    carried: Counter[tuple[int, int]] = Counter()
    received: Counter[int] = Counter()
    intervals: dict[int, list[tuple[int, int]]] = defaultdict(list)
    entries: Counter[tuple[int, int, int]] = Counter()
    limit: dict[tuple[int, int, int], int] = {}
    for trips in by_vehicle.values():
        trips.sort(key=lambda t: t.number)
        kind = p.kind_of(trips[0].vehicle)
        where, free = kind.depot, 0
        for t in trips:
            pickup, zone = int(p.pickups[t.pickup]), int(p.zones[t.zone])
            assert t.start == where and t.depart_min >= free
            empty, full = kind.leg(where, pickup), kind.leg(pickup, zone)
            assert t.arrive_pickup_min >= t.depart_min + empty.minutes
            assert t.loaded_min >= t.arrive_pickup_min + kind.load_min
            seats = sum(n for g, n in enumerate(t.people) if p.groups[g].needs == "seat")
            assert seats <= kind.fleet.seats and t.carried - seats <= kind.fleet.stretchers
            assert t.carried > 0
            reached, last = t.loaded_min, 0
            assert len(t.screened) == len(full.screenings)
            for s, got in zip(full.screenings, t.screened, strict=True):
                assert got.edge == s.edge
                assert got.start_min >= reached + (s.offset_min - last)
                need = math.ceil(s.per_vehicle_min + s.per_person_min * t.carried - 1e-9)
                assert got.end_min - got.start_min >= need
                intervals[s.edge].append((got.start_min, got.end_min))
                reached, last = got.end_min, s.offset_min
            assert t.arrive_min >= reached + full.minutes - last
            if horizon is not None:
                assert t.arrive_min <= horizon
            assert t.free_min >= t.arrive_min + kind.unload_min
            for g, n in enumerate(t.people):
                carried[(t.pickup, g)] += n
            received[t.zone] += t.carried
            if road_limits:
                # Each capped road of both legs entered once, no sooner than the drive allows.
                capped = [(c, t.depart_min) for c in empty.capped]
                capped += [(c, t.loaded_min) for c in full.capped]
                assert len(t.road_entries) == len(capped)
                for (c, leave), (edge, direction, minute) in zip(
                    capped, t.road_entries, strict=True
                ):
                    assert (edge, direction) == (c.edge, c.direction)
                    assert minute >= leave + c.offset_min
                    entries[(edge, direction, minute // c.block_min)] += 1
                    limit[(edge, direction, minute // c.block_min)] = c.per_block
            where, free = zone, t.free_min
    for key, n in entries.items():
        assert n <= limit[key], key
    for (i, g), n in carried.items():
        assert n <= p.people[i, g]
    for k, n in received.items():
        room = p.reception[k]
        assert room is None or n <= room
    lanes = {s.edge: s.lanes for leg_trips in by_vehicle.values() for t in leg_trips
             for s in plan.leg(t).screenings}  # fmt: skip
    for edge, spans in intervals.items():
        moments = sorted({a for a, _ in spans})
        for m in moments:
            assert sum(1 for a, b in spans if a <= m < b) <= lanes[edge], (edge, m)


def random_fleet_document(rng: random.Random, vehicles: int) -> dict[str, Any]:
    """A small random city: a few places with people (some wounded), one or two safe zones,
    roads, checkpoints that screen, one fleet."""
    n = rng.randint(4, 7)
    nodes: list[dict[str, Any]] = [{"id": f"n{i}"} for i in range(n)]
    zones = rng.sample(range(n), rng.randint(1, 2))
    for i in range(n):
        if i in zones:
            nodes[i]["kind"] = "safe_zone"
            if rng.random() < 0.3:
                nodes[i]["capacity"] = rng.randint(20, 200)
        elif rng.random() < 0.7:
            nodes[i]["population"] = rng.randint(0, 120)
    edges = []
    for k, (a, b) in enumerate((i, j) for i in range(n) for j in range(i + 1, n)):
        if rng.random() < 0.5 or b == a + 1:
            edge: dict[str, Any] = {"id": f"e{k}", "from": f"n{a}", "to": f"n{b}",
                                    "travel_time_min": rng.randint(2, 25)}  # fmt: skip
            if rng.random() < 0.3:
                edge.update(checkpoint="gov", screening_min_per_vehicle=rng.choice([0, 1, 2.5]),
                            screening_min_per_person=rng.choice([0, 0.05, 0.2]),
                            screening_lanes=rng.choice([1, 1, 2]))  # fmt: skip
            if rng.random() < 0.15:
                edge["vehicles_per_min"] = rng.choice([0.2, 0.5, 1])
            edges.append(edge)
    populated = [nodes[i]["id"] for i in range(n) if nodes[i].get("population")]
    wounded = {p: rng.randint(0, 3) for p in populated[:2]}
    wounded = {p: min(c, next(x["population"] for x in nodes if x["id"] == p))
               for p, c in wounded.items()}  # fmt: skip
    return {
        "schema": SCHEMA,
        "parties": [{"id": "gov", "consent": "granted"}],
        "nodes": nodes,
        "edges": edges,
        "groups": [{"id": "wounded", "needs": "stretcher", "at": wounded}],
        "fleets": [
            {"id": "f", "count": vehicles, "seats": rng.choice([10, 20, 40]),
             "stretchers": rng.choice([0, 2]), "speed_m_per_min": 64,
             "depot": nodes[rng.choice(zones)]["id"], "load_min": rng.choice([0, 3, 5]),
             "unload_min": rng.choice([0, 2]), "turnaround_min": rng.choice([0, 1])}
        ],
    }  # fmt: skip


def with_ambulances(rng: random.Random, doc: dict[str, Any], count: int) -> dict[str, Any]:
    """A second fleet, faster, with stretchers and one seat, from another safe zone or the
    same one."""
    zones = [n["id"] for n in doc["nodes"] if n.get("kind") == "safe_zone"]
    doc["fleets"].append(
        {"id": "amb", "kind": "ambulance", "count": count, "seats": 1, "stretchers": 2,
         "speed_m_per_min": rng.choice([64, 100]), "depot": rng.choice(zones),
         "load_min": rng.choice([0, 4]), "unload_min": 1}
    )  # fmt: skip
    return doc


def weighted(plan: FleetPlan) -> int:
    """People evacuated weighted by priority, as the exact method maximises them."""
    p = plan.problem
    w = [(p.total_people + 1) ** (len(p.groups) - 1 - g) for g in range(len(p.groups))]
    return sum(w[g] * n for t in plan.trips for g, n in enumerate(t.people))


@pytest.mark.parametrize("seed", range(25))
def test_fast_plans_keep_every_rule_and_never_beat_the_exact_optimum(seed: int) -> None:
    rng = random.Random(seed)
    doc = random_fleet_document(rng, vehicles=rng.randint(1, 2))
    net = Network(validate_scenario(doc))
    horizon = rng.choice([30, 60, 90])
    problem = compile_fleet_problem(net, FleetOptions(("f",), horizon=horizon))
    fast = fast_fleet_plan(problem)
    replay(problem, fast)
    exact_problem = compile_fleet_problem(net, FleetOptions(("f",), horizon=horizon))
    exact = exact_fleet_plan(exact_problem, time_limit_s=30)
    assert exact.optimal  # small enough to prove
    replay(exact_problem, exact, road_limits=False)
    assert weighted(fast) <= weighted(exact)
    assert exact.evacuated <= exact.upper_bound_evacuated
    assert fast.evacuated <= fast.upper_bound_evacuated
    if fast.optimal:  # a fast plan claiming optimality carries as many as the exact one
        assert fast.evacuated == exact.evacuated


@pytest.mark.parametrize("seed", range(100, 115))
def test_buses_and_ambulances_together_keep_every_rule_and_never_beat_the_optimum(
    seed: int,
) -> None:
    rng = random.Random(seed)
    doc = with_ambulances(rng, random_fleet_document(rng, vehicles=1), count=rng.randint(1, 2))
    net = Network(validate_scenario(doc))
    horizon = rng.choice([40, 80])
    options = FleetOptions(("f", "amb"), horizon=horizon)
    fast = fast_fleet_plan(compile_fleet_problem(net, options))
    replay(fast.problem, fast)
    exact = exact_fleet_plan(compile_fleet_problem(net, options), time_limit_s=30)
    replay(exact.problem, exact, road_limits=False)
    assert exact.optimal
    assert weighted(fast) <= weighted(exact) and exact.evacuated <= exact.upper_bound_evacuated
    names = {fast.problem.vehicle_name(t.vehicle).rsplit("-", 1)[0] for t in fast.trips}
    assert names <= {"f", "amb"}


@pytest.mark.parametrize("seed", range(25, 45))
def test_fast_plans_keep_every_rule_at_larger_sizes(seed: int) -> None:
    rng = random.Random(seed)
    doc = random_fleet_document(rng, vehicles=rng.randint(3, 12))
    net = Network(validate_scenario(doc))
    for horizon in (None, rng.choice([45, 120, 240])):
        problem = compile_fleet_problem(net, FleetOptions(("f",), horizon=horizon))
        plan = fast_fleet_plan(problem)
        replay(problem, plan)
        if horizon is None:
            lower = plan.lower_bound_min
            if plan.stranded == 0 and lower is not None:
                assert plan.egress_time_min >= lower


def test_legs_are_the_quickest_drives() -> None:
    rng = random.Random(5)
    doc = random_fleet_document(rng, vehicles=1)
    net = Network(validate_scenario(doc))
    problem = compile_fleet_problem(net, FleetOptions(("f",)))
    g = nx.Graph()
    for e in doc["edges"]:
        g.add_edge(e["from"], e["to"], weight=e["travel_time_min"])
    for pickup in problem.pickups.tolist():
        for zone in problem.zones.tolist():
            a, b = net.node_ids[pickup], net.node_ids[zone]
            if nx.has_path(g, a, b):
                assert problem.kinds[0].leg(pickup, zone).minutes == math.ceil(
                    nx.shortest_path_length(g, a, b, weight="weight") - 1e-9
                )


def test_wounded_travel_first_and_only_on_stretchers() -> None:
    doc = {
        "schema": SCHEMA,
        "nodes": [{"id": "a", "population": 100}, {"id": "b", "population": 100},
                  {"id": "camp", "kind": "safe_zone"}],
        "edges": [{"id": "a-camp", "from": "a", "to": "camp", "travel_time_min": 5},
                  {"id": "b-camp", "from": "b", "to": "camp", "travel_time_min": 30}],
        "groups": [{"id": "wounded", "needs": "stretcher", "at": {"b": 4}},
                   {"id": "elderly", "at": {"a": 30}}],
        "fleets": [{"id": "amb", "count": 1, "seats": 20, "stretchers": 2, "depot": "camp",
                    "speed_m_per_min": 64, "load_min": 0, "unload_min": 0}],
    }  # fmt: skip
    plan = plan_fleet(Network(validate_scenario(doc)), FleetOptions(("amb",), horizon=300), "fast")
    first = plan.trips[:2]
    # The wounded at b come first (though a is nearer), two stretchers a trip.
    assert [t.people[0] for t in first] == [2, 2]
    assert all(t.people[0] <= 2 for t in plan.trips)
    # At a, the elderly fill seats before anybody else.
    at_a = [t for t in plan.trips if t.pickup == 0]
    taken = 0
    for t in at_a:
        if t.people[2]:  # general aboard: no elderly left at a
            assert taken + t.people[1] == 30
        taken += t.people[1]


def test_sizing_answers_are_re_plans() -> None:
    net = one_road(people=500, load_min=2, unload_min=2)
    options = FleetOptions(("bus",), horizon=100)
    base = plan_fleet(net, options, "fast")
    got = sizing(net, options, base)
    more = plan_fleet(net, FleetOptions(("bus",), horizon=100, vehicles={"bus": 2}), "fast")
    hour = plan_fleet(net, FleetOptions(("bus",), horizon=160), "fast")
    clear = plan_fleet(net, FleetOptions(("bus",)), "fast")
    assert got["one_more_vehicle"]["bus"]["gained"] == more.evacuated - base.evacuated > 0
    assert got["one_more_hour"]["gained"] == hour.evacuated - base.evacuated > 0
    assert got["one_more_lane"] is None  # no checkpoint on the way
    assert got["shortest_window_min"] == clear.egress_time_min
    need = got["vehicles_to_clear"]["bus"]["vehicles"]
    assert (
        plan_fleet(
            net, FleetOptions(("bus",), horizon=100, vehicles={"bus": need}), "fast"
        ).stranded
        == 0
    )
    assert plan_fleet(
        net, FleetOptions(("bus",), horizon=100, vehicles={"bus": need - 1}), "fast"
    ).stranded


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        (lambda d: d["fleets"][0].update(depot="nowhere"), "/fleets/0/depot"),
        (lambda d: d["fleets"][0].update(seats=0), "/fleets/0"),
        (lambda d: d.update(groups=[{"id": "w", "at": {"nowhere": 1}}]), "/groups/0/at/nowhere"),
        (lambda d: d.update(groups=[{"id": "w", "at": {"town": 1001}}]), "/groups/0/at/town"),
        (lambda d: d.update(groups=[{"id": "general", "at": {"town": 1}}]), "/groups/0/at"),
        (lambda d: d["edges"][0].update(screening_lanes=2), "/edges/0/screening_lanes"),
        (lambda d: d["edges"][0].update(vehicles_per_min=0), "/edges/0/vehicles_per_min"),
    ],
)
def test_bad_fleet_data_is_reported_at_its_pointer(change: Any, pointer: str) -> None:
    doc = one_road().columns.header.model_dump(by_alias=True, exclude_none=True)
    doc.update(
        nodes=[{"id": "town", "population": 1000}, {"id": "camp", "kind": "safe_zone"}],
        edges=[{"id": "road", "from": "town", "to": "camp", "travel_time_min": 10}],
    )
    change(doc)
    with pytest.raises(ValidationError) as caught:
        validate_scenario(doc)
    assert pointer in {p.pointer for p in caught.value.problems}
