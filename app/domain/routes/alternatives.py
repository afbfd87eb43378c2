"""Genuinely different alternative routes, ranked by survival probability.

Definition. The *overlap* of route ``r`` with route ``q`` is the share of
``r``'s travel time spent on roads that ``q`` also uses (a road counts whichever
way it is travelled). The answer to "up to K alternatives" is a list of routes,
safest first, in which every route overlaps each safer route in the list by at
most ``max_overlap`` (default :data:`MAX_OVERLAP` = 0.5). The first route is
always the safest route. Roads that every route between the two places must
use (a lone bridge, the last road into a safe zone) count on neither side:
alternatives can only differ elsewhere, and a route made of nothing else has
no alternative.

Method (penalty method). Candidates come from repeated lexicographic searches
(least cost, then least time) in which every road already used by a candidate
costs more: a road used ``k`` times costs
``cost + ((1 + PENALTY)**k − 1) × (cost + λ × time)``, where ``λ`` is the
safest route's cost per minute (so a road with no risk is penalised too).
Candidates are then taken safest first and kept when they respect the overlap
bound with each route kept before them. At most ``SEARCHES_PER_ROUTE × K``
searches are run: ``O(K (n + m) log n)``. The list is not guaranteed to be the
best possible set of K routes with limited overlap (that problem is NP-hard),
but every route in it is a real route, the ranking is by true survival
probability and the bound always holds. When the penalised searches leave the
list short, the safest route sharing no avoidable road with any route kept so
far is added (repeatedly), so a route fully apart from the others is never
missed.

>>> from app.domain.scenario.reading import validate_scenario
>>> s = validate_scenario({"schema": "safe-passage/scenario@1",
...   "nodes": [{"id": "a"}, {"id": "b"}, {"id": "c"}, {"id": "d"}],
...   "edges": [{"id": "a-b", "from": "a", "to": "b", "travel_time_min": 10, "risk": 0.1},
...             {"id": "a-c", "from": "a", "to": "c", "travel_time_min": 30, "risk": 0.01},
...             {"id": "c-b", "from": "c", "to": "b", "travel_time_min": 20, "risk": 0.02},
...             {"id": "c-d", "from": "c", "to": "d", "travel_time_min": 1, "risk": 0.0},
...             {"id": "d-b", "from": "d", "to": "b", "travel_time_min": 20, "risk": 0.02}]})
>>> # a-c-d-b is as safe as a-c-b but spends 30 of its 51 minutes on a-c: left out.
>>> [r.node_ids for r in alternative_routes(Network(s), "a", "b", k=3).routes]
[['a', 'c', 'b'], ['a', 'b']]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_flow

from app.domain.errors import Fault, QuestionError, RiskLimitError
from app.domain.network.graph import BoolArray, Conditions, FloatArray, IntArray, Network
from app.domain.routes.engine import (
    Route,
    RouteOptions,
    edge_mask,
    lexicographic_route,
    road_arcs,
    safest_route,
)

MAX_OVERLAP = 0.5
"""Default largest share of a route's travel time on roads of any safer alternative."""

PENALTY = 1.0
"""Each use of a road by a candidate multiplies its penalised search cost by ``1 + PENALTY``."""

SEARCHES_PER_ROUTE = 4
"""Searches run per route asked for, at most."""

MAX_ALTERNATIVES = 10


@dataclass
class Question:
    """A route question resolved against a network: endpoints, conditions, usable roads.

    ``best`` is the safest route; resolving the question computes it first, so an
    unknown node, an unknown party, no route (with its cut) or a risk limit
    fails exactly as :func:`~app.domain.routes.engine.safest_route` does.
    """

    network: Network
    conditions: Conditions
    mask: BoolArray
    """Roads usable for this question (edge positions)."""
    source: int
    target: int
    best: Route


def pose(net: Network, source: str, target: str, options: RouteOptions | None = None) -> Question:
    """Resolve a route question; raises what :func:`safest_route` raises."""
    opts = options or RouteOptions()
    best = safest_route(net, source, target, opts)
    cond = best.conditions
    mask = edge_mask(cond, opts.avoid_parties, opts.consenting_only)
    return Question(net, cond, mask, net.node_index[source], net.node_index[target], best)


def overlap(route: Route, other: Route, ignore: frozenset[int] = frozenset()) -> float:
    """Share of ``route``'s travel time on roads that ``other`` also uses (0 to 1).

    Roads in ``ignore`` (those every route must use) count on neither side; a
    route made only of such roads overlaps any other route fully.
    """
    own = [e for e in route.edges if e not in ignore]
    if not own:
        return 1.0
    shared = set(own) & set(other.edges)
    time = route.conditions.time
    total = float(np.sum(time[own]))
    if total <= 0.0:
        return len([e for e in own if e in shared]) / len(own)
    return float(sum(float(time[e]) for e in own if e in shared)) / total


def unavoidable_roads(net: Network, mask: BoolArray, route: Route) -> list[int]:
    """Roads of ``route`` that every route between its ends over ``mask`` must use, in order.

    With one unit of flow along the route, road ``x_i → x_i+1`` is on every route
    iff ``x_i+1`` cannot be reached from ``x_0..x_i`` in the residual network
    (the route's arcs reversed, every other usable arc as it is). Those reach
    sets only grow along the route, so one incremental search finds all of
    them in ``O(n + m)``.
    """
    if not route.edges:
        return []
    n = net.n_nodes
    arc_ok = mask[net.arc_edge].copy()
    s, t = route.nodes[0], route.nodes[-1]
    units = csr_matrix(
        (np.ones(int(arc_ok.sum()), dtype=np.int32), (net.arc_tail[arc_ok], net.arc_head[arc_ok])),
        shape=(n, n),
    )
    units.sum_duplicates()
    if maximum_flow(units, s, t, method="dinic").flow_value >= 2:
        return []  # two road-disjoint routes exist (Menger): no road is on every route
    tails, heads = [], []
    key = net.arc_tail * n + net.arc_head  # sorted: arcs are ordered by (tail, head, road)
    for k, e in enumerate(route.edges):
        u, v = route.nodes[k], route.nodes[k + 1]
        # The route's own arc u→v of road e is saturated: drop it, add v→u.
        lo, hi = np.searchsorted(key, [u * n + v, u * n + v + 1])
        arc_ok[lo + int(np.flatnonzero(net.arc_edge[lo:hi] == e)[0])] = False
        tails.append(v)
        heads.append(u)
    tail = np.concatenate([net.arc_tail[arc_ok], np.array(tails, dtype=np.int64)])
    head = np.concatenate([net.arc_head[arc_ok], np.array(heads, dtype=np.int64)])
    graph = csr_matrix((np.ones(len(tail)), (tail, head)), shape=(n, n))
    indptr, indices = graph.indptr, graph.indices
    seen = np.zeros(n, dtype=bool)
    found: list[int] = []
    for k, e in enumerate(route.edges):
        x, y = route.nodes[k], route.nodes[k + 1]
        stack = [] if seen[x] else [x]
        seen[x] = True
        while stack:
            u = stack.pop()
            for w in indices[indptr[u] : indptr[u + 1]].tolist():
                if not seen[w]:
                    seen[w] = True
                    stack.append(w)
        if not seen[y]:
            found.append(e)
    return found


def _cost_per_minute(q: Question) -> float:
    """λ: converts minutes to cost units so that penalties also reach roads without risk."""
    best = q.best
    if best.cost > 0 and best.travel_time_min > 0:
        return best.cost / best.travel_time_min
    cond = q.conditions
    ratios = cond.cost[q.mask] / cond.time[q.mask]
    positive = ratios[ratios > 0]
    return float(np.median(positive)) if positive.size else 1.0


@dataclass
class Alternatives:
    """Alternative routes, safest first, and the roads every route must use."""

    routes: list[Route]
    unavoidable: list[int]
    """Roads (edge positions) on every route between the two places, in route order."""

    def overlap_with_safer(self, i: int) -> float:
        """Largest overlap of route ``i`` with a safer route of the list (0 for the first)."""
        ignore = frozenset(self.unavoidable)
        return max((overlap(self.routes[i], q, ignore) for q in self.routes[:i]), default=0.0)


def alternative_routes(
    net: Network,
    source: str,
    target: str,
    options: RouteOptions | None = None,
    *,
    k: int = 3,
    max_overlap: float = MAX_OVERLAP,
) -> Alternatives:
    """Up to ``k`` routes, safest first, each overlapping every safer one by ≤ ``max_overlap``.

    Routes above ``options.max_risk`` are left out; if even the safest is above
    it, :class:`RiskLimitError` is raised as for a single route.
    """
    if not 1 <= k <= MAX_ALTERNATIVES:
        raise QuestionError(
            [Fault("alternatives", f"ask for 1 to {MAX_ALTERNATIVES} routes, not {k}")]
        )
    if not 0.0 <= max_overlap <= 1.0:
        raise QuestionError(
            [Fault("max_overlap", f"max_overlap must be within [0, 1], not {max_overlap}")]
        )
    opts = options or RouteOptions()
    q = pose(net, source, target, opts)
    cond = q.conditions
    arc_road = net.arc_edge
    arc_ok = q.mask[arc_road]
    base: FloatArray = cond.cost[arc_road]
    plain = np.where(arc_ok, base, np.inf)
    top = float(np.max(base, where=arc_ok, initial=0.0))
    apart = apart_route(q, [q.best], plain=plain, top=top)
    # A route sharing no road with the safest one: no road is on every route.
    forced = [] if apart is not None else unavoidable_roads(net, q.mask, q.best)
    if k == 1:
        return Alternatives([q.best], forced)
    surcharge: FloatArray = base + _cost_per_minute(q) * cond.time[arc_road]
    top_surcharge = float(np.max(surcharge, where=arc_ok, initial=0.0))
    uses = np.zeros(len(net.edge_ids), dtype=np.int64)
    # The penalised costs, kept up to date on the arcs of the roads each search uses
    # (a road used k times: base + ((1 + PENALTY)**k − 1) × surcharge; unused: base).
    penalised = np.where(arc_ok, np.rint(base), np.inf)
    candidates: dict[tuple[int, ...], Route] = {tuple(q.best.edges): q.best}
    ignore = frozenset(forced)
    chosen = [q.best]
    _penalise(q, penalised, uses, base, surcharge, arc_ok, q.best)
    for _ in range(SEARCHES_PER_ROUTE * k - 1):
        bound = top + ((1.0 + PENALTY) ** int(uses.max()) - 1.0) * top_surcharge + 1.0
        found = lexicographic_route(cond, arc_ok, q.source, q.target, penalised, bound)
        if found is None:  # pragma: no cover - the safest route exists, so a path does
            break
        _penalise(q, penalised, uses, base, surcharge, arc_ok, found)
        candidates.setdefault(tuple(found.edges), found)
        chosen = _select(list(candidates.values()), k, max_overlap, opts.max_risk, ignore)
        if len(chosen) == k:
            break
    while len(chosen) < k:
        # Penalties may not push the search far enough: take the safest route that
        # shares no avoidable road with any route kept so far (overlap 0 with all).
        if apart is not None and len(chosen) == 1 and chosen[0] is q.best:
            found = apart  # that search, already made
        else:
            found = apart_route(q, chosen, forced, plain=plain, top=top)
        if found is None or tuple(found.edges) in candidates:
            break
        candidates[tuple(found.edges)] = found
        more = _select(list(candidates.values()), k, max_overlap, opts.max_risk, ignore)
        if len(more) <= len(chosen):
            break
        chosen = more
    return Alternatives(chosen, forced)


def _penalise(
    q: Question,
    penalised: FloatArray,
    uses: IntArray,
    base: FloatArray,
    surcharge: FloatArray,
    arc_ok: BoolArray,
    route: Route,
) -> None:
    """Count one more use of ``route``'s roads and raise their arcs' penalised costs."""
    uses[route.edges] += 1
    arcs = road_arcs(q.network, np.unique(np.asarray(route.edges, dtype=np.int64)))
    arcs = arcs[arc_ok[arcs]]
    factor = (1.0 + PENALTY) ** uses[q.network.arc_edge[arcs]] - 1.0
    penalised[arcs] = np.rint(base[arcs] + factor * surcharge[arcs])


def apart_route(
    q: Question,
    routes: list[Route],
    keep: Sequence[int] = (),
    *,
    plain: FloatArray | None = None,
    top: float | None = None,
) -> Route | None:
    """The safest route sharing no road with ``routes`` except those of ``keep`` (None:
    there is none). ``plain``: the question's arc costs, inf where not usable, and ``top``
    their largest finite value, when the caller has them."""
    net = q.network
    if plain is None or top is None:
        base = q.conditions.arc_cost
        arc_ok = q.mask[net.arc_edge]
        plain = np.where(arc_ok, base, np.inf)
        top = float(np.max(base, where=arc_ok, initial=0.0))
    banned = np.zeros(len(net.edge_ids), dtype=bool)
    for r in routes:
        banned[r.edges] = True
    banned[list(keep)] = False
    roads = np.flatnonzero(banned)
    arcs = road_arcs(net, roads)
    weights = plain.copy()
    weights[arcs] = np.inf
    ok = np.isfinite(plain)
    ok[arcs] = False
    return lexicographic_route(q.conditions, ok, q.source, q.target, weights, top)


def _select(
    candidates: list[Route],
    k: int,
    max_overlap: float,
    max_risk: float | None,
    forced: frozenset[int],
) -> list[Route]:
    """Safest first, keeping a route only if its overlap with each kept route is within bound."""
    ranked = sorted(candidates, key=lambda r: (r.cost, r.travel_time_min, len(r.edges)))
    kept: list[Route] = []
    for r in ranked:
        if max_risk is not None and r.risk > max_risk + 1e-12:
            continue
        if all(overlap(r, better, forced) <= max_overlap + 1e-12 for better in kept):
            kept.append(r)
            if len(kept) == k:
                break
    return kept


def within_risk(route: Route, max_risk: float | None, what: str) -> None:
    """Raise :class:`RiskLimitError` if ``route`` is above ``max_risk``."""
    if max_risk is not None and route.risk > max_risk + 1e-12:
        raise RiskLimitError(
            f"{what} has a route with risk {route.risk:.4f}, above the limit {max_risk}",
            best_risk=route.risk,
            max_risk=max_risk,
        )


def without_max_risk(options: RouteOptions) -> RouteOptions:
    return replace(options, max_risk=None)
