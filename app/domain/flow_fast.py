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

Cost: a few Dijkstra runs, then O(route length × minutes looked at) numpy work
per district: about a second for 10,000 districts and 100,000 people.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from app.domain.errors import InvalidRequestError, Problem
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

Progress = Callable[[str, float], None]


@dataclass
class Route:
    arcs: IntArray
    offsets: IntArray
    """Minutes from departure to entering each road."""
    length: int
    """Minutes from departure to arrival."""
    zone: int
    hint: int = 0
    """No departure before this minute has room (the table only fills up)."""
    base: IntArray | None = None
    """Flat table index of each road at departure minute 0 (for the table's width)."""
    width: int = 0

    def cells(self, width: int) -> IntArray:
        if self.base is None or self.width != width:
            self.base, self.width = self.arcs * width + self.offsets, width
        return self.base


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
    pointer: str = "/end",
    budget_s: float | None = None,
) -> list[Movement]:
    """Groups of people, their routes and departure minutes (see module docstring).

    With ``horizon`` only arrivals by that minute are planned; without one, the
    plan runs until everybody who can be is evacuated (the table of remaining
    road entries may hold at most ``max_cells`` cells). ``budget_s``: seconds the
    plan may take; past them it is refused (:class:`InvalidRequestError`) rather
    than holding a core, and memory for its groups, for as long as it takes.
    """
    deadline = None if budget_s is None else time.monotonic() + budget_s
    n_arcs = len(model.arc_tail)
    people = np.flatnonzero((model.population > 0) & (model.to_zone < UNREACHABLE))
    if len(people) == 0:
        return []
    if horizon is not None:
        people = people[model.to_zone[people] <= horizon]
    width = (horizon + 1) if horizon is not None else int(model.to_zone[people].max()) * 2 + 64
    if width * max(1, n_arcs) > max_cells:
        if horizon is not None:
            raise InvalidRequestError(
                [Problem(pointer, "window too long for the fast planner at this size")],
                detail=f"a fast plan over {horizon} minutes needs {width * n_arcs:,} road-minute "
                f"cells; the limit is {max_cells:,}: choose a shorter window",
            )
        width = max(1, max_cells // max(1, n_arcs))
    table = _Table(model, width, horizon, max_cells)
    zone_left = model.reception.copy()
    order = people[np.argsort(model.to_zone[people], kind="stable")]
    routes = _Candidates(model, zone_left)
    movements: list[Movement] = []
    for k, origin in enumerate(order.tolist()):
        if progress is not None and k % 500 == 0:
            progress("fast plan", k / len(order))
        remaining = int(model.population[origin])
        while remaining > 0:
            if deadline is not None and time.monotonic() > deadline:
                raise _over_budget(budget_s, pointer if horizon is not None else "/method")
            options = [r for r in routes.get(origin) if zone_left[r.zone] > 0]
            if not options:
                if not (zone_left[model.is_zone] > 0).any():
                    break
                routes = _Candidates(model, zone_left)
                options = [r for r in routes.get(origin) if zone_left[r.zone] > 0]
                if not options:
                    break
            placed = _place(model, table, options, origin, remaining, zone_left, movements)
            if placed == 0:
                break
            remaining -= placed
    if progress is not None:
        progress("fast plan", 1.0)
    return movements


def _over_budget(budget_s: float | None, where: str) -> InvalidRequestError:
    detail = (
        f"the fast plan did not finish within its time budget of {budget_s:g} s: "
        "plan a shorter window or fewer people at once"
    )
    problem = Problem(where, "the plan takes too long to compute")
    return InvalidRequestError([problem], detail=detail)


def _place(
    model: FlowModel,
    table: _Table,
    options: list[Route],
    origin: int,
    remaining: int,
    zone_left: IntArray,
    out: list[Movement],
) -> int:
    """Reserve places for up to ``remaining`` people of ``origin``; returns how many."""
    # A route cannot arrive before hint + length: examine the most promising first and stop
    # when no other can beat the best found (its bound is then the limit for the next one).
    options = sorted(options, key=lambda r: r.hint + r.length)
    found: list[tuple[int, Route, tuple[IntArray, IntArray]]] = []
    limit: int | None = None
    for k, route in enumerate(options):
        if found and route.hint + route.length >= found[0][0]:
            limit = route.hint + route.length
            break
        hit = _first_slots(table, route, found[0][0] - route.length if found else None)
        if hit is not None:
            found.append((int(hit[0][0]) + route.length, route, hit))
            found.sort(key=lambda f: f[0])
        if k == len(options) - 1:
            limit = None
    if not found:
        return 0
    _, route, (starts, free) = found[0]
    if len(found) > 1:
        limit = found[1][0] if limit is None else min(limit, found[1][0])
    arrive = starts + route.length
    take = free > 0
    if limit is not None:
        take &= arrive <= max(limit, int(arrive[0]))
    starts, free = starts[take], free[take]
    want = min(remaining, int(zone_left[route.zone]))
    cum = np.cumsum(free)
    k = int(np.searchsorted(cum, want))
    if k < len(free):
        free = free[: k + 1].copy()
        free[k] -= int(cum[k]) - want
        starts = starts[: k + 1]
    flat = table.left.ravel()
    cells = route.cells(table.width)[:, None] + starts[None, :]
    flat[cells] -= free[None, :].astype(np.int32)
    table.filled(route.arcs)
    nodes = (origin, *model.arc_head[route.arcs].tolist())
    arcs = tuple(route.arcs.tolist())
    for s, c in zip(starts.tolist(), free.tolist(), strict=True):
        out.append(
            Movement(int(c), nodes, arcs, tuple((route.offsets + s).tolist()), s + route.length)
        )
    placed = int(free.sum())
    zone_left[route.zone] -= placed
    return placed


def _first_slots(
    table: _Table, route: Route, until: int | None = None
) -> tuple[IntArray, IntArray] | None:
    """Departure minutes (from the first with room) and the free places at each.

    The minutes are looked at in chunks of 4, 8, 16… from the first that may have
    room; the answer runs from the first minute with room to the end of its chunk.
    Several chunks are read in one numpy step (up to ``SPAN`` minutes), which gives
    the same answer with fewer steps. ``until``: give up (None) if no departure up to
    that minute has room.
    """
    start = max(route.hint, int((table.first[route.arcs] - route.offsets).max()))
    chunk = CHUNK
    while True:
        last = table.width - 1 - route.length
        if table.horizon is not None:
            last = min(last, table.horizon - route.length)
        if until is not None and start > until:
            route.hint = start
            return None
        if start > last:
            if table.horizon is not None or not table.grow(start + route.length + CHUNK):
                route.hint = start
                return None
            continue
        end = last + 1 if until is None else min(last + 1, until + 1)
        stops = [min(end, start + chunk)]
        chunk *= 2
        while stops[-1] < end and stops[-1] + chunk - start <= SPAN:
            stops.append(min(end, stops[-1] + chunk))
            chunk *= 2
        stop = stops[-1]
        cells = route.cells(table.width)[:, None] + np.arange(start, stop)[None, :]
        free = table.left.ravel().take(cells).min(axis=0)
        hits = np.flatnonzero(free > 0)
        if len(hits):
            first = start + int(hits[0])
            upto = next(s for s in stops if s > first)
            route.hint = first
            return (
                np.arange(first, upto),
                free[first - start : upto - start].astype(np.int64),
            )
        start = stop
        route.hint = start


class _Candidates:
    """Distinct routes per populated node from congestion-aware shortest-path trees.

    Each tree's routes for every district are extracted at once (numpy, one step of
    all paths at a time) and stored flat; :class:`Route` objects are made on demand.
    """

    def __init__(self, model: FlowModel, zone_left: IntArray) -> None:
        self.model = model
        people = np.flatnonzero(model.population > 0)
        self.row = {v: k for k, v in enumerate(people.tolist())}
        self.trees: list[tuple[IntArray, IntArray, IntArray, IntArray, IntArray]] = []
        self.cache: dict[int, list[Route]] = {}
        zones = np.flatnonzero(model.is_zone & (zone_left > 0))
        if len(zones) == 0 or len(model.arc_tail) == 0 or len(people) == 0:
            return
        time = model.arc_time.astype(np.float64)
        keys: list[IntArray] = []
        # One tree per safe zone when there are few, so every district can go to each.
        if 1 < len(zones) <= ZONE_TREES:
            for z in zones.tolist():
                self._add(_tree(model, time, np.array([z]))[0], people, keys)
        delay = np.zeros(len(model.arc_tail))
        for r in range(ROUNDS):
            nxt, dist = _tree(model, time + delay, zones)
            load = _tree_load(model, nxt, dist)
            delay = (delay * r + load / np.maximum(model.arc_cap, 1)) / (r + 1)
            self._add(nxt, people, keys)

    def _add(self, nxt: IntArray, people: IntArray, keys: list[IntArray]) -> None:
        """Store the tree's route of every district (flat), marking repeats of earlier trees."""
        heads, time = self.model.arc_head, self.model.arc_time
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
        if not rows_at:
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
        offsets = run - t - seg_start
        # A route from a given district is fixed by its set of roads: compare by (count, sums).
        key = np.stack(
            [
                count,
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
        count = np.where(repeat, 0, count)
        self.trees.append((flat, offsets, start, count, np.asarray(time[flat], dtype=np.int64)))

    def get(self, origin: int) -> list[Route]:
        cached = self.cache.get(origin)
        if cached is not None:
            return cached
        out = []
        r = self.row.get(origin)
        if r is not None:
            heads = self.model.arc_head
            for flat, offsets, start, count, t in self.trees:
                c = int(count[r])
                if c == 0:
                    continue
                s = int(start[r])
                arcs, off = flat[s : s + c], offsets[s : s + c]
                out.append(Route(arcs, off, int(off[-1] + t[s + c - 1]), int(heads[arcs[-1]])))
        self.cache[origin] = out
        return out


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
