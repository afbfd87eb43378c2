"""Landmark distances for the goal-directed safest-route search (ALT: A*, landmarks,
triangle inequality).

A few nodes far apart (*landmarks*) get their least-cost distances to and from every
node, on every road of the network at the least cost it can ever have
(:func:`~app.domain.network.graph.least_costs`: base risk alone, closed roads
included). For any question whose objective is survival or harm, a road costs at least
that and some roads may be missing, so for every landmark ``L`` and node ``v``::

    cost(v → t) ≥ d(L, t) − d(L, v)   and   cost(v → t) ≥ d(v, L) − d(t, L)

are lower bounds on the cost still to go — whatever the profile, the time (incidents),
the policy for unknown risk, closures, checkpoints or avoided parties. A node that a
landmark reaches while the target is out of its reach (or the other way round) cannot
reach the target at all.

They are computed once per network (:func:`prepare`; the service does it in the
background when it compiles a large network) and kept by the next version of the
scenario when it has the same roads and no road's least cost went down (a closure, an
incident, a checkpoint or a raised risk keeps them at once; a lowered risk needs them
computed again, and questions search plainly meanwhile).

Distances are stored as ``d // scale`` in 32 bits (``scale`` per landmark and direction,
1 unless a distance exceeds 2³² − 2): ``k`` landmarks take ``4 k`` bytes per node, twice
that when some road is one-way.

>>> from app.domain.network.graph import Network
>>> from app.domain.scenario.reading import validate_scenario
>>> net = Network(validate_scenario({"schema": "safe-passage/scenario@1",
...   "nodes": [{"id": "a"}, {"id": "b"}, {"id": "c"}],
...   "edges": [{"id": "a-b", "from": "a", "to": "b", "travel_time_min": 1, "risk": 0.1},
...             {"id": "b-c", "from": "b", "to": "c", "travel_time_min": 1, "risk": 0.2}]}))
>>> marks = compute_landmarks(net, 2)
>>> [net.node_ids[v] for v in marks.nodes]
['c', 'a']
>>> marks.forward[:, 0].tolist()  # d(c, v): −ln(0.8) and −ln(0.9) in 1e-9, each less 1
[328504065, 223143550, 0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.domain.network.graph import FloatArray, IntArray, Network, least_costs

LANDMARKS = 8
"""Landmarks per network (chosen by measurement: docs/benchmarks.md, goal-directed routes)."""

FAR = np.uint32(0xFFFFFFFF)
"""A stored distance meaning: not reachable."""

EXACT = 2.0**52
"""Distances must stay below this for sums of integer costs to be exact in doubles."""

U32 = npt.NDArray[np.uint32]


@dataclass
class Landmarks:
    """Distances from and to a few landmarks, quantised (see the module docstring)."""

    nodes: IntArray
    """The landmarks' positions, in the order chosen."""
    forward: U32
    """``d(L, v) // scale_forward[L]`` per node ``v`` (rows) and landmark (columns)."""
    backward: U32
    """``d(v, L) // scale_backward[L]``; the same array when every road is two-way."""
    scale_forward: IntArray
    scale_backward: IntArray
    base_risk: FloatArray
    """The base risks they were computed from (to check a later version against)."""

    @property
    def nbytes(self) -> int:
        shared = self.backward is self.forward
        return int(self.forward.nbytes + (0 if shared else self.backward.nbytes))

    def serve(self, net: Network) -> bool:
        """Whether these bounds hold on ``net`` (a later version with the same roads): no
        road's least cost is lower there."""
        if net.edge_base_risk is self.base_risk:
            return True
        if len(net.edge_base_risk) != len(self.base_risk):
            return False
        return bool(np.all(least_costs(net.edge_base_risk) >= least_costs(self.base_risk)))


def no_landmarks(net: Network) -> Landmarks:
    """No landmark at all: every bound is 0, and the goal-directed search is Dijkstra's,
    compiled. For networks too small for landmarks to pay (nothing is prepared)."""
    none = np.zeros((net.n_nodes, 0), dtype=np.uint32)
    empty = np.zeros(0, dtype=np.int64)
    return Landmarks(empty, none, none, empty, empty, net.edge_base_risk)


def landmarks_of(net: Network) -> Landmarks | None:
    """The network's landmarks if they are ready: its own, or the earlier version's when
    they still hold (:meth:`Landmarks.serve`). Never computes them (see :func:`prepare`):
    a question asked before they are ready searches plainly."""
    pending = net.landmarks is None and net.landmarks_before is not None
    if pending and net.landmarks_lock.acquire(blocking=False):
        try:
            _take_over(net)
        finally:
            net.landmarks_lock.release()
    found: Landmarks | None = net.landmarks or None
    return found


def prepare(net: Network) -> Landmarks | None:
    """The network's landmarks, computed now if they are not ready (seconds on a million
    places: services call this in the background when they compile a large network).
    None when its distances are too large to be exact (see :data:`EXACT`)."""
    with net.landmarks_lock:
        if net.landmarks is None:
            _take_over(net)
        if net.landmarks is None:
            net.landmarks = compute_landmarks(net) or False  # False: not for this network
    found: Landmarks | None = net.landmarks or None
    return found


def _take_over(net: Network) -> None:
    """Keep the earlier version's landmarks if they hold here (then or never: dropped)."""
    before, net.landmarks_before = net.landmarks_before, None
    if before is not None and before.serve(net):
        net.landmarks = before


def compute_landmarks(net: Network, k: int = LANDMARKS) -> Landmarks | None:
    """Choose ``k`` landmarks far apart and compute their distances (None: too large).

    Farthest-first: the first is the node farthest from node 0, each next one the node
    farthest from those chosen (least distance to any of them), among nodes they reach.
    One Dijkstra search per landmark and direction (scipy), on every road at its least cost.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    n = net.n_nodes
    k = max(1, min(k, n))
    weights = least_costs(net.edge_base_risk)[net.arc_edge]
    graph = csr_matrix((weights, net.csr_indices, net.csr_indptr), shape=(n, n))
    two_way = not bool(net.edge_directed.any())
    reverse = None if two_way else graph.T.tocsr()
    forward = np.empty((n, k), dtype=np.uint32)
    backward = forward if two_way else np.empty((n, k), dtype=np.uint32)
    scale_f = np.ones(k, dtype=np.int64)
    scale_b = scale_f if two_way else np.ones(k, dtype=np.int64)
    chosen: list[int] = []
    nearest = dijkstra(graph, directed=True, indices=0)
    for j in range(k):
        reached = np.isfinite(nearest)
        if j and not reached.any():
            break
        landmark = int(np.argmax(np.where(reached, nearest, -1.0)))
        chosen.append(landmark)
        dist = dijkstra(graph, directed=True, indices=landmark)
        if not _store(dist, forward, scale_f, j):
            return None
        if reverse is not None:
            back = dijkstra(reverse, directed=True, indices=landmark)
            if not _store(back, backward, scale_b, j):
                return None
        nearest = dist if j == 0 else np.minimum(nearest, dist)
    used = len(chosen)
    if used < k:
        forward = np.ascontiguousarray(forward[:, :used])
        backward = forward if two_way else np.ascontiguousarray(backward[:, :used])
        scale_f = scale_f[:used].copy()
        scale_b = scale_f if two_way else scale_b[:used].copy()
    return Landmarks(
        np.asarray(chosen, dtype=np.int64),
        forward,
        backward,
        scale_f,
        scale_b,
        net.edge_base_risk,
    )


def _store(dist: FloatArray, into: U32, scales: IntArray, j: int) -> bool:
    """Quantise one landmark's distances into column ``j`` (False: too large to be exact)."""
    reached = np.isfinite(dist)
    top = float(dist[reached].max()) if reached.any() else 0.0
    if top >= EXACT:
        return False
    exact = np.where(reached, dist, 0.0).astype(np.int64)
    scale = 1 if top <= float(FAR) - 1 else int(top) // (int(FAR) - 1) + 1
    scales[j] = scale
    into[:, j] = np.where(reached, exact // scale, int(FAR)).astype(np.uint32)
    return True
