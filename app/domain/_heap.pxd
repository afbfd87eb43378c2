# cython: language_level=3
"""The binary min-heap of the compiled searches (``routes/_search.pyx``,
``plans/_fast_kernel.pyx``): entries ``(f, g, node)``, least ``f`` first and, among equal
``f``, the larger ``g`` (nearer the target of a goal-directed search). A search starts it
with :func:`heap_init` and ends with :func:`heap_free`; a push that cannot grow the heap
returns -1 (the caller raises ``MemoryError`` outside ``nogil``)."""

from libc.stdlib cimport free, malloc, realloc


cdef struct Entry:
    double f
    double g
    long long node


cdef struct Heap:
    Entry* items
    long long size
    long long cap


cdef inline int heap_init(Heap* h) noexcept nogil:
    h.cap = 1024
    h.size = 0
    h.items = <Entry*> malloc(h.cap * sizeof(Entry))
    return -1 if h.items == NULL else 0


cdef inline void heap_free(Heap* h) noexcept nogil:
    free(h.items)
    h.items = NULL


cdef inline bint _before(const Entry* a, const Entry* b) noexcept nogil:
    if a.f != b.f:
        return a.f < b.f
    return a.g > b.g


cdef inline int heap_push(Heap* h, double f, double g, long long node) noexcept nogil:
    cdef Entry* grown
    cdef Entry e
    cdef long long i, parent
    if h.size == h.cap:
        grown = <Entry*> realloc(h.items, 2 * h.cap * sizeof(Entry))
        if grown == NULL:
            return -1
        h.items = grown
        h.cap *= 2
    e.f = f
    e.g = g
    e.node = node
    i = h.size
    h.size += 1
    while i > 0:
        parent = (i - 1) >> 1
        if not _before(&e, &h.items[parent]):
            break
        h.items[i] = h.items[parent]
        i = parent
    h.items[i] = e
    return 0


cdef inline Entry heap_pop(Heap* h) noexcept nogil:
    cdef Entry top = h.items[0]
    cdef Entry last
    cdef long long i = 0, child, n
    h.size -= 1
    n = h.size
    if n > 0:
        last = h.items[n]
        while True:
            child = 2 * i + 1
            if child >= n:
                break
            if child + 1 < n and _before(&h.items[child + 1], &h.items[child]):
                child += 1
            if not _before(&h.items[child], &last):
                break
            h.items[i] = h.items[child]
            i = child
        h.items[i] = last
    return top
