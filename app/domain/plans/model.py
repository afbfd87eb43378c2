"""The evacuation model (SPEC §1, §3 PLAN) compiled to integer arrays, with its bounds.

Time is counted in whole minutes from the start of the plan. A road admits at
most ``capacity_per_min`` × the profile's ``capacity_factor`` entries per minute
per direction (floored to whole people) and takes its travel time rounded up to
whole minutes, at least 1. A node holds at most ``capacity`` people from one
minute to the next (everybody there counts: residents who have not left yet and
people in transit). People start at nodes with ``population`` and are evacuated
when they reach a ``safe_zone``; a safe zone with a ``capacity`` receives at most
that many people in total. People already in a safe zone are not counted: they
need not move. Nobody waits at a safe zone without being received (they may pass
through a full one on their way to another).

:class:`FlowModel` holds what the optimal and fast planners share: usable arcs
with integer times and capacities, node capacities, people, safe zones, the
shortest times from people and to safe zones, the most people that can ever be
evacuated, and lower bounds on the egress time.
"""

from __future__ import annotations

import copy
import math
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from threading import Lock

import numpy as np
from ortools.graph.python import max_flow

from app.domain.network.graph import BoolArray, Conditions, FloatArray, IntArray, Network
from app.domain.plans.kernel import kernel
from app.domain.routes.holdings import exclusion, usable_roads
from app.domain.scenario.columns import NODE_KINDS, ROAD_STATUSES

UNREACHABLE = np.iinfo(np.int64).max // 4
"""Distance (minutes) standing for "cannot be reached"."""


@dataclass
class ModelOptions:
    """What restricts the roads of one plan."""

    profile: str | None = None
    avoid_parties: tuple[str, ...] = ()
    consenting_only: bool = False
    max_risk: float | None = None
    open_edges: frozenset[int] = frozenset()
    """Blocked roads to treat as open (used to price openings)."""
    open_parties: frozenset[str] = frozenset()
    """Parties whose roads are not excluded even if avoided or not consenting."""
    lifted_checkpoints: frozenset[int] = frozenset()
    """Roads planned as if they had no checkpoint: without its extra risk, and its party
    no longer holding them (used to price lifting a checkpoint)."""
    capacity_factor_edges: tuple[tuple[int, float], ...] = ()
    """``(road, factor)``: the road's ``capacity_per_min`` multiplied by ``factor`` (used
    to price more capacity at a bottleneck)."""


def excluded_parties(net: Network, options: ModelOptions) -> set[str]:
    """Parties whose roads and places this plan does not use (avoided, or not consenting),
    less those opened (:func:`~app.domain.routes.holdings.exclusion`)."""
    excluded = exclusion(net, options.avoid_parties, options.consenting_only, options.open_parties)
    return set(excluded.parties)


def road_mask(cond: Conditions, options: ModelOptions, roads: IntArray | None = None) -> BoolArray:
    """Roads a plan may use: the profile's usable roads (and the blocked roads opened), less
    those involving an excluded party (:func:`~app.domain.routes.holdings.usable_roads`:
    its roads, checkpoints and places, so its people stay and nobody passes its ground),
    less those above the risk limit. Every rule is per road: with ``roads``, the answer for
    those roads only."""
    net = cond.network
    sel = slice(None) if roads is None else roads
    usable = cond.usable[sel].copy()
    for e in options.open_edges:
        usable[_position(roads, e)] = _usable_if_open(cond, e)
    usable = usable_roads(net, usable, excluded_parties(net, options), roads)
    if options.max_risk is not None:
        usable &= cond.risk[sel] <= options.max_risk + 1e-12
    return usable


def _position(roads: IntArray | None, road: int) -> int | BoolArray:
    """Where ``road`` is in an array of every road (``roads`` None) or of ``roads``."""
    return road if roads is None else roads == road


def _usable_if_open(cond: Conditions, e: int) -> bool:
    """Whether road ``e`` would be usable by the profile if it were not blocked."""
    net, profile = cond.network, cond.profile
    status = ROAD_STATUSES[int(net.edge_status[e])]
    if status != "blocked" and status in profile.excluded_statuses:
        return False
    if profile.vehicle and not net.edge_vehicle[e]:
        return False
    return bool(cond.risk[e] < 1.0)


@dataclass
class FlowModel:
    """One plan's network as integer arrays. Arc arrays are indexed by usable arc."""

    network: Network
    conditions: Conditions
    options: ModelOptions
    arc_tail: IntArray
    arc_head: IntArray
    arc_edge: IntArray
    arc_time: IntArray
    """Travel time per arc, whole minutes (≥ 1)."""
    arc_cap: IntArray
    """Entries per minute per arc; ``big`` stands for unbounded."""
    node_cap: IntArray
    """People a node holds from one minute to the next; ``big`` for unbounded."""
    population: IntArray
    """People to evacuate per node (0 at safe zones)."""
    is_zone: BoolArray
    reception: IntArray
    """People a safe zone receives in total; ``big`` for unbounded (0 elsewhere)."""
    big: int
    """A capacity no plan can reach: the number of people plus one."""
    arc_index: IntArray
    """Each arc's position among the network's arcs (``network.arc_tail`` …): the arcs of
    two models of one network are compared by it."""

    @cached_property
    def to_zone(self) -> IntArray:
        """Shortest time (minutes) from each node to a safe zone."""
        return least_minutes(self, np.flatnonzero(self.is_zone), backwards=True)

    @cached_property
    def from_people(self) -> IntArray:
        """Earliest minute at which anybody can be at each node."""
        return least_minutes(self, np.flatnonzero(self.population > 0), backwards=False)

    @cached_property
    def network_arc_time(self) -> IntArray:
        """Minutes of each of the network's arcs in this model (−1: not one of its arcs)."""
        time = np.full(len(self.network.arc_tail), -1, dtype=np.int64)
        time[self.arc_index] = self.arc_time
        return time

    @cached_property
    def min_cut(self) -> IntArray:
        """Arcs of a minimum cut from people to safe zones (:func:`_min_cut_arcs`), found
        once per model: both bounds of a plan read it."""
        return _min_cut_arcs(self)

    @property
    def total_population(self) -> int:
        return int(self.population.sum())

    @property
    def n_nodes(self) -> int:
        return self.network.n_nodes


def entries_per_minute(
    cond: Conditions, factors: Iterable[tuple[int, float]] = (), roads: IntArray | None = None
) -> FloatArray:
    """People entering each road per minute, per direction, as plans count them:
    ``capacity_per_min`` × the profile's ``capacity_factor``, floored (``inf``: unbounded).
    ``factors``: (road, factor) pairs multiplying some roads' capacity (a concession).
    With ``roads``: for those roads only."""
    capacity = cond.network.edge_capacity
    if roads is not None:
        capacity = capacity[roads]
    factors = list(factors)
    if factors:
        capacity = capacity.copy()
        for e, factor in factors:
            capacity[_position(roads, e)] *= factor
    entries: FloatArray = np.floor(capacity * cond.profile.capacity_factor + 1e-9)
    return entries


def whole_minutes(minutes: FloatArray) -> IntArray:
    """Travel times as plans count them: rounded up to whole minutes, at least 1."""
    whole: IntArray = np.maximum(np.ceil(minutes - 1e-9), 1).astype(np.int64)
    return whole


def compile_model(net: Network, cond: Conditions, options: ModelOptions) -> FlowModel:
    """The plan's :class:`FlowModel` under ``cond`` (profile, time) and ``options``."""
    if options.lifted_checkpoints:
        net, cond = without_checkpoints(cond, options.lifted_checkpoints)
    usable = road_mask(cond, options)
    cap_edge = entries_per_minute(cond, options.capacity_factor_edges)
    ok = usable[net.arc_edge] & (cap_edge[net.arc_edge] >= 1)
    is_zone = net.node_kind == NODE_KINDS.index("safe_zone")
    population = net.node_population.astype(np.int64)  # a copy: zones are zeroed below
    population[is_zone] = 0
    big = int(population.sum()) + 1
    arc_edge = net.arc_edge[ok]
    time = whole_minutes(cond.time[arc_edge])
    cap = np.minimum(cap_edge[arc_edge], big).astype(np.int64)
    given = net.node_capacity
    node_cap = np.where(given > 0, np.minimum(given, big), big).astype(np.int64)
    reception = np.where(is_zone, node_cap, 0).astype(np.int64)
    return FlowModel(
        network=net,
        conditions=cond,
        options=options,
        arc_tail=net.arc_tail[ok],
        arc_head=net.arc_head[ok],
        arc_edge=arc_edge,
        arc_index=np.flatnonzero(ok),
        arc_time=time,
        arc_cap=cap,
        node_cap=node_cap,
        population=population,
        is_zone=is_zone,
        reception=reception,
        big=big,
    )


@dataclass(frozen=True)
class RoadChange:
    """How the model of other options differs from a base model on one road
    (:func:`road_change`)."""

    arcs: IntArray
    """The road's arcs (positions among the network's) usable under the other options."""
    minutes: IntArray
    """Their travel times, whole minutes."""
    before: IntArray
    """The road's arcs in the base model."""
    risk: float
    """The road's probability of harm or detention under the other options."""

    @property
    def same_arcs(self) -> bool:
        return np.array_equal(self.arcs, self.before)

    @property
    def adds_only(self) -> bool:
        """Whether every arc of the road in the base model is kept."""
        return bool(np.isin(self.before, self.arcs).all())

    def added(self) -> tuple[IntArray, IntArray]:
        """The arcs not in the base model, and their minutes."""
        new = ~np.isin(self.arcs, self.before)
        return self.arcs[new], self.minutes[new]

    def to_zone(self, net: Network, before: IntArray, nodes: IntArray) -> IntArray:
        """Least minutes to a safe zone from ``nodes`` (ends of the road) once it has
        :attr:`arcs`, where ``before`` are the base model's (``to_zone``), every other
        road's arcs kept: a way that leaves an end by the road and comes back by it is
        longer than staying, so only one of the road's arcs can start it."""
        out = before[nodes].copy()
        for a, t in zip(self.arcs.tolist(), self.minutes.tolist(), strict=True):
            here = nodes == net.arc_tail[a]
            out[here] = np.minimum(out[here], t + before[net.arc_head[a]])
        return out


def road_change(
    base: FlowModel,
    options: ModelOptions,
    road: int,
    lifted: tuple[Network, Conditions] | None = None,
) -> RoadChange:
    """How the model of ``options`` differs from ``base`` on ``road``, where ``options`` are
    ``base``'s with that road opened (``open_edges``) or its checkpoint lifted
    (``lifted_checkpoints``): every other road then keeps its arcs, minutes and capacities,
    for each rule that makes them (:func:`road_mask`, :func:`entries_per_minute`,
    :class:`~app.domain.network.graph.Conditions`) is per road. Found for the road alone,
    where :func:`compile_model` makes every arc of the network (millions on a city);
    ``tests/domain/test_concessions.py`` checks it against the compiled models.

    ``lifted``: a network and its conditions (:func:`without_checkpoints`) with this road's
    checkpoint lifted and maybe others': per road, the figures are the same, so one serves
    every checkpoint a ranking considers lifting."""
    net, cond = base.network, base.conditions
    if options.lifted_checkpoints != base.options.lifted_checkpoints:
        if lifted is None:
            lifted = without_checkpoints(cond, options.lifted_checkpoints)
        net, cond = lifted
        assert net.edge_checkpoint[road] < 0 or road not in options.lifted_checkpoints
    roads = np.array([road], dtype=np.int64)
    ok = bool(road_mask(cond, options, roads)[0])
    ok = ok and bool(entries_per_minute(cond, options.capacity_factor_edges, roads)[0] >= 1)
    mine = arcs_of_road(net, road)
    at = np.searchsorted(base.arc_index, mine)
    inside = at < len(base.arc_index)
    before = mine[inside][base.arc_index[at[inside]] == mine[inside]]
    arcs = mine if ok else mine[:0]
    minutes = np.full(len(arcs), int(whole_minutes(cond.time[roads])[0]), dtype=np.int64)
    return RoadChange(arcs, minutes, before, float(cond.risk[road]))


def arcs_of_road(net: Network, road: int) -> IntArray:
    """The network's arcs of ``road`` (one per direction it may be travelled), ascending."""
    found = []
    for node in {int(net.edge_tail[road]), int(net.edge_head[road])}:
        span = np.arange(net.arc_indptr[node], net.arc_indptr[node + 1])
        found.append(span[net.arc_edge[span] == road])
    return np.unique(np.concatenate(found))


def without_checkpoints(cond: Conditions, edges: frozenset[int]) -> tuple[Network, Conditions]:
    """The network as if ``edges`` had no checkpoint, and its conditions for the same
    profile and time (by the same rules as every other: risks, usability).

    A shallow copy of the network with its own checkpoint column; the arrays it shares
    are read-only, and its conditions are made here (from ``cond``: harm and travel times
    do not depend on checkpoints), not cached in the original.
    """
    original = cond.network
    original.arc_by_head, original.arc_rev_indptr  # noqa: B018 - made once, shared by copies
    net = copy.copy(original)
    net.edge_checkpoint = original.edge_checkpoint.copy()
    net.edge_checkpoint[np.fromiter(edges, dtype=np.int64, count=len(edges))] = -1
    net._conditions = OrderedDict()
    net._lock = Lock()
    return net, cond.with_checkpoints_of(net)


def least_minutes(model: FlowModel, sources: IntArray, *, backwards: bool) -> IntArray:
    """Least total minutes from any of ``sources`` to each node along the model's arcs
    (``backwards``: from each node to any of them), :data:`UNREACHABLE` where there is no
    way: the compiled search (``kernel.lower_minutes`` from the sources at 0, every other
    node far) over the network's arcs in compressed rows, the model's with their minutes.
    Of parallel arcs the search takes the quickest; minutes are integers, so the values
    are exact (``tests/domain/test_lower_minutes.py`` checks them against scipy's)."""
    net = model.network
    dist = np.full(model.n_nodes, UNREACHABLE, dtype=np.int64)
    if len(sources) == 0:
        return dist
    dist[sources] = 0
    time = model.network_arc_time
    if backwards:
        kernel.lower_minutes(net.arc_rev_indptr, net.arc_by_head, net.arc_tail, time, dist, sources)
    else:
        kernel.lower_minutes(net.arc_indptr, None, net.arc_head, time, dist, sources)
    return dist


def added_arcs(base: FlowModel, changed: FlowModel) -> IntArray:
    """The arcs of ``changed`` that ``base`` does not have (positions among the network's,
    which two models of one network share), ascending."""
    in_base = np.zeros(len(base.network.arc_tail), dtype=bool)
    in_base[base.arc_index] = True
    added: IntArray = changed.arc_index[~in_base[changed.arc_index]]
    return added


def to_zone_after(base: FlowModel, changed: FlowModel) -> IntArray | None:
    """``changed.to_zone`` found from ``base.to_zone``, when ``changed`` only adds arcs to
    ``base`` (every arc of ``base`` kept with its minutes, the same safe zones); ``None``
    when it does not.

    A node's least minutes can only fall, and only by a way through an added arc: a search
    backwards from the tails of the added arcs they bring nearer goes on only where it
    lowers a node (``kernel.lower_minutes``), so it touches the part of the network a
    concession changes instead of all of it. Minutes are integers: the values are exactly
    those of a whole search (``tests/domain/test_lower_minutes.py``).
    """
    net = base.network
    if (
        changed.network.arc_tail is not net.arc_tail
        or changed.network.arc_head is not net.arc_head
        or not np.array_equal(changed.is_zone, base.is_zone)
    ):
        return None
    time = changed.network_arc_time
    if not np.array_equal(time[base.arc_index], base.arc_time):  # an arc gone, or slower
        return None
    added = added_arcs(base, changed)
    before = base.to_zone
    u, v = net.arc_tail[added], net.arc_head[added]
    reach = before[v] < UNREACHABLE
    u, through = u[reach], time[added][reach] + before[v][reach]
    lower = through < before[u]
    dist = before.copy()
    np.minimum.at(dist, u[lower], through[lower])
    seeds = np.unique(u[lower])
    kernel.lower_minutes(net.arc_rev_indptr, net.arc_by_head, net.arc_tail, time, dist, seeds)
    return dist


def by_pair(n: int, first: IntArray, second: IntArray) -> tuple[IntArray, bool]:
    """The arcs ordered by their (``first``, ``second``) nodes, in their own order where those
    are equal; and whether no two arcs share both (no parallel arcs)."""
    key = first * n + second
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    return order, bool(np.all(ordered[1:] != ordered[:-1]))


def first_of_pairs(first: IntArray, second: IntArray) -> BoolArray:
    """Of arcs ordered by (``first``, ``second``) node, the first of each such pair."""
    firsts: BoolArray = np.r_[True, (first[1:] != first[:-1]) | (second[1:] != second[:-1])]
    return firsts


def most_evacuable(model: FlowModel) -> int:
    """The most people that can ever reach a safe zone, given all the time needed.

    With unlimited time only connectivity and the safe zones' reception limit it:
    a static maximum flow with unbounded roads. When no safe zone limits its reception
    either, that flow is everybody who can reach one (their least minutes to a safe zone,
    which plans find anyway, are finite): no flow is solved.
    """
    n = model.n_nodes
    people = np.flatnonzero(model.population > 0)
    zones = np.flatnonzero(model.is_zone)
    if len(people) == 0 or len(zones) == 0:
        return 0
    if np.all(model.reception[zones] >= model.big):
        reach = model.to_zone[people] < UNREACHABLE
        return int(model.population[people][reach].sum())
    source, sink = n, n + 1
    solver = max_flow.SimpleMaxFlow()
    solver.add_arcs_with_capacity(
        np.concatenate([model.arc_tail, np.full(len(people), source), zones]),
        np.concatenate([model.arc_head, people, np.full(len(zones), sink)]),
        np.concatenate(
            [
                np.full(len(model.arc_tail), model.big),
                model.population[people],
                model.reception[zones],
            ]
        ),
    )
    if solver.solve(source, sink) != solver.OPTIMAL:  # pragma: no cover - cannot happen
        raise RuntimeError("maximum flow failed")
    return int(solver.optimal_flow())


@dataclass
class Bounds:
    """Lower bounds on the minutes needed to evacuate a number of people."""

    distance: int
    """Minutes until the ``count``-th nearest person could reach a safe zone alone."""
    throughput: int
    """Minutes until enough people could have crossed a minimum cut of the roads."""

    @property
    def egress(self) -> int:
        return max(self.distance, self.throughput)


def egress_lower_bound(model: FlowModel, count: int) -> Bounds:
    """Lower bounds on the minutes needed to evacuate ``count`` people (``count`` ≥ 1).

    Distance: the ``count`` people evacuated cannot all be nearer than the
    ``count``-th nearest person. Throughput: every evacuee enters some road of a
    minimum cut (static, people per minute) between the people and the safe zones
    at a minute when it is still possible to get there and on to a safe zone in
    time; the cut's roads admit only so many per minute. Also applied to the cut
    of the roads that end in a safe zone.
    """
    people = np.flatnonzero(model.population > 0)
    d = model.to_zone[people]
    reach = d < UNREACHABLE
    order = np.argsort(d[reach], kind="stable")
    cum = np.cumsum(model.population[people][reach][order])
    k = int(np.searchsorted(cum, count))
    distance = int(d[reach][order][min(k, len(cum) - 1)]) if len(cum) else 0
    throughput = 0
    for arcs in (model.min_cut, np.flatnonzero(model.is_zone[model.arc_head])):
        throughput = max(throughput, _throughput_bound(model, arcs, count))
    return Bounds(distance=distance, throughput=throughput)


def _min_cut_arcs(model: FlowModel) -> IntArray:
    """Arcs of a minimum cut (static capacities per minute) from people to safe zones."""
    n = model.n_nodes
    people = np.flatnonzero(model.population > 0)
    zones = np.flatnonzero(model.is_zone)
    if len(people) == 0 or len(zones) == 0 or len(model.arc_tail) == 0:
        return np.zeros(0, dtype=np.int64)
    source, sink = n, n + 1
    solver = max_flow.SimpleMaxFlow()
    inf = model.big * max(1, len(model.arc_tail))
    solver.add_arcs_with_capacity(
        np.concatenate([model.arc_tail, np.full(len(people), source), zones]),
        np.concatenate([model.arc_head, people, np.full(len(zones), sink)]),
        np.concatenate(
            [
                np.where(model.arc_cap >= model.big, inf, model.arc_cap),
                np.full(len(people), inf),
                np.full(len(zones), inf),
            ]
        ),
    )
    solver.solve(source, sink)
    if solver.optimal_flow() >= inf:
        return np.zeros(0, dtype=np.int64)
    side = np.zeros(n + 2, dtype=bool)
    side[np.asarray(solver.get_source_side_min_cut(), dtype=np.int64)] = True
    return np.flatnonzero(side[model.arc_tail] & ~side[model.arc_head])


def _throughput_bound(model: FlowModel, arcs: IntArray, count: int) -> int:
    """Least horizon T with Σ cap × (entry minutes possible within T) ≥ count over ``arcs``."""
    if len(arcs) == 0 or np.any(model.arc_cap[arcs] >= model.big):
        return 0
    earliest = model.from_people[model.arc_tail[arcs]]
    after = model.arc_time[arcs] + model.to_zone[model.arc_head[arcs]]
    ok = (earliest < UNREACHABLE) & (after < UNREACHABLE)
    if not ok.any():
        return 0
    earliest, after, cap = earliest[ok], after[ok], model.arc_cap[arcs][ok]

    def admitted(horizon: int) -> int:
        return int(np.sum(cap * np.maximum(0, horizon - after - earliest + 1)))

    lo, hi = 0, int(np.min(after + earliest)) + math.ceil(count / int(cap.sum())) + 1
    while admitted(hi) < count:
        hi *= 2
    while lo < hi:
        mid = (lo + hi) // 2
        if admitted(mid) >= count:
            hi = mid
        else:
            lo = mid + 1
    return lo


def evacuable_upper_bound(model: FlowModel, horizon: int, most: int) -> int:
    """At most this many people can be evacuated within ``horizon`` minutes."""
    bound = most
    for arcs in (model.min_cut, np.flatnonzero(model.is_zone[model.arc_head])):
        if len(arcs) == 0 or np.any(model.arc_cap[arcs] >= model.big):
            continue
        earliest = model.from_people[model.arc_tail[arcs]]
        after = model.arc_time[arcs] + model.to_zone[model.arc_head[arcs]]
        ok = (earliest < UNREACHABLE) & (after < UNREACHABLE)
        slots = np.maximum(0, horizon - after[ok] - earliest[ok] + 1)
        bound = min(bound, int(np.sum(model.arc_cap[arcs][ok] * slots)))
    people = np.flatnonzero(model.population > 0)
    near = model.to_zone[people] <= horizon
    return min(bound, int(model.population[people][near].sum()))
