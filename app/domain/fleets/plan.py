"""A fleet plan: every trip, totals by group, time at checkpoints, utilisation, bottleneck."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from app.domain.fleets.problem import FleetProblem, Leg
from app.domain.network.assumptions import Assumption, population_assumptions, route_assumptions
from app.domain.routes.holdings import involved_parties, not_granted

FleetMethod = Literal["exact", "fast"]


@dataclass
class Screened:
    """One vehicle at one checkpoint: when it arrived, was screened, and left."""

    edge: int
    arrive_min: int
    start_min: int
    end_min: int


@dataclass
class Trip:
    """One vehicle's round: from where it was, to a pickup, through checkpoints, to a zone."""

    vehicle: int
    number: int
    """1 for the vehicle's first trip."""
    start: int
    """Place it left (the depot or a safe zone)."""
    depart_min: int
    pickup: int
    """Position in :attr:`FleetProblem.pickups`."""
    arrive_pickup_min: int
    loaded_min: int
    zone: int
    """Position in :attr:`FleetProblem.zones`."""
    arrive_min: int
    free_min: int
    people: list[int]
    """People carried per group."""
    screened: list[Screened] = field(default_factory=list)
    waited_for_roads_min: int = 0
    road_entries: list[tuple[int, int, int]] = field(default_factory=list)
    """(road, direction, minute) of each entry onto a road with a vehicle limit."""

    @property
    def carried(self) -> int:
        return sum(self.people)


@dataclass
class FleetPlan:
    """The answer to a fleet question (see :mod:`app.domain.fleets.problem` for the model)."""

    problem: FleetProblem
    method: FleetMethod
    trips: list[Trip]
    upper_bound_evacuated: int
    """No plan in this model evacuates more within the window."""
    lower_bound_min: int | None = None
    """Without a window: no plan clears everyone sooner."""
    optimal: bool = False
    note: str | None = None
    upper_bound_reason: str = "fleet"
    """What sets :attr:`upper_bound_evacuated` (see :func:`~.dispatch.upper_bound`)."""

    @property
    def evacuated(self) -> int:
        return sum(t.carried for t in self.trips)

    @property
    def stranded(self) -> int:
        return self.problem.total_people - self.evacuated

    @property
    def egress_time_min(self) -> int:
        return max((t.arrive_min for t in self.trips), default=0)

    def by_group(self) -> list[dict[str, Any]]:
        p = self.problem
        carried = np.zeros(len(p.groups), dtype=np.int64)
        for t in self.trips:
            carried += np.asarray(t.people, dtype=np.int64)
        totals = p.people.sum(axis=0)
        return [
            {
                "group": g.id,
                "name": g.name,
                "needs": g.needs,
                "population": int(totals[k]),
                "evacuated": int(carried[k]),
                "stranded": int(totals[k] - carried[k]),
                "last_arrival_min": max(
                    (t.arrive_min for t in self.trips if t.people[k] > 0), default=None
                ),
            }
            for k, g in enumerate(p.groups)
        ]

    def checkpoints(self) -> list[dict[str, Any]]:
        """Per checkpoint: vehicles and people screened, minutes busy, queueing."""
        net = self.problem.network
        rows: dict[int, dict[str, Any]] = {}
        for t in self.trips:
            for s in t.screened:
                row = rows.setdefault(
                    s.edge,
                    {
                        "edge": net.edge_ids[s.edge],
                        "party": net.edge_text(s.edge, "checkpoint"),
                        "vehicles": 0,
                        "people": 0,
                        "screening_min": 0,
                        "waiting_min": 0,
                        "longest_wait_min": 0,
                    },
                )
                wait = s.start_min - s.arrive_min
                row["vehicles"] += 1
                row["people"] += t.carried
                row["screening_min"] += s.end_min - s.start_min
                row["waiting_min"] += wait
                row["longest_wait_min"] = max(row["longest_wait_min"], wait)
        return list(rows.values())

    def time_use(self) -> dict[str, int]:
        """Vehicle-minutes spent driving, loading and unloading, waiting at checkpoints, being
        screened, waiting for road slots, and idle (within the window, or until the last
        arrival)."""
        p = self.problem
        use = {"driving": 0, "loading": 0, "queueing": 0, "screening": 0, "road_waits": 0}
        for t in self.trips:
            screening = sum(s.end_min - s.start_min for s in t.screened)
            queueing = sum(s.start_min - s.arrive_min for s in t.screened)
            use["loading"] += (t.loaded_min - t.arrive_pickup_min) + (t.free_min - t.arrive_min)
            use["screening"] += screening
            use["queueing"] += queueing
            use["road_waits"] += t.waited_for_roads_min
            use["driving"] += (
                (t.arrive_pickup_min - t.depart_min)
                + (t.arrive_min - t.loaded_min)
                - screening
                - queueing
                - t.waited_for_roads_min
            )
        span = p.horizon if p.horizon is not None else self.egress_time_min
        busy = sum(use.values())
        use["idle"] = max(0, p.vehicles * span - busy)
        return use

    def bottleneck(self) -> dict[str, str]:
        """What limits the plan, in the negotiator's terms."""
        p = self.problem
        if self.stranded == 0:
            return {
                "kind": "none",
                "explanation": f"everyone is out by minute {self.egress_time_min}",
            }
        use = self.time_use()
        if not self.trips:
            return {
                "kind": "window" if p.horizon is not None else "road",
                "explanation": "no vehicle can reach people and a safe zone "
                + ("within the window" if p.horizon is not None else "over the usable roads"),
            }
        if self.evacuated >= self.upper_bound_evacuated and self.upper_bound_reason == "reception":
            return {"kind": "reception", "explanation": "the safe zones are full"}
        working = {k: v for k, v in use.items() if k != "idle"}
        kind = max(working, key=lambda k: working[k])
        words = {
            "driving": ("fleet", "vehicles spend most of their time driving: more vehicles "
                        "(or a nearer safe zone) move more people"),
            "loading": ("loading", "loading and unloading take most of the vehicles' time"),
            "queueing": ("screening", "vehicles spend most of their time queueing at "
                         "checkpoints: more screening lanes move more people"),
            "screening": ("screening", "screening takes most of the vehicles' time"),
            "road_waits": ("road", "vehicles wait most for room on roads with a vehicle limit"),
        }  # fmt: skip
        name, text = words[kind]
        return {"kind": name, "explanation": text}

    def expected_harm(self) -> float:
        """Expected number of people harmed on the roads they are carried over."""
        cond = self.problem.conditions
        total = 0.0
        for t in self.trips:
            leg = self.leg(t)
            keep = math.fsum(np.log1p(-cond.harm[leg.edges]).tolist()) if leg.edges else 0.0
            total += t.carried * -math.expm1(keep)
        return total

    def leg(self, t: Trip) -> Leg:
        """The drive ``t`` carried its people on."""
        p = self.problem
        return p.kind_of(t.vehicle).leg(int(p.pickups[t.pickup]), int(p.zones[t.zone]))

    def used_edges(self) -> list[int]:
        used: set[int] = set()
        for t in self.trips:
            used.update(self.leg(t).edges)
        return sorted(used)

    def assumptions(self) -> list[Assumption]:
        p = self.problem
        out = [
            Assumption(
                f"fleet {kind.fleet.id!r}: {kind.count} {kind.fleet.kind} × "
                f"{kind.fleet.seats} seats, {kind.fleet.stretchers} stretchers; load "
                f"{kind.fleet.load_min:g} min, unload {kind.fleet.unload_min:g} min, speed "
                f"{kind.fleet.speed_m_per_min:g} m/min",
                float(kind.count),
                kind.fleet.source or "no source given",
                unit="vehicles",
            )
            for kind in p.kinds
        ]
        cols = p.network.columns.edges
        for e in sorted({s.edge for t in self.trips for s in t.screened}):
            out.append(
                Assumption(
                    f"screening at checkpoint road {p.network.edge_ids[e]!r}",
                    None,
                    p.network.edge_text(e, "notes") or "no source given",
                    unit=f"{_num(cols.screening_min_per_vehicle[e])} min per vehicle, "
                    f"{_num(cols.screening_min_per_person[e])} min per person, "
                    f"{int(cols.screening_lanes[e]) or 1} lanes",
                )
            )
        for g in p.groups:
            if g.source:
                out.append(Assumption(f"people of group {g.id!r}", None, g.source, unit="people"))
        out += route_assumptions(p.conditions, self.used_edges())
        out += population_assumptions(p.conditions, p.pickups.tolist())
        return out

    def as_dict(self) -> dict[str, Any]:
        p = self.problem
        net = p.network
        names = net.node_ids
        trips = []
        for t in self.trips:
            pickup, zone = int(p.pickups[t.pickup]), int(p.zones[t.zone])
            leg = self.leg(t)
            trips.append(
                {
                    "vehicle": p.vehicle_name(t.vehicle),
                    "fleet": p.kind_of(t.vehicle).fleet.id,
                    "trip": t.number,
                    "from": names[t.start],
                    "depart_min": t.depart_min,
                    "pickup": names[pickup],
                    "arrive_pickup_min": t.arrive_pickup_min,
                    "loaded_min": t.loaded_min,
                    "screened": [
                        {
                            "edge": net.edge_ids[s.edge],
                            "arrive_min": s.arrive_min,
                            "start_min": s.start_min,
                            "end_min": s.end_min,
                        }
                        for s in t.screened
                    ],
                    "to": names[zone],
                    "arrive_min": t.arrive_min,
                    "return_min": t.free_min,
                    "people": {g.id: n for g, n in zip(p.groups, t.people, strict=True) if n},
                    "count": t.carried,
                    "nodes": [names[v] for v in leg.nodes],
                }
            )
        nodes = sorted({v for t in self.trips for v in self.leg(t).nodes})
        involved = involved_parties(net, nodes, self.used_edges())
        use = self.time_use()
        span = p.horizon if p.horizon is not None else self.egress_time_min
        return {
            "fleets": [kind.fleet.id for kind in p.kinds],
            "vehicles": {kind.fleet.id: kind.count for kind in p.kinds},
            "method": self.method,
            "optimal": self.optimal,
            "horizon_min": p.horizon,
            "total_population": p.total_people,
            "evacuated": self.evacuated,
            "stranded": self.stranded,
            "egress_time_min": self.egress_time_min,
            "upper_bound_evacuated": self.upper_bound_evacuated,
            "lower_bound_min": self.lower_bound_min,
            "by_group": self.by_group(),
            "trips": trips,
            "checkpoints": self.checkpoints(),
            "time_use_vehicle_min": use,
            "fleet_utilisation": 0.0 if span == 0 else 1 - use["idle"] / (p.vehicles * span),
            "bottleneck": self.bottleneck(),
            "expected_harm": self.expected_harm(),
            "parties": involved,
            "consents_needed": not_granted(net, involved),
            "assumptions": [a.as_dict() for a in self.assumptions()],
            "note": self.note,
        }


def _num(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:g}"
