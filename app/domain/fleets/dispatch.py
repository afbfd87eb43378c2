"""The fast fleet plan: vehicles dispatched one trip at a time, and a bound on any plan.

Method. Whenever a vehicle is free (the earliest first), it is sent to the place where the
highest-priority group it can carry still waits, nearest first, loads people there in
priority order, drives to the nearest safe zone with room, queues for the first free lane at
each checkpoint and waits for room on capped roads. A trip that would reach its zone after
the window is not made (the next place is tried, up to :data:`MOST_TRIED`).
``O(T × (P + L))`` for ``T`` trips, ``P`` pickup places and ``L`` roads on a leg; every trip
is checked against capacities as it is committed, so the plan never breaks one.

Bound (:func:`upper_bound`). Each vehicle's first arrival at a zone is at least the quickest
depot → pickup → zone drive with loading (and its own screening, up to
:data:`EXACT_BOUND_LEGS` drives); each later trip adds at least
the quickest unload → zone → pickup → load → zone cycle. That caps its trips; seats and
stretchers cap the people per trip; groups, zones' reception and every checkpoint that all
drives pass (its lanes × the window ÷ minutes per person) cap the rest. A plan evacuating as
many as the bound is optimal.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Iterator

import numpy as np

from app.domain.fleets.plan import FleetPlan, Screened, Trip
from app.domain.fleets.problem import Capped, FleetProblem, Kind, Leg, Screening
from app.domain.network.graph import BoolArray, FloatArray, IntArray


class _Traffic:
    """What vehicles already committed hold: entries on capped roads per (road, direction,
    block of minutes), and when each lane of each checkpoint is next free."""

    def __init__(self) -> None:
        self.entries: defaultdict[tuple[int, int, int], int] = defaultdict(int)
        self.lanes: dict[int, list[int]] = {}

    def drive(
        self, leg: Leg, start: int, people: int, commit: bool
    ) -> tuple[int, list[Screened], int, list[tuple[int, int, int]]]:
        """Drive ``leg`` leaving at ``start`` with ``people`` aboard (0: empty, not screened):
        the arrival, the screenings on the way, the minutes waited for room on capped roads
        and the entries onto them (road, direction, minute); booked when ``commit``. Events
        are taken in the order the leg meets them, a checkpoint before entering its road."""
        events = sorted(
            [(s.offset_min, 0, s) for s in (leg.screenings if people else [])]
            + [(c.offset_min, 1, c) for c in leg.capped],
            key=lambda x: (x[0], x[1]),
        )
        delay, waited, screened = 0, 0, []
        booked: list[tuple[int, int, int]] = []
        entered: list[tuple[int, int, int]] = []
        for offset, kind, item in events:
            t = start + offset + delay
            if kind == 1:
                c = item
                assert isinstance(c, Capped)
                block = t // c.block_min
                while self.entries[(c.edge, c.direction, block)] >= c.per_block:
                    block += 1
                entry = max(t, block * c.block_min)
                waited += entry - t
                delay += entry - t
                booked.append((c.edge, c.direction, block))
                entered.append((c.edge, c.direction, entry))
            else:
                sc = item
                assert isinstance(sc, Screening)
                lanes = self.lanes.get(sc.edge, [0] * sc.lanes)
                begin = max(t, min(lanes))
                end = begin + sc.minutes(people)
                screened.append(Screened(sc.edge, t, begin, end))
                delay += end - t
        if commit:
            for key in booked:
                self.entries[key] += 1
            for sc, got in zip([s for s in leg.screenings if people], screened, strict=True):
                lanes = self.lanes.setdefault(sc.edge, [0] * sc.lanes)
                k = min(range(len(lanes)), key=lambda i: lanes[i])
                lanes[k] = got.end_min
        return start + leg.minutes + delay, screened, waited, entered


MOST_TRIED = 64
"""A free vehicle tries at most this many places per group (nearest first) before the next
group; bounds the work of a vehicle near the end of the window."""


class _Candidates:
    """Pickup places in order of the drive from each place a vehicle starts from, per fleet,
    with those no longer worth trying (people only leave, time only passes, zones only fill:
    a place too far in time, or whose zones are full, stays so)."""

    def __init__(self, p: FleetProblem) -> None:
        self.p = p
        self.orders: dict[tuple[int, int], tuple[IntArray, FloatArray, BoolArray]] = {}

    def _order(self, k: int, at: int) -> tuple[IntArray, FloatArray, BoolArray]:
        """Pickups reachable from ``at`` by fleet ``k``, nearest first; the least minutes
        a trip from ``at`` through each takes to a zone; which are still alive."""
        key = (k, at)
        if key not in self.orders:
            p, kind = self.p, self.p.kinds[k]
            there = kind.drives_from(at)[p.pickups]
            on = np.full(len(p.pickups), np.inf)
            for z in p.zones.tolist():
                on = np.minimum(on, kind.drives.to_zone(z)[p.pickups])
            least = np.ceil(there - 1e-6) + kind.load_min + np.ceil(on - 1e-6)
            order = np.flatnonzero(np.isfinite(least))
            order = order[np.argsort(there[order], kind="stable")]
            self.orders[key] = (order, least[order], np.ones(len(order), dtype=bool))
        return self.orders[key]

    def walk(self, k: int, at: int, g: int, left: IntArray, t: int) -> Iterator[int]:
        """Pickups still worth trying for group ``g`` from ``at`` at minute ``t``, nearest
        first (those that cannot finish within the window are dropped for good)."""
        order, least, alive = self._order(k, at)
        horizon = self.p.horizon
        if horizon is not None:
            alive &= t + least <= horizon
        for pos in np.flatnonzero(alive & (left[order, g] > 0)).tolist():
            if alive[pos]:
                yield int(order[pos])

    def drop(self, k: int, at: int, i: int) -> None:
        """Pickup ``i`` cannot be served from ``at`` by fleet ``k`` any more."""
        order, _, alive = self.orders[(k, at)]
        alive[np.flatnonzero(order == i)] = False


def fast_fleet_plan(problem: FleetProblem) -> FleetPlan:
    """The fast plan (see the module docstring); ``optimal`` when it meets the bound."""
    p = problem
    remaining = p.people.copy()
    reception = list(p.reception)
    traffic = _Traffic()
    candidates = _Candidates(p)
    trips: list[Trip] = []
    free = [(0, v, p.kind_of(v).depot, 0) for v in range(p.vehicles)]
    heapq.heapify(free)
    horizon = p.horizon
    while free:
        t, v, at, done = heapq.heappop(free)
        if horizon is not None and t >= horizon:
            continue
        trip = _next_trip(p, remaining, reception, traffic, candidates, v, at, t, done + 1)
        if trip is None:
            continue  # nothing this vehicle can still do
        trips.append(trip)
        remaining[trip.pickup] -= trip.people
        zone = p.reception[trip.zone]
        if zone is not None:
            reception[trip.zone] = (reception[trip.zone] or 0) - trip.carried
        heapq.heappush(free, (trip.free_min, v, int(p.zones[trip.zone]), trip.number))
    bound, reason = upper_bound(p)
    plan = FleetPlan(p, "fast", trips, bound)
    plan.upper_bound_reason = reason
    if horizon is None:
        plan.lower_bound_min = egress_lower_bound(p)
        plan.optimal = plan.stranded == 0 and plan.egress_time_min == plan.lower_bound_min
    else:
        plan.optimal = plan.evacuated == bound
    if plan.optimal:
        plan.note = "this plan meets its bound: no plan in this model does better"
    return plan


def _next_trip(
    p: FleetProblem,
    remaining: IntArray,
    reception: list[int | None],
    traffic: _Traffic,
    candidates: _Candidates,
    v: int,
    at: int,
    t: int,
    number: int,
) -> Trip | None:
    """The trip vehicle ``v`` makes next from place ``at`` at minute ``t``, committed; None
    when no trip it could make moves anybody in time."""
    left = remaining
    horizon = p.horizon
    k = p.vehicle_kind[v]
    kind = p.kinds[k]
    for g in range(len(p.groups)):
        if kind.room(p.groups[g].needs) == 0:
            continue
        for tried, i in enumerate(candidates.walk(k, at, g, left, t)):
            if tried == MOST_TRIED:
                break
            pickup = int(p.pickups[i])
            load = _load(p, kind, left[i])
            zone = _zone(p, kind, pickup, reception, sum(load))
            if zone is None:
                candidates.drop(k, at, i)
                continue
            room = reception[zone]
            if room is not None and room < sum(load):
                load = _trim(load, room)
            empty = kind.leg(at, pickup)
            arrive_pickup, _, waited_empty, on_empty = traffic.drive(empty, t, 0, commit=False)
            loaded = arrive_pickup + kind.load_min
            full = kind.leg(pickup, int(p.zones[zone]))
            arrive, screened, waited_full, on_full = traffic.drive(
                full, loaded, sum(load), commit=False
            )
            if horizon is not None and arrive > horizon:
                candidates.drop(k, at, i)
                continue
            traffic.drive(empty, t, 0, commit=True)
            traffic.drive(full, loaded, sum(load), commit=True)
            return Trip(
                vehicle=v,
                number=number,
                start=at,
                depart_min=t,
                pickup=i,
                arrive_pickup_min=arrive_pickup,
                loaded_min=loaded,
                zone=zone,
                arrive_min=arrive,
                free_min=arrive + kind.unload_min,
                people=load,
                screened=screened,
                waited_for_roads_min=waited_empty + waited_full,
                road_entries=on_empty + on_full,
            )
        # Nobody of this group can be reached in time: try the next group.
    return None


def _load(p: FleetProblem, kind: Kind, left: IntArray) -> list[int]:
    """People one vehicle takes from a place, by group: stretcher places and seats each filled
    in priority order."""
    load = [0] * len(p.groups)
    room = {"seat": kind.fleet.seats, "stretcher": kind.fleet.stretchers}
    for g, group in enumerate(p.groups):
        take = min(int(left[g]), room[group.needs])
        load[g] = take
        room[group.needs] -= take
    return load


def _trim(load: list[int], room: int) -> list[int]:
    """The load cut to ``room`` people, lowest priority first."""
    out = list(load)
    excess = sum(out) - room
    for g in reversed(range(len(out))):
        cut = min(out[g], excess)
        out[g] -= cut
        excess -= cut
    return out


def _zone(
    p: FleetProblem, kind: Kind, pickup: int, reception: list[int | None], people: int
) -> int | None:
    """The nearest safe zone reachable from ``pickup`` that still receives anybody."""
    best: tuple[float, int] | None = None
    for k, z in enumerate(p.zones.tolist()):
        room = reception[k]
        if room is not None and room <= 0:
            continue
        d = kind.drive_min(pickup, z)
        if math.isfinite(d) and (best is None or (d, k) < best):
            best = (d, k)
    return None if best is None or people == 0 else best[1]


EXACT_BOUND_LEGS = 2_000
"""Up to this many pickup–zone drives per fleet, the bound counts each drive's screening
(building every drive); beyond, it counts driving minutes only (still a bound, looser)."""


def cycle_bounds(p: FleetProblem, kind: Kind) -> tuple[float, float]:
    """Least minutes to a vehicle's first arrival at a zone, and least minutes per later
    trip, for vehicles of ``kind`` (see the module docstring)."""
    pickups = p.pickups
    if not len(pickups) or not len(p.zones):
        return math.inf, math.inf
    to_zone = np.full(len(pickups), np.inf)
    back = math.inf
    small = len(pickups) * len(p.zones) <= EXACT_BOUND_LEGS
    for z in p.zones.tolist():
        minutes = np.ceil(kind.drives.to_zone(z)[pickups] - 1e-6)
        if small:
            for i in np.flatnonzero(np.isfinite(minutes)).tolist():
                leg = kind.leg(int(pickups[i]), z)
                minutes[i] = leg.minutes + sum(s.minutes(1) for s in leg.screenings)
        to_zone = np.minimum(to_zone, minutes)
        from_zone = np.ceil(kind.drives_from(z)[pickups] - 1e-6)
        ok = np.isfinite(from_zone) & np.isfinite(minutes)
        if ok.any():
            back = min(back, float(from_zone[ok].min()))
    reach = np.ceil(kind.drives_from(kind.depot)[pickups] - 1e-6) + kind.load_min + to_zone
    first = float(reach.min()) if np.isfinite(reach).any() else math.inf
    out = float(to_zone.min()) + kind.load_min if np.isfinite(to_zone).any() else math.inf
    return first, kind.unload_min + back + out


def trips_within(p: FleetProblem, kind: Kind, horizon: int) -> int:
    """Most trips a vehicle of ``kind`` can complete within ``horizon`` minutes."""
    first, cycle = cycle_bounds(p, kind)
    if not math.isfinite(first) or first > horizon:
        return 0
    if cycle <= 0 or not math.isfinite(cycle):
        return 1 if not math.isfinite(cycle) else p.total_people
    return 1 + math.floor((horizon - first) / cycle)


def upper_bound(p: FleetProblem) -> tuple[int, str]:
    """Most people any plan in this model evacuates within the window (all, without one),
    and what sets that bound: ``people``, ``fleet``, ``reception`` or ``screening``."""
    people = p.total_people
    if p.horizon is None:
        return people, "people"
    bounds = {"people": people}
    room = {"seat": 0, "stretcher": 0}
    for kind in p.kinds:
        trips = trips_within(p, kind, p.horizon) * kind.count
        room["seat"] += trips * kind.fleet.seats
        room["stretcher"] += trips * kind.fleet.stretchers
    needing = {"seat": 0, "stretcher": 0}
    for g, group in enumerate(p.groups):
        needing[group.needs] += int(p.people[:, g].sum())
    bounds["fleet"] = sum(min(needing[k], room[k]) for k in room)
    if p.reception and all(r is not None for r in p.reception):
        bounds["reception"] = sum(r or 0 for r in p.reception)
    per_trip = max(1, *(kind.fleet.seats + kind.fleet.stretchers for kind in p.kinds))
    for s in _common_screenings(p):
        per_person = s.per_person_min + s.per_vehicle_min / per_trip
        if per_person > 0:
            most = math.floor(s.lanes * p.horizon / per_person + 1e-9)
            bounds["screening"] = min(bounds.get("screening", people), most)
    kind_name = min(bounds, key=lambda k: bounds[k])
    return max(0, bounds[kind_name]), kind_name


def _common_screenings(p: FleetProblem) -> list[Screening]:
    """Checkpoints every drive of every fleet from a pickup to a safe zone passes (looked
    for only up to :data:`EXACT_BOUND_LEGS` drives per fleet)."""
    if len(p.pickups) * len(p.zones) > EXACT_BOUND_LEGS:
        return []
    common: dict[int, Screening] | None = None
    for kind in p.kinds:
        for pickup in p.pickups.tolist():
            for z in p.zones.tolist():
                if not math.isfinite(kind.drive_min(pickup, z)):
                    continue
                here = {s.edge: s for s in kind.leg(pickup, z).screenings}
                common = here if common is None else {e: s for e, s in common.items() if e in here}
    return list((common or {}).values())


def egress_lower_bound(p: FleetProblem) -> int | None:
    """No plan clears everyone sooner (None when nobody can be reached)."""
    bounds = [cycle_bounds(p, kind) for kind in p.kinds if kind.count]
    first = min((f for f, _ in bounds), default=math.inf)
    cycle = min((c for _, c in bounds), default=math.inf)
    if not math.isfinite(first):
        return None
    if not math.isfinite(cycle):
        cycle = 0
    capacity = sum(kind.count * (kind.fleet.seats + kind.fleet.stretchers) for kind in p.kinds)
    rounds = math.ceil(p.total_people / capacity) if capacity else 0
    if rounds == 0:
        return 0
    return int(first + (rounds - 1) * cycle)
