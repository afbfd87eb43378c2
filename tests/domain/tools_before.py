"""The negotiation tools as they were before they searched goal-directed, kept verbatim as
oracles: the new ones must give the same answers (same routes, same choice among ties)."""

from __future__ import annotations

import numpy as np

from app.domain.network.graph import Network
from app.domain.routes.alternatives import (
    MAX_OVERLAP,
    PENALTY,
    SEARCHES_PER_ROUTE,
    Alternatives,
    _cost_per_minute,
    _select,
    pose,
    unavoidable_roads,
)
from app.domain.routes.engine import Route, RouteOptions, lexicographic_path


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
