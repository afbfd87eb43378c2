"""A fleet plan's question compiled once: vehicles, people by place and group, safe zones, and
the legs vehicles drive between them, with the checkpoints and capped roads on each.

The model (docs/fleets.md):

* Time is counted in whole minutes from the start of the plan (the window's start).
* A vehicle drives the quickest road path between two places over the roads its fleet may
  use: not blocked, ``vehicle_passable``, not of a status the fleet excludes, and no ground of
  an excluded party (the one consent model, :mod:`app.domain.routes.holdings`). A road's time
  is its ``travel_time_min`` × 64 ÷ speed, or ``length_m`` ÷ speed. A leg's time is the sum,
  rounded up to a whole minute at each checkpoint and at the end.
* At a pickup place a vehicle loads (``load_min``) people of the groups it can carry —
  stretcher places for groups that need a stretcher, seats for the others — in the groups'
  priority order. At each checkpoint on the way to a safe zone it is screened: ``ceil(per
  vehicle + per person × people aboard)`` minutes in one of the checkpoint's lanes, in order of
  arrival. It then drives on, unloads (``unload_min``) and turns round (``turnaround_min``).
  People count as evacuated when their vehicle reaches the safe zone within the window.
  Empty vehicles are not screened.
* A road with ``vehicles_per_min`` admits at most ``floor(cap × k)`` vehicles in each block of
  ``k`` whole minutes, ``k = 1`` when ``cap ≥ 1`` and ``ceil(1 / cap)`` otherwise.
* A safe zone with a ``capacity`` receives at most that many people.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from app.domain.errors import Fault, QuestionError
from app.domain.network.graph import (
    BoolArray,
    Conditions,
    FloatArray,
    IntArray,
    Network,
)
from app.domain.routes.engine import hop_arcs
from app.domain.routes.holdings import exclusion, usable_roads
from app.domain.scenario.columns import NODE_KINDS
from app.domain.scenario.model import Fleet, GroupNeeds, Profile, UnknownRisk

SAFE_ZONE = NODE_KINDS.index("safe_zone")


@dataclass(frozen=True)
class Group:
    """A population group in priority order (0 first)."""

    id: str
    name: str | None
    needs: GroupNeeds
    source: str | None


@dataclass(frozen=True)
class Screening:
    """A checkpoint on a leg: where it is reached and how it screens."""

    edge: int
    offset_min: int
    """Whole minutes from the start of the leg to the checkpoint."""
    per_vehicle_min: float
    per_person_min: float
    lanes: int

    def minutes(self, people: int) -> int:
        """Whole minutes it screens one vehicle carrying ``people``."""
        return max(0, math.ceil(self.per_vehicle_min + self.per_person_min * people - 1e-9))


@dataclass(frozen=True)
class Capped:
    """A road with a vehicle capacity on a leg: when it is entered."""

    edge: int
    direction: int
    """0: from its ``from`` end, 1: from its ``to`` end."""
    offset_min: int
    block_min: int
    per_block: int


@dataclass(frozen=True)
class Leg:
    """The quickest drive between two places."""

    nodes: list[int]
    edges: list[int]
    minutes: int
    screenings: list[Screening]
    capped: list[Capped]


@dataclass
class FleetOptions:
    """What a fleet plan is asked."""

    fleets: tuple[str, ...]
    """The scenario's fleets that take part (one or several: buses and ambulances)."""
    horizon: int | None = None
    """Minutes of the window; ``None``: until everyone is out."""
    at: datetime | None = None
    avoid_parties: tuple[str, ...] = ()
    consenting_only: bool = False
    unknown_risk: UnknownRisk | None = None
    vehicles: dict[str, int] = field(default_factory=dict)
    """How many vehicles of a fleet (default its ``count``): sizing questions re-plan with
    more or fewer."""
    extra_lanes: dict[int, int] = field(default_factory=dict)
    """Screening lanes added at checkpoint roads (sizing: one more lane)."""


@dataclass
class Drives:
    """The quickest drives over one set of usable roads at one speed, from the depots and
    safe zones to every place and from every place to the safe zones (shared by the fleets
    that drive alike)."""

    network: Network
    time: FloatArray
    """Minutes per road (inf where the fleet may not drive)."""
    sources: list[int]
    """Depots of the fleets sharing these drives."""
    zones: IntArray
    extra_lanes: dict[int, int]

    @cached_property
    def _graph(self) -> tuple[csr_matrix, csr_matrix]:
        net = self.network
        weight = self.time[net.arc_edge]
        keep = np.isfinite(weight)
        n = net.n_nodes
        # Zero-length roads still join their ends: scipy drops explicit zeros.
        w = np.maximum(weight[keep], 1e-12)
        forward = csr_matrix((w, (net.arc_tail[keep], net.arc_head[keep])), shape=(n, n))
        return forward, forward.T.tocsr()

    @cached_property
    def _from(self) -> dict[int, tuple[FloatArray, IntArray]]:
        """Drives from the depot and from each safe zone: distances and predecessors."""
        sources = sorted({*self.sources, *self.zones.tolist()})
        dist, pred = dijkstra(self._graph[0], indices=sources, return_predecessors=True)
        return {s: (dist[k], pred[k]) for k, s in enumerate(sources)}

    @cached_property
    def _to(self) -> dict[int, tuple[FloatArray, IntArray]]:
        """Drives to each safe zone (searched backwards): distances and next places."""
        zones = self.zones.tolist()
        if not zones:
            return {}
        dist, pred = dijkstra(self._graph[1], indices=zones, return_predecessors=True)
        return {z: (dist[k], pred[k]) for k, z in enumerate(zones)}

    def drives_from(self, a: int) -> FloatArray:
        """Minutes of the quickest drive from ``a`` (a depot or a safe zone) to every place."""
        return self._from[a][0]

    def to_zone(self, z: int) -> FloatArray:
        """Minutes of the quickest drive from every place to the safe zone ``z``."""
        return self._to[z][0]

    def drive_min(self, a: int, b: int) -> float:
        """Minutes of the quickest drive from ``a`` (the depot or a safe zone) to ``b``, or
        from ``a`` to the safe zone ``b``; inf when there is none."""
        if a in self._from:
            return float(self._from[a][0][b])
        return float(self._to[b][0][a])

    def leg(self, a: int, b: int) -> Leg:
        """The quickest drive from ``a`` to ``b`` (one of them the depot or a safe zone)."""
        key = (a, b)
        cached = self._legs.get(key)
        if cached is not None:
            return cached
        if a == b:
            built = Leg([a], [], 0, [], [])
        else:
            if a in self._from:
                pred = self._from[a][1]
                nodes = [b]
                while nodes[-1] != a:
                    nodes.append(int(pred[nodes[-1]]))
                nodes.reverse()
            else:
                pred = self._to[b][1]
                nodes = [a]
                while nodes[-1] != b:
                    nodes.append(int(pred[nodes[-1]]))
            built = self._leg_of(nodes)
        self._legs[key] = built
        return built

    @cached_property
    def _legs(self) -> dict[tuple[int, int], Leg]:
        return {}

    @cached_property
    def _arcs(self) -> tuple[BoolArray, FloatArray]:
        """Which arcs the fleet may drive, and their minutes."""
        minutes: FloatArray = self.time[self.network.arc_edge]
        return np.isfinite(minutes), minutes

    @cached_property
    def _special(self) -> BoolArray:
        """Roads a leg must note: a checkpoint that screens, or a vehicle limit."""
        net, cols = self.network, self.network.columns.edges
        screens = ~(
            np.isnan(cols.screening_min_per_vehicle) & np.isnan(cols.screening_min_per_person)
        )
        special: BoolArray = ((net.edge_checkpoint >= 0) & screens) | ~np.isnan(
            cols.vehicles_per_min
        )
        return special

    def _leg_of(self, nodes: list[int]) -> Leg:
        net = self.network
        arc_ok, arc_minutes = self._arcs
        arcs = hop_arcs(net, nodes, arc_ok, arc_minutes)
        edge_array = net.arc_edge[arcs]
        edges = [int(e) for e in edge_array]
        minutes = self.time[edge_array]
        before = np.concatenate([[0.0], np.cumsum(minutes)])
        cols = net.columns.edges
        screenings: list[Screening] = []
        capped: list[Capped] = []
        whole = 0
        for k in np.flatnonzero(self._special[edge_array]).tolist():
            e, elapsed = edges[k], float(before[k])
            per_vehicle = float(cols.screening_min_per_vehicle[e])
            per_person = float(cols.screening_min_per_person[e])
            screens = not (math.isnan(per_vehicle) and math.isnan(per_person))
            if int(net.edge_checkpoint[e]) >= 0 and screens:
                whole = math.ceil(elapsed - 1e-9)
                lanes = int(cols.screening_lanes[e]) or 1
                lanes += self.extra_lanes.get(e, 0)
                screenings.append(
                    Screening(
                        e,
                        whole,
                        0.0 if math.isnan(per_vehicle) else per_vehicle,
                        0.0 if math.isnan(per_person) else per_person,
                        lanes,
                    )
                )
            cap = float(cols.vehicles_per_min[e])
            if not math.isnan(cap):
                block = 1 if cap >= 1 else math.ceil(1 / cap - 1e-9)
                direction = 0 if int(net.edge_tail[e]) == nodes[k] else 1
                capped.append(
                    Capped(e, direction, math.floor(elapsed + 1e-9), block, int(cap * block))
                )
        total = max(math.ceil(float(before[-1]) - 1e-9), whole)
        return Leg(nodes, edges, total, screenings, capped)


@dataclass
class Kind:
    """The vehicles of one fleet: what they carry, where they start, and their drives (speed
    and usable roads differ by fleet)."""

    fleet: Fleet
    count: int
    conditions: Conditions
    depot: int
    drives: Drives

    @property
    def load_min(self) -> int:
        return math.ceil(self.fleet.load_min - 1e-9)

    @property
    def unload_min(self) -> int:
        return math.ceil(self.fleet.unload_min + self.fleet.turnaround_min - 1e-9)

    def room(self, needs: GroupNeeds) -> int:
        """Places one vehicle has for a person who needs a seat or a stretcher."""
        return self.fleet.stretchers if needs == "stretcher" else self.fleet.seats

    def drive_min(self, a: int, b: int) -> float:
        return self.drives.drive_min(a, b)

    def drives_from(self, a: int) -> FloatArray:
        return self.drives.drives_from(a)

    def leg(self, a: int, b: int) -> Leg:
        return self.drives.leg(a, b)


@dataclass
class FleetProblem:
    """One fleet plan's data; see the module docstring for the model."""

    network: Network
    options: FleetOptions
    kinds: list[Kind]
    groups: list[Group]
    pickups: IntArray
    """Places with people to move (not safe zones)."""
    people: IntArray
    """People per pickup and group: ``people[i, g]``."""
    zones: IntArray
    reception: list[int | None]
    """People each safe zone may still receive (None: unbounded)."""
    vehicle_kind: list[int] = field(init=False)
    """The kind of each vehicle (vehicles of the first fleet first)."""

    def __post_init__(self) -> None:
        self.vehicle_kind = [k for k, kind in enumerate(self.kinds) for _ in range(kind.count)]

    @property
    def horizon(self) -> int | None:
        return self.options.horizon

    @property
    def vehicles(self) -> int:
        return len(self.vehicle_kind)

    def kind_of(self, vehicle: int) -> Kind:
        return self.kinds[self.vehicle_kind[vehicle]]

    def vehicle_name(self, vehicle: int) -> str:
        """``buses-3``: the fleet's id and the vehicle's number in it."""
        k = self.vehicle_kind[vehicle]
        return f"{self.kinds[k].fleet.id}-{vehicle - self.vehicle_kind.index(k) + 1}"

    @property
    def total_people(self) -> int:
        return int(self.people.sum())

    @property
    def conditions(self) -> Conditions:
        """Risk of the roads (the same for every fleet: harm does not depend on speed)."""
        return self.kinds[0].conditions


def compile_fleet_problem(net: Network, options: FleetOptions) -> FleetProblem:
    """The data of a fleet plan (raises :class:`QuestionError` for an unknown fleet)."""
    header = net.scenario
    fleets = {f.id: f for f in header.fleets}
    known = ", ".join(sorted(fleets)) or "none"
    faults = [
        Fault(
            "fleet",
            f"unknown fleet {f!r}; this scenario has: {known}",
            item=k if len(options.fleets) > 1 else None,
        )
        for k, f in enumerate(options.fleets)
        if f not in fleets
    ]
    faults += [
        Fault("vehicles", f"{f!r} is not among the fleets asked for", item=None)
        for f in options.vehicles
        if f not in options.fleets
    ]
    if faults or not options.fleets:
        raise QuestionError(
            faults or [Fault("fleet", "name at least one fleet")], detail="unknown fleet"
        )
    excluded = exclusion(net, options.avoid_parties, options.consenting_only)
    policy = net.unknown_policy(options.unknown_risk)
    zone_mask = net.node_kind == SAFE_ZONE
    zones = np.flatnonzero(zone_mask)
    kinds = []
    shared: dict[tuple[float, tuple[str, ...]], Drives] = {}
    for fleet_id in dict.fromkeys(options.fleets):
        fleet = fleets[fleet_id]
        profile = Profile(
            id=f"fleet:{fleet.id}",
            name=fleet.name,
            speed_m_per_min=fleet.speed_m_per_min,
            vehicle=True,
            excluded_statuses=fleet.excluded_statuses,
            source=fleet.source,
        )
        cond = Conditions.build(net, profile, options.at, "survival", policy)
        depot = net.node_index[fleet.depot]
        alike = (fleet.speed_m_per_min, tuple(sorted(fleet.excluded_statuses)))
        if alike not in shared:
            usable = usable_roads(net, cond.usable, excluded.parties)
            shared[alike] = Drives(
                net, np.where(usable, cond.time, np.inf), [], zones, options.extra_lanes
            )
        shared[alike].sources.append(depot)
        count = options.vehicles.get(fleet_id, fleet.count)
        kinds.append(Kind(fleet, count, cond, depot, shared[alike]))
    groups = population_groups(net)
    people_at = people_by_group(net, groups)
    pickups = np.flatnonzero((people_at.sum(axis=1) > 0) & ~zone_mask)
    capacity = net.node_capacity[zones]
    return FleetProblem(
        network=net,
        options=options,
        kinds=kinds,
        groups=groups,
        pickups=pickups,
        people=people_at[pickups],
        zones=zones,
        reception=[int(c) if c > 0 else None for c in capacity.tolist()],
    )


def population_groups(net: Network) -> list[Group]:
    """The scenario's groups in priority order, ``general`` included (last unless listed)."""
    listed = [Group(g.id, g.name, g.needs, g.source) for g in net.scenario.groups]
    if not any(g.id == "general" for g in listed):
        listed.append(Group("general", "Everybody else", "seat", None))
    return listed


def people_by_group(net: Network, groups: list[Group]) -> IntArray:
    """People at every place by group: each group's ``at``, and ``general`` the rest."""
    people = np.zeros((net.n_nodes, len(groups)), dtype=np.int64)
    by_id = {g.id: g for g in net.scenario.groups}
    rest = net.node_population.copy()
    general = next(k for k, g in enumerate(groups) if g.id == "general")
    for k, g in enumerate(groups):
        if g.id == "general":
            continue
        for place, count in by_id[g.id].at.items():
            v = net.node_index[place]
            people[v, k] = count
            rest[v] -= count
    people[:, general] = rest
    return people
