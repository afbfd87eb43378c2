"""The risk–time trade-off: routes no other route beats on both survival and time.

Definition. Route ``q`` *dominates* route ``r`` when ``q`` is at least as safe
(cost ``Σ −ln(1 − risk)`` no larger, quantised as in
:data:`~app.domain.network.graph.COST_SCALE`) and at least as fast (travel time
compared in units of :data:`TIME_RESOLUTION_MIN`), and strictly better on one.
The *Pareto front* holds one route for each non-dominated (cost, time) pair,
ordered safest (slowest) first to fastest (riskiest) last. Every route between
the two places is either on the front, has the same figures as a member, or
is dominated by a member.

Method (Martins' label-setting search, guided). Labels (cost, time, node)
leave a priority queue in lexicographic order of cost and time *plus* the
least remaining cost and time to the target (two reverse Dijkstra runs; the
bounds are exact lower bounds, so the order among a node's labels is still
lexicographic). A label is kept only if it is faster than every label already
kept at its node (which are all at least as safe), and dropped when even its
least possible arrival time cannot beat the target's fastest kept label. The
target's kept labels are the front. The search is compiled (``_search.pyx``; the
Python version it replaced is kept as the tests' oracle). Exact fronts can grow with the
network: at most :data:`MAX_LABELS` labels are expanded. If that budget runs out, the
members found (the safest end of the front: every member cheaper than the least possible
cost of the label the search stopped at) are completed with *supported* members — routes
minimising a positive weighted sum of cost and time, found by dichotomic search between
the safest and the fastest route (one Dijkstra run each, at most ``2 × cap + 2``). Every
route returned is then still on the front, but members between them may be missing:
``complete`` is false and ``missing`` names the gaps between consecutive members found
where they can lie, with their ranges of survival and time (:func:`gaps`).

Cap. At most ``cap`` routes (default :data:`DEFAULT_CAP` = 10) are returned:
when the front is larger, members at evenly spaced ranks are kept, always
including the safest and the fastest.

>>> from app.domain.scenario.reading import validate_scenario
>>> s = validate_scenario({"schema": "safe-passage/scenario@1",
...   "nodes": [{"id": "a"}, {"id": "b"}, {"id": "c"}],
...   "edges": [{"id": "a-b", "from": "a", "to": "b", "travel_time_min": 10, "risk": 0.1},
...             {"id": "a-c", "from": "a", "to": "c", "travel_time_min": 20, "risk": 0.01},
...             {"id": "c-b", "from": "c", "to": "b", "travel_time_min": 20, "risk": 0.02}]})
>>> front = pareto_front(Network(s), "a", "b")
>>> [(r.node_ids, r.travel_time_min) for r in front.routes]
[(['a', 'c', 'b'], 40.0), (['a', 'b'], 10.0)]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from app.domain.errors import Fault, QuestionError
from app.domain.network.graph import BoolArray, Conditions, FloatArray, IntArray, Network
from app.domain.routes._search import martins
from app.domain.routes.alternatives import Question, pose
from app.domain.routes.engine import Route, RouteOptions, lexicographic_path

DEFAULT_CAP = 10
"""Most routes returned from the front."""

MAX_CAP = 50

MAX_LABELS = 200_000
"""Most labels expanded before the exact search gives way to supported members (compiled:
0.2–0.4 s on a 100,000-place grid, docs/benchmarks.md)."""

TIME_RESOLUTION_MIN = 1e-6
"""Travel times are compared in units of 1e-6 min, so sums in any order compare equal."""


@dataclass
class ParetoFront:
    """Routes of the front (capped), safest first, and what was found in all."""

    routes: list[Route]
    size: int
    """Number of members found on the front (before the cap)."""
    complete: bool
    """False when the label budget ran out and members between those found may be missing."""
    missing: list[dict[str, list[float]]] = field(default_factory=list)
    """Where missing members may lie (empty when complete): ranges of survival probability
    and travel time, each strictly between two members found (see :func:`gaps`)."""


def pareto_front(
    net: Network,
    source: str,
    target: str,
    options: RouteOptions | None = None,
    *,
    cap: int = DEFAULT_CAP,
    max_labels: int = MAX_LABELS,
) -> ParetoFront:
    """The Pareto front of (survival, travel time) routes from ``source`` to ``target``.

    Members above ``options.max_risk`` are left out (those within it are
    exactly the front of the routes within it). Raises what
    :func:`~app.domain.routes.engine.safest_route` raises when no route exists.
    """
    if not 1 <= cap <= MAX_CAP:
        raise QuestionError([Fault("pareto_cap", f"cap must be 1 to {MAX_CAP}")])
    opts = options or RouteOptions()
    q = pose(net, source, target, opts)
    cond = q.conditions
    if q.source == q.target:
        return ParetoFront([q.best], 1, True)
    arc_ok = q.mask[net.arc_edge]
    cost_arr = cond.cost.astype(np.int64)
    tick_arr = np.maximum(1, np.rint(cond.time / TIME_RESOLUTION_MIN)).astype(np.int64)
    members, complete, stop = _martins(q, arc_ok, cost_arr, tick_arr, max_labels)
    routes = members
    missing: list[dict[str, list[float]]] = []
    if stop is not None:
        routes = _nondominated(members + _supported(q, arc_ok, cost_arr, tick_arr, cap), tick_arr)
        missing = gaps(routes, stop[0], opts.max_risk)
        complete = not missing  # no gap can hold a member: none is missing after all
    if opts.max_risk is not None:
        routes = [r for r in routes if r.risk <= opts.max_risk + 1e-12]
    return ParetoFront(spread(routes, cap), len(routes), complete, missing)


def gaps(
    routes: list[Route], stopped_at: int, max_risk: float | None
) -> list[dict[str, list[float]]]:
    """Where members of the front not found may lie, when the search stopped early.

    The label-setting search takes labels in order of least possible cost: stopped at a
    label whose least possible cost is ``stopped_at``, it has found every member of lower
    cost. A member not found then costs at least that and lies, like every member, strictly
    between two consecutive members found (``routes``, safest first): less safe and faster
    than the one, safer and slower than the other. So only the pairs whose less safe member
    costs more than ``stopped_at`` can hold one, and each such pair bounds the survival
    probability and travel time of what it may hold (quantised costs: to about 1e-9).
    Pairs above ``max_risk`` are left out."""
    out = []
    for safer, faster in pairwise(routes):
        if faster.cost <= stopped_at:
            continue
        if max_risk is not None and safer.risk > max_risk + 1e-12:
            continue
        low = faster.survival_probability
        if max_risk is not None:
            low = max(low, 1.0 - max_risk)
        out.append(
            {
                "survival_probability": [low, safer.survival_probability],
                "travel_time_min": [faster.travel_time_min, safer.travel_time_min],
            }
        )
    return out


def _to_target(net: Network, arc_ok: BoolArray, weight: IntArray, t: int) -> FloatArray:
    """Least weight from every node to ``t`` over usable arcs (inf where unreachable)."""
    # The arcs reversed, as rows by head; parallel arcs stay (the search takes the least)
    # and unusable ones weigh inf (never relaxed).
    order = net.arc_by_head
    w = np.where(arc_ok, weight[net.arc_edge], np.inf)[order]
    tails = net.arc_tail[order].astype(net.csr_indices.dtype)
    n = net.n_nodes
    reverse = csr_matrix((w, tails, net.arc_rev_indptr.astype(tails.dtype)), shape=(n, n))
    result: FloatArray = dijkstra(reverse, directed=True, indices=t)
    return result


def _martins(
    q: Question, arc_ok: BoolArray, cost_arr: IntArray, tick_arr: IntArray, max_labels: int
) -> tuple[list[Route], bool, tuple[int, int] | None]:
    """The exact front by guided label setting (compiled, ``_search.pyx``), or its safest
    members if the budget runs out, with the key at which the search stopped (see
    :func:`~app.domain.routes._search.martins`)."""
    net = q.network
    hc = _to_target(net, arc_ok, cost_arr, q.target)
    ht = _to_target(net, arc_ok, tick_arr, q.target)
    reach = np.isfinite(hc)
    hc_i = np.where(reach, hc, 0.0).astype(np.int64)
    ht_i = np.where(reach, ht, 0.0).astype(np.int64)
    usable = (arc_ok & reach[net.arc_head]).view(np.uint8)
    kept, members, complete, stop = martins(
        net.arc_indptr,
        net.arc_head,
        net.arc_edge,
        usable,
        cost_arr[net.arc_edge],
        tick_arr[net.arc_edge],
        hc_i,
        ht_i,
        q.source,
        q.target,
        max_labels,
    )
    return [_route(q.conditions, kept, int(m)) for m in members], complete, stop


def _vector(route: Route, tick_arr: IntArray) -> tuple[int, int]:
    return int(route.cost), int(np.sum(tick_arr[route.edges]))


def _supported(
    q: Question, arc_ok: BoolArray, cost_arr: IntArray, tick_arr: IntArray, cap: int
) -> list[Route]:
    """Front members minimising weighted sums of cost and time (dichotomic search)."""
    net, cond = q.network, q.conditions
    arc_cost = cost_arr[net.arc_edge].astype(np.float64)
    arc_tick = tick_arr[net.arc_edge].astype(np.float64)
    safest = q.best
    fastest = lexicographic_path(
        cond, arc_ok, q.source, q.target, arc_cost=arc_tick, arc_time=arc_cost
    )
    assert fastest is not None  # the safest route exists
    found = {_vector(safest, tick_arr): safest, _vector(fastest, tick_arr): fastest}
    gaps = [(_vector(safest, tick_arr), _vector(fastest, tick_arr))]
    budget = 2 * cap
    peak = float(max(arc_cost.max(initial=0.0), 1.0)), float(max(arc_tick.max(initial=0.0), 1.0))
    while gaps and budget > 0:
        (ca, ta), (cb, tb) = gaps.pop(0)
        if cb <= ca or ta <= tb:
            continue
        budget -= 1
        wc, wt = float(ta - tb), float(cb - ca)
        # Integer weights of at most 1e9 per arc keep the sums exact.
        scale = 1e9 / (wc * peak[0] + wt * peak[1])
        weight = np.rint((wc * arc_cost + wt * arc_tick) * scale)
        r = lexicographic_path(cond, arc_ok, q.source, q.target, arc_cost=weight)
        if r is None:  # pragma: no cover - a route exists
            break
        vc, vt = _vector(r, tick_arr)
        if (vc, vt) in found or wc * vc + wt * vt >= wc * ca + wt * ta:
            continue
        found[(vc, vt)] = r
        gaps += [((ca, ta), (vc, vt)), ((vc, vt), (cb, tb))]
    return list(found.values())


def _nondominated(routes: list[Route], tick_arr: IntArray) -> list[Route]:
    """One route per non-dominated (cost, time), safest first."""
    best: dict[tuple[int, int], Route] = {}
    for r in routes:
        best.setdefault(_vector(r, tick_arr), r)
    front: list[Route] = []
    fastest_so_far: int | None = None
    for vector in sorted(best):
        if fastest_so_far is None or vector[1] < fastest_so_far:
            front.append(best[vector])
            fastest_so_far = vector[1]
    return front


def spread(routes: list[Route], cap: int) -> list[Route]:
    """At most ``cap`` routes at evenly spaced ranks, keeping the first and the last."""
    if len(routes) <= cap:
        return routes
    if cap == 1:
        return routes[:1]
    last = len(routes) - 1
    picks = sorted({round(i * last / (cap - 1)) for i in range(cap)})
    return [routes[i] for i in picks]


def _route(cond: Conditions, kept: IntArray, label: int) -> Route:
    """The route of a kept label: rows of (cost, ticks, node, parent, road)."""
    nodes: list[int] = []
    edges: list[int] = []
    while label != -1:
        _, _, v, parent, road = kept[label].tolist()
        nodes.append(v)
        if road != -1:
            edges.append(road)
        label = parent
    nodes.reverse()
    edges.reverse()
    return Route(cond, nodes, edges)
