"""The exact fleet plan for small questions: a constraint program solved by OR-Tools' CP-SAT.

Same model as the fast plan (:mod:`app.domain.fleets.problem`), over the same legs: each
vehicle makes up to ``K`` trips (``K`` from the bound of :mod:`.dispatch`); a trip picks one
(pickup, safe zone) pair and how many people of each group it carries. Constraints:

* a vehicle reaches its pickup no sooner than the drive from where it was (the depot, or the
  zone of its previous trip, after unloading) allows; it loads; it meets each checkpoint on
  the leg no sooner than the drive allows, is screened for ``ceil(per vehicle + per person ×
  people)`` minutes in one of the lanes (a cumulative resource per checkpoint); it reaches the
  zone within the window;
* seats and stretcher places per trip; people per place and group; zones' reception.

Objective: the people evacuated weighted by group priority (each group worth more than all
later ones together), so the first group is carried as far as it can be, then the next.
Screening minutes are compared in thousandths (figures with at most three decimals are
exact). Roads' vehicle limits are left out: the exact plan is then an upper bound for plans
on roads with such limits (the fast plan keeps them).

Size: at most :data:`MAX_VEHICLES` vehicles, :data:`MAX_TRIPS` trips in all and
:data:`MAX_PAIRS` (pickup, zone) pairs; larger questions raise :class:`ExactTooLarge`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ortools.sat.python import cp_model

from app.domain.fleets.dispatch import egress_lower_bound, trips_within, upper_bound
from app.domain.fleets.plan import FleetPlan, Screened, Trip
from app.domain.fleets.problem import FleetProblem

MAX_VEHICLES = 6
MAX_TRIPS = 36
"""Most trip slots (vehicles × trips each) the exact model takes."""
MAX_PAIRS = 16
SCALE = 1000
"""Screening minutes are compared in thousandths of a minute."""


class ExactTooLarge(Exception):
    """The question is beyond what the exact method takes; the fast plan answers instead."""


@dataclass
class _Slot:
    pick: list[cp_model.IntVar]
    active: cp_model.IntVar
    arrive_pickup: cp_model.IntVar
    arrive: cp_model.IntVar
    free: cp_model.IntVar
    load: dict[tuple[int, int], cp_model.IntVar]
    screen: dict[int, tuple[cp_model.IntVar, cp_model.IntVar, cp_model.IntVar]]
    pairs: list[tuple[int, int]]
    """(pickup, zone) positions this slot's vehicle can drive."""


def exact_fleet_plan(problem: FleetProblem, time_limit_s: float = 20.0) -> FleetPlan:
    """The exact plan (see the module docstring): in a window, the most people by priority;
    without one, the earliest time everyone is out (the least window that carries all)."""
    p = problem
    if p.horizon is not None:
        return _solve(p, p.horizon, time_limit_s)
    # Without a window: the least horizon at which the exact plan carries everyone.
    from app.domain.fleets.dispatch import fast_fleet_plan

    fast = fast_fleet_plan(p)
    if fast.stranded:
        raise ExactTooLarge("the fast plan leaves people behind; the exact search needs a window")
    lo = egress_lower_bound(p) or 0
    hi = fast.egress_time_min
    best = _solve(p, hi, time_limit_s)
    while lo < hi:
        mid = (lo + hi) // 2
        trial = _solve(p, mid, time_limit_s)
        if trial.stranded == 0:
            hi, best = mid, trial
        else:
            lo = mid + 1
    best.lower_bound_min = hi
    best.upper_bound_evacuated = p.total_people
    best.problem.options.horizon = None
    best.optimal = best.optimal and best.stranded == 0
    return best


def _solve(p: FleetProblem, horizon: int, time_limit_s: float) -> FleetPlan:
    saved = p.options.horizon
    p.options.horizon = horizon
    try:
        return _solve_in(p, horizon, time_limit_s)
    finally:
        p.options.horizon = saved


def _solve_in(p: FleetProblem, horizon: int, time_limit_s: float) -> FleetPlan:
    pairs_of: list[list[tuple[int, int]]] = []
    trips_of: list[int] = []
    for kind in p.kinds:
        pairs_of.append(
            [
                (i, k)
                for i, pickup in enumerate(p.pickups.tolist())
                for k, z in enumerate(p.zones.tolist())
                if math.isfinite(kind.drive_min(pickup, z))
                and math.isfinite(kind.drive_min(kind.depot, pickup))
            ]
        )
        trips_of.append(trips_within(p, kind, horizon) if pairs_of[-1] else 0)
    slots_asked = sum(kind.count * t for kind, t in zip(p.kinds, trips_of, strict=True))
    widest = max((len(x) for x in pairs_of), default=0)
    if p.vehicles > MAX_VEHICLES or widest > MAX_PAIRS or slots_asked > MAX_TRIPS:
        raise ExactTooLarge(
            f"{p.vehicles} vehicles with {slots_asked} possible trips over up to {widest} "
            f"pickup/zone pairs is beyond the exact method (at most {MAX_VEHICLES} vehicles, "
            f"{MAX_TRIPS} trips, {MAX_PAIRS} pairs)"
        )
    if slots_asked == 0:
        return _finish(p, [], True)
    m = cp_model.CpModel()
    groups = range(len(p.groups))
    big = horizon + 1
    legs = {
        (ki, i, k): kind.leg(int(p.pickups[i]), int(p.zones[k]))
        for ki, kind in enumerate(p.kinds)
        for i, k in pairs_of[ki]
    }
    checkpoints = {s.edge: s for leg in legs.values() for s in leg.screenings}
    slots: list[list[_Slot]] = []
    intervals: dict[int, list[cp_model.IntervalVar]] = {c: [] for c in checkpoints}
    for v in range(p.vehicles):
        ki = p.vehicle_kind[v]
        kind, pairs = p.kinds[ki], pairs_of[ki]
        row: list[_Slot] = []
        for k in range(trips_of[ki]):
            pick = [m.new_bool_var(f"b{v}_{k}_{j}") for j in range(len(pairs))]
            active = m.new_bool_var(f"a{v}_{k}")
            m.add(sum(pick) == active)
            if k:
                m.add(active <= row[-1].active)
            arrive_pickup = m.new_int_var(0, big, f"ap{v}_{k}")
            arrive = m.new_int_var(0, big + 10**6, f"t{v}_{k}")
            free = m.new_int_var(0, big + 2 * 10**6, f"f{v}_{k}")
            m.add(free >= arrive + kind.unload_min)
            m.add(arrive <= horizon).only_enforce_if(active)
            load = {}
            for j, (i, _) in enumerate(pairs):
                for g in groups:
                    most = min(kind.room(p.groups[g].needs), int(p.people[i, g]))
                    var = m.new_int_var(0, most, f"n{v}_{k}_{j}_{g}")
                    m.add(var <= most * pick[j])
                    load[(j, g)] = var
            for needs, room in (("seat", kind.fleet.seats), ("stretcher", kind.fleet.stretchers)):
                m.add(
                    sum(load[(j, g)] for j in range(len(pairs)) for g in groups
                        if p.groups[g].needs == needs) <= room
                )  # fmt: skip
            carried = sum(load.values())
            screen = {}
            for c, s in checkpoints.items():
                passing = [
                    pick[j]
                    for j, (i, z) in enumerate(pairs)
                    if any(x.edge == c for x in legs[(ki, i, z)].screenings)
                ]
                present = m.new_bool_var(f"p{v}_{k}_{c}")
                m.add(sum(passing) == present)
                start = m.new_int_var(0, big + 10**6, f"s{v}_{k}_{c}")
                size = m.new_int_var(0, big + 10**6, f"d{v}_{k}_{c}")
                end = m.new_int_var(0, big + 2 * 10**6, f"e{v}_{k}_{c}")
                fixed = math.ceil(SCALE * s.per_vehicle_min - 1e-9)
                per = math.ceil(SCALE * s.per_person_min - 1e-9)
                m.add(SCALE * size >= fixed + per * carried).only_enforce_if(present)
                intervals[c].append(
                    m.new_optional_interval_var(start, size, end, present, f"i{v}_{k}_{c}")
                )
                screen[c] = (start, size, end)
            loaded = arrive_pickup + kind.load_min
            for j, (i, z) in enumerate(pairs):
                leg = legs[(ki, i, z)]
                last, reached = 0, loaded
                for s in leg.screenings:
                    start, _, end = screen[s.edge]
                    m.add(start >= reached + (s.offset_min - last)).only_enforce_if(pick[j])
                    reached, last = end, s.offset_min
                m.add(arrive >= reached + (leg.minutes - last)).only_enforce_if(pick[j])
                pickup = int(p.pickups[i])
                if k == 0:
                    reach = kind.leg(kind.depot, pickup).minutes
                    m.add(arrive_pickup >= reach).only_enforce_if(pick[j])
                else:
                    before = row[-1]
                    for j0, (_, z0) in enumerate(pairs):
                        reach = kind.leg(int(p.zones[z0]), pickup).minutes
                        m.add(arrive_pickup >= before.free + reach).only_enforce_if(
                            [before.pick[j0], pick[j]]
                        )
            row.append(_Slot(pick, active, arrive_pickup, arrive, free, load, screen, pairs))
        slots.append(row)
    for c, s in checkpoints.items():
        m.add_cumulative(intervals[c], [1] * len(intervals[c]), s.lanes)
    every = [slot for row in slots for slot in row]
    for i in range(len(p.pickups)):
        for g in groups:
            m.add(
                sum(slot.load[(j, g)] for slot in every for j, pair in enumerate(slot.pairs)
                    if pair[0] == i) <= int(p.people[i, g])
            )  # fmt: skip
    for k, capacity in enumerate(p.reception):
        if capacity is not None:
            m.add(
                sum(slot.load[(j, g)] for slot in every for j, pair in enumerate(slot.pairs)
                    if pair[1] == k for g in groups) <= capacity
            )  # fmt: skip
    # People by priority first; among plans carrying the same, the earliest arrivals.
    weight = [(p.total_people + 1) ** (len(p.groups) - 1 - g) for g in groups]
    sooner = len(every) * (horizon + 1) + 1
    for slot in every:
        m.add(slot.arrive == 0).only_enforce_if(~slot.active)
    m.maximize(
        sooner * sum(weight[g] * var for slot in every for (_, g), var in slot.load.items())
        - sum(slot.arrive for slot in every)
    )
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = 2
    status = solver.solve(m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise ExactTooLarge(f"the exact search found no plan within {time_limit_s:g} s")
    out: list[Trip] = []
    for v, row in enumerate(slots):
        ki = p.vehicle_kind[v]
        kind = p.kinds[ki]
        where = kind.depot
        for number, slot in enumerate(row, start=1):
            if not solver.value(slot.active):
                break
            j = next(j for j, b in enumerate(slot.pick) if solver.value(b))
            i, k = slot.pairs[j]
            pickup, zone = int(p.pickups[i]), int(p.zones[k])
            reached_pickup = int(solver.value(slot.arrive_pickup))
            screened = [
                Screened(
                    s.edge,
                    0,
                    solver.value(slot.screen[s.edge][0]),
                    solver.value(slot.screen[s.edge][0]) + solver.value(slot.screen[s.edge][1]),
                )
                for s in legs[(ki, i, k)].screenings
            ]
            trip = Trip(
                vehicle=v,
                number=number,
                start=where,
                depart_min=reached_pickup - kind.leg(where, pickup).minutes,
                pickup=i,
                arrive_pickup_min=reached_pickup,
                loaded_min=reached_pickup + kind.load_min,
                zone=k,
                arrive_min=solver.value(slot.arrive),
                free_min=solver.value(slot.arrive) + kind.unload_min,
                people=[solver.value(slot.load[(j, g)]) for g in groups],
                screened=screened,
            )
            _arrivals(p, trip)
            if trip.carried:
                out.append(trip)
            where = zone
    return _finish(p, out, status == cp_model.OPTIMAL)


def _arrivals(p: FleetProblem, trip: Trip) -> None:
    """When the vehicle reaches each checkpoint, driving on as soon as it may."""
    leg = p.kind_of(trip.vehicle).leg(int(p.pickups[trip.pickup]), int(p.zones[trip.zone]))
    at, last = trip.loaded_min, 0
    for s, got in zip(leg.screenings, trip.screened, strict=True):
        got.arrive_min = at + (s.offset_min - last)
        at, last = got.end_min, s.offset_min


def _finish(p: FleetProblem, trips: list[Trip], proven: bool) -> FleetPlan:
    bound, reason = upper_bound(p)
    plan = FleetPlan(p, "exact", trips, bound)
    plan.upper_bound_reason = reason
    plan.optimal = proven
    if not proven:
        plan.note = "the exact search stopped at its time limit: best plan found, not proven"
    return plan
