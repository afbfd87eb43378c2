"""The negotiation tools as they were before they searched goal-directed, kept verbatim as
oracles: the new ones must give the same answers (same routes, same choice among ties)."""

from __future__ import annotations

import heapq

import numpy as np

from app.domain.network.graph import BoolArray, IntArray, Network
from app.domain.routes.alternatives import (
    MAX_OVERLAP,
    PENALTY,
    SEARCHES_PER_ROUTE,
    Alternatives,
    Question,
    _cost_per_minute,
    _select,
    pose,
    unavoidable_roads,
)
from app.domain.routes.engine import Route, RouteOptions, lexicographic_path
from app.domain.routes.pareto import _route, _to_target


def alternative_routes_before(
    net: Network,
    source: str,
    target: str,
    options: RouteOptions | None = None,
    *,
    k: int = 3,
    max_overlap: float = MAX_OVERLAP,
) -> Alternatives:
    """Alternatives by plain searches with penalties recomputed over every arc."""
    opts = options or RouteOptions()
    q = pose(net, source, target, opts)
    forced = unavoidable_roads(net, q.mask, q.best)
    if k == 1:
        return Alternatives([q.best], forced)
    cond = q.conditions
    arc_road = net.arc_edge
    arc_ok = q.mask[arc_road]
    base = cond.cost[arc_road]
    surcharge = base + _cost_per_minute(q) * cond.time[arc_road]
    uses = np.zeros(len(net.edge_ids), dtype=np.int64)
    candidates: dict[tuple[int, ...], Route] = {tuple(q.best.edges): q.best}
    uses[q.best.edges] += 1
    ignore = frozenset(forced)
    chosen = [q.best]
    for _ in range(SEARCHES_PER_ROUTE * k - 1):
        factor = (1.0 + PENALTY) ** uses[arc_road] - 1.0
        with np.errstate(invalid="ignore"):  # inf × 0 on roads no question may use
            penalised = np.rint(base + factor * surcharge)
        found = lexicographic_path(cond, arc_ok, q.source, q.target, arc_cost=penalised)
        if found is None:
            break
        uses[found.edges] += 1
        candidates.setdefault(tuple(found.edges), found)
        chosen = _select(list(candidates.values()), k, max_overlap, opts.max_risk, ignore)
        if len(chosen) == k:
            break
    while len(chosen) < k:
        banned = np.zeros(len(net.edge_ids), dtype=bool)
        for r in chosen:
            banned[r.edges] = True
        banned[forced] = False
        found = lexicographic_path(cond, arc_ok & ~banned[arc_road], q.source, q.target)
        if found is None or tuple(found.edges) in candidates:
            break
        candidates[tuple(found.edges)] = found
        more = _select(list(candidates.values()), k, max_overlap, opts.max_risk, ignore)
        if len(more) <= len(chosen):
            break
        chosen = more
    return Alternatives(chosen, forced)


def martins_before(
    q: Question, arc_ok: BoolArray, cost_arr: IntArray, tick_arr: IntArray, max_labels: int
) -> tuple[list[Route], bool]:
    """The exact front by guided label setting, or its safest members if the budget runs out
    (in Python, before it was compiled)."""
    net = q.network
    hc = _to_target(net, arc_ok, cost_arr, q.target)
    ht = _to_target(net, arc_ok, tick_arr, q.target)
    reach = np.isfinite(hc)
    hc_i = np.where(reach, hc, 0.0).astype(np.int64)
    ht_i = np.where(reach, ht, 0.0).astype(np.int64)
    usable = arc_ok & reach[net.arc_head]
    indptr = net.arc_indptr
    # Each node's usable arcs as (head, road, ticks, cost, head's bounds), made when the
    # node is first expanded: labels reach a small part of a city's nodes.
    adjacency: dict[int, list[tuple[int, int, int, int, int, int]]] = {}

    def out(v: int) -> list[tuple[int, int, int, int, int, int]]:
        found = adjacency.get(v)
        if found is None:
            arcs = np.arange(indptr[v], indptr[v + 1])
            arcs = arcs[usable[arcs]]
            heads, roads = net.arc_head[arcs], net.arc_edge[arcs]
            found = adjacency[v] = list(
                zip(
                    heads.tolist(),
                    roads.tolist(),
                    tick_arr[roads].tolist(),
                    cost_arr[roads].tolist(),
                    hc_i[heads].tolist(),
                    ht_i[heads].tolist(),
                    strict=True,
                )
            )
        return found

    # A label: (cost, ticks, node, parent label, road); kept labels are appended to `kept`.
    kept: list[tuple[int, int, int, int, int]] = []
    fastest: dict[int, int] = {}  # least ticks of a kept label at each node (none: absent)
    members: list[int] = []
    s, t = q.source, q.target
    heap: list[tuple[int, int, int, int, int, int, int]] = [
        (int(hc_i[s]), int(ht_i[s]), 0, 0, s, -1, -1)
    ]
    expanded = 0
    while heap:
        _, bound, c, tk, v, parent, road = heapq.heappop(heap)
        if tk >= fastest.get(v, tk + 1):
            continue
        best_t = fastest.get(t)
        if best_t is not None and bound >= best_t:
            continue
        fastest[v] = tk
        kept.append((c, tk, v, parent, road))
        me = len(kept) - 1
        if v == t:
            members.append(me)
            continue
        expanded += 1
        if expanded > max_labels:
            return [
                _route(q.conditions, np.array(kept, dtype=np.int64).reshape(-1, 5), m)
                for m in members
            ], False
        best_t = fastest.get(t)
        for w, e, ticks, cost, hc_w, ht_w in out(v):
            nt = tk + ticks
            nb = nt + ht_w
            if nt < fastest.get(w, nt + 1) and (best_t is None or nb < best_t):
                nc = c + cost
                heapq.heappush(heap, (nc + hc_w, nb, nc, nt, w, me, e))
    return [
        _route(q.conditions, np.array(kept, dtype=np.int64).reshape(-1, 5), m) for m in members
    ], True


def _routes(
    q: Question, kept: list[tuple[int, int, int, int, int]], members: list[int]
) -> list[Route]:
    rows = np.array(kept, dtype=np.int64).reshape(-1, 5)
    return [_route(q.conditions, rows, m) for m in members]
