"""The safest route (SPEC §1): maximise survival probability, ties to shorter travel time.

Definition. Survival of a route is ``Π(1 − risk_e)`` over its roads. Minimising
``Σ −ln(1 − risk_e)`` maximises it; among routes of equal survival (to 1e-9,
see :data:`~app.domain.network.graph.COST_SCALE`) the one with the least travel time
wins. Blocked roads, roads the profile cannot use and roads of avoided parties
are never used.

Method. Two Dijkstra runs on compressed sparse rows (scipy): the first on the
quantised costs, the second on travel time over the arcs that lie on some
cost-optimal path (``dist[u] + cost = dist[v]``, exact in integers). Any path
in that subgraph is cost-optimal, so the second run picks the fastest of the
safest routes. ``O((n + m) log n)`` per query, no graph rebuilt.

When no route exists, a minimum cut over the closed roads (capacity 1, open
roads unbounded) names the fewest closures that separate the two places.

>>> from app.domain.scenario.reading import validate_scenario
>>> s = validate_scenario({"schema": "safe-passage/scenario@1",
...   "nodes": [{"id": "a"}, {"id": "b"}, {"id": "c"}],
...   "edges": [{"id": "a-b", "from": "a", "to": "b", "travel_time_min": 10, "risk": 0.1},
...             {"id": "a-c", "from": "a", "to": "c", "travel_time_min": 20, "risk": 0.01},
...             {"id": "c-b", "from": "c", "to": "b", "travel_time_min": 20, "risk": 0.02}]})
>>> r = safest_route(Network(s), "a", "b")
>>> r.node_ids, round(r.survival_probability, 4), r.travel_time_min
(['a', 'c', 'b'], 0.9702, 40.0)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from app.domain.errors import (
    Cut,
    CutRoad,
    NoRouteError,
    PlaceRole,
    RiskLimitError,
    UnknownPartyError,
    UnknownPlaceError,
)
from app.domain.network.assumptions import Assumption, route_assumptions
from app.domain.network.graph import (
    STATUS_CODES,
    BoolArray,
    Conditions,
    FloatArray,
    IntArray,
    Network,
    Objective,
)
from app.domain.routes.holdings import (
    Exclusion,
    allowed_codes,
    excluded_places,
    exclusion,
    not_granted,
    party_code_table,
    road_reasons,
    usable_roads,
)
from app.domain.routes.landmarks import Landmarks, landmarks_of, no_landmarks
from app.domain.scenario.model import UnknownRisk

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

# scipy's sparse graphs are imported by the functions that search with them: a route the
# compiled search answers (every route on a small network, see _least_cost_route) does not
# load them, which keeps the command line's start short (docs/benchmarks.md).

try:
    from app.domain.routes._search import search
except ImportError as error:  # a source tree without the built module
    raise ImportError(
        "safe-passage's compiled route search (app/domain/routes/_search.pyx) is not built: "
        "reinstall the package where a C compiler is available (pip install .), or build "
        "it in place with: python setup.py build_ext --inplace"
    ) from error


@dataclass
class RouteOptions:
    """Restrictions a user puts on a route question."""

    profile: str | None = None
    at: datetime | None = None
    avoid_parties: tuple[str, ...] = ()
    consenting_only: bool = False
    max_risk: float | None = None
    objective: Objective = "survival"
    """Which probability the route minimises (see :data:`~app.domain.network.graph.Objective`)."""
    unknown_risk: UnknownRisk | None = None
    """What to assume for roads without a risk estimate (None: the scenario's policy)."""


@dataclass
class Route:
    """A route: node and edge positions in the network, with its figures."""

    conditions: Conditions
    nodes: list[int]
    edges: list[int]

    @property
    def network(self) -> Network:
        return self.conditions.network

    @property
    def node_ids(self) -> list[str]:
        return [self.network.node_ids[i] for i in self.nodes]

    @property
    def edge_ids(self) -> list[str]:
        return [self.network.edge_ids[i] for i in self.edges]

    @property
    def survival_probability(self) -> float:
        return float(np.prod(1.0 - self.conditions.risk[self.edges])) if self.edges else 1.0

    @property
    def risk(self) -> float:
        return 1.0 - self.survival_probability

    @property
    def harm_probability(self) -> float:
        """Probability of being harmed on the way (roads and incidents)."""
        if not self.edges:
            return 0.0
        return 1.0 - float(np.prod(1.0 - self.conditions.harm[self.edges]))

    @property
    def detention_probability(self) -> float:
        """Probability of being detained or disappeared at the route's checkpoints."""
        if not self.edges:
            return 0.0
        return 1.0 - float(np.prod(1.0 - self.conditions.detention[self.edges]))

    def ranges(self) -> dict[str, list[float]]:
        """Low and high ends of the route's figures, from the ranges of its risk inputs
        (:meth:`~app.domain.network.graph.Conditions.harm_range`; detention figures are
        points)."""
        low, high = self.conditions.harm_range(self.edges)
        keep = 1.0 - self.detention_probability
        harm = [1.0 - float(np.prod(1.0 - low)), 1.0 - float(np.prod(1.0 - high))]
        survival = [(1.0 - harm[1]) * keep, (1.0 - harm[0]) * keep]
        return {"survival_probability": survival, "harm_probability": harm}

    def unknown_part(self) -> dict[str, Any]:
        """How much of the route has no risk estimate, and what was assumed for it."""
        net, cond = self.network, self.conditions
        rows = np.asarray(self.edges, dtype=np.int64)
        unknown = net.edge_unknown[rows] if self.edges else np.zeros(0, dtype=bool)
        minutes = float(cond.time[rows][unknown].sum()) if self.edges else 0.0
        total = self.travel_time_min
        return {
            "roads": int(unknown.sum()),
            "of_roads": len(self.edges),
            "travel_time_min": minutes,
            "share_of_time": minutes / total if total > 0 else 0.0,
            "assumed_risk": cond.unknown.assumed,
            "policy": cond.unknown.as_dict(),
        }

    def assumptions(self) -> list[Assumption]:
        return route_assumptions(self.conditions, self.edges)

    @property
    def travel_time_min(self) -> float:
        return float(np.sum(self.conditions.time[self.edges])) if self.edges else 0.0

    @property
    def cost(self) -> float:
        return float(np.sum(self.conditions.cost[self.edges])) if self.edges else 0.0

    @property
    def length_m(self) -> float | None:
        total = float(np.sum(self.network.edge_length[self.edges])) if self.edges else 0.0
        return None if np.isnan(total) else total

    def parties(self) -> list[str]:
        """Parties controlling a node or road on the route, in order of first passage."""
        net = self.network
        places = np.empty(2 * len(self.edges) + 1, dtype=np.int64)
        places[0::2] = net.node_controller[self.nodes]
        places[1::2] = net.edge_controller[self.edges]
        return _first_seen(net, places)

    def checkpoints(self) -> list[str]:
        return _first_seen(self.network, self.network.edge_checkpoint[self.edges])

    def involved(self) -> list[str]:
        """Every party the route involves (:mod:`.holdings`): the holders of its places and
        roads in order of first passage, then the checkpoints' parties not among them."""
        territory = self.parties()
        return territory + [p for p in self.checkpoints() if p not in territory]

    def consents_needed(self) -> list[str]:
        """Parties the route involves (places, roads, checkpoints) without granted consent."""
        return not_granted(self.network, self.involved())

    def geometry(self) -> dict[str, Any] | None:
        net = self.network
        lat, lon = net.node_lat[self.nodes], net.node_lon[self.nodes]
        if np.isnan(lat).any() or np.isnan(lon).any():
            return None
        return {"type": "LineString", "coordinates": np.column_stack([lon, lat]).tolist()}

    def steps(self) -> list[dict[str, Any]]:
        """One entry per road: where it goes, who holds it, its risk and where that comes from."""
        cond, net = self.conditions, self.network
        out = []
        survival, elapsed = 1.0, 0.0
        parties = [*net.party_ids, None]  # code -1 (no party) picks the last
        statuses = list(STATUS_CODES)
        edges = self.edges
        risks = cond.risk[edges].tolist()
        times = cond.time[edges].tolist()
        base = net.edge_base_risk[edges].tolist()
        held = net.edge_controller[edges].tolist()
        checkpoints = net.edge_checkpoint[edges].tolist()
        status = net.edge_status[edges].tolist()
        detention = cond.detention[edges].tolist()
        harm = cond.harm[edges].tolist()
        unknown = net.edge_unknown[edges].tolist() if edges else []
        low, high = cond.harm_range(edges)
        low_l, high_l = low.tolist(), high.tolist()
        for k, e in enumerate(edges):
            risk, minutes = risks[k], times[k]
            survival *= 1.0 - risk
            elapsed += minutes
            out.append(
                {
                    "edge": net.edge_ids[e],
                    "from": net.node_ids[self.nodes[k]],
                    "to": net.node_ids[self.nodes[k + 1]],
                    "name": net.edge_text(e, "name"),
                    "status": statuses[status[k]],
                    "controlled_by": parties[held[k]],
                    "checkpoint": parties[checkpoints[k]],
                    "travel_time_min": minutes,
                    "risk": risk,
                    "harm": harm[k],
                    "harm_range": [low_l[k], high_l[k]],
                    "detention": detention[k],
                    "risk_inputs": {
                        "base": None if unknown[k] else base[k],
                        "base_unknown": unknown[k],
                        "base_source": net.edge_text(e, "risk_source"),
                        "incidents": [x.as_dict() for x in cond.incident_risk.get(e, [])],
                        "detention": detention[k],
                    },
                    "cumulative_survival": survival,
                    "cumulative_time_min": elapsed,
                }
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        """The ROUTE object of SPEC §3, plus ``consents_needed``, ``profile``, the time asked
        at (``at``), the reports left out as observed after it, harm and detention apart,
        ranges, the unknown part, the assumptions and ``steps``."""
        ranges = self.ranges()
        return {
            "nodes": self.node_ids,
            "edges": self.edge_ids,
            "survival_probability": self.survival_probability,
            "survival_range": ranges["survival_probability"],
            "risk": self.risk,
            "harm_probability": self.harm_probability,
            "harm_range": ranges["harm_probability"],
            "detention_probability": self.detention_probability,
            "objective": self.conditions.objective,
            "unknown_risk": self.unknown_part(),
            "assumptions": [a.as_dict() for a in self.assumptions()],
            "travel_time_min": self.travel_time_min,
            "length_m": self.length_m,
            "parties": self.parties(),
            "checkpoints": self.checkpoints(),
            "consents_needed": self.consents_needed(),
            "profile": self.conditions.profile.id,
            "at": self.conditions.at.isoformat() if self.conditions.at else None,
            "incidents_after_at": self.conditions.incidents_after_at,
            "geometry": self.geometry(),
            "steps": self.steps(),
        }


def _first_seen(net: Network, codes: IntArray) -> list[str]:
    """Party ids of ``codes`` (-1: none) in order of first appearance."""
    seen: list[str] = []
    for code in dict.fromkeys(codes[codes >= 0].tolist()):
        seen.append(net.party_ids[code])
    return seen


def question_conditions(net: Network, opts: RouteOptions) -> Conditions:
    """The conditions a route question is answered under: its profile, time, objective and
    policy for unknown risk."""
    return net.conditions(
        opts.profile, opts.at, objective=opts.objective, unknown_risk=opts.unknown_risk
    )


def resolve_node(net: Network, node_id: str, role: PlaceRole) -> int:
    """Position of ``node_id``, or an :class:`UnknownPlaceError` naming its ``role``."""
    try:
        return net.node_index[node_id]
    except KeyError:
        raise UnknownPlaceError(node_id, role) from None


def edge_mask(
    cond: Conditions, avoid_parties: Iterable[str] = (), consenting_only: bool = False
) -> BoolArray:
    """Roads usable for this question: the profile's usable roads less those involving an
    excluded party (its roads, checkpoints and places; see :mod:`.holdings`)."""
    excluded = exclusion(cond.network, avoid_parties, consenting_only)
    return usable_roads(cond.network, cond.usable, excluded.parties)


def check_parties(net: Network, parties: Iterable[str]) -> tuple[str, ...]:
    """The parties to avoid, or an :class:`UnknownPartyError` naming those not in ``net``."""
    parties = tuple(parties)
    unknown = [(i, p) for i, p in enumerate(parties) if p not in net.parties]
    if unknown:
        raise UnknownPartyError(unknown)
    return parties


def safest_route(
    net: Network, source: str, target: str, options: RouteOptions | None = None
) -> Route:
    """The safest route from ``source`` to ``target`` (see module docstring).

    Raises :class:`NoRouteError` (with the cut) when none exists and
    :class:`RiskLimitError` when the safest route's risk exceeds ``max_risk``.
    """
    opts = options or RouteOptions()
    s = resolve_node(net, source, "origin")
    t = resolve_node(net, target, "destination")
    excluded = exclusion(net, check_parties(net, opts.avoid_parties), opts.consenting_only)
    cond = question_conditions(net, opts)
    held = excluded_places(net, [(s, "origin"), (t, "destination")], excluded)
    route = None if held else _least_cost_route(cond, s, t, excluded)
    if route is None:
        mask = usable_roads(net, cond.usable, excluded.parties)
        cut = explain_cut(cond, mask, s, t, excluded)
        raise NoRouteError(_cut_sentence(net, source, target, cut), cut)
    if opts.max_risk is not None and route.risk > opts.max_risk + 1e-12:
        raise RiskLimitError(
            f"no route from {source!r} to {target!r} within risk {opts.max_risk}: "
            f"the safest has risk {route.risk:.4f} "
            f"(survival probability {route.survival_probability:.4f})",
            best_risk=route.risk,
            max_risk=opts.max_risk,
        )
    return route


GOAL_DIRECTED_NODES = 10_000
"""Networks from this many places answer with the goal-directed search bounded by their
landmarks (:func:`goal_directed_path`, once the landmarks are prepared); smaller ones with
the same compiled search and no landmark (every bound 0: Dijkstra's search up to the least
cost), which on a few hundred places answers without building a sparse matrix or loading
scipy (measured: docs/benchmarks.md)."""

MOST_TIED = 10_000
"""Past this many places on equally safe routes, the time search covers the whole network
(:func:`lexicographic_path`)."""


def _least_cost_route(cond: Conditions, s: int, t: int, excluded: Exclusion) -> Route | None:
    """The least (cost, time) route of a question over its usable roads (the profile's,
    less the excluded parties'): the compiled search (:func:`goal_directed_path`, with
    landmarks on large networks), else :func:`lexicographic_path`; both give the same
    route."""
    net = cond.network
    if cond.objective != "detention":
        marks = landmarks_of(net) if net.n_nodes >= GOAL_DIRECTED_NODES else no_landmarks(net)
        if marks is not None:
            found = goal_directed_path(cond, marks, s, t, excluded.parties)
            if not isinstance(found, _Plain):
                return found
    if not excluded.parties:  # the conditions' own arc mask (and its cached weights)
        return lexicographic_path(cond, cond.arc_usable, s, t)
    mask = usable_roads(net, cond.usable, excluded.parties)
    return lexicographic_path(cond, mask[net.arc_edge], s, t)


class _Plain:
    """Marks a question the goal-directed search leaves to the plain one."""


PLAIN = _Plain()


def goal_directed_path(
    cond: Conditions,
    marks: Landmarks,
    s: int,
    t: int,
    excluded: Iterable[str] = (),
    arc_cost: FloatArray | None = None,
) -> Route | _Plain | None:
    """The route :func:`lexicographic_path` gives (same roads, same choice among ties),
    searching towards ``t`` (A* with the bounds of ``marks``, :mod:`.landmarks`; compiled,
    ``_search.pyx``); the roads of ``excluded`` parties are left out as the search meets
    them. None: no route; :data:`PLAIN`: a question to leave to the plain search.

    ``arc_cost``: the cost of each arc, inf where it may not be used (default: the
    conditions' usable costs); callers pass their own (penalised costs for alternatives),
    exact integers never below the conditions' costs, so the bounds still hold.

    Only for objectives the landmarks bound (survival, harm). The cost search settles
    every node whose bound is at most the least cost, so distances on every cost-optimal
    route are exact and the tight arcs are those ``lexicographic_path`` finds:

    * the cost-optimal route is the only one: it is the answer (per hop the tight parallel
      road of least time, as :func:`hop_arcs`);
    * several tie, on at most :data:`MOST_TIED` places: the time search over their arcs,
      the very call :func:`lexicographic_path` makes, so equal times resolve alike;
    * more tie, or the least cost is 0 (the plain search may then go by time alone):
      :data:`PLAIN`.
    """
    net = cond.network
    if s == t:
        return Route(cond, [s], [])
    parties = frozenset(excluded)
    codes, allowed = None, None
    if parties:
        codes = party_code_table(net)
        allowed = allowed_codes(net, parties).view(np.uint8)
    status, least, nodes, arcs, _ = search(
        net.arc_indptr,
        net.arc_head,
        net.arc_tail,
        cond.arc_usable_cost if arc_cost is None else arc_cost,
        cond.arc_time,
        net.arc_rev_indptr,
        net.arc_by_head,
        net.arc_edge,
        codes,
        allowed,
        marks.forward,
        marks.backward,
        marks.scale_forward,
        marks.scale_backward,
        s,
        t,
        MOST_TIED,
    )
    if status == 0:
        return None
    if status == 3 or (status == 2 and least == 0.0):
        return PLAIN
    assert nodes is not None and arcs is not None
    if status == 1:
        return Route(cond, nodes.tolist(), net.arc_edge[arcs].tolist())
    allowed_arcs = np.zeros(len(net.arc_edge), dtype=bool)
    allowed_arcs[arcs] = True
    time = cond.arc_time
    found = _time_search(
        net, np.where(allowed_arcs, time, np.inf), allowed_arcs, time, s, t, UNBOUNDED
    )
    if found is None:  # cannot happen: the route found is among them
        raise AssertionError("cost-optimal route lost in the time search")
    return Route(cond, *found)


EXACT_SUMS = 2.0**52
"""Sums of integer costs below this are exact in float64."""


def lexicographic_route(
    cond: Conditions, arc_ok: BoolArray, s: int, t: int, weights: FloatArray, top: float
) -> Route | None:
    """What ``lexicographic_path(cond, arc_ok, s, t, arc_cost=weights)`` gives, searched
    goal-directed where the network's landmarks serve (as for the safest route).

    ``weights``: integer costs per arc, inf where ``arc_ok`` is false, never below the
    conditions' cost of the arc (penalties, bans: the landmark bounds stay lower bounds);
    ``top``: an upper bound on the finite ones. Goal-directed only when every route's sum
    stays exact (``top`` × places < :data:`EXACT_SUMS`), as the plain search's sums are.
    """
    net = cond.network
    exact = top * max(1, net.n_nodes) < EXACT_SUMS
    if exact and net.n_nodes >= GOAL_DIRECTED_NODES and cond.objective != "detention":
        marks = landmarks_of(net)
        if marks is not None:
            found = goal_directed_path(cond, marks, s, t, arc_cost=weights)
            if not isinstance(found, _Plain):
                return found
    return lexicographic_path(cond, arc_ok, s, t, arc_cost=weights)


def road_arcs(net: Network, edges: IntArray) -> IntArray:
    """The arcs of the roads ``edges`` (both directions of a two-way road), ascending."""
    n = net.n_nodes
    tail, head = net.edge_tail[edges], net.edge_head[edges]
    keys = np.concatenate([tail * n + head, head * n + tail])
    owner = np.concatenate([edges, edges])
    lo = np.searchsorted(net.arc_key, keys, side="left")
    counts = np.searchsorted(net.arc_key, keys, side="right") - lo
    offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    arcs = np.repeat(lo, counts) + offsets
    found: IntArray = np.unique(arcs[net.arc_edge[arcs] == np.repeat(owner, counts)])
    return found


UNBOUNDED = 1e300
"""Search limit that still leaves out masked arcs (weight inf): scipy relaxes only below it."""

GROWTH = 2.0
"""Factor by which a bounded search widens its limit when the target is not yet reached."""

START_HOPS = 16
"""A bounded search first looks as far as this many typical roads."""


def _graph(net: Network, data: FloatArray) -> csr_matrix:
    """The network's arcs as a CSR matrix with ``data`` as weights (inf: not usable).

    Parallel arcs stay separate entries; Dijkstra takes the least of them.
    """
    from scipy.sparse import csr_matrix

    n = net.n_nodes
    return csr_matrix((data, net.csr_indices, net.csr_indptr), shape=(n, n))


def _typical(weights: FloatArray, usable: BoolArray) -> float:
    """Median positive weight of a sample of usable arcs (0 when none is positive)."""
    step = max(1, len(weights) // 4096)
    sample = weights[::step][usable[::step]]
    sample = sample[sample > 0]
    if len(sample) == 0:
        sample = weights[usable & (weights > 0)]
    return float(np.median(sample)) if len(sample) else 0.0


def _first_limit(net: Network, s: int, t: int, typical: float) -> float:
    """Where a bounded search starts: :data:`START_HOPS` typical roads, or everything
    when the places lie so far apart (straight line over typical road length) that
    the search would cover a quarter of the network anyway."""
    hops = net.hops_apart(s, t)
    if hops is not None and 2 * hops * hops > net.n_nodes / 4:
        return UNBOUNDED
    return START_HOPS * typical


def bounded_dijkstra(
    graph: csr_matrix, s: int, t: int, limit: float
) -> tuple[FloatArray, IntArray]:
    """Distances and predecessors from ``s``, exact at least up to ``dist[t]``.

    Searches only as far as ``limit``, widening it by :data:`GROWTH` until ``t``
    is reached or nothing more is reachable; when the next round would cover a
    quarter of the network it searches the whole network instead, so a far target
    costs little more than one full search and a near one a small fraction of it.
    ``O((n' + m') log n')`` for the ``n'`` nodes within the final limit, plus ``O(n)``
    per round.
    """
    from scipy.sparse.csgraph import dijkstra

    n = graph.shape[0]
    settled_before = -1
    while True:
        if limit <= 0.0:
            limit = UNBOUNDED
        dist, pred = dijkstra(
            graph, directed=True, indices=s, return_predecessors=True, limit=limit
        )
        if np.isfinite(dist[t]) or limit >= UNBOUNDED:
            return dist, pred
        settled = int(np.count_nonzero(np.isfinite(dist)))
        # Settled nodes grow about as the square of the limit on a street grid; once the
        # next round would cover a quarter of the network, search all of it instead.
        widening = settled == settled_before or settled * GROWTH**2 > n / 4
        limit = UNBOUNDED if widening else limit * GROWTH
        settled_before = settled


def hop_arcs(net: Network, nodes: list[int], allowed: BoolArray, weight: FloatArray) -> list[int]:
    """For each hop of ``nodes``, the allowed arc of least ``weight`` (parallel roads)."""
    n = net.n_nodes
    u = np.asarray(nodes[:-1], dtype=np.int64)
    v = np.asarray(nodes[1:], dtype=np.int64)
    key = u * n + v
    lo = np.searchsorted(net.arc_key, key, side="left")
    hi = np.searchsorted(net.arc_key, key, side="right")
    arcs = lo.copy()
    for k in np.flatnonzero((hi - lo != 1) | ~allowed[lo]).tolist():
        cands = np.arange(lo[k], hi[k])
        cands = cands[allowed[cands]]
        arcs[k] = cands[np.argmin(weight[cands])]
    result: list[int] = arcs.tolist()
    return result


def _walk_back(pred: IntArray, s: int, t: int) -> list[int]:
    nodes = [t]
    while nodes[-1] != s:
        nodes.append(int(pred[nodes[-1]]))
    nodes.reverse()
    return nodes


def lexicographic_path(
    cond: Conditions,
    arc_ok: BoolArray,
    s: int,
    t: int,
    arc_cost: FloatArray | None = None,
    arc_time: FloatArray | None = None,
) -> Route | None:
    """Least (cost, time) path over the arcs where ``arc_ok``; ``None`` if ``t`` is unreachable.

    ``arc_cost``/``arc_time`` default to the conditions' road cost and time per arc;
    callers pass their own (penalised costs for alternatives) as exact integers.

    1. Bounded Dijkstra on cost from ``s`` (skipped when every usable cost is 0).
    2. The tight arcs (``dist[u] + cost = dist[v]``, exact in integers) from which
       ``t`` can be reached over tight arcs: exactly the arcs of cost-optimal routes
       (searched backwards from the route of step 1, over the arcs into nodes
       found so far; over all arcs at once when very many routes tie). If that
       route is the only one, it is the answer.
    3. Dijkstra on time over those arcs only, bounded by the time of the route
       found in step 1. Masks are weights of inf over the network's fixed CSR
       arrays: nothing is rebuilt per question.
    """
    net = cond.network
    n = net.n_nodes
    if s == t:
        return Route(cond, [s], [])
    cost = cond.arc_cost if arc_cost is None else arc_cost
    time = cond.arc_time if arc_time is None else arc_time
    if arc_cost is None and arc_ok is cond.arc_usable:
        usable_cost = cond.arc_usable_cost
    else:
        usable_cost = np.where(arc_ok, cost, np.inf)
    typical_cost = _typical(cost, arc_ok)
    if typical_cost == 0.0:
        # Every usable route is equally safe: the fastest one is the answer.
        dist_t = _time_search(net, np.where(arc_ok, time, np.inf), arc_ok, time, s, t, None)
        return None if dist_t is None else Route(cond, *dist_t)
    dist, pred = bounded_dijkstra(
        _graph(net, usable_cost), s, t, _first_limit(net, s, t, typical_cost)
    )
    if not np.isfinite(dist[t]):
        return None
    first = _walk_back(pred, s, t)
    optimal = _optimal_arcs(net, first, arc_ok, cost, dist, max(MOST_TIED, 4 * len(first)))
    if optimal is not None:
        allowed, only = optimal
        if only:
            arcs = hop_arcs(net, first, allowed, time)
            return Route(cond, first, [int(e) for e in net.arc_edge[arcs]])
        # A few equally safe routes: the fastest among them, searching their arcs only.
        found = _time_search(net, np.where(allowed, time, np.inf), allowed, time, s, t, UNBOUNDED)
        if found is None:  # cannot happen: the route of step 1 is among them
            raise AssertionError("cost-optimal route lost in the time search")
        return Route(cond, *found)
    tail, head = net.arc_tail, net.arc_head
    with np.errstate(invalid="ignore"):
        tight = arc_ok & (dist[tail] + cost == dist[head]) & (dist[head] <= dist[t])
    on_route = np.zeros(n, dtype=bool)
    on_route[_reaching(net, tight, t)] = True
    tight &= on_route[tail] & on_route[head]
    bound = float(np.sum(time[hop_arcs(net, first, tight, time)]))
    found = _time_search(net, np.where(tight, time, np.inf), tight, time, s, t, bound)
    if found is None:  # cannot happen: the route of step 1 is in the tight subgraph
        raise AssertionError("cost-optimal route lost in the time search")
    return Route(cond, *found)


def _incoming(net: Network, v: IntArray) -> tuple[IntArray, IntArray]:
    """All arcs into the nodes ``v``, and for each the position in ``v`` of its head."""
    starts = net.arc_rev_indptr[v]
    counts = net.arc_rev_indptr[v + 1] - starts
    segment = np.repeat(np.arange(len(v)), counts)
    offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    arcs: IntArray = net.arc_by_head[np.repeat(starts, counts) + offsets]
    return arcs, segment


def _optimal_arcs(
    net: Network,
    nodes: list[int],
    arc_ok: BoolArray,
    cost: FloatArray,
    dist: FloatArray,
    most: int,
) -> tuple[BoolArray, bool] | None:
    """The arcs of every cost-optimal route to the last of ``nodes`` (a cost-optimal route).

    Every node from which the target can be reached over tight arcs
    (``dist[u] + cost = dist[v]``) lies on some cost-optimal route, and those
    arcs are exactly the arcs of such routes. Searched backwards from the nodes
    of the known route, looking only at arcs into nodes already found. Returns
    the arcs as a mask and whether the known route is the only one, or None
    when more than ``most`` nodes turn up (many equally safe routes).
    """
    path = np.asarray(nodes, dtype=np.int64)
    found = np.zeros(net.n_nodes, dtype=bool)
    found[path] = True
    allowed = np.zeros(len(net.arc_edge), dtype=bool)
    frontier, total, only = path, len(path), True
    while len(frontier):
        arcs, segment = _incoming(net, frontier)
        u = net.arc_tail[arcs]
        with np.errstate(invalid="ignore"):
            tight = arc_ok[arcs] & (dist[u] + cost[arcs] == dist[frontier[segment]])
        allowed[arcs[tight]] = True
        if only and frontier is path:
            # The known route is the only one if each of its nodes is entered only from
            # its predecessor (its first node, the source, needs no way in).
            previous = np.r_[-1, path[:-1]][segment]
            only = not (tight & (u != previous) & (frontier[segment] != path[0])).any()
        tails = u[tight]
        frontier = np.unique(tails[~found[tails]])
        found[frontier] = True
        total += len(frontier)
        if total > most:
            return None
    return allowed, only


def _reaching(net: Network, arcs: BoolArray, t: int) -> IntArray:
    """Nodes from which ``t`` is reachable over ``arcs`` (breadth-first search backwards)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import breadth_first_order

    n = net.n_nodes
    by_head = net.arc_by_head
    selected = arcs[by_head]
    indices = net.arc_tail[by_head][selected]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(net.arc_head[arcs], minlength=n), out=indptr[1:])
    reverse = csr_matrix((np.ones(len(indices)), indices, indptr), shape=(n, n))
    found: IntArray = breadth_first_order(reverse, t, directed=True, return_predecessors=False)
    return found


def _time_search(
    net: Network,
    data: FloatArray,
    allowed: BoolArray,
    time: FloatArray,
    s: int,
    t: int,
    bound: float | None,
) -> tuple[list[int], list[int]] | None:
    """Fastest route over the ``allowed`` arcs: node and edge positions, or None."""
    graph = _graph(net, data)
    # The bound is the time of a route known to qualify; widen it by rounding error.
    if bound is None:
        limit = _first_limit(net, s, t, _typical(time, allowed))
    else:
        limit = min(UNBOUNDED, bound * (1 + 1e-9) + 1e-9)
    dist, pred = bounded_dijkstra(graph, s, t, limit)
    if not np.isfinite(dist[t]):
        return None
    nodes = _walk_back(pred, s, t)
    arcs = hop_arcs(net, nodes, allowed, time)
    return nodes, [int(e) for e in net.arc_edge[arcs]]


def explain_cut(
    cond: Conditions,
    mask: BoolArray,
    s: int,
    t: int,
    excluded: Exclusion | None = None,
) -> Cut:
    """What separates ``s`` from ``t``: see :class:`~app.domain.errors.Cut`.

    ``mask``: the roads the question may use; ``excluded``: the parties it leaves out,
    which name the reasons (and the origin or destination they hold, ``places``).
    Usable arcs get unbounded capacity, closed ones capacity 1; a minimum cut of
    that network is a smallest set of closures that together cut ``s`` off from
    ``t``. Separately, a 0–1 shortest path (closed roads cost 1, open ones 0)
    gives the fewest closures to lift for a route to exist. If ``t`` cannot be
    reached even with every road open, the places are not connected at all.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import breadth_first_order, maximum_flow

    net = cond.network
    n = net.n_nodes
    excluded = excluded or Exclusion()
    places = excluded_places(net, dict.fromkeys([(s, "origin"), (t, "destination")]), excluded)
    big = len(net.arc_edge) + 1
    cap = np.where(mask[net.arc_edge], big, 1).astype(np.int32)
    graph = csr_matrix((cap, (net.arc_tail, net.arc_head)), shape=(n, n))
    graph.sum_duplicates()
    if s == t:
        return Cut(places=places)
    result = maximum_flow(graph, s, t, method="dinic")
    if result.flow_value == 0:
        return Cut(disconnected=True, places=places)
    residual = graph.astype(np.int64) - result.flow.astype(np.int64)
    residual.data[residual.data < 0] = 0
    residual.eliminate_zeros()
    reach = np.zeros(n, dtype=bool)
    reach[breadth_first_order(residual, s, directed=True, return_predecessors=False)] = True
    crossing = reach[net.arc_tail] & ~reach[net.arc_head] & ~mask[net.arc_edge]

    def closed(e: int) -> CutRoad:
        reasons = cond.exclusion_reasons(e) + road_reasons(net, e, excluded)
        return CutRoad(net.edge_ids[e], tuple(dict.fromkeys(reasons)))

    roads = [closed(e) for e in dict.fromkeys(net.arc_edge[crossing].tolist())]
    # Fewest closures to lift: 0-1 shortest path (closed arcs cost 1, usable ones 0).
    weight = np.where(mask[net.arc_edge], 0.0, 1.0)
    lift = lexicographic_path(
        cond, np.ones(len(net.arc_edge), dtype=bool), s, t, arc_cost=weight, arc_time=weight
    )
    to_open = [] if lift is None else [closed(e) for e in lift.edges if not mask[e]]
    return Cut(roads=roads, open_to_connect=to_open, places=places)


def _cut_sentence(net: Network, source: str, target: str, cut: Cut) -> str:
    held = "".join(f"; {reason}" for p in cut.places for reason in p.reasons)
    if cut.disconnected:
        return f"no road joins {source!r} to {target!r}, even with every closure lifted{held}"
    if not cut.roads:  # the origin is the destination, held by an excluded party
        return f"no usable route from {source!r} to {target!r}{held}"
    parts = [f"{r.edge} ({'; '.join(r.reasons)})" for r in cut.roads]
    lift = [r.edge for r in cut.open_to_connect]
    return (
        f"no usable route from {source!r} to {target!r}{held}; "
        f"they are cut off by {', '.join(parts)}; "
        f"opening {', '.join(lift)} would give a route"
    )
