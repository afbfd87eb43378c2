"""A fast evacuation plan that never breaks a capacity (capacity-constrained route planning).

Method (after CCRP, Lu, George & Shekhar 2005, with routes fixed in advance):

1. Candidate routes. A few shortest-path trees towards the nearest safe zone,
   each on travel time plus the queueing delay the previous trees would cause
   (people routed over a road ÷ its capacity per minute, averaged over rounds),
   so that later trees spread people over other roads and other safe zones.
2. Reservations. Districts are served nearest first. A group of people leaves
   its district at the earliest minute at which every road of one of its routes
   still admits people at the minute the group would enter it, and never waits
   on the way. Each candidate's free places for every departure minute are read
   at once from a table of remaining entries per road and minute; the group
   takes the route that brings it in earliest, as many as fit.

Because people wait only at home, a node never holds more than its residents
(validated to be at most its capacity); roads never admit more than their
capacity; a safe zone never receives more than its reception. The result may be
later than the optimum; plans report the gap to a lower bound.

Cost: a few Dijkstra runs, then per district a look along each candidate route at
the minutes from its first possible departure. That loop is compiled
(``_fast_kernel.pyx``, built at install; routes are walked along the trees, not
stored); :func:`_place_all` below is the same method in Python, kept as its readable
statement, and the tests check that both place the same groups. 10,000 districts and
100,000 people: about a second in all (benchmarks/README-plans.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from app.domain.budget import Budget, Progress
from app.domain.compiled import kernel
from app.domain.errors import PlanTooLargeError, PlanTooSlowError
from app.domain.flow_expanded import Movement
from app.domain.flow_model import UNREACHABLE, FlowModel
from app.domain.network import FloatArray, IntArray

ROUNDS = 4
"""Routing trees per plan (one on travel time, three congestion-aware)."""
ZONE_TREES = 8
"""With at most this many safe zones, every district gets its shortest route to each."""
CHUNK = 4
"""Departure minutes examined at once per candidate route."""
SPAN = 64
"""At most this many departure minutes are read in one numpy step (several chunks)."""
OPEN = np.int32(2**30)
"""Stands for an unbounded road in the reservation table."""

CHECK_EVERY = 256
"""Placements between two looks at the time budget."""


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


class _Table:
    """Remaining entries per (arc, minute); grows in time when no horizon is set."""

    def __init__(self, model: FlowModel, width: int, horizon: int | None, max_cells: int) -> None:
        self.cap = np.minimum(model.arc_cap, int(OPEN)).astype(np.int32)
        self.horizon = horizon
        self.max_cells = max_cells
        self.left = np.repeat(self.cap[:, None], width, axis=1)
        self.first = np.zeros(len(self.cap), dtype=np.int64)
        """Per arc, no minute before this has room (kept exact where routes filled it)."""

    def filled(self, arcs: IntArray) -> None:
        """Move ``first`` past full minutes for these arcs (after a reservation)."""
        width = self.width
        first = self.first[arcs]
        inside = first < width
        full = np.zeros(len(arcs), dtype=bool)
        full[inside] = self.left[arcs[inside], first[inside]] <= 0
        for a in arcs[full].tolist():
            row = self.left[a, self.first[a] :] > 0
            self.first[a] += int(row.argmax()) if row.any() else len(row)

    @property
    def width(self) -> int:
        return int(self.left.shape[1])

    def grow(self, need: int) -> bool:
        if self.horizon is not None:
            return False
        width = max(need + 1, 2 * self.width)
        if width * len(self.cap) > self.max_cells:
            width = self.max_cells // max(1, len(self.cap))
            if width <= self.width:
                return False
        extra = np.repeat(self.cap[:, None], width - self.width, axis=1)
        self.left = np.concatenate([self.left, extra], axis=1)
        return True


def fast_movements(
    model: FlowModel,
    horizon: int | None,
    *,
    max_cells: int,
    progress: Progress | None = None,
    budget: Budget | None = None,
    compiled: bool = True,
) -> list[Movement]:
    """Groups of people, their routes and departure minutes (see module docstring).

    With ``horizon`` only arrivals by that minute are planned; without one, the
    plan runs until everybody who can be is evacuated (the table of remaining
    road entries may hold at most ``max_cells`` cells). ``budget``: time the plan may
    take; past it it is refused (:class:`~app.domain.errors.PlanTooSlowError`) rather
    than holding a core, and memory for its groups, for as long as it takes.
    ``compiled``: use the compiled reservation loop when it is built (same answers).
    """
    n_arcs = len(model.arc_tail)
    people = np.flatnonzero((model.population > 0) & (model.to_zone < UNREACHABLE))
    if len(people) == 0:
        return []
    if horizon is not None:
        people = people[model.to_zone[people] <= horizon]
    width = (horizon + 1) if horizon is not None else int(model.to_zone[people].max()) * 2 + 64
    if width * max(1, n_arcs) > max_cells:
        if horizon is not None:
            raise PlanTooLargeError(
                "horizon",
                "window too long for the fast planner at this size",
                f"a fast plan over {horizon} minutes needs {width * n_arcs:,} road-minute "
                f"cells; the limit is {max_cells:,}: choose a shorter window",
            )
        width = max(1, max_cells // max(1, n_arcs))
    table = _Table(model, width, horizon, max_cells)
    zone_left = model.reception.copy()
    order = people[np.argsort(model.to_zone[people], kind="stable")]
    rows = np.flatnonzero(model.population > 0)
    order_rows = np.searchsorted(rows, order).astype(np.int64)
    zones = np.flatnonzero(model.is_zone).astype(np.int64)

    def check(k: int) -> None:
        if budget is not None and budget.expired():
            raise PlanTooSlowError("horizon" if horizon is not None else "method", budget.seconds)
        if progress is not None and k % 500 == 0:
            progress("fast plan", k / len(order))

    trees = candidate_trees(model, zone_left)
    population = model.population[order].astype(np.int64)
    out: list[Movement] = []
    if compiled and kernel is not None:
        groups, tree_epochs = kernel.place_all(
            table,
            trees,
            model.arc_head,
            model.arc_time,
            rows,
            -1 if horizon is None else horizon,
            order_rows,
            population,
            zone_left,
            zones,
            lambda: candidate_trees(model, zone_left),
            check,
            CHECK_EVERY,
            CHUNK,
            SPAN,
        )
        for some, nxt in _by_epoch(groups, tree_epochs):
            paths = kernel.journeys(nxt, model.arc_head, model.arc_time, rows, some)
            out.extend(Movement(g[2], *p) for g, p in zip(some, paths, strict=True))
    else:
        groups, epochs = _place_all(
            table,
            candidate_routes(model, trees),
            order_rows,
            population,
            zone_left,
            zones,
            lambda: candidate_routes(model, candidate_trees(model, zone_left)),
            check,
            CHECK_EVERY,
        )
        for some, routes in _by_epoch(groups, epochs):
            out.extend(_movements(model, rows, routes, some))
    if progress is not None:
        progress("fast plan", 1.0)
    return out


_Source = TypeVar("_Source")


def _by_epoch(
    groups: list[tuple[int, int, int]], epochs: list[tuple[int, _Source]]
) -> Iterator[tuple[list[tuple[int, int, int]], _Source]]:
    """The groups placed with each set of routes: ``epochs`` gives (first group, routes)."""
    ends = [*(first for first, _ in epochs[1:]), len(groups)]
    for (first, routes), end in zip(epochs, ends, strict=True):
        yield groups[first:end], routes


def _movements(
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


def _place_all(
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
            placed = _place(table, routes, row, remaining, zone_left, out)
            if placed < 0:
                if not (zone_left[zones] > 0).any():
                    break
                routes = refresh()
                epochs.append((len(out), routes))
                placed = _place(table, routes, row, remaining, zone_left, out)
                if placed < 0:
                    break
            if placed == 0:
                break
            remaining -= placed
    return out, epochs


def _place(
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
        hit = _first_slots(table, routes, route, until)
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
    table.filled(arcs)
    out.extend(zip([route] * len(starts), starts.tolist(), free.tolist(), strict=True))
    placed = int(free.sum())
    zone_left[zone] -= placed
    return placed


def _first_slots(
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


def candidate_trees(model: FlowModel, zone_left: IntArray) -> IntArray:
    """Shortest-path trees towards the safe zones with room (trees × nodes: the arc each
    node takes, −1 at a safe zone or without a path): one per safe zone when there are
    few, so every district can go to each, then congestion-aware ones, each on travel
    time plus the queueing delay the previous trees would cause."""
    people = np.flatnonzero(model.population > 0)
    trees: list[IntArray] = []
    zones = np.flatnonzero(model.is_zone & (zone_left > 0))
    if len(zones) and len(model.arc_tail) and len(people):
        time = model.arc_time.astype(np.float64)
        if 1 < len(zones) <= ZONE_TREES:
            for z in zones.tolist():
                trees.append(_tree(model, time, np.array([z]))[0])
        delay = np.zeros(len(model.arc_tail))
        for r in range(ROUNDS):
            nxt, dist = _tree(model, time + delay, zones)
            load = _tree_load(model, nxt, dist)
            delay = (delay * r + load / np.maximum(model.arc_cap, 1)) / (r + 1)
            trees.append(nxt)
    if not trees:
        return np.zeros((0, model.n_nodes), dtype=np.int64)
    return np.ascontiguousarray(np.stack(trees), dtype=np.int64)


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
        _add_tree(model, nxt, people, keys, parts)
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


def _add_tree(
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


def _tree(model: FlowModel, weight: FloatArray, zones: IntArray) -> tuple[IntArray, FloatArray]:
    """For each node, the arc it takes towards the nearest of ``zones`` (−1: none or at one),
    and its distance (in ``weight``) to that zone."""
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


def _tree_load(model: FlowModel, nxt: IntArray, dist: FloatArray) -> FloatArray:
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
