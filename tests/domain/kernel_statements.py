"""The Python statements of the compiled loops (``app/domain/plans/_fast_kernel.pyx``): oracles.

Each function here is the method of one compiled function written in plain Python and
numpy, step for step; the tests check that both give the same answers on random inputs.
The product uses only the compiled loops.

- :func:`fast_movements` (with :func:`place_all`, :func:`place`, :func:`first_slots`):
  ``_fast_kernel.place_all`` and ``journeys``, the reservation loop of the fast plan, over
  routes stored flat (:func:`candidate_routes`) where the kernel walks the trees.
- :func:`untangle_free`: ``_fast_kernel.untangle_free``, loop cutting where nodes have room.
- :func:`journeys`: ``_fast_kernel.walk_back``, groups of an exact plan read from its tree.
- :func:`movement_dict`: ``_fast_kernel.movement_dicts``, a group as in the PLAN document.
- :func:`tree_load`: ``_fast_kernel.tree_load``, the people a shortest-path tree would
  route over each arc (the fast plan's congestion-aware trees).
- :func:`lower_minutes`: ``_fast_kernel.lower_minutes``, least minutes lowered by added
  arcs (a concession's minutes to safe zones from the base plan's).
- :func:`tree`: ``fast.tree_search``, a shortest-path tree, its graph made anew by scipy
  for each tree (``tree_search`` builds its matrix once per plan where it can).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from app.domain.network.graph import FloatArray, IntArray
from app.domain.plans.evacuation import Plan
from app.domain.plans.expanded import Movement
from app.domain.plans.fast import (
    CHECK_EVERY,
    CHUNK,
    OPEN,
    SPAN,
    _by_epoch,
    _reservations,
    candidate_trees,
    wider,
)
from app.domain.plans.model import FlowModel

# --- the fast plan's reservation loop (_fast_kernel.place_all and journeys) ---------------


def fast_movements(
    model: FlowModel,
    horizon: int | None,
    *,
    max_cells: int,
    check: Callable[[int], None] = lambda k: None,
) -> list[Movement]:
    """:func:`app.domain.plans.fast.fast_movements` with the loop below instead of the kernel."""
    start = _reservations(model, horizon, max_cells)
    if start is None:
        return []
    groups, epochs = place_all(
        _Table(model, start.table.width, horizon, max_cells),
        candidate_routes(model, start.trees),
        start.order_rows,
        start.population,
        start.zone_left,
        start.zones,
        lambda: candidate_routes(model, candidate_trees(model, start.zone_left)),
        check,
        CHECK_EVERY,
    )
    out: list[Movement] = []
    for some, routes in _by_epoch(groups, epochs):
        out.extend(movements(model, start.rows, routes, some))
    return out


class _Table:
    """Remaining entries per (arc, minute), a row for every arc (the compiled loop keeps
    rows only for the arcs entered: ``fast._Table``); grows in time when no horizon is set,
    by the same rule (``fast.wider``)."""

    def __init__(self, model: FlowModel, width: int, horizon: int | None, max_cells: int) -> None:
        self.cap = np.minimum(model.arc_cap, int(OPEN)).astype(np.int32)
        self.horizon = horizon
        self.max_cells = max_cells
        self.left = np.repeat(self.cap[:, None], width, axis=1)
        self.first = np.zeros(len(self.cap), dtype=np.int64)

    @property
    def width(self) -> int:
        return int(self.left.shape[1])

    def grow(self, need: int) -> bool:
        width = wider(self.width, need, self.horizon, len(self.cap), self.max_cells)
        if width is None:
            return False
        extra = np.repeat(self.cap[:, None], width - self.width, axis=1)
        self.left = np.concatenate([self.left, extra], axis=1)
        return True


@dataclass
class Routes:
    """Candidate routes, flat: route ``tree * rows + row`` is the ``tree``-th route of
    district ``row`` (a node with people); ``count`` 0 where a tree repeats an earlier
    one or has no route. Its roads are ``arcs[start:start + count]``."""

    arcs: IntArray
    offsets: IntArray
    """Minutes from departure to entering each road."""
    start: IntArray
    count: IntArray
    length: IntArray
    """Minutes from departure to arrival."""
    zone: IntArray
    hint: IntArray
    """No departure before this minute has room (the table only fills up)."""
    trees: int
    rows: int

    def roads(self, route: int) -> tuple[IntArray, IntArray]:
        s, c = int(self.start[route]), int(self.count[route])
        return self.arcs[s : s + c], self.offsets[s : s + c]


def filled(table: _Table, arcs: IntArray) -> None:
    """Move ``first`` past full minutes for these arcs (after a reservation)."""
    width = table.width
    first = table.first[arcs]
    inside = first < width
    full = np.zeros(len(arcs), dtype=bool)
    full[inside] = table.left[arcs[inside], first[inside]] <= 0
    for a in arcs[full].tolist():
        row = table.left[a, table.first[a] :] > 0
        table.first[a] += int(row.argmax()) if row.any() else len(row)


def movements(
    model: FlowModel, rows: IntArray, routes: Routes, groups: list[tuple[int, int, int]]
) -> list[Movement]:
    """The groups (route, departure minute, people) placed with ``routes`` as movements
    (``rows``: the node of each district)."""
    out: list[Movement] = []
    heads = model.arc_head
    known: dict[int, tuple[tuple[int, ...], tuple[int, ...], list[int], int]] = {}
    for route, s, c in groups:
        if route not in known:
            arcs, offsets = routes.roads(route)
            known[route] = (
                (int(rows[route % routes.rows]), *heads[arcs].tolist()),
                tuple(arcs.tolist()),
                offsets.tolist(),
                int(offsets[-1] + model.arc_time[arcs[-1]]),
            )
        nodes, arcs_t, offsets_l, length = known[route]
        out.append(Movement(int(c), nodes, arcs_t, tuple(o + s for o in offsets_l), s + length))
    return out


def place_all(
    table: _Table,
    routes: Routes,
    order_rows: IntArray,
    population: IntArray,
    zone_left: IntArray,
    zones: IntArray,
    refresh: Callable[[], Routes],
    check: Callable[[int], None],
    check_every: int = CHECK_EVERY,
) -> tuple[list[tuple[int, int, int]], list[tuple[int, Routes]]]:
    """The reservation loop in Python (the compiled ``_fast_kernel.place_all`` is the same
    method, step for step): districts in ``order_rows``, each until its people are placed
    or no route has room. Returns the groups (route, minute, people) and the routes in
    use from each group on: (first group, routes)."""
    out: list[tuple[int, int, int]] = []
    epochs: list[tuple[int, Routes]] = [(0, routes)]
    steps = 0
    for k, row in enumerate(order_rows.tolist()):
        if k % 500 == 0:
            check(k)
        remaining = int(population[k])
        while remaining > 0:
            steps += 1
            if steps % check_every == 0:
                check(k)
            placed = place(table, routes, row, remaining, zone_left, out)
            if placed < 0:
                if not (zone_left[zones] > 0).any():
                    break
                routes = refresh()
                epochs.append((len(out), routes))
                placed = place(table, routes, row, remaining, zone_left, out)
                if placed < 0:
                    break
            if placed == 0:
                break
            remaining -= placed
    return out, epochs


def place(
    table: _Table,
    routes: Routes,
    row: int,
    remaining: int,
    zone_left: IntArray,
    out: list[tuple[int, int, int]],
) -> int:
    """Reserve places for up to ``remaining`` people of district ``row``; returns how many
    (−1: no route to a safe zone with room)."""
    options = [
        t * routes.rows + row
        for t in range(routes.trees)
        if routes.count[t * routes.rows + row] > 0
        and zone_left[routes.zone[t * routes.rows + row]] > 0
    ]
    if not options:
        return -1
    # A route cannot arrive before hint + length: examine the most promising first and stop
    # when no other can beat the best found (its bound is then the limit for the next one).
    hint, length = routes.hint, routes.length
    options.sort(key=lambda r: int(hint[r] + length[r]))
    found: list[tuple[int, int, tuple[IntArray, IntArray]]] = []
    limit: int | None = None
    for k, route in enumerate(options):
        if found and hint[route] + length[route] >= found[0][0]:
            limit = int(hint[route] + length[route])
            break
        until = found[0][0] - int(length[route]) if found else None
        hit = first_slots(table, routes, route, until)
        if hit is not None:
            found.append((int(hit[0][0]) + int(length[route]), route, hit))
            found.sort(key=lambda f: f[0])
        if k == len(options) - 1:
            limit = None
    if not found:
        return 0
    _, route, (starts, free) = found[0]
    if len(found) > 1:
        limit = found[1][0] if limit is None else min(limit, found[1][0])
    arrive = starts + int(length[route])
    take = free > 0
    if limit is not None:
        take &= arrive <= max(limit, int(arrive[0]))
    starts, free = starts[take], free[take]
    zone = int(routes.zone[route])
    want = min(remaining, int(zone_left[zone]))
    cum = np.cumsum(free)
    k = int(np.searchsorted(cum, want))
    if k < len(free):
        free = free[: k + 1].copy()
        free[k] -= int(cum[k]) - want
        starts = starts[: k + 1]
    arcs, offsets = routes.roads(route)
    flat = table.left.ravel()
    cells = (arcs * table.width + offsets)[:, None] + starts[None, :]
    flat[cells] -= free[None, :].astype(np.int32)
    filled(table, arcs)
    out.extend(zip([route] * len(starts), starts.tolist(), free.tolist(), strict=True))
    placed = int(free.sum())
    zone_left[zone] -= placed
    return placed


def first_slots(
    table: _Table, routes: Routes, route: int, until: int | None = None
) -> tuple[IntArray, IntArray] | None:
    """Departure minutes (from the first with room) and the free places at each.

    The minutes are looked at in chunks of 4, 8, 16… from the first that may have
    room; the answer runs from the first minute with room to the end of its chunk.
    Several chunks are read in one numpy step (up to ``SPAN`` minutes), which gives
    the same answer with fewer steps. ``until``: give up (None) if no departure up to
    that minute has room.
    """
    arcs, offsets = routes.roads(route)
    length = int(routes.length[route])
    start = max(int(routes.hint[route]), int((table.first[arcs] - offsets).max()))
    chunk = CHUNK
    while True:
        last = table.width - 1 - length
        if table.horizon is not None:
            last = min(last, table.horizon - length)
        if until is not None and start > until:
            routes.hint[route] = start
            return None
        if start > last:
            if table.horizon is not None or not table.grow(start + length + CHUNK):
                routes.hint[route] = start
                return None
            continue
        end = last + 1 if until is None else min(last + 1, until + 1)
        stops = [min(end, start + chunk)]
        chunk *= 2
        while stops[-1] < end and stops[-1] + chunk - start <= SPAN:
            stops.append(min(end, stops[-1] + chunk))
            chunk *= 2
        stop = stops[-1]
        cells = (arcs * table.width + offsets)[:, None] + np.arange(start, stop)[None, :]
        free = table.left.ravel().take(cells).min(axis=0)
        hits = np.flatnonzero(free > 0)
        if len(hits):
            first = start + int(hits[0])
            upto = next(s for s in stops if s > first)
            routes.hint[route] = first
            return (
                np.arange(first, upto),
                free[first - start : upto - start].astype(np.int64),
            )
        start = stop
        routes.hint[route] = start


def candidate_routes(model: FlowModel, trees: IntArray) -> Routes:
    """The routes of every district along each tree, stored flat (for the Python loop).

    Each tree's routes for every district are extracted at once (numpy, one step of
    all paths at a time); a route with the same roads as an earlier tree's for the same
    district is left out.
    """
    people = np.flatnonzero(model.population > 0)
    parts: list[tuple[IntArray, IntArray, IntArray, IntArray, IntArray, IntArray]] = []
    keys: list[FloatArray] = []
    for nxt in trees:
        add_tree(model, nxt, people, keys, parts)
    n = len(people)
    empty = np.zeros(0, dtype=np.int64)
    base = np.cumsum([0, *(len(p[0]) for p in parts)])
    return Routes(
        arcs=np.concatenate([p[0] for p in parts]) if parts else empty,
        offsets=np.concatenate([p[1] for p in parts]) if parts else empty,
        start=np.concatenate([p[2] + b for p, b in zip(parts, base, strict=False)])
        if parts
        else empty,
        count=np.concatenate([p[3] for p in parts]) if parts else empty,
        length=np.concatenate([p[4] for p in parts]) if parts else empty,
        zone=np.concatenate([p[5] for p in parts]) if parts else empty,
        hint=np.zeros(n * len(parts), dtype=np.int64),
        trees=len(parts),
        rows=n,
    )


def add_tree(
    model: FlowModel,
    nxt: IntArray,
    people: IntArray,
    keys: list[FloatArray],
    parts: list[tuple[IntArray, IntArray, IntArray, IntArray, IntArray, IntArray]],
) -> None:
    """The tree's route of every district (flat), with repeats of earlier trees emptied."""
    heads, time = model.arc_head, model.arc_time
    rows_at: list[IntArray] = []
    arcs_at: list[IntArray] = []
    idx = np.arange(len(people))
    arc = nxt[people]
    keep = arc >= 0
    idx, arc = idx[keep], arc[keep]
    while len(idx):
        rows_at.append(idx)
        arcs_at.append(arc)
        arc = nxt[heads[arc]]
        keep = arc >= 0
        idx, arc = idx[keep], arc[keep]
    if not rows_at:  # no district has a route along this tree
        none = np.zeros(len(people), dtype=np.int64)
        keys.append(np.zeros((len(people), 3)))
        parts.append((none[:0], none[:0], none, none, none, none - 1))
        return
    rows = np.concatenate(rows_at)
    count = np.bincount(rows, minlength=len(people))
    start = np.cumsum(count) - count
    # Route by route, in order along each route (placed directly, without sorting).
    level = np.repeat(np.arange(len(rows_at)), [len(r) for r in rows_at])
    along = np.concatenate(arcs_at)  # same order as ``rows``
    flat = np.empty(len(rows), dtype=np.int64)
    flat[start[rows] + level] = along
    t = time[flat]
    run = np.cumsum(t)
    first = np.minimum(start, len(flat) - 1)
    seg_start = np.repeat(run[first] - t[first], count)
    offsets = (run - t - seg_start).astype(np.int64)
    # A route from a given district is fixed by its set of roads: compare by (count, sums).
    key = np.stack(
        [
            count.astype(np.float64),
            np.bincount(rows, weights=along, minlength=len(people)),
            np.bincount(
                rows, weights=(along.astype(np.float64) % 1_000_003) ** 2, minlength=len(people)
            ),
        ],
        axis=1,
    )
    repeat = np.zeros(len(people), dtype=bool)
    for old in keys:
        repeat |= np.all(old == key, axis=1)
    keys.append(key)
    last = np.maximum(start + count - 1, 0)
    length = np.where(count > 0, offsets[last] + t[last], 0).astype(np.int64)
    zone = np.where(count > 0, heads[flat[last]], -1).astype(np.int64)
    count = np.where(repeat, 0, count).astype(np.int64)
    parts.append((flat, offsets, start.astype(np.int64), count, length, zone))


# --- loop cutting where every node has room (_fast_kernel.untangle_free) ------------------


def untangle_free(zone: list[bool], m: Movement) -> Movement:
    """``flow_loops._untangle`` where every node outside the safe zones has unbounded room.

    Every loop is then cut, and cutting from the first node that recurs to its last
    visit, left to right, gives what :func:`app.domain.plans.loops._untangle`'s repeated scans give.
    """
    nodes = m.nodes
    last = {v: k for k, v in enumerate(nodes)}
    if len(last) == len(nodes):
        return m
    n_arcs = len(m.arcs)
    kept_nodes = [nodes[0]]
    kept_arcs: list[int] = []
    i = 0
    while i < n_arcs:
        v = nodes[i]
        k = last[v] if not zone[v] else i
        if k == n_arcs:  # the group ends where the loop began: it waits there instead
            break
        kept_arcs.append(k)
        kept_nodes.append(nodes[k + 1])
        i = k + 1
    return Movement(
        m.count,
        tuple(kept_nodes),
        tuple(m.arcs[k] for k in kept_arcs),
        tuple(m.enter[k] for k in kept_arcs),
        m.arrive,
    )


# --- groups of an exact plan read back from its prefix tree (_fast_kernel.walk_back) ------


def journeys(
    ends: IntArray, parent: IntArray, via: IntArray, entered: IntArray, where: IntArray
) -> list[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]:
    """(nodes, arcs, enter minutes) of each journey ``ends[i]``, walking the prefix tree
    back to the start for all journeys at once (one numpy step per road entry)."""
    node_rows, node_vals, node_depth = [], [], []
    arc_rows, arc_vals, enter_vals, arc_depth = [], [], [], []
    rows = np.arange(len(ends), dtype=np.int64)
    cur = ends
    depth = 0
    while len(rows):
        node_rows.append(rows)
        node_vals.append(where[cur])
        node_depth.append(np.full(len(rows), depth))
        moved = via[cur] >= 0
        rows, cur = rows[moved], cur[moved]
        arc_rows.append(rows)
        arc_vals.append(via[cur])
        enter_vals.append(entered[cur])
        arc_depth.append(np.full(len(rows), depth))
        cur = parent[cur]
        depth += 1

    def flat(
        rows_at: list[IntArray], depth_at: list[IntArray], *values: list[IntArray]
    ) -> tuple[list[int], list[list[int]]]:
        r = np.concatenate(rows_at) if rows_at else np.zeros(0, dtype=np.int64)
        d = np.concatenate(depth_at) if depth_at else np.zeros(0, dtype=np.int64)
        order = np.lexsort((-d, r))  # by journey, from its start to its end
        bounds = np.cumsum(np.bincount(r, minlength=len(ends))).tolist()
        return bounds, [np.concatenate(v)[order].tolist() if v else [] for v in values]

    node_end, (nodes,) = flat(node_rows, node_depth, node_vals)
    arc_end, (arcs, enters) = flat(arc_rows, arc_depth, arc_vals, enter_vals)
    out = []
    ns = as_ = 0
    for ne, ae in zip(node_end, arc_end, strict=True):
        out.append((tuple(nodes[ns:ne]), tuple(arcs[as_:ae]), tuple(enters[as_:ae])))
        ns, as_ = ne, ae
    return out


# --- a group as in the PLAN document (_fast_kernel.movement_dicts) ------------------------


def movement_dict(plan: Plan, m: Movement) -> dict[str, Any]:
    """One group as :meth:`app.domain.plans.evacuation.Plan.movement_dicts` writes it."""
    ids, road_ids = plan.model.network.node_ids, plan.model.network.edge_ids
    edge_ids = [road_ids[e] for e in plan.model.arc_edge.tolist()]
    return {
        "from": ids[m.nodes[0]],
        "to": ids[m.nodes[-1]],
        "count": m.count,
        "depart_min": m.enter[0] if m.enter else 0,
        "arrive_min": m.arrive,
        "nodes": list(map(ids.__getitem__, m.nodes)),
        "edges": list(map(edge_ids.__getitem__, m.arcs)),
        "enter_min": list(m.enter),
        "risk": plan.route_risk(m),
    }


# --- the load of a routing tree (_fast_kernel.tree_load) ---------------------------------


def tree_load(model: FlowModel, nxt: IntArray, dist: FloatArray) -> FloatArray:
    """People routed over each arc if everybody followed the tree (farthest nodes first)."""
    acc: list[float] = model.population.astype(np.float64).tolist()
    load = np.zeros(len(model.arc_tail))
    heads: list[int] = model.arc_head.tolist()
    step: list[int] = nxt.tolist()
    finite = np.where(np.isfinite(dist), dist, -1.0)
    for v in np.argsort(-finite, kind="stable").tolist():
        a = step[v]
        if a >= 0 and acc[v] > 0:
            load[a] += acc[v]
            acc[heads[a]] += acc[v]
    return load


# --- a shortest-path tree of the fast plan (fast.tree_search) ----------------------------


def tree(model: FlowModel, weight: FloatArray, zones: IntArray) -> tuple[IntArray, FloatArray]:
    """For each node, the arc it takes towards the nearest of ``zones`` (−1: none or at one),
    and its distance (in ``weight``) to that zone; of parallel arcs, the lightest, then the
    widest, then the first."""
    n = model.n_nodes
    order = np.lexsort((-model.arc_cap, weight, model.arc_tail, model.arc_head))
    h, t = model.arc_head[order], model.arc_tail[order]
    first = np.r_[True, (h[1:] != h[:-1]) | (t[1:] != t[:-1])]
    best = order[first]
    rev = csr_matrix((weight[best], (model.arc_head[best], model.arc_tail[best])), shape=(n, n))
    dist, pred, _ = dijkstra(
        rev, directed=True, indices=zones, min_only=True, return_predecessors=True
    )
    key = model.arc_tail[best] * n + model.arc_head[best]
    srt = np.argsort(key)
    nxt = np.full(n, -1, dtype=np.int64)
    has = pred >= 0
    v = np.flatnonzero(has)
    pos = np.searchsorted(key[srt], v * n + pred[has])
    nxt[v] = best[srt][pos]
    return nxt, dist


# --- least minutes once arcs are added (_fast_kernel.lower_minutes) -----------------------


def lower_minutes(
    indptr: IntArray, arcs: IntArray, other: IntArray, time: IntArray, dist: IntArray,
    seeds: IntArray,
) -> int:  # fmt: skip
    """Lower ``dist`` (in place) from ``seeds`` along the arcs of each node
    (``arcs[indptr[v]:indptr[v + 1]]`` to ``other[arc]`` in ``time[arc]``; ``time < 0``: no
    arc), going on only from a node lowered; the nodes settled."""
    heap = [(int(dist[v]), int(v)) for v in seeds.tolist()]
    heapq.heapify(heap)
    settled = 0
    while heap:
        d, v = heapq.heappop(heap)
        if d != dist[v]:
            continue
        settled += 1
        for a in arcs[indptr[v] : indptr[v + 1]].tolist():
            if time[a] >= 0 and d + time[a] < dist[other[a]]:
                dist[other[a]] = d + time[a]
                heapq.heappush(heap, (int(dist[other[a]]), int(other[a])))
    return settled
