"""Exact evacuation over a horizon: maximum flow on the time-expanded network.

Definition. For a horizon of ``H`` minutes, node ``v`` has a copy ``(v, t)`` for
each minute ``t``; a road ``u → v`` of time ``τ`` and capacity ``c`` joins
``(u, t)`` to ``(v, t + τ)`` with capacity ``c``; waiting joins ``(v, t)`` to
``(v, t + 1)`` with the node's capacity; arriving at a safe zone ends the
journey (its reception limits the total). The most people evacuated by ``H``
is the maximum flow of that network (Ford & Fulkerson's time-expanded network).

Everybody counts against a node's capacity, including residents who stay home.
So the flow is taken relative to "everybody stays home": a populated node with a
finite capacity keeps ``capacity − population`` for waiting newcomers, and a
backward arc in time (capacity ``population``) lets a resident leave at any
minute, which frees the room. Every flow of this network plus "everybody stays
home" is a plan that keeps every node within capacity, and conversely.

Waiting. Maximum-flow solvers push along paths of few arcs, so a wait of 20
minutes (20 arcs) looks longer to them than a walk around a loop (2 arcs), and
the flows they return make people wander. Where a node's capacity is unbounded,
extra waiting arcs of 4, 32, 256… minutes (unbounded too) change no optimum but
make waiting short in arcs; at 1,000 nodes this cut the road entries per evacuee
from hundreds to about 13. Loops that remain are tidied afterwards
(:mod:`app.domain.plans.loops`).

Size. Copies that nobody can reach in time (before the earliest minute anybody
can be there) or from which no safe zone can be reached by ``H`` are left out.
The network is built with numpy and solved with OR-Tools' push-relabel maximum
flow (about 5× faster than scipy's Dinic at a million arcs, 25× at ten million,
see benchmarks/README-plans.md).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
from ortools.graph.python import max_flow

from app.domain.network.graph import BoolArray, IntArray
from app.domain.plans.kernel import kernel
from app.domain.plans.model import UNREACHABLE, FlowModel

SKIP_FIRST, SKIP_FACTOR = 4, 8
"""Waiting arcs of 4, 32, 256… minutes at unbounded nodes (see :func:`solve_horizon`)."""


@dataclass(frozen=True)
class Movement:
    """A group of people moving together: the roads they take and when they enter each.

    ``arcs`` index the model's usable arcs; ``enter`` is the minute each road is
    entered; ``arrive`` the minute they reach the last node (``None`` for people
    who do not reach a safe zone within the horizon).
    """

    count: int
    nodes: tuple[int, ...]
    arcs: tuple[int, ...]
    enter: tuple[int, ...]
    arrive: int | None


@dataclass
class Layout:
    """Which node copies exist: ``(v, t)`` for ``lo[v] ≤ t ≤ hi[v]``, numbered from ``base[v]``."""

    horizon: int
    lo: IntArray
    hi: IntArray
    base: IntArray
    n_copies: int
    road_count: IntArray
    """Copies of each arc in the expanded network."""


def layout(model: FlowModel, horizon: int) -> Layout:
    lo = model.from_people
    hi = horizon - np.minimum(model.to_zone, UNREACHABLE // 2)
    kept = (lo < UNREACHABLE) & (lo <= hi)
    counts = np.where(kept, hi - lo + 1, 0)
    base = np.cumsum(counts) - counts
    u, v = model.arc_tail, model.arc_head
    road = np.where(kept[u] & kept[v], hi[v] - model.arc_time - lo[u] + 1, 0)
    return Layout(horizon, lo, hi, base, int(counts.sum()), np.maximum(road, 0))


def expanded_arcs(model: FlowModel, horizon: int) -> int:
    """Number of arcs of the expanded network for ``horizon`` (without building it)."""
    lay = layout(model, horizon)
    kept = (lay.lo < UNREACHABLE) & (lay.lo <= lay.hi)
    span = np.where(kept, lay.hi - lay.lo, 0)
    bounded = np.zeros(model.n_nodes, dtype=bool)
    bounded[_bounded_homes(model)] = True
    wait_cap = np.where(bounded, model.node_cap - model.population, model.node_cap)
    waiting = int(span[kept & ~model.is_zone & (wait_cap > 0)].sum())
    back = int(span[bounded & kept].sum())
    zones = kept & model.is_zone
    limited = int((zones & (model.reception < model.big)).sum())
    free = span[kept & ~model.is_zone & (model.node_cap >= model.big)]
    skips, step = 0, SKIP_FIRST
    while len(free) and step <= int(free.max()):
        skips += int(np.maximum(free - step + 1, 0).sum())
        step *= SKIP_FACTOR
    people = int(((model.population > 0) & kept).sum())
    road = int(lay.road_count.sum())
    return road + waiting + back + int((span[zones] + 1).sum()) + limited + skips + people


def _bounded_homes(model: FlowModel) -> IntArray:
    return np.flatnonzero((model.population > 0) & (model.node_cap < model.big))


def _ranges(start: IntArray, count: IntArray) -> tuple[IntArray, IntArray]:
    """For each i, the values start[i] … start[i] + count[i] − 1: (group, value) arrays."""
    group = np.repeat(np.arange(len(count), dtype=np.int64), count)
    first = np.cumsum(count) - count
    value = np.arange(int(count.sum()), dtype=np.int64) - np.repeat(first - start, count)
    return group, value


@dataclass
class Solution:
    """The maximum flow for one horizon: how many get out, and when."""

    horizon: int
    evacuated: int
    arcs: int
    """Size of the expanded network (arcs)."""
    received_per_min: IntArray
    """People reaching a safe zone at each minute 0…horizon."""
    cells: tuple[IntArray, IntArray, IntArray] | None = None
    """(arc, minute, people) for each road entry of the flow, when kept."""
    receptions: tuple[IntArray, IntArray, IntArray] | None = None
    """(zone node, minute, people) received, when kept."""
    state: tuple[IntArray, IntArray] | None = None
    """(arc key, people) of every arc with flow: lets a longer horizon start from this flow."""


# Arc kinds of the expanded network. An arc is known across horizons by
# (kind, road or node, minute): see :func:`_expanded`.
# The waiting arcs of 4, 32, 256… minutes are kinds _SKIP, _SKIP + 1, …
_ROAD, _WAIT, _BACK, _PEOPLE, _ZONE, _COLLECT, _SKIP = range(7)
_KEY_MINUTES = 1 << 24
"""Minutes' room in an arc key (far above any horizon the size limits let through)."""


@dataclass
class _Expanded:
    """The time-expanded network for one horizon, as arrays (see module docstring)."""

    tail: IntArray
    head: IntArray
    cap: IntArray
    key: IntArray
    """Identity of each arc, the same for every horizon: ``(kind·E + entity)·2²⁴ + minute``
    (see :func:`_entities`)."""
    source: int
    sink: int
    n_road: int
    """Road copies come first."""
    zone: tuple[int, int]
    """Slice of the arcs into the safe zones' sink (or collectors)."""
    zone_node: IntArray
    zone_minute: IntArray
    people: tuple[int, int]
    """Slice of the arcs from the source to the people."""
    people_node: IntArray
    back: tuple[int, int]
    """Slice of the arcs back in time at homes with a bounded capacity."""


def _entities(model: FlowModel) -> int:
    """E of the arc keys: more than any road or node index."""
    return max(model.n_nodes, len(model.arc_tail)) + 1


def _expanded(model: FlowModel, horizon: int) -> _Expanded:
    """Build the expanded network for ``horizon``.

    Road copies come first, so that flow index k of a road copy is recoverable from
    ``layout().road_count``; the arcs into the sink last.
    """
    if horizon + 1 >= _KEY_MINUTES:
        raise ValueError(f"a horizon of {horizon} minutes is beyond the arc keys' range")
    lay = layout(model, horizon)
    n = model.n_nodes
    lo, hi, base = lay.lo, lay.hi, lay.base
    source, sink = lay.n_copies, lay.n_copies + 1
    next_id = lay.n_copies + 2
    n_ent = _entities(model)
    tails: list[IntArray] = []
    heads: list[IntArray] = []
    caps: list[IntArray] = []
    keys: list[IntArray] = []

    def add(
        kind: int, entity: IntArray, minute: IntArray | int, tail: Any, head: Any, cap: Any
    ) -> None:
        size = len(entity)
        tails.append(np.broadcast_to(np.asarray(tail, dtype=np.int32), (size,)))
        heads.append(np.broadcast_to(np.asarray(head, dtype=np.int32), (size,)))
        caps.append(np.broadcast_to(np.asarray(cap, dtype=np.int64), (size,)))
        keys.append((kind * n_ent + entity) * _KEY_MINUTES + minute)

    shift = base - np.minimum(lo, UNREACHABLE // 2)  # copy (v, t) is number shift[v] + t

    def copy(v: IntArray, t: IntArray | int) -> IntArray:
        out: IntArray = shift[v] + t
        return out

    u, v = model.arc_tail, model.arc_head
    a, t = _ranges(lo[u], lay.road_count)
    add(_ROAD, a, t, copy(u[a], t), copy(v[a], t + model.arc_time[a]), model.arc_cap[a])
    n_road = len(a)

    kept = (lo < UNREACHABLE) & (lo <= hi)
    span = np.where(kept, hi - lo, 0)
    bounded = np.zeros(n, dtype=bool)
    bounded[_bounded_homes(model)] = True
    wait_cap = np.where(bounded, model.node_cap - model.population, model.node_cap)
    waiters = np.flatnonzero(kept & ~model.is_zone & (wait_cap > 0))
    w, t = _ranges(lo[waiters], span[waiters])
    add(_WAIT, waiters[w], t, copy(waiters[w], t), copy(waiters[w], t + 1), wait_cap[waiters[w]])
    # Long waits in few arcs where the node is unbounded (same optimum; see module docstring).
    free = np.flatnonzero(kept & ~model.is_zone & (model.node_cap >= model.big))
    step, k = SKIP_FIRST, 0
    while len(free) and step <= int(span[free].max(initial=0)):
        longer = free[span[free] >= step]
        w, t = _ranges(lo[longer], span[longer] - step + 1)
        add(_SKIP + k, longer[w], t, copy(longer[w], t), copy(longer[w], t + step), model.big)
        step, k = step * SKIP_FACTOR, k + 1
    homes = np.flatnonzero(bounded & kept)
    w, t = _ranges(lo[homes], span[homes])
    first_back = sum(len(x) for x in keys)
    add(_BACK, homes[w], t, copy(homes[w], t + 1), copy(homes[w], t), model.population[homes[w]])

    people = np.flatnonzero((model.population > 0) & kept)
    entry = np.where(bounded[people], hi[people], lo[people])
    first_people = sum(len(x) for x in keys)
    add(_PEOPLE, people, 0, source, copy(people, entry), model.population[people])

    zones = np.flatnonzero(model.is_zone & kept)
    z, zt = _ranges(lo[zones], span[zones] + 1)
    limited = model.reception[zones] < model.big
    collector = np.full(len(zones), sink, dtype=np.int64)
    collector[limited] = next_id + np.arange(int(limited.sum()))
    first_zone = sum(len(x) for x in keys)
    add(_ZONE, zones[z], zt, copy(zones[z], zt), collector[z], model.big)
    add(_COLLECT, zones[limited], 0, collector[limited], sink, model.reception[zones[limited]])
    return _Expanded(
        tail=np.concatenate(tails),
        head=np.concatenate(heads),
        cap=np.concatenate(caps),
        key=np.concatenate(keys),
        source=source,
        sink=sink,
        n_road=n_road,
        zone=(first_zone, first_zone + len(z)),
        zone_node=zones[z],
        zone_minute=zt,
        people=(first_people, first_people + len(people)),
        people_node=people,
        back=(first_back, first_back + len(w)),
    )


def solve_horizon(
    model: FlowModel,
    horizon: int,
    keep_flows: bool = False,
    start: Solution | None = None,
    keep_state: bool = False,
) -> Solution:
    """The most people evacuated within ``horizon`` minutes (exact), optionally with the flow.

    ``start``: a solution for a shorter horizon kept with ``keep_state``. Its
    network is part of this one, so its flow is a valid start: only what it lacks
    is searched for (on the residual network), which is much faster than solving
    from nothing when the horizons are close. The answer is as exact either way.
    """
    net = _expanded(model, horizon)
    m = len(net.key)
    solver = max_flow.SimpleMaxFlow()
    if start is None:
        flow0 = None
        back = np.zeros(0, dtype=np.int64)
        solver.add_arcs_with_capacity(net.tail, net.head, net.cap)
    else:
        if start.state is None or start.horizon >= horizon:
            raise ValueError("a start needs the kept state of a shorter horizon")
        flow0 = _carried_flow(model, net, start)
        back = np.flatnonzero(flow0 > 0)
        solver.add_arcs_with_capacity(
            np.concatenate([net.tail, net.head[back]]),
            np.concatenate([net.head, net.tail[back]]),
            np.concatenate([net.cap - flow0, flow0[back]]),
        )
    net.tail = net.head = net.cap = np.zeros(0, dtype=np.int64)  # the solver has its copy
    status = solver.solve(net.source, net.sink)
    if status != solver.OPTIMAL:  # pragma: no cover - capacities are bounded by `big`
        raise RuntimeError(f"maximum flow failed: {status}")
    flows = np.asarray(solver.flows(np.arange(m + len(back))), dtype=np.int64)
    del solver
    flow = flows[:m]
    if flow0 is not None:
        flow += flow0
        flow[back] -= flows[m:]
        del flow0
    p0, p1 = net.people
    value = int(flow[p0:p1].sum())
    z0, z1 = net.zone
    zflow = flow[z0:z1]
    received = np.zeros(horizon + 1, dtype=np.int64)
    np.add.at(received, net.zone_minute, zflow)
    solution = Solution(horizon, value, m, received)
    if keep_flows:
        road = flow[: net.n_road]
        used = np.flatnonzero(road > 0)
        key = net.key[used]  # kind _ROAD (0): the road's index, then the minute
        solution.cells = (key // _KEY_MINUTES, key % _KEY_MINUTES, road[used])
        got = np.flatnonzero(zflow > 0)
        solution.receptions = (net.zone_node[got], net.zone_minute[got], zflow[got])
    if keep_state:
        has = np.flatnonzero(flow > 0)
        order = np.argsort(net.key[has])
        solution.state = (net.key[has][order], flow[has][order])
    return solution


def _carried_flow(model: FlowModel, net: _Expanded, start: Solution) -> IntArray:
    """``start``'s flow on this (longer) horizon's arcs: arcs of both keep their flow."""
    assert start.state is not None
    keys, amounts = start.state
    at = np.minimum(np.searchsorted(keys, net.key), max(len(keys) - 1, 0))
    flow = np.zeros(len(net.key), dtype=np.int64)
    if len(keys):
        hit = keys[at] == net.key
        flow[hit] = amounts[at[hit]]
    # Residents of a bounded home enter at its last copy, which is later now, and go back
    # in time to where the shorter horizon let them in: the new arcs back in time carry them.
    b0, b1 = net.back
    if b1 > b0:
        p0, p1 = net.people
        left = np.zeros(model.n_nodes, dtype=np.int64)
        left[net.people_node] = flow[p0:p1]
        node = (net.key[b0:b1] // _KEY_MINUTES) % _entities(model)
        minute = net.key[b0:b1] % _KEY_MINUTES
        new = minute >= start.horizon - model.to_zone[node]
        flow[b0:b1][new] += left[node[new]]
    return flow


def decompose(model: FlowModel, solution: Solution) -> tuple[list[Movement], list[Movement]]:
    """Split a flow into groups of people: (evacuated groups, stranded groups that moved).

    A forward sweep over the minutes: people wait at a node in arrival order
    (first come, first served) and leave as the flow says; residents are there
    from minute 0. Any split consistent with the flow's counts is valid, because
    the counts already respect every capacity. Stranded people who never left home
    are not listed.
    """
    assert solution.cells is not None and solution.receptions is not None
    tree, done_pid, done_count, left_pid, left_count = _sweep(model, solution)
    parent, via, entered, where = tree
    ends = np.concatenate([done_pid, left_pid])
    paths = kernel.walk_back(ends, parent, via, entered, where)
    arrive = (entered[done_pid] + model.arc_time[via[done_pid]]).tolist()
    evacuated = [
        Movement(c, *path, t)
        for c, path, t in zip(done_count.tolist(), paths, arrive, strict=False)
    ]
    stranded = [
        Movement(c, *path, None)
        for c, path in zip(left_count.tolist(), paths[len(done_pid) :], strict=True)
    ]
    evacuated.sort(key=lambda mv: (mv.enter[0], mv.nodes[0], mv.arrive or 0, mv.nodes))
    return evacuated, stranded


def _sweep(
    model: FlowModel, solution: Solution
) -> tuple[tuple[IntArray, IntArray, IntArray, IntArray], IntArray, IntArray, IntArray, IntArray]:
    """The forward sweep of :func:`decompose`, one numpy step per minute.

    Journeys are numbered as they start: residents first (by node), then each minute
    the groups leaving by road, by road and then in queue order. A node's queue is
    in order of arrival minute, then journey number; each minute its safe-zone
    reception takes from the front first, then its roads in order.

    Returns the prefix tree (parent journey, road, minute entered, node reached per
    journey), the evacuated journeys with their people (in order of first reception)
    and the stranded ones that moved (by when their node's queue was first used,
    then queue order).
    """
    assert solution.cells is not None and solution.receptions is not None
    n = model.n_nodes
    tail, head, time = model.arc_tail, model.arc_head, model.arc_time
    big = np.iinfo(np.int64).max
    homes = np.flatnonzero(model.population > 0)
    parents = [np.full(len(homes), -1, dtype=np.int64)]
    vias = [np.full(len(homes), -1, dtype=np.int64)]
    enters = [np.full(len(homes), -1, dtype=np.int64)]
    wheres = [homes]
    next_id = len(homes)
    # Queue items: node, arrival minute, journey, people; kept sorted in that order.
    q_node, q_arr = homes, np.full(len(homes), -1, dtype=np.int64)
    q_pid, q_cnt = np.arange(len(homes), dtype=np.int64), model.population[homes]
    # When each node's queue was first used: (minute, phase, rank) as in the sweep.
    used = np.full((n, 3), big, dtype=np.int64)
    used[homes] = np.stack([np.full(len(homes), -1), np.zeros(len(homes)), homes], axis=1)
    pending: dict[int, list[tuple[IntArray, IntArray, IntArray]]] = defaultdict(list)
    done_pid: list[IntArray] = []
    done_cnt: list[IntArray] = []

    arc, minute, count = solution.cells
    by_min = np.argsort(minute, kind="stable")
    arc, minute, count = arc[by_min], minute[by_min], count[by_min]
    z_node, z_min, z_count = solution.receptions
    by_min = np.argsort(z_min, kind="stable")
    z_node, z_min, z_count = z_node[by_min], z_min[by_min], z_count[by_min]
    cell_at = np.searchsorted(minute, np.arange(solution.horizon + 2))
    zone_at = np.searchsorted(z_min, np.arange(solution.horizon + 2))

    node_start = np.zeros(n, dtype=np.int64)
    """Scratch (only entries of the current minute's nodes are read)."""

    def touch(m: int, phase: int, nodes: IntArray, rank: IntArray) -> None:
        fresh = used[nodes, 0] == big
        if fresh.any():
            nodes, rank = nodes[fresh], rank[fresh]
            order = np.lexsort((rank, nodes))
            nodes, rank = nodes[order], rank[order]
            first = _starts(nodes)
            used[nodes[first]] = np.stack(
                [np.full(int(first.sum()), m), np.full(int(first.sum()), phase), rank[first]],
                axis=1,
            )

    for m in range(solution.horizon + 1):
        arrivals = pending.pop(m, [])
        if arrivals:
            a_node = np.concatenate([x[0] for x in arrivals])
            a_pid = np.concatenate([x[1] for x in arrivals])
            a_cnt = np.concatenate([x[2] for x in arrivals])
            touch(m, 0, a_node, a_pid)
            # Newcomers join the back of their node's queue (the pool stays in queue order).
            order = np.lexsort((a_pid, a_node))
            a_node, a_pid, a_cnt = a_node[order], a_pid[order], a_cnt[order]
            at_back = np.searchsorted(q_node, a_node, side="right")
            q_node = np.insert(q_node, at_back, a_node)
            q_arr = np.insert(q_arr, at_back, m)
            q_pid = np.insert(q_pid, at_back, a_pid)
            q_cnt = np.insert(q_cnt, at_back, a_cnt)
        zs, ze = int(zone_at[m]), int(zone_at[m + 1])
        cs, ce = int(cell_at[m]), int(cell_at[m + 1])
        if zs == ze and cs == ce:
            continue
        touch(m, 1, z_node[zs:ze], z_node[zs:ze])
        touch(m, 2, tail[arc[cs:ce]], arc[cs:ce])
        # Demands: receptions (road −1) before the node's roads, roads in order.
        d_node = np.concatenate([z_node[zs:ze], tail[arc[cs:ce]]])
        d_road = np.concatenate([np.full(ze - zs, -1, dtype=np.int64), arc[cs:ce]])
        d_amt = np.concatenate([z_count[zs:ze], count[cs:ce]])
        order = np.lexsort((d_road, d_node))
        d_node, d_road, d_amt = d_node[order], d_road[order], d_amt[order]
        asked = d_node[_starts(d_node)]
        front = np.searchsorted(q_node, asked, side="left")
        sel = _ranges(front, np.searchsorted(q_node, asked, side="right") - front)[1]
        i_node, i_cnt = q_node[sel], q_cnt[sel]
        i_end = np.cumsum(i_cnt)
        i_start = i_end - i_cnt
        node_first = _starts(i_node)
        node_start[i_node[node_first]] = i_start[node_first]
        d_cum = np.cumsum(d_amt)
        d_group = np.cumsum(_starts(d_node)) - 1
        d_first = np.flatnonzero(_starts(d_node))
        d_end = node_start[d_node] + d_cum - (d_cum[d_first] - d_amt[d_first])[d_group]
        d_start = d_end - d_amt
        # Every start is 0 or some end; the ends come in sorted runs (a stable sort merges them).
        points = np.sort(np.concatenate([[0], i_end, d_end]), kind="stable")
        points = points[_starts(points)]
        lo, size = points[:-1], np.diff(points)
        j = np.searchsorted(d_end, lo, side="right")
        taken = j < len(d_end)
        taken[taken] &= d_start[j[taken]] <= lo[taken]
        lo, size, j = lo[taken], size[taken], j[taken]
        i = np.searchsorted(i_end, lo, side="right")
        q_cnt[sel] -= np.bincount(i, weights=size, minlength=len(sel)).astype(np.int64)
        road = d_road[j]
        got = road < 0
        done_pid.append(q_pid[sel[i[got]]])
        done_cnt.append(size[got])
        go = np.flatnonzero(~got)
        go = go[np.argsort(road[go], kind="stable")]
        a, pid, c = road[go], q_pid[sel[i[go]]], size[go]
        ids = next_id + np.arange(len(go), dtype=np.int64)
        next_id += len(go)
        parents.append(pid)
        vias.append(a)
        enters.append(np.full(len(go), m, dtype=np.int64))
        wheres.append(head[a])
        at = m + time[a]
        by_at = np.argsort(at, kind="stable")
        cut = [*np.flatnonzero(_starts(at[by_at])).tolist(), len(at)]
        for lo_, hi_ in pairwise(cut if len(at) else []):
            here = by_at[lo_:hi_]
            pending[int(at[here[0]])].append((head[a][here], ids[here], c[here]))
        if (q_cnt[sel] == 0).any():
            keep = q_cnt > 0
            q_node, q_arr, q_pid, q_cnt = q_node[keep], q_arr[keep], q_pid[keep], q_cnt[keep]

    tree = (
        np.concatenate(parents),
        np.concatenate(vias),
        np.concatenate(enters),
        np.concatenate(wheres),
    )
    d_pid = np.concatenate(done_pid) if done_pid else np.zeros(0, dtype=np.int64)
    d_cnt = np.concatenate(done_cnt) if done_cnt else np.zeros(0, dtype=np.int64)
    uniq, first, inverse = np.unique(d_pid, return_index=True, return_inverse=True)
    total = np.bincount(inverse, weights=d_cnt, minlength=len(uniq)).astype(np.int64)
    order = np.argsort(first, kind="stable")
    moved = tree[1][q_pid] >= 0
    q_node, q_arr, q_pid, q_cnt = q_node[moved], q_arr[moved], q_pid[moved], q_cnt[moved]
    u = used[q_node]
    left = np.lexsort((q_pid, q_arr, u[:, 2], u[:, 1], u[:, 0]))
    return tree, uniq[order], total[order], q_pid[left], q_cnt[left]


def _starts(values: IntArray) -> BoolArray:
    """Where a run of equal values begins (``values`` non-empty, sorted into runs)."""
    out = np.empty(len(values), dtype=bool)
    out[:1] = True
    np.not_equal(values[1:], values[:-1], out=out[1:])
    return out
