# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The goal-directed cost search of the safest route, compiled (see
:mod:`app.domain.routes.goal_directed`, which states the method and when it is used).

A* on the quantised costs with landmark lower bounds (ALT), over the network's fixed
arc arrays: per question only the nodes it reaches are touched. It settles every node
whose bound ``g + h`` is at most the least cost ``C*`` (not only up to the target), so
that the distance of every node on a cost-optimal route is exact, then reads backwards
from the target over the tight arcs (``g[u] + cost = g[v]``, exact in integers):

* status 1: the cost-optimal route is the only one (each node entered only from the one
  before it): its nodes, and per hop the tight parallel arc of least time;
* status 2: several routes tie on cost: the tight arcs into the nodes of every
  cost-optimal route (at most ``most`` nodes), for the time search over them;
* status 3: more than ``most`` such nodes; status 0: no route.

The bounds ``h`` may be slightly inconsistent (landmark distances are stored as
``floor(d / scale)``), so a node whose distance improves after it was settled is
settled again: every node with ``g + h <= C*`` still ends with its exact distance.
"""

import numpy as np

from libc.math cimport INFINITY
from libc.stdint cimport int32_t, uint8_t, uint32_t
from libc.stdlib cimport free, malloc, realloc

from app.domain._heap cimport Entry, Heap, heap_free, heap_init, heap_pop, heap_push

ctypedef long long i64

cdef uint32_t FAR = 0xFFFFFFFF
"""A landmark distance meaning: not reachable."""

cdef enum:
    UNSEEN = 0
    OPEN = 1
    CLOSED = 2
    DEAD = 3  # cannot reach the target whatever the conditions (by a landmark)


cdef struct Bounds:
    const uint32_t* fwd  # d(L, v) // scale per node, k per row
    const uint32_t* bwd  # d(v, L) // scale
    const i64* scale_f
    const i64* scale_b
    const uint32_t* tf  # the target's rows
    const uint32_t* tb
    int k


cdef double _bound(const Bounds* b, i64 v) noexcept nogil:
    """A lower bound on the cost from ``v`` to the target (inf: it cannot be reached).

    Distances are integers; stored ``q = d // scale``, so ``d_t - d_v >= scale (q_t - q_v)
    - (scale - 1)`` (triangle inequality on each landmark ``L``, both directions)."""
    cdef i64 best = 0, d, scale
    cdef uint32_t x, y
    cdef int j
    cdef const uint32_t* rf = b.fwd + v * b.k
    cdef const uint32_t* rb = b.bwd + v * b.k
    for j in range(b.k):
        x = rf[j]
        y = b.tf[j]
        if y == FAR:
            if x != FAR:
                return INFINITY  # L reaches v but not the target: v cannot reach it
        elif x != FAR:
            scale = b.scale_f[j]
            d = (<i64> y - <i64> x) * scale - (scale - 1)
            if d > best:
                best = d
        x = rb[j]
        y = b.tb[j]
        if x == FAR:
            if y != FAR:
                return INFINITY  # the target reaches L but v does not: v cannot reach it
        elif y != FAR:
            scale = b.scale_b[j]
            d = (<i64> x - <i64> y) * scale - (scale - 1)
            if d > best:
                best = d
    return <double> best


cdef struct Arcs:
    const i64* indptr
    const i64* head
    const i64* tail
    const double* cost  # inf: not usable under the conditions
    const double* time
    const i64* rev_indptr
    const i64* by_head
    const i64* edge
    const int32_t* codes  # per road, its 4 party codes (NULL: no party excluded)
    const uint8_t* allowed  # per party code + 1


cdef inline bint _usable(const Arcs* a, i64 arc) noexcept nogil:
    cdef const int32_t* c
    if a.cost[arc] == INFINITY:
        return False
    if a.codes != NULL:
        c = a.codes + 4 * a.edge[arc]
        return (
            a.allowed[c[0] + 1] and a.allowed[c[1] + 1]
            and a.allowed[c[2] + 1] and a.allowed[c[3] + 1]
        )
    return True


cdef inline bint _tight(const Arcs* a, i64 arc, const uint8_t* state, const double* g) noexcept nogil:
    """Whether ``arc`` is usable and lies on a least-cost way to its head."""
    cdef i64 u = a.tail[arc]
    cdef uint8_t st = state[u]
    if st != OPEN and st != CLOSED:
        return False
    return _usable(a, arc) and g[u] + a.cost[arc] == g[a.head[arc]]


def search(
    const i64[::1] indptr,
    const i64[::1] head,
    const i64[::1] tail,
    const double[::1] cost,
    const double[::1] time,
    const i64[::1] rev_indptr,
    const i64[::1] by_head,
    const i64[::1] edge,
    codes,
    allowed,
    const uint32_t[:, ::1] fwd,
    const uint32_t[:, ::1] bwd,
    const i64[::1] scale_f,
    const i64[::1] scale_b,
    i64 s,
    i64 t,
    i64 most,
):
    """See the module docstring. ``codes``: (roads, 4) int32 party codes per road or None;
    ``allowed``: uint8 per party code + 1. Returns ``(status, least cost, nodes, arcs,
    settled)``: the route's nodes and arcs (status 1), or the tight arcs (status 2)."""
    cdef i64 n = indptr.shape[0] - 1
    cdef Arcs a
    cdef Bounds b
    cdef const int32_t[:, ::1] codes_v
    cdef const uint8_t[::1] allowed_v
    a.indptr = &indptr[0]
    a.head = &head[0] if head.shape[0] else NULL
    a.tail = &tail[0] if tail.shape[0] else NULL
    a.cost = &cost[0] if cost.shape[0] else NULL
    a.time = &time[0] if time.shape[0] else NULL
    a.rev_indptr = &rev_indptr[0]
    a.by_head = &by_head[0] if by_head.shape[0] else NULL
    a.edge = &edge[0] if edge.shape[0] else NULL
    a.codes = NULL
    a.allowed = NULL
    if codes is not None:
        codes_v = codes
        allowed_v = allowed
        a.codes = &codes_v[0, 0] if codes_v.shape[0] else NULL
        a.allowed = &allowed_v[0]
    b.k = fwd.shape[1]
    b.fwd = &fwd[0, 0]
    b.bwd = &bwd[0, 0]
    b.scale_f = &scale_f[0]
    b.scale_b = &scale_b[0]
    b.tf = &fwd[t, 0]
    b.tb = &bwd[t, 0]

    g_arr = np.empty(n, dtype=np.float64)
    h_arr = np.empty(n, dtype=np.float64)
    pred_arr = np.empty(n, dtype=np.int64)
    state_arr = np.zeros(n, dtype=np.uint8)
    cdef double[::1] g_v = g_arr
    cdef double[::1] h_v = h_arr
    cdef i64[::1] pred_v = pred_arr
    cdef uint8_t[::1] state_v = state_arr
    cdef double* g = &g_v[0]
    cdef double* hv = &h_v[0]
    cdef i64* pred = &pred_v[0]
    cdef uint8_t* state = &state_v[0]

    cdef Heap heap
    cdef Entry e
    cdef i64 v, w, arc, settled = 0, r
    cdef double best = INFINITY, ng, hw
    cdef int failed = 0
    if heap_init(&heap):
        raise MemoryError()
    with nogil:
        hw = _bound(&b, s)
        if hw != INFINITY:
            g[s] = 0.0
            hv[s] = hw
            pred[s] = -1
            state[s] = OPEN
            failed = heap_push(&heap, hw, 0.0, s)
        while heap.size > 0 and not failed:
            e = heap_pop(&heap)
            v = e.node
            if state[v] != OPEN or e.g != g[v]:
                continue  # settled since, or a stale entry
            if e.f > best:
                break  # every node with g + h <= C* is settled
            state[v] = CLOSED
            settled += 1
            if v == t:
                best = g[v]
            for arc in range(a.indptr[v], a.indptr[v + 1]):
                if not _usable(&a, arc):
                    continue
                w = a.head[arc]
                ng = g[v] + a.cost[arc]
                if state[w] == UNSEEN:
                    hw = _bound(&b, w)
                    if hw == INFINITY:
                        state[w] = DEAD
                        continue
                    hv[w] = hw
                elif state[w] == DEAD or ng >= g[w]:
                    continue
                g[w] = ng
                pred[w] = arc
                state[w] = OPEN
                if heap_push(&heap, ng + hv[w], ng, w):
                    failed = 1
                    break
    heap_free(&heap)
    if failed:
        raise MemoryError()
    if state[t] != CLOSED:
        return 0, INFINITY, None, None, settled

    # The route the predecessors give (a cost-optimal one: distances on it are exact).
    cdef i64 length = 1
    v = t
    while v != s:
        v = a.tail[pred[v]]
        length += 1
    nodes_arr = np.empty(length, dtype=np.int64)
    cdef i64[::1] nodes = nodes_arr
    v = t
    for r in range(length - 1, -1, -1):
        nodes[r] = v
        if r:
            v = a.tail[pred[v]]

    # Is it the only one? Each node after the first entered only from the one before.
    cdef bint only = True
    cdef i64 i, u, j
    for i in range(1, length):
        v = nodes[i]
        for r in range(a.rev_indptr[v], a.rev_indptr[v + 1]):
            arc = a.by_head[r]
            if a.tail[arc] != nodes[i - 1] and _tight(&a, arc, state, g):
                only = False
                break
        if not only:
            break
    cdef double least
    if only:
        arcs_arr = np.empty(length - 1, dtype=np.int64)
        for i in range(length - 1):
            u = nodes[i]
            v = nodes[i + 1]
            j = -1
            for arc in range(a.indptr[u], a.indptr[u + 1]):
                if a.head[arc] == v and _tight(&a, arc, state, g):
                    if j < 0 or a.time[arc] < least:
                        j = arc
                        least = a.time[arc]
            arcs_arr[i] = j
        return 1, best, nodes_arr, arcs_arr, settled

    # Several routes tie on cost: every node from which the target is reached over tight
    # arcs (searched backwards from this route), and the tight arcs into them.
    if length > most:
        return 3, best, nodes_arr, None, settled
    mark_arr = np.zeros(n, dtype=np.uint8)
    queue_arr = np.empty(most + 1, dtype=np.int64)
    cdef uint8_t[::1] mark = mark_arr
    cdef i64[::1] queue = queue_arr
    cdef i64 found = length, at = 0, kept = 0
    tight_list = []
    for i in range(length):
        queue[i] = nodes[i]
        mark[nodes[i]] = 1
    while at < found:
        v = queue[at]
        at += 1
        for r in range(a.rev_indptr[v], a.rev_indptr[v + 1]):
            arc = a.by_head[r]
            if not _tight(&a, arc, state, g):
                continue
            tight_list.append(arc)
            u = a.tail[arc]
            if not mark[u]:
                if found == most:
                    return 3, best, nodes_arr, None, settled
                mark[u] = 1
                queue[found] = u
                found += 1
    return 2, best, nodes_arr, np.array(tight_list, dtype=np.int64), settled


# The disjoint pair in a corridor (see app.domain.routes.disjoint) ---------------------


cdef double _between(const Bounds* b, i64 u, i64 v) noexcept nogil:
    """A lower bound on the cost from ``u`` to ``v`` (inf: ``v`` cannot be reached), as
    :func:`_bound` with ``v`` for the target."""
    cdef i64 best = 0, d, scale
    cdef uint32_t x, y
    cdef int j
    cdef const uint32_t* uf = b.fwd + u * b.k
    cdef const uint32_t* ub = b.bwd + u * b.k
    cdef const uint32_t* vf = b.fwd + v * b.k
    cdef const uint32_t* vb = b.bwd + v * b.k
    for j in range(b.k):
        x = uf[j]
        y = vf[j]
        if y == FAR:
            if x != FAR:
                return INFINITY
        elif x != FAR:
            scale = b.scale_f[j]
            d = (<i64> y - <i64> x) * scale - (scale - 1)
            if d > best:
                best = d
        x = ub[j]
        y = vb[j]
        if x == FAR:
            if y != FAR:
                return INFINITY
        elif y != FAR:
            scale = b.scale_b[j]
            d = (<i64> x - <i64> y) * scale - (scale - 1)
            if d > best:
                best = d
    return <double> best


cdef int _dijkstra(
    i64 n,
    const i64* indptr,
    const i64* head,
    const i64* tail,
    const double* weight,
    const uint8_t* inside,
    const double* potential,  # NULL: none; else reduced costs w + p[u] - p[v] (clamped at 0)
    const uint8_t* on_path,  # NULL: none; else arcs of the first route, used reversed at 0
    const i64* path_in,  # the first route's arc into each node (-1: none)
    i64 s,
    double* dist,
    i64* pred,  # arc used into each node; -2 - arc when the arc is used reversed
    uint8_t* done,
) noexcept nogil:
    """Least-weight search from ``s`` over arcs with both ends ``inside``. 0, or -1: no memory."""
    cdef Heap heap
    cdef Entry e
    cdef i64 v, w, arc
    cdef double nd, c
    if heap_init(&heap):
        return -1
    dist[s] = 0.0
    pred[s] = -1
    if heap_push(&heap, 0.0, 0.0, s):
        heap_free(&heap)
        return -1
    while heap.size > 0:
        e = heap_pop(&heap)
        v = e.node
        if done[v] or e.f != dist[v]:
            continue
        done[v] = 1
        for arc in range(indptr[v], indptr[v + 1]):
            c = weight[arc]
            if c == INFINITY:
                continue
            w = head[arc]
            if not inside[w] or done[w]:
                continue
            if on_path != NULL and on_path[arc]:
                continue  # the first route's arcs are only used reversed
            if potential != NULL:
                c = c + potential[v] - potential[w]
                if c < 0.0:
                    c = 0.0
            nd = dist[v] + c
            if nd < dist[w]:
                dist[w] = nd
                pred[w] = arc
                if heap_push(&heap, nd, 0.0, w):
                    heap_free(&heap)
                    return -1
        if on_path != NULL and path_in[v] >= 0:
            arc = path_in[v]
            w = tail[arc]
            if inside[w] and not done[w] and dist[v] < dist[w]:
                dist[w] = dist[v]
                pred[w] = -2 - arc
                if heap_push(&heap, dist[v], 0.0, w):
                    heap_free(&heap)
                    return -1
    heap_free(&heap)
    return 0


def disjoint_in_corridor(
    const i64[::1] indptr,
    const i64[::1] head,
    const i64[::1] tail,
    const double[::1] weight,
    const uint32_t[:, ::1] fwd,
    const uint32_t[:, ::1] bwd,
    const i64[::1] scale_f,
    const i64[::1] scale_b,
    i64 s,
    i64 t,
    i64 budget,
):
    """The least-weight pair of arc-disjoint routes from ``s`` to ``t`` (Suurballe) over the
    arcs of finite ``weight`` (integers) between nodes ``v`` of the corridor
    ``lb(s, v) + lb(v, t) <= budget`` (landmark lower bounds on cost) reached from ``s``
    through it. Returns ``(flow arcs, corridor size)``, or ``(None, size)`` when no pair
    lies in the corridor."""
    cdef i64 n = indptr.shape[0] - 1
    cdef Bounds b
    b.k = fwd.shape[1]
    b.fwd = &fwd[0, 0]
    b.bwd = &bwd[0, 0]
    b.scale_f = &scale_f[0]
    b.scale_b = &scale_b[0]
    cdef const i64* ip = &indptr[0]
    cdef const i64* hd = &head[0]
    cdef const i64* tl = &tail[0]
    cdef const double* wt = &weight[0]

    seen_arr = np.zeros(n, dtype=np.uint8)  # 1: inside, 2: looked at and left out
    cdef uint8_t[::1] seen_v = seen_arr
    cdef uint8_t* seen = &seen_v[0]
    stack_arr = np.empty(n, dtype=np.int64)
    cdef i64[::1] stack_v = stack_arr
    cdef i64* stack = &stack_v[0]
    cdef i64 top = 0, size = 0, v, w, arc
    cdef double limit = <double> budget
    with nogil:
        if _between(&b, s, t) <= limit:
            seen[s] = 1
            stack[top] = s
            top += 1
            size += 1
        while top > 0:
            top -= 1
            v = stack[top]
            for arc in range(ip[v], ip[v + 1]):
                if wt[arc] == INFINITY:
                    continue
                w = hd[arc]
                if seen[w]:
                    continue
                if _between(&b, s, w) + _between(&b, w, t) <= limit:
                    seen[w] = 1
                    stack[top] = w
                    top += 1
                    size += 1
                else:
                    seen[w] = 2
    if s == t or seen[t] != 1:
        return None, size
    inside_arr = (seen_arr == 1).view(np.uint8)
    cdef uint8_t[::1] inside_v = inside_arr
    cdef uint8_t* inside = &inside_v[0]

    dist1_arr = np.full(n, INFINITY)
    pred1_arr = np.full(n, -1, dtype=np.int64)
    done_arr = np.zeros(n, dtype=np.uint8)
    cdef double[::1] dist1_v = dist1_arr
    cdef i64[::1] pred1_v = pred1_arr
    cdef uint8_t[::1] done_v = done_arr
    cdef double* dist1 = &dist1_v[0]
    cdef i64* pred1 = &pred1_v[0]
    cdef uint8_t* done = &done_v[0]
    cdef int failed
    with nogil:
        failed = _dijkstra(
            n, ip, hd, tl, wt, inside, NULL, NULL, NULL, s, dist1, pred1, done
        )
    if failed:
        raise MemoryError()
    if not done[t]:
        return None, size

    # The first route's arcs, and for each of its nodes the arc into it.
    on_path_arr = np.zeros(head.shape[0], dtype=np.uint8)
    path_in_arr = np.full(n, -1, dtype=np.int64)
    cdef uint8_t[::1] on_path_v = on_path_arr
    cdef i64[::1] path_in_v = path_in_arr
    v = t
    while v != s:
        arc = pred1[v]
        on_path_v[arc] = 1
        path_in_v[v] = arc
        v = tl[arc]
    # Nodes outside the first search's reach keep their distance (inf): no arc leads there.
    dist2_arr = np.full(n, INFINITY)
    pred2_arr = np.full(n, -1, dtype=np.int64)
    done_arr[:] = 0
    cdef double[::1] dist2_v = dist2_arr
    cdef i64[::1] pred2_v = pred2_arr
    with nogil:
        failed = _dijkstra(
            n, ip, hd, tl, wt, inside, dist1, &on_path_v[0], &path_in_v[0], s,
            &dist2_v[0], &pred2_v[0], done,
        )
    if failed:
        raise MemoryError()
    if not done[t]:
        return None, size
    flow = set()
    v = t
    while v != s:
        arc = pred1[v]
        flow.add(arc)
        v = tl[arc]
    v = t
    while v != s:
        arc = pred2_v[v]
        if arc <= -2:
            arc = -2 - arc
            flow.discard(arc)
            v = hd[arc]
        else:
            flow.add(arc)
            v = tl[arc]
    return np.array(sorted(flow), dtype=np.int64), size


# The Pareto front's label-setting search (see app.domain.routes.pareto) ---------------


cdef struct Label:
    i64 fc  # cost so far + least cost still to go
    i64 ft  # ticks so far + least ticks still to go
    i64 c
    i64 tk
    i64 v
    i64 parent  # position of the parent among the kept labels (-1: none)
    i64 road


cdef struct LabelHeap:
    Label* items
    i64 size
    i64 cap


cdef inline bint _label_before(const Label* a, const Label* b) noexcept nogil:
    """Lexicographic order of (fc, ft, c, tk, v, parent, road): Python's order of the tuples."""
    if a.fc != b.fc:
        return a.fc < b.fc
    if a.ft != b.ft:
        return a.ft < b.ft
    if a.c != b.c:
        return a.c < b.c
    if a.tk != b.tk:
        return a.tk < b.tk
    if a.v != b.v:
        return a.v < b.v
    if a.parent != b.parent:
        return a.parent < b.parent
    return a.road < b.road


cdef int _label_push(LabelHeap* h, const Label* x) noexcept nogil:
    cdef Label* grown
    cdef i64 i, parent
    if h.size == h.cap:
        grown = <Label*> realloc(h.items, 2 * h.cap * sizeof(Label))
        if grown == NULL:
            return -1
        h.items = grown
        h.cap *= 2
    i = h.size
    h.size += 1
    while i > 0:
        parent = (i - 1) >> 1
        if not _label_before(x, &h.items[parent]):
            break
        h.items[i] = h.items[parent]
        i = parent
    h.items[i] = x[0]
    return 0


cdef Label _label_pop(LabelHeap* h) noexcept nogil:
    cdef Label top = h.items[0]
    cdef Label last
    cdef i64 i = 0, child, n
    h.size -= 1
    n = h.size
    if n > 0:
        last = h.items[n]
        while True:
            child = 2 * i + 1
            if child >= n:
                break
            if child + 1 < n and _label_before(&h.items[child + 1], &h.items[child]):
                child += 1
            if not _label_before(&h.items[child], &last):
                break
            h.items[i] = h.items[child]
            i = child
        h.items[i] = last
    return top


cdef struct Kept:
    i64 c
    i64 tk
    i64 v
    i64 parent
    i64 road


def martins(
    const i64[::1] indptr,
    const i64[::1] head,
    const i64[::1] edge,
    const uint8_t[::1] usable,
    const i64[::1] arc_cost,
    const i64[::1] arc_ticks,
    const i64[::1] hc,
    const i64[::1] ht,
    i64 s,
    i64 t,
    i64 max_labels,
):
    """Martins' label setting, guided by the exact least cost and ticks to ``t`` (``hc``,
    ``ht``), in the order and with the rules of ``pareto._martins_before`` (the Python
    version it replaces): labels leave the queue in lexicographic order of
    (cost + hc, ticks + ht, cost, ticks, node, parent, road); one kept per node unless
    faster than every label kept there; dropped when the target's fastest kept label is
    at least as fast as the label's least possible arrival. Stops after ``max_labels``
    expanded labels.

    Returns ``(kept, members, complete, stop)``: the kept labels as a (k, 5) array of
    cost, ticks, node, parent, road; the positions of the target's labels (the front,
    safest first); whether the search ran to the end; and the key ``(fc, ft)`` of the
    label at which it stopped (None when complete): every member lexicographically
    before it was found."""
    cdef i64 n = indptr.shape[0] - 1
    fastest_arr = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    cdef i64[::1] fastest_v = fastest_arr
    cdef i64* fastest = &fastest_v[0]
    cdef const i64* ip = &indptr[0]
    cdef const i64* hd = &head[0] if head.shape[0] else NULL
    cdef const i64* ed = &edge[0] if edge.shape[0] else NULL
    cdef const uint8_t* ok = &usable[0] if usable.shape[0] else NULL
    cdef const i64* ac = &arc_cost[0] if arc_cost.shape[0] else NULL
    cdef const i64* at = &arc_ticks[0] if arc_ticks.shape[0] else NULL
    cdef const i64* hcp = &hc[0]
    cdef const i64* htp = &ht[0]
    cdef i64 NONE = np.iinfo(np.int64).max

    cdef LabelHeap heap
    heap.cap = 1024
    heap.size = 0
    heap.items = <Label*> malloc(heap.cap * sizeof(Label))
    cdef i64 kept_cap = 1024, kept_n = 0, members_cap = 64, members_n = 0
    cdef Kept* kept = <Kept*> malloc(kept_cap * sizeof(Kept))
    cdef i64* members = <i64*> malloc(members_cap * sizeof(i64))
    if heap.items == NULL or kept == NULL or members == NULL:
        free(heap.items)
        free(kept)
        free(members)
        raise MemoryError()
    cdef Label x, y
    cdef Kept* grown_k
    cdef i64* grown_m
    cdef i64 expanded = 0, me, arc, w, nt, nb, best_t
    cdef int failed = 0, complete = 1
    cdef i64 stop_fc = 0, stop_ft = 0
    x.fc = hcp[s]
    x.ft = htp[s]
    x.c = 0
    x.tk = 0
    x.v = s
    x.parent = -1
    x.road = -1
    with nogil:
        failed = _label_push(&heap, &x)
        while heap.size > 0 and not failed:
            x = _label_pop(&heap)
            if x.tk >= fastest[x.v]:
                continue
            best_t = fastest[t]
            if best_t != NONE and x.ft >= best_t:
                continue
            fastest[x.v] = x.tk
            if kept_n == kept_cap:
                grown_k = <Kept*> realloc(kept, 2 * kept_cap * sizeof(Kept))
                if grown_k == NULL:
                    failed = 1
                    break
                kept = grown_k
                kept_cap *= 2
            kept[kept_n].c = x.c
            kept[kept_n].tk = x.tk
            kept[kept_n].v = x.v
            kept[kept_n].parent = x.parent
            kept[kept_n].road = x.road
            me = kept_n
            kept_n += 1
            if x.v == t:
                if members_n == members_cap:
                    grown_m = <i64*> realloc(members, 2 * members_cap * sizeof(i64))
                    if grown_m == NULL:
                        failed = 1
                        break
                    members = grown_m
                    members_cap *= 2
                members[members_n] = me
                members_n += 1
                continue
            expanded += 1
            if expanded > max_labels:
                complete = 0
                stop_fc = x.fc
                stop_ft = x.ft
                break
            best_t = fastest[t]
            for arc in range(ip[x.v], ip[x.v + 1]):
                if not ok[arc]:
                    continue
                w = hd[arc]
                nt = x.tk + at[arc]
                nb = nt + htp[w]
                if nt < fastest[w] and (best_t == NONE or nb < best_t):
                    y.c = x.c + ac[arc]
                    y.fc = y.c + hcp[w]
                    y.ft = nb
                    y.tk = nt
                    y.v = w
                    y.parent = me
                    y.road = ed[arc]
                    if _label_push(&heap, &y):
                        failed = 1
                        break
    free(heap.items)
    if failed:
        free(kept)
        free(members)
        raise MemoryError()
    kept_arr = np.empty((kept_n, 5), dtype=np.int64)
    cdef i64[:, ::1] kv = kept_arr
    cdef i64 i
    for i in range(kept_n):
        kv[i, 0] = kept[i].c
        kv[i, 1] = kept[i].tk
        kv[i, 2] = kept[i].v
        kv[i, 3] = kept[i].parent
        kv[i, 4] = kept[i].road
    members_arr = np.empty(members_n, dtype=np.int64)
    for i in range(members_n):
        members_arr[i] = members[i]
    free(kept)
    free(members)
    return kept_arr, members_arr, bool(complete), None if complete else (stop_fc, stop_ft)
