"""Two corridors that share no road, with the greatest joint survival probability.

Definition. A *disjoint pair* is two routes from A to B that have no road in
common (a road counts as used whichever way it is travelled). Its joint
survival probability is the product of the two routes' survival
probabilities; the answer maximises it, i.e. minimises the sum of the two
routes' costs ``Σ −ln(1 − risk)`` (quantised, see
:data:`~app.domain.network.graph.COST_SCALE`). Among pairs of equal joint survival
the one with the least total travel time wins whenever the integers involved
stay exact in float64 (total cost × total time below 2**51, true for city-scale
networks; time resolution 0.01 min); beyond that any equally safe pair is
returned. Of the two routes the first is the safest route that can be drawn
within the pair's roads.

Method (Suurballe). A Dijkstra search gives the shortest path P1 and the
distances ``d``; a second Dijkstra runs on the residual network (P1's arcs
reversed at cost 0, every other arc at its reduced cost ``c + d(u) − d(v) ≥ 0``)
and gives P2. P1 ⊕ P2 (arcs of P2 that undo P1 cancel out) is a minimum-cost
flow of two units, which decomposes into the two routes. Parallel roads are
split by a midpoint so that each stays a separate arc; if the two routes would
travel one road in opposite directions both passages cancel, which never costs
more. ``O((n + m) log n)``: two scipy Dijkstra runs. The greedy "best route,
then the best route on the remaining roads" can fail or be worse (see the
tests); this is the exact optimum of the min-cost-flow formulation.

If no disjoint pair exists (at most one road-disjoint route, by Menger's
theorem a cut of one road), :class:`NoDisjointPairError` names every road that
all routes from A to B must use.

>>> from app.domain.scenario.reading import validate_scenario
>>> s = validate_scenario({"schema": "safe-passage/scenario@1",
...   "nodes": [{"id": "s"}, {"id": "a"}, {"id": "b"}, {"id": "t"}],
...   "edges": [{"id": "s-a", "from": "s", "to": "a", "travel_time_min": 5, "risk": 0.01},
...             {"id": "a-b", "from": "a", "to": "b", "travel_time_min": 5, "risk": 0.01},
...             {"id": "b-t", "from": "b", "to": "t", "travel_time_min": 5, "risk": 0.01},
...             {"id": "s-b", "from": "s", "to": "b", "travel_time_min": 5, "risk": 0.02},
...             {"id": "a-t", "from": "a", "to": "t", "travel_time_min": 5, "risk": 0.02}]})
>>> pair = disjoint_pair(Network(s), "s", "t")   # the safest route s-a-b-t is in neither
>>> [r.node_ids for r in pair.routes], round(pair.joint_survival_probability, 4)
([['s', 'a', 't'], ['s', 'b', 't']], 0.9413)
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from app.domain.errors import Fault, NoAnswerError, QuestionError
from app.domain.network.graph import FloatArray, IntArray, Network
from app.domain.routes import engine
from app.domain.routes._search import disjoint_in_corridor
from app.domain.routes.alternatives import (
    Question,
    apart_route,
    pose,
    unavoidable_roads,
    within_risk,
)
from app.domain.routes.engine import Route, RouteOptions
from app.domain.routes.landmarks import landmarks_of

TIME_RESOLUTION_MIN = 0.01
"""Travel times are compared in units of 0.01 min when breaking survival ties."""

_EXACT_LIMIT = 2.0**51


class NoDisjointPairError(NoAnswerError):
    """Routes exist, but every two of them share at least one road."""

    title = "No disjoint pair of routes"
    slug = "no-disjoint-pair"

    def __init__(self, detail: str, shared_roads: list[dict[str, Any]], route: Route) -> None:
        super().__init__(detail)
        self.shared_roads = shared_roads
        # As in a ROUTES document, not the live route: errors are plain values that pickle.
        self.route = route.as_dict()

    def extra(self) -> dict[str, Any]:
        return {"shared_roads": self.shared_roads, "route": self.route}


@dataclass
class DisjointPair:
    """Two road-disjoint routes, safer first."""

    routes: tuple[Route, Route]

    @property
    def joint_survival_probability(self) -> float:
        """Product of both routes' survival probabilities."""
        return self.routes[0].survival_probability * self.routes[1].survival_probability

    @property
    def cost(self) -> float:
        return self.routes[0].cost + self.routes[1].cost


@dataclass
class _Arcs:
    """The usable arcs as a simple digraph: parallel arcs get a midpoint node."""

    n: int
    tail: IntArray
    head: IntArray
    weight: FloatArray
    origin: IntArray
    """Network arc index each arc stands for (both halves of a split arc share it)."""

    def __post_init__(self) -> None:
        self.key: IntArray = self.tail * self.n + self.head
        """Sorted: arcs are ordered by (tail, head) and no two share both."""


def disjoint_pair(
    net: Network, source: str, target: str, options: RouteOptions | None = None
) -> DisjointPair:
    """The road-disjoint pair from ``source`` to ``target`` of greatest joint survival.

    Raises :class:`~app.domain.errors.NoRouteError` when no route exists,
    :class:`NoDisjointPairError` when routes exist but no disjoint pair, and
    :class:`~app.domain.errors.RiskLimitError` when a route of the pair is above
    ``options.max_risk``.
    """
    opts = options or RouteOptions()
    if source == target:
        raise QuestionError(
            [Fault("destination", "a disjoint pair needs two different places")],
            detail="'from' and 'to' are the same node",
        )
    q = pose(net, source, target, opts)
    flow = _in_corridor(q)
    if flow is None:
        flow = suurballe(q)
    if flow is None:
        raise _no_pair(q)
    pair = _decompose(q, flow)
    for r in pair.routes:
        within_risk(r, opts.max_risk, "the disjoint pair of greatest joint survival")
    return pair


def suurballe(q: Question) -> set[int] | None:
    """The arcs (network positions) of a least-weight two-unit flow over every usable road
    (the method of the module docstring), or None when no disjoint pair exists."""
    g = _simple_arcs(q)
    p1, dist = _shortest(g, q.source, q.target)
    with np.errstate(invalid="ignore"):  # arcs out of unreachable places: dropped below
        reduced = g.weight + dist[g.tail] - dist[g.head]
    on_p1 = np.zeros(len(g.tail), dtype=bool)
    on_p1[p1] = True
    keep = np.isfinite(dist[g.tail]) & ~on_p1
    r_tail = np.concatenate([g.tail[keep], g.head[p1]])
    r_head = np.concatenate([g.head[keep], g.tail[p1]])
    r_weight = np.concatenate([np.maximum(reduced[keep], 0.0), np.zeros(len(p1))])
    residual = _csr_min(g.n, r_tail, r_head, r_weight)
    _, pred = dijkstra(residual, directed=True, indices=q.source, return_predecessors=True)
    if pred[q.target] < 0:
        return None
    flow = set(p1.tolist())
    p1_by_ends = {(int(g.tail[a]), int(g.head[a])): int(a) for a in p1}
    node = q.target
    while node != q.source:
        prev = int(pred[node])
        cancelled = p1_by_ends.get((node, prev))
        if cancelled is not None:
            flow.discard(cancelled)
        else:
            flow.add(_arc_between(g, prev, node))
        node = prev
    return {int(g.origin[a]) for a in flow}


def _in_corridor(q: Question) -> set[int] | None:
    """The same optimum found in a corridor around the safest route (None: not here).

    On networks searched goal-directed (:data:`~app.domain.routes.engine.GOAL_DIRECTED_NODES`
    places or more, landmarks ready, objective survival or harm). A witness pair bounds the
    optimum: the safest route P (cost ``c*``, the least any route has) and the safest
    route W sharing no road with it (cost ``c_W``). The best pair weighs no more than
    (P, W), and each of its routes weighs at least ``c*``, so each costs at most ``c_W``
    (with the time tie-break too: times count below one cost unit). Every node ``v`` on
    either route then has ``lb(s, v) + lb(v, t) ≤ c_W`` for the landmark lower bounds
    ``lb`` (:mod:`.landmarks`), and the best pair of the roads between such nodes is the
    best pair of the network. Both searches of the method run there (compiled,
    ``_search.pyx``; parallel roads stay separate arcs, no split needed). None when no
    witness exists (the plain method then decides whether a pair does).
    """
    net, cond = q.network, q.conditions
    if net.n_nodes < engine.GOAL_DIRECTED_NODES or cond.objective == "detention":
        return None
    marks = landmarks_of(net)
    if marks is None:
        return None
    witness = apart_route(q, [q.best])
    if witness is None:
        return None
    arc_ok = q.mask[net.arc_edge]
    cost = cond.arc_cost
    ticks = np.maximum(1.0, np.rint(cond.arc_time / TIME_RESOLUTION_MIN))
    scale, exact = _tie_scale(cost[arc_ok], ticks[arc_ok])
    weight = np.where(arc_ok, cost * scale + ticks if exact else cost, np.inf)
    budget = int(np.sum(cond.cost[witness.edges].astype(np.int64)))
    flow, _ = disjoint_in_corridor(
        net.arc_indptr,
        net.arc_head,
        net.arc_tail,
        weight,
        marks.forward,
        marks.backward,
        marks.scale_forward,
        marks.scale_backward,
        q.source,
        q.target,
        budget,
    )
    if flow is None:  # pragma: no cover - the witness pair lies in the corridor
        return None
    return set(flow.tolist())


def _tie_scale(cost: FloatArray, ticks: FloatArray) -> tuple[float, bool]:
    """The factor putting cost before time in one number, and whether sums stay exact."""
    scale = float(np.sum(ticks)) + 1.0
    # Lexicographic (cost, time) as one exact number when it fits; else cost alone.
    exact = (float(np.sum(cost)) + 1.0) * scale * 4.0 < _EXACT_LIMIT
    return scale, exact


def _simple_arcs(q: Question) -> _Arcs:
    net, cond = q.network, q.conditions
    arcs = np.flatnonzero(q.mask[net.arc_edge])
    tail, head = net.arc_tail[arcs], net.arc_head[arcs]
    cost = cond.cost[net.arc_edge[arcs]]
    ticks = np.maximum(1.0, np.rint(cond.time[net.arc_edge[arcs]] / TIME_RESOLUTION_MIN))
    scale, exact = _tie_scale(cost, ticks)
    weight = cost * scale + ticks if exact else cost.copy()
    n = net.n_nodes
    key = tail * n + head
    dup = np.r_[False, key[1:] == key[:-1]] if len(key) else np.zeros(0, dtype=bool)
    mid = n + np.arange(int(dup.sum()), dtype=np.int64)
    d_idx = np.flatnonzero(dup)
    g_tail = np.concatenate([tail[~dup], tail[d_idx], mid])
    g_head = np.concatenate([head[~dup], mid, head[d_idx]])
    g_weight = np.concatenate([weight[~dup], weight[d_idx], np.zeros(len(mid))])
    g_origin = np.concatenate([arcs[~dup], arcs[d_idx], arcs[d_idx]])
    size = n + len(mid)
    # By (tail, head), all distinct; nearly in order already, which a stable sort uses.
    order = np.argsort(g_tail * size + g_head, kind="stable")
    return _Arcs(size, g_tail[order], g_head[order], g_weight[order], g_origin[order])


def _csr_min(n: int, tail: IntArray, head: IntArray, weight: FloatArray) -> csr_matrix:
    """CSR matrix keeping the least weight among arcs with the same ends."""
    if len(tail) == 0:
        return csr_matrix((n, n), dtype=np.float64)
    key = tail * n + head
    if not bool(np.all(key[1:] > key[:-1])):  # already in order (the usual case): no sort
        order = np.argsort(key, kind="stable")
        key, tail, head, weight = key[order], tail[order], head[order], weight[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    least = np.minimum.reduceat(weight, starts)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(tail[starts], minlength=n), out=indptr[1:])
    return csr_matrix((least, head[starts], indptr), shape=(n, n))


def _arc_between(g: _Arcs, u: int, v: int) -> int:
    key = g.key
    i = int(np.searchsorted(key, u * g.n + v))
    assert i < len(key) and key[i] == u * g.n + v
    return i


def _shortest(g: _Arcs, s: int, t: int) -> tuple[IntArray, FloatArray]:
    """Arcs of a least-weight path from ``s`` to ``t`` and the distances from ``s``."""
    dist, pred = dijkstra(
        _csr_min(g.n, g.tail, g.head, g.weight),
        directed=True,
        indices=s,
        return_predecessors=True,
    )
    path = []
    node = t
    while node != s:
        prev = int(pred[node])
        path.append(_arc_between(g, prev, node))
        node = prev
    path.reverse()
    return np.array(path, dtype=np.int64), dist


def _decompose(q: Question, arcs: set[int]) -> DisjointPair:
    """Two routes from the arcs of a two-unit flow (safest-within-the-pair first)."""
    net = q.network
    # One road travelled both ways by the two routes: cancelling both passages
    # keeps a two-unit flow and never costs more.
    by_road: dict[int, list[int]] = {}
    for a in arcs:
        by_road.setdefault(int(net.arc_edge[a]), []).append(a)
    for pair in by_road.values():
        if len(pair) == 2:
            arcs.difference_update(pair)
    out: dict[int, list[int]] = {}
    for a in sorted(arcs):
        out.setdefault(int(net.arc_tail[a]), []).append(a)
    first = _best_within(q, out)
    for a in first:
        out[int(net.arc_tail[a])].remove(a)
    second = _walk(q, out)
    routes = sorted(
        (_route(q, first), _route(q, second)),
        key=lambda r: (r.cost, r.travel_time_min),
    )
    return DisjointPair((routes[0], routes[1]))


def _best_within(q: Question, out: dict[int, list[int]]) -> list[int]:
    """Least (cost, time) path from source to target over the given arcs (a small graph)."""
    net, cond = q.network, q.conditions
    best: dict[int, tuple[float, float]] = {q.source: (0.0, 0.0)}
    via: dict[int, int] = {}
    heap: list[tuple[float, float, int]] = [(0.0, 0.0, q.source)]
    done: set[int] = set()
    while heap:
        c, t, u = heapq.heappop(heap)
        if u in done:
            continue
        done.add(u)
        for a in out.get(u, []):
            e = int(net.arc_edge[a])
            v = int(net.arc_head[a])
            label = (c + float(cond.cost[e]), t + float(cond.time[e]))
            if v not in best or label < best[v]:
                best[v] = label
                via[v] = a
                heapq.heappush(heap, (*label, v))
    path = []
    node = q.target
    while node != q.source:
        a = via[node]
        path.append(a)
        node = int(net.arc_tail[a])
    path.reverse()
    return path


def _walk(q: Question, out: dict[int, list[int]]) -> list[int]:
    """Follow the remaining unit of flow from source to target, cutting out any loop."""
    net = q.network
    path: list[int] = []
    position = {q.source: 0}
    node = q.source
    while node != q.target:
        a = out[node].pop()
        node = int(net.arc_head[a])
        path.append(a)
        if node in position:  # a zero-cost loop: drop it
            cut = position[node]
            for b in path[cut:]:
                position.pop(int(net.arc_head[b]), None)
            del path[cut:]
        position[node] = len(path)
    return path


def _route(q: Question, arcs: list[int]) -> Route:
    net = q.network
    nodes = [q.source] + [int(net.arc_head[a]) for a in arcs]
    return Route(q.conditions, nodes, [int(net.arc_edge[a]) for a in arcs])


def _no_pair(q: Question) -> NoDisjointPairError:
    """The error naming every road all routes share, in route order."""
    net = q.network
    roads: list[dict[str, Any]] = []
    for e in unavoidable_roads(q.network, q.mask, q.best):
        roads.append(
            {
                "edge": net.edge_ids[e],
                "name": net.edge_text(e, "name"),
                "from": net.edge_from_id(e),
                "to": net.edge_to_id(e),
                "controlled_by": net.edge_text(e, "controlled_by"),
                "checkpoint": net.edge_text(e, "checkpoint"),
            }
        )
    names = ", ".join(r["edge"] + (f" ({r['name']})" if r["name"] else "") for r in roads)
    src, dst = net.node_ids[q.source], net.node_ids[q.target]
    many = len(roads) != 1
    return NoDisjointPairError(
        f"no two routes from {src!r} to {dst!r} avoid sharing a road: every route uses "
        f"{'these roads' if many else 'the road'} {names}",
        roads,
        q.best,
    )
