# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The reservation loop of the fast plan, compiled (see :mod:`app.domain.plans.fast`).

It is the same method, step for step, as ``place_all`` of
``tests/domain/kernel_statements.py`` (its statement in Python; the tests check that both
give the same groups): districts nearest first; each group leaves at the earliest minute
at which one of its routes admits it on every road, read in chunks of 4, 8, 16… minutes;
the route arriving earliest wins.

Routes are not stored: route ``tree * rows + row`` is the path of district ``row``
along shortest-path tree ``tree`` (``nxt[tree, v]``: the arc node ``v`` takes), and a
road's entry minute is the route's time to the safe zone less the road's. A route that
repeats the roads of an earlier tree's route for the same district is left out, as in
``kernel_statements.candidate_routes``. Growing the table, refreshing the trees when safe
zones fill up, progress and the time budget call back into Python.
"""

import numpy as np

from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM

from app.domain._heap cimport Entry, Heap, heap_free, heap_init, heap_pop, heap_push

ctypedef long long i64
ctypedef int i32

cdef i64 NONE = -(1 << 62)
cdef i64 UNKNOWN = -2


cdef class _Routes:
    """The candidate routes of every district, from a matrix of trees."""

    cdef public object nxt_source
    cdef i64[:, ::1] nxt
    cdef i64[::1] head
    cdef i64[::1] node
    """Node of each row (district)."""
    cdef i64[:, ::1] tt
    """Minutes from each node on a served district's path to the end of the path, per tree
    (other nodes: never read)."""
    cdef i64[:, ::1] end
    cdef i64[:, ::1] count
    """Roads on each district's route per tree (0: none, or a repeat)."""
    cdef i64[:, ::1] hint
    cdef i64 trees
    cdef i64 rows
    cdef i64[::1] path_arc
    cdef i64[::1] path_off
    cdef i64 blocked
    """Scratch: the roads of the route last laid out by :meth:`lay_out`, and their offsets."""

    def __init__(self, nxt, head, time, node, const i64[::1] served):
        """``served``: the rows (districts) to be placed, the only ones whose routes are
        laid out (others keep ``count`` 0)."""
        cdef i64[:, ::1] nxt_v = nxt
        cdef i64[::1] time_v = time
        self.nxt_source = nxt
        self.nxt = nxt_v
        self.head = head
        self.node = node
        self.trees = nxt_v.shape[0]
        self.rows = self.node.shape[0]
        if self.trees > 64:
            raise ValueError("at most 64 routing trees")
        cdef i64 n = nxt_v.shape[1], k, v, x, a, depth, i, y, h, j, r
        # Filled only for the nodes on the paths of the districts served (the rest is never
        # read).
        tt = np.full((self.trees, n), UNKNOWN, dtype=np.int64)
        end = np.empty((self.trees, n), dtype=np.int64)
        self.tt = tt
        self.end = end
        cnt_a = np.zeros((self.trees, n), dtype=np.int64)
        sum_a = np.zeros((self.trees, n), dtype=np.int64)
        sq_a = np.zeros((self.trees, n), dtype=np.float64)
        cdef i64[:, ::1] cnt = cnt_a
        cdef i64[:, ::1] total = sum_a
        cdef double[:, ::1] sq = sq_a
        stack_a = np.zeros(max(n, 1), dtype=np.int64)
        cdef i64[::1] stack = stack_a
        cdef Py_ssize_t q
        for k in range(self.trees):
            for q in range(served.shape[0]):
                v = self.node[served[q]]
                if self.tt[k, v] != UNKNOWN:
                    continue
                depth = 0
                x = v
                while self.tt[k, x] == UNKNOWN:
                    a = nxt_v[k, x]
                    if a < 0:
                        self.tt[k, x] = 0
                        self.end[k, x] = x
                        break
                    if depth >= n:
                        raise ValueError("a routing tree has a cycle")
                    stack[depth] = x
                    depth += 1
                    x = self.head[a]
                for i in range(depth - 1, -1, -1):
                    y = stack[i]
                    a = nxt_v[k, y]
                    h = self.head[a]
                    self.tt[k, y] = self.tt[k, h] + time_v[a]
                    self.end[k, y] = self.end[k, h]
                    cnt[k, y] = cnt[k, h] + 1
                    total[k, y] = total[k, h] + a
                    sq[k, y] = sq[k, h] + <double>(a % 1000003) * <double>(a % 1000003)
        self.path_arc = np.zeros(max(n, 1), dtype=np.int64)
        self.path_off = np.zeros(max(n, 1), dtype=np.int64)
        count_a = np.zeros((self.trees, self.rows), dtype=np.int64)
        self.count = count_a
        self.hint = np.zeros((self.trees, self.rows), dtype=np.int64)
        cdef bint repeat
        for q in range(served.shape[0]):
            r = served[q]
            v = self.node[r]
            for k in range(self.trees):
                repeat = False
                for j in range(k):
                    if (
                        cnt[j, v] == cnt[k, v]
                        and total[j, v] == total[k, v]
                        and sq[j, v] == sq[k, v]
                    ):
                        repeat = True
                        break
                self.count[k, r] = 0 if repeat else cnt[k, v]

    cdef i64 lay_out(self, i64 k, i64 row) noexcept:
        """Write the roads of route (``k``, ``row``) and their entry offsets to the scratch
        arrays; returns how many."""
        cdef i64 v = self.node[row], x = v, a, n = 0, total = self.tt[k, v]
        self.blocked = 0
        while True:
            a = self.nxt[k, x]
            if a < 0:
                return n
            self.path_arc[n] = a
            self.path_off[n] = total - self.tt[k, x]
            n += 1
            x = self.head[a]

    cdef inline i64 length(self, i64 k, i64 r) noexcept:
        return self.tt[k, self.node[r]]

    cdef inline i64 zone(self, i64 k, i64 r) noexcept:
        return self.end[k, self.node[r]]


cdef class _Table:
    """``fast._Table``: rows only for the arcs entered (``row[arc]`` −1: its capacity free
    at every minute); :meth:`take` gives an arc its row before a reservation on it."""
    cdef object source
    cdef i32[:, ::1] left
    cdef i64[::1] row
    cdef i64[::1] arc_of_row
    cdef i64[::1] used
    cdef const i32[::1] cap
    cdef i64[::1] first
    cdef i64 width
    cdef i64 horizon
    cdef i64 chunk
    """First chunk of departure minutes looked at (``flow_fast.CHUNK``)."""
    cdef i64 span
    """Most minutes read in one step (``flow_fast.SPAN``): where chunks end depends on it."""

    def __init__(self, source, i64 horizon, i64 chunk, i64 span):
        self.source = source
        self.first = source.first
        self.row = source.row
        self.used = source.used
        self.cap = source.cap
        self.horizon = horizon
        self.chunk = chunk
        self.span = span
        self.reload()

    cdef void reload(self):
        self.left = self.source.left
        self.arc_of_row = self.source.arc_of_row
        self.width = self.left.shape[1]

    cdef bint grow(self, i64 need) except -1:
        if not self.source.grow(need):
            return False
        self.reload()
        return True

    cdef inline i32 at(self, i64 a, i64 off) noexcept:
        """Entries left on arc ``a`` at minute ``off``."""
        cdef i64 r = self.row[a]
        return self.cap[a] if r < 0 else self.left[r, off]

    cdef i64 take(self, i64 a) except -1:
        """Arc ``a``'s row, made (its capacity at every minute) if it has none."""
        cdef i64 r = self.row[a], m
        if r >= 0:
            return r
        r = self.used[0]
        if r == self.left.shape[0]:
            self.source.more_rows()
            self.reload()
        for m in range(self.width):
            self.left[r, m] = self.cap[a]
        self.row[a] = r
        self.arc_of_row[r] = a
        self.used[0] = r + 1
        return r

    cdef i64 room(self, _Routes r, i64 n, i64 s) noexcept:
        """Free places for a departure at minute ``s`` on the route laid out in ``r``'s
        scratch arrays (``n`` roads; ≤ 0: none). The road that was full last time is
        looked at first: it is usually full a minute later too."""
        cdef i64 i, j, best = 1 << 40, val
        for j in range(n):
            i = j + r.blocked
            if i >= n:
                i -= n
            val = self.at(r.path_arc[i], r.path_off[i] + s)
            if val < best:
                best = val
                if best <= 0:
                    r.blocked = i
                    return best
        return best


cdef bint _first_slots(
    _Table table, _Routes r, i64 k, i64 row, i64 until, i64* first_out, i64* upto_out
) except -1:
    """As ``kernel_statements.first_slots``: the first departure minute with room and the end of
    its chunk (``until``: give up past that minute; NONE for no limit)."""
    cdef i64 length = r.length(k, row), n = r.lay_out(k, row), i
    cdef i64 start = r.hint[k, row], chunk = table.chunk, last, end, stop, s, val
    cdef i64 stops[64]
    cdef i64 n_stops, j
    for i in range(n):
        val = table.first[r.path_arc[i]] - r.path_off[i]
        if val > start:
            start = val
    while True:
        last = table.width - 1 - length
        if table.horizon >= 0 and table.horizon - length < last:
            last = table.horizon - length
        if until != NONE and start > until:
            r.hint[k, row] = start
            return False
        if start > last:
            if table.horizon >= 0 or not table.grow(start + length + table.chunk):
                r.hint[k, row] = start
                return False
            continue
        end = last + 1
        if until != NONE and until + 1 < end:
            end = until + 1
        stops[0] = min(end, start + chunk)
        n_stops = 1
        chunk *= 2
        while stops[n_stops - 1] < end and stops[n_stops - 1] + chunk - start <= table.span:
            stops[n_stops] = min(end, stops[n_stops - 1] + chunk)
            n_stops += 1
            chunk *= 2
        if chunk > (1 << 40):  # unreachable with any table that fits in memory
            chunk = 1 << 40
        stop = stops[n_stops - 1]
        for s in range(start, stop):
            if table.room(r, n, s) > 0:
                j = 0
                while stops[j] <= s:
                    j += 1
                r.hint[k, row] = s
                first_out[0] = s
                upto_out[0] = stops[j]
                return True
        start = stop
        r.hint[k, row] = start


cdef i64 _place(
    _Table table,
    _Routes r,
    i64 row,
    i64 remaining,
    i64[::1] zone_left,
    list out,
) except -2:
    """As ``kernel_statements.place``: reserve places for up to ``remaining`` people of district
    ``row``; returns how many (−1: no route to a safe zone with room). Groups are
    appended to ``out`` as (route, minute, people)."""
    cdef i64 options[64]
    cdef i64 n_opt = 0, t, i, j, key, limit = NONE
    cdef i64 f_tree[64]
    cdef i64 f_first[64]
    cdef i64 f_upto[64]
    cdef i64 f_arrive[64]
    cdef i64 n_found = 0, first = 0, upto = 0, arrive, until, s, c, free, want, placed
    cdef i64 width, a, off, length, bound, k, n, row_
    # Options in tree order (those whose safe zone has room), then stably by hint + length.
    for t in range(r.trees):
        if r.count[t, row] > 0 and zone_left[r.zone(t, row)] > 0:
            key = r.hint[t, row] + r.length(t, row)
            i = n_opt
            while i > 0 and r.hint[options[i - 1], row] + r.length(options[i - 1], row) > key:
                options[i] = options[i - 1]
                i -= 1
            options[i] = t
            n_opt += 1
    if n_opt == 0:
        return -1
    for i in range(n_opt):
        t = options[i]
        if n_found and r.hint[t, row] + r.length(t, row) >= f_arrive[0]:
            limit = r.hint[t, row] + r.length(t, row)
            break
        until = f_arrive[0] - r.length(t, row) if n_found else NONE
        if _first_slots(table, r, t, row, until, &first, &upto):
            arrive = first + r.length(t, row)
            j = n_found
            while j > 0 and f_arrive[j - 1] > arrive:
                f_tree[j] = f_tree[j - 1]
                f_first[j] = f_first[j - 1]
                f_upto[j] = f_upto[j - 1]
                f_arrive[j] = f_arrive[j - 1]
                j -= 1
            f_tree[j] = t
            f_first[j] = first
            f_upto[j] = upto
            f_arrive[j] = arrive
            n_found += 1
        if i == n_opt - 1:
            limit = NONE
    if n_found == 0:
        return 0
    k = f_tree[0]
    if n_found > 1:
        limit = f_arrive[1] if limit == NONE else min(limit, f_arrive[1])
    length = r.length(k, row)
    bound = NONE
    if limit != NONE:
        bound = max(limit, f_first[0] + length)
    want = min(remaining, zone_left[r.zone(k, row)])
    placed = 0
    n = r.lay_out(k, row)
    for s in range(f_first[0], f_upto[0]):
        if placed >= want:
            break
        if bound != NONE and s + length > bound:
            continue
        free = table.room(r, n, s)
        if free <= 0:
            continue
        c = min(free, want - placed)
        for i in range(n):
            row_ = table.take(r.path_arc[i])  # first: making a row may move the table
            table.left[row_, r.path_off[i] + s] -= <i32>c
        out.append((k * r.rows + row, s, c))
        placed += c
    # Move each road's first minute with room past full minutes.
    width = table.width
    for i in range(n):
        a = r.path_arc[i]
        off = table.first[a]
        if off < width and table.at(a, off) <= 0:
            while off < width and table.at(a, off) <= 0:
                off += 1
            table.first[a] = off
    zone_left[r.zone(k, row)] -= placed
    return placed


def place_all(
    table_source,
    nxt,
    head,
    time,
    node,
    i64 horizon,
    i64[::1] order_rows,
    i64[::1] population,
    i64[::1] zone_left,
    i64[::1] zones,
    refresh,
    check,
    i64 check_every,
    i64 chunk,
    i64 span,
):
    """Place every district of ``order_rows``; see the module docstring.

    ``nxt``: the trees (trees × nodes, arc taken, −1 at a safe zone or without a path);
    ``head``, ``time``: per arc; ``node``: node of each row. ``refresh()`` returns new
    trees when a district has no route to a safe zone with room; ``check(k)`` is called
    every ``check_every`` placements and every 500 districts with the district's
    position (it may raise to stop). Returns the (route, minute, people) groups and the
    trees in use from each group on: (first group, trees).
    """
    cdef _Table table = _Table(table_source, horizon, chunk, span)
    cdef _Routes r = _Routes(nxt, head, time, node, order_rows)
    cdef list out = [], epochs = [(0, nxt)]
    cdef i64 k, row, remaining, placed, steps = 0, z
    cdef bint room
    for k in range(order_rows.shape[0]):
        if k % 500 == 0:
            check(k)
        row = order_rows[k]
        remaining = population[k]
        while remaining > 0:
            steps += 1
            if steps % check_every == 0:
                check(k)
            placed = _place(table, r, row, remaining, zone_left, out)
            if placed == -1:
                room = False
                for z in range(zones.shape[0]):
                    if zone_left[zones[z]] > 0:
                        room = True
                        break
                if not room:
                    break
                fresh = refresh()
                r = _Routes(fresh, head, time, node, order_rows)
                epochs.append((len(out), fresh))
                placed = _place(table, r, row, remaining, zone_left, out)
                if placed == -1:
                    break
            if placed == 0:
                break
            remaining -= placed
    return out, epochs


def journeys(nxt, head, time, node, list groups):
    """(nodes, arcs, entry minutes, arrival minute) of each (route, minute, people) group
    placed with the trees ``nxt`` (as :func:`place_all` numbers routes)."""
    cdef i64[:, ::1] nxt_v = nxt
    cdef i64[::1] head_v = head
    cdef i64[::1] time_v = time
    cdef i64[::1] node_v = node
    cdef i64 rows = node_v.shape[0], route, s, k, row, x, a, t
    cdef list out = [], nodes, arcs, enter
    for group in groups:
        route = group[0]
        s = group[1]
        k = route // rows
        row = route % rows
        x = node_v[row]
        nodes = [x]
        arcs = []
        enter = []
        t = s
        while True:
            a = nxt_v[k, x]
            if a < 0:
                break
            arcs.append(a)
            enter.append(t)
            t += time_v[a]
            x = head_v[a]
            nodes.append(x)
        out.append((tuple(nodes), tuple(arcs), tuple(enter), t))
    return out


def untangle_free(list moves, zone, make):
    """``kernel_statements.untangle_free`` over many groups (``zone``: 1 at each safe zone, per
    node; ``make(count, nodes, arcs, enter, arrive)`` builds a changed group): each loop
    of a group, from the first node that recurs to its last visit, is cut, except at safe
    zones; a group ending where a loop began stops there."""
    cdef unsigned char[::1] zone_v = zone
    stamp_a = np.full(max(zone_v.shape[0], 1), -1, dtype=np.int64)
    last_a = np.zeros(max(zone_v.shape[0], 1), dtype=np.int64)
    cdef i64[::1] stamp = stamp_a
    cdef i64[::1] last = last_a
    cdef i64 g, k, v, i, n_arcs, length
    cdef bint loop
    cdef tuple nodes, arcs, enter
    cdef list out = [], kept_nodes, kept_arcs, kept_enter
    for g in range(len(moves)):
        m = moves[g]
        nodes = m.nodes
        length = len(nodes)
        loop = False
        for k in range(length):
            v = nodes[k]
            if stamp[v] == g:
                loop = True
            stamp[v] = g
            last[v] = k
        if not loop:
            out.append(m)
            continue
        arcs = m.arcs
        enter = m.enter
        n_arcs = len(arcs)
        kept_nodes = [nodes[0]]
        kept_arcs = []
        kept_enter = []
        i = 0
        while i < n_arcs:
            v = nodes[i]
            k = i if zone_v[v] else last[v]
            if k == n_arcs:  # the group ends where the loop began: it waits there instead
                break
            kept_arcs.append(arcs[k])
            kept_enter.append(enter[k])
            kept_nodes.append(nodes[k + 1])
            i = k + 1
        out.append(make(m.count, tuple(kept_nodes), tuple(kept_arcs), tuple(kept_enter), m.arrive))
    return out


def walk_back(ends, parent, via, entered, where):
    """``kernel_statements.journeys``: (nodes, arcs, entry minutes) of each journey ``ends[i]``,
    read back along the prefix tree (``parent``, road ``via`` entered at minute
    ``entered``, node ``where`` reached; −1 before the first road). The tuples share one
    int object per node, road and minute instead of making one per element."""
    cdef i64[::1] ends_v = np.ascontiguousarray(ends, dtype=np.int64)
    cdef i64[::1] parent_v = np.ascontiguousarray(parent, dtype=np.int64)
    cdef i64[::1] via_v = np.ascontiguousarray(via, dtype=np.int64)
    cdef i64[::1] entered_v = np.ascontiguousarray(entered, dtype=np.int64)
    cdef i64[::1] where_v = np.ascontiguousarray(where, dtype=np.int64)
    cdef list out = []
    cdef i64 i, cur, depth, d
    cdef tuple nodes, arcs, enter
    cdef i64 top = 0
    for values in (where, via, entered):
        if len(values):
            top = max(top, int(np.max(values)) + 1)
    cdef list ints = list(range(top))
    for i in range(ends_v.shape[0]):
        cur = ends_v[i]
        depth = 0
        while via_v[cur] >= 0:
            depth += 1
            cur = parent_v[cur]
        nodes = PyTuple_New(depth + 1)
        arcs = PyTuple_New(depth)
        enter = PyTuple_New(depth)
        cur = ends_v[i]
        d = depth
        _put(nodes, d, ints[where_v[cur]])
        while via_v[cur] >= 0:
            d -= 1
            _put(arcs, d, ints[via_v[cur]])
            _put(enter, d, ints[entered_v[cur]])
            cur = parent_v[cur]
            _put(nodes, d, ints[where_v[cur]])
        out.append((nodes, arcs, enter))
    return out


cdef inline void _put(tuple t, i64 i, object value) noexcept:
    Py_INCREF(value)
    PyTuple_SET_ITEM(t, i, value)


def movement_dicts(
    list moves, dict node_names, node_name, dict arc_names, arc_name, list risks
):
    """``kernel_statements.movement_dict`` for many groups (``risks``: each group's risk).
    ``node_name(v)`` and ``arc_name(a)`` give the id of place ``v`` and of the road of arc
    ``a``, asked once each: the answers are kept in ``node_names`` and ``arc_names``."""
    cdef list out = [], names, roads
    cdef tuple nodes, arcs
    cdef Py_ssize_t i, j, n
    for i in range(len(moves)):
        m = moves[i]
        nodes = m.nodes
        arcs = m.arcs
        n = len(nodes)
        names = PyList_New(n)
        for j in range(n):
            _set(names, j, _named(node_names, node_name, nodes[j]))
        n = len(arcs)
        roads = PyList_New(n)
        for j in range(n):
            _set(roads, j, _named(arc_names, arc_name, arcs[j]))
        enter = m.enter
        out.append(
            {
                "from": names[0],
                "to": names[len(names) - 1],
                "count": m.count,
                "depart_min": enter[0] if enter else 0,
                "arrive_min": m.arrive,
                "nodes": names,
                "edges": roads,
                "enter_min": list(enter),
                "risk": risks[i],
            }
        )
    return out


cdef inline object _named(dict known, name, object key):
    cdef object value = known.get(key)
    if value is None:
        value = name(key)
        known[key] = value
    return value


cdef inline void _set(list values, Py_ssize_t i, object value) noexcept:
    Py_INCREF(value)
    PyList_SET_ITEM(values, i, value)


def tree_load(const i64[:] order, const i64[:] step, const i64[:] head, double[:] acc,
              double[:] load):
    """``kernel_statements.tree_load``: people routed over each arc (added to ``load``) if
    everybody at each node (``acc``, updated) followed the tree ``step``, the nodes taken
    in ``order`` (farthest first)."""
    cdef Py_ssize_t k, v
    cdef i64 a
    for k in range(order.shape[0]):
        v = order[k]
        a = step[v]
        if a >= 0 and acc[v] > 0:
            load[a] += acc[v]
            acc[head[a]] += acc[v]


def lower_minutes(const i64[:] indptr, const i64[:] arcs, const i64[:] other,
                  const i64[:] time, i64[:] dist, const i64[:] seeds):
    """``kernel_statements.lower_minutes``: least minutes once arcs were added to a network.

    ``dist`` (updated) holds each node's least minutes before the arcs were added, already
    lowered at ``seeds`` through the added arcs; a search from the seeds lowers every node
    they bring nearer, and goes on only from a node it lowered (with every node far and
    the sources at 0, it is Dijkstra's search from the sources). The arcs of node ``v`` are
    ``arcs[indptr[v]:indptr[v + 1]]`` (``arcs`` None: the positions themselves), each
    leading to ``other[arc]`` in ``time[arc]`` minutes (``time < 0``: not an arc of the
    network now). Returns the nodes settled."""
    cdef bint identity = arcs is None
    cdef Heap heap
    cdef Entry e
    cdef Py_ssize_t k
    cdef i64 v, w, a, nd, settled = 0
    cdef int failed = 0
    if heap_init(&heap):
        raise MemoryError()
    with nogil:
        for k in range(seeds.shape[0]):
            v = seeds[k]
            if heap_push(&heap, <double> dist[v], 0.0, v):
                failed = 1
                break
        while heap.size > 0 and not failed:
            e = heap_pop(&heap)
            v = e.node
            if <i64> e.f != dist[v]:
                continue  # lowered again since
            settled += 1
            for k in range(indptr[v], indptr[v + 1]):
                a = k if identity else arcs[k]
                if time[a] < 0:
                    continue
                w = other[a]
                nd = dist[v] + time[a]
                if nd < dist[w]:
                    dist[w] = nd
                    if heap_push(&heap, <double> nd, 0.0, w):
                        failed = 1
                        break
    heap_free(&heap)
    if failed:
        raise MemoryError()
    return settled
