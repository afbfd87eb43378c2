"""The risk–time trade-off: routes no other route beats on both survival and time.

Definition. Route ``q`` *dominates* route ``r`` when ``q`` is at least as safe
(cost ``Σ −ln(1 − risk)`` no larger, quantised as in
:data:`~app.domain.network.COST_SCALE`) and at least as fast (travel time
compared in units of :data:`TIME_RESOLUTION_MIN`), and strictly better on one.
The *Pareto front* holds one route for each non-dominated (cost, time) pair,
ordered safest (slowest) first to fastest (riskiest) last. Every route between
the two places is either on the front, has the same figures as a member, or
is dominated by a member.

Method (Martins' label-setting search). Labels (cost, time, node) leave a
priority queue in lexicographic order; a label is kept only if it is faster
than every label already kept at its node (which are all at least as safe), so
each node's kept labels form its own front and the target's kept labels are
the answer. Labels that cannot beat the target's fastest kept label are
dropped early. The front can grow with the network; at most
:data:`MAX_LABELS` labels are expanded, and if that budget runs out the
members found so far are returned (they are exact front members, the safest
ones) and ``complete`` is false.

Cap. At most ``cap`` routes (default :data:`DEFAULT_CAP` = 10) are returned:
when the front is larger, members at evenly spaced ranks are kept, always
including the safest and the fastest.

>>> from app.domain.validation import validate_scenario
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

import heapq
from dataclasses import dataclass

import numpy as np

from app.domain.alternatives import pose
from app.domain.errors import InvalidRequestError, Problem
from app.domain.network import Conditions, Network
from app.domain.routing import Route, RouteOptions

DEFAULT_CAP = 10
"""Most routes returned from the front."""

MAX_CAP = 50

MAX_LABELS = 200_000
"""Most labels expanded before the search stops with a partial (safest) front."""

TIME_RESOLUTION_MIN = 1e-6
"""Travel times are compared in units of 1e-6 min, so sums in any order compare equal."""


@dataclass
class ParetoFront:
    """Routes of the front (capped), safest first, and what was found in all."""

    routes: list[Route]
    size: int
    """Number of members found on the front (before the cap)."""
    complete: bool
    """False when the label budget ran out: members beyond the fastest shown may exist."""


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
    :func:`~app.domain.routing.safest_route` raises when no route exists.
    """
    if not 1 <= cap <= MAX_CAP:
        raise InvalidRequestError([Problem("/pareto_cap", f"cap must be 1 to {MAX_CAP}")])
    opts = options or RouteOptions()
    q = pose(net, source, target, opts)
    cond = q.conditions
    if q.source == q.target:
        return ParetoFront([q.best], 1, True)
    cost = [int(c) for c in cond.cost.tolist()]
    ticks = [int(t) for t in np.maximum(1, np.rint(cond.time / TIME_RESOLUTION_MIN)).tolist()]
    out: list[list[tuple[int, int]]] = [[] for _ in range(net.n_nodes)]
    arc_ok = q.mask[net.arc_edge]
    for a in np.flatnonzero(arc_ok).tolist():
        out[int(net.arc_tail[a])].append((int(net.arc_head[a]), int(net.arc_edge[a])))

    # A label: (cost, ticks, node, parent label, road); kept labels are appended to `kept`.
    kept: list[tuple[int, int, int, int, int]] = []
    fastest = [-1] * net.n_nodes  # least ticks of a kept label at each node (-1: none)
    members: list[int] = []
    heap: list[tuple[int, int, int, int, int]] = [(0, 0, q.source, -1, -1)]
    t = q.target
    expanded = 0
    complete = True
    while heap:
        c, tk, v, parent, road = heapq.heappop(heap)
        if fastest[v] != -1 and tk >= fastest[v]:
            continue
        if fastest[t] != -1 and tk >= fastest[t]:
            continue
        fastest[v] = tk
        kept.append((c, tk, v, parent, road))
        me = len(kept) - 1
        if v == t:
            members.append(me)
            continue
        expanded += 1
        if expanded > max_labels:
            complete = False
            break
        for w, e in out[v]:
            nt = tk + ticks[e]
            if (fastest[w] == -1 or nt < fastest[w]) and (fastest[t] == -1 or nt < fastest[t]):
                heapq.heappush(heap, (c + cost[e], nt, w, me, e))

    routes = [_route(q.conditions, kept, m) for m in members]
    if opts.max_risk is not None:
        routes = [r for r in routes if r.risk <= opts.max_risk + 1e-12]
    size = len(routes)
    return ParetoFront(spread(routes, cap), size, complete)


def spread(routes: list[Route], cap: int) -> list[Route]:
    """At most ``cap`` routes at evenly spaced ranks, keeping the first and the last."""
    if len(routes) <= cap:
        return routes
    if cap == 1:
        return routes[:1]
    last = len(routes) - 1
    picks = sorted({round(i * last / (cap - 1)) for i in range(cap)})
    return [routes[i] for i in picks]


def _route(cond: Conditions, kept: list[tuple[int, int, int, int, int]], label: int) -> Route:
    nodes: list[int] = []
    edges: list[int] = []
    while label != -1:
        _, _, v, parent, road = kept[label]
        nodes.append(v)
        if road != -1:
            edges.append(road)
        label = parent
    nodes.reverse()
    edges.reverse()
    return Route(cond, nodes, edges)
