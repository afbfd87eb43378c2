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
stored); its statement in Python is in ``tests/domain/kernel_statements.py``, and the
tests check that both place the same groups. 10,000 districts and 100,000 people: about
a second in all (benchmarks/README-plans.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from app.domain.errors import PlanTooLargeError, PlanTooSlowError
from app.domain.network.graph import FloatArray, IntArray
from app.domain.plans.budget import Budget
from app.domain.plans.expanded import Movement
from app.domain.plans.kernel import kernel
from app.domain.plans.model import UNREACHABLE, FlowModel, by_pair, first_of_pairs
from app.domain.progress import Progress

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
FIRST_ROWS = 1024
"""Rows of the reservation table made at first (it doubles as arcs are entered)."""


class _Table:
    """Remaining entries per (arc, minute); grows in time when no horizon is set.

    Rows are kept only for the arcs a group has entered (``row[arc]``, −1: none yet, its
    capacity free at every minute): the compiled loop gives an arc its row when it first
    reserves on it (``_fast_kernel``), and asks for more rows by :meth:`more_rows`. On a
    city few arcs are ever entered within a window: at 1M places the table of every arc was
    ~0.7 GB for a 45-minute window, and its first filling ~1.3 s of the plan. The limit on
    cells (``max_cells``) is applied as if every arc had its row, as before, so that the
    same plans are made and refused.
    """

    def __init__(self, model: FlowModel, width: int, horizon: int | None, max_cells: int) -> None:
        self.cap = np.minimum(model.arc_cap, int(OPEN)).astype(np.int32)
        self.horizon = horizon
        self.max_cells = max_cells
        self.row = np.full(len(self.cap), -1, dtype=np.int64)
        """Each arc's row of :attr:`left` (−1: no group has entered it)."""
        rows = max(1, min(FIRST_ROWS, len(self.cap)))
        self.left = np.empty((rows, width), dtype=np.int32)
        """Remaining entries per row and minute (rows past :attr:`used` unused)."""
        self.arc_of_row = np.full(rows, -1, dtype=np.int64)
        self.used = np.zeros(1, dtype=np.int64)
        """Rows in use (an array: the compiled loop counts them)."""
        self.first = np.zeros(len(self.cap), dtype=np.int64)
        """Per arc, no minute before this has room (kept exact where routes filled it)."""

    @property
    def width(self) -> int:
        return int(self.left.shape[1])

    def more_rows(self) -> None:
        """Twice the rows (at most one per arc)."""
        rows = len(self.left)
        more = min(2 * rows, max(len(self.cap), rows + 1)) - rows
        self.left = np.concatenate([self.left, np.empty((more, self.width), dtype=np.int32)])
        self.arc_of_row = np.concatenate([self.arc_of_row, np.full(more, -1, dtype=np.int64)])

    def grow(self, need: int) -> bool:
        width = wider(self.width, need, self.horizon, len(self.cap), self.max_cells)
        if width is None:
            return False
        arcs = np.maximum(self.arc_of_row, 0)
        extra = np.repeat(self.cap[arcs][:, None], width - self.width, axis=1)
        self.left = np.concatenate([self.left, extra], axis=1)
        return True


def wider(width: int, need: int, horizon: int | None, arcs: int, max_cells: int) -> int | None:
    """The reservation table's next width (minutes) to hold minute ``need``: twice as wide
    at least, and never more cells than ``max_cells`` as if every one of ``arcs`` had its
    row; ``None``: it cannot grow (a window is set, or the limit is reached)."""
    if horizon is not None:
        return None
    wide = max(need + 1, 2 * width)
    if wide * arcs > max_cells:
        wide = max_cells // max(1, arcs)
        if wide <= width:
            return None
    return wide


@dataclass
class _Reservations:
    """What the reservation loop starts from: districts in the order they are served (as
    rows of the districts with people, and their people), the table of free road entries,
    the room left in each safe zone, and the first routing trees."""

    table: _Table
    rows: IntArray
    """The node of each district (every node with people)."""
    order_rows: IntArray
    population: IntArray
    zone_left: IntArray
    zones: IntArray
    trees: IntArray


def _reservations(model: FlowModel, horizon: int | None, max_cells: int) -> _Reservations | None:
    """The start of a fast plan (None: nobody can reach a safe zone)."""
    n_arcs = len(model.arc_tail)
    people = np.flatnonzero((model.population > 0) & (model.to_zone < UNREACHABLE))
    if len(people) == 0:
        return None
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
    return _Reservations(
        table=table,
        rows=rows,
        order_rows=np.searchsorted(rows, order).astype(np.int64),
        population=model.population[order].astype(np.int64),
        zone_left=zone_left,
        zones=np.flatnonzero(model.is_zone).astype(np.int64),
        trees=candidate_trees(model, zone_left),
    )


def fast_movements(
    model: FlowModel,
    horizon: int | None,
    *,
    max_cells: int,
    progress: Progress | None = None,
    budget: Budget | None = None,
) -> list[Movement]:
    """Groups of people, their routes and departure minutes (see module docstring).

    With ``horizon`` only arrivals by that minute are planned; without one, the
    plan runs until everybody who can be is evacuated (the table of remaining
    road entries may hold at most ``max_cells`` cells). ``budget``: time the plan may
    take; past it it is refused (:class:`~app.domain.errors.PlanTooSlowError`) rather
    than holding a core, and memory for its groups, for as long as it takes.
    """
    start = _reservations(model, horizon, max_cells)
    if start is None:
        return []
    districts = len(start.order_rows)

    def check(k: int) -> None:
        if budget is not None and budget.expired():
            raise PlanTooSlowError("horizon" if horizon is not None else "method", budget.seconds)
        if progress is not None and k % 500 == 0:
            progress("fast plan", k, districts)

    groups, tree_epochs = kernel.place_all(
        start.table,
        start.trees,
        model.arc_head,
        model.arc_time,
        start.rows,
        -1 if horizon is None else horizon,
        start.order_rows,
        start.population,
        start.zone_left,
        start.zones,
        lambda: candidate_trees(model, start.zone_left),
        check,
        CHECK_EVERY,
        CHUNK,
        SPAN,
    )
    out: list[Movement] = []
    for some, nxt in _by_epoch(groups, tree_epochs):
        paths = kernel.journeys(nxt, model.arc_head, model.arc_time, start.rows, some)
        out.extend(Movement(g[2], *p) for g, p in zip(some, paths, strict=True))
    if progress is not None:
        progress("fast plan", districts, districts)
    return out


_Source = TypeVar("_Source")


def _by_epoch(
    groups: list[tuple[int, int, int]], epochs: list[tuple[int, _Source]]
) -> Iterator[tuple[list[tuple[int, int, int]], _Source]]:
    """The groups placed with each set of routes: ``epochs`` gives (first group, routes)."""
    ends = [*(first for first, _ in epochs[1:]), len(groups)]
    for (first, routes), end in zip(epochs, ends, strict=True):
        yield groups[first:end], routes


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
        tree = tree_search(model)
        if 1 < len(zones) <= ZONE_TREES:
            for z in zones.tolist():
                trees.append(tree(time, np.array([z]))[0])
        delay = np.zeros(len(model.arc_tail))
        for r in range(ROUNDS):
            nxt, dist = tree(time + delay, zones)
            load = tree_load(model, nxt, dist)
            delay = (delay * r + load / np.maximum(model.arc_cap, 1)) / (r + 1)
            trees.append(nxt)
    if not trees:
        return np.zeros((0, model.n_nodes), dtype=np.int64)
    return np.ascontiguousarray(np.stack(trees), dtype=np.int64)


Tree = Callable[[FloatArray, IntArray], tuple[IntArray, FloatArray]]
"""``tree(weight, zones)``: for each node, the arc it takes towards the nearest of
``zones`` (−1: none, or at one), and its distance (in ``weight``) to that zone."""


def tree_search(model: FlowModel) -> Tree:
    """The shortest-path trees of one plan. Of the arcs joining two nodes the same way, a
    tree takes the lightest (then the widest, then the first). Without such parallel arcs
    (a street grid, a city's streets) every tree searches the same reversed graph, built
    once: it only puts its weights in."""
    order, single = by_pair(model.n_nodes, model.arc_head, model.arc_tail)
    if single:
        return ReversedGraph.on(model, order).search

    def choosing(weight: FloatArray, zones: IntArray) -> tuple[IntArray, FloatArray]:
        order = np.lexsort((-model.arc_cap, weight, model.arc_tail, model.arc_head))
        lightest = order[first_of_pairs(model.arc_head[order], model.arc_tail[order])]
        return ReversedGraph.on(model, lightest).search(weight, zones)

    return choosing


@dataclass(frozen=True)
class ReversedGraph:
    """The graph a shortest-path tree is searched on: one arc for each pair of nodes it
    joins, reversed (from the safe zones outwards), as a sparse matrix's structure."""

    model: FlowModel
    arcs: IntArray
    """The arcs, in the order of the matrix's entries (by head, then tail)."""
    indices: npt.NDArray[np.int32]
    indptr: npt.NDArray[np.int32]
    keys: IntArray
    """``tail * n + head`` of the arcs, sorted."""
    by_key: IntArray
    """The arc of each of ``keys``."""

    @classmethod
    def on(cls, model: FlowModel, arcs: IntArray) -> ReversedGraph:
        """``arcs``: one per pair of nodes, by head then tail."""
        n = model.n_nodes
        h, t = model.arc_head[arcs], model.arc_tail[arcs]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(h, minlength=n), out=indptr[1:])
        key = t * n + h
        srt = np.argsort(key)
        return cls(model, arcs, t.astype(np.int32), indptr.astype(np.int32), key[srt], arcs[srt])

    def search(self, weight: FloatArray, zones: IntArray) -> tuple[IntArray, FloatArray]:
        """The tree of ``weight`` towards ``zones`` (see :data:`Tree`)."""
        n = self.model.n_nodes
        rev = csr_matrix((weight[self.arcs], self.indices, self.indptr), shape=(n, n))
        dist, pred, _ = dijkstra(
            rev, directed=True, indices=zones, min_only=True, return_predecessors=True
        )
        nxt = np.full(n, -1, dtype=np.int64)
        has = pred >= 0
        v = np.flatnonzero(has)
        nxt[v] = self.by_key[np.searchsorted(self.keys, v * n + pred[has])]
        return nxt, dist


def tree_load(model: FlowModel, nxt: IntArray, dist: FloatArray) -> FloatArray:
    """People routed over each arc if everybody followed the tree (farthest nodes first;
    the loop is compiled: ``kernel.tree_load``)."""
    acc = model.population.astype(np.float64)
    load = np.zeros(len(model.arc_tail))
    finite = np.where(np.isfinite(dist), dist, -1.0)
    order = np.argsort(-finite, kind="stable").astype(np.int64)
    kernel.tree_load(
        order,
        np.ascontiguousarray(nxt, dtype=np.int64),
        np.ascontiguousarray(model.arc_head, dtype=np.int64),
        acc,
        load,
    )
    return load
