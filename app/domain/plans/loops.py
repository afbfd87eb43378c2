"""Tidying an exact plan: a group that comes back to a node waits there instead.

A maximum flow is indifferent between waiting at a node and walking a loop that
returns to it, and push-relabel solvers often pick the loop. For people the loop
is needless exposure, so each loop ``v → … → v`` of a group is replaced by
waiting at ``v`` for the same minutes, whenever ``v`` can hold them all that
time (its capacity, counting everybody there). Roads are only freed, so no road
capacity can be exceeded, arrival times do not change, and so neither does the
number evacuated or the egress time. Safe zones are left alone: nobody waits at
one without being received.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from app.domain.network.graph import IntArray
from app.domain.plans.expanded import Movement
from app.domain.plans.kernel import kernel
from app.domain.plans.model import FlowModel


def stays(model: FlowModel, m: Movement, horizon: int) -> list[tuple[int, int, int]]:
    """(node, from, to): the group waits at node from minute ``from`` to ``to`` (exclusive).

    The stay at home before leaving is included; so is the final stay of a group
    that ends away from a safe zone (until ``horizon``).
    """
    out = [(m.nodes[0], 0, m.enter[0] if m.enter else horizon)]
    time = model.arc_time
    for k in range(1, len(m.nodes)):
        arrive = m.enter[k - 1] + int(time[m.arcs[k - 1]])
        leave = m.enter[k] if k < len(m.arcs) else (m.arrive if m.arrive is not None else horizon)
        if k == len(m.nodes) - 1 and m.arrive is not None:
            continue
        out.append((m.nodes[k], arrive, leave))
    return out


def remove_loops(
    model: FlowModel, horizon: int, moved: list[Movement], stranded: list[Movement]
) -> tuple[list[Movement], list[Movement]]:
    """Both lists with loops replaced by waiting where capacity allows (merged groups)."""
    # Only nodes where a loop can be cut are ever checked for room: not safe zones.
    bounded = np.flatnonzero((model.node_cap < model.big) & ~model.is_zone)
    if len(bounded) == 0:
        # Every loop can be cut: one pass per group, no occupancy to keep. Cutting from
        # the first node that recurs to its last visit, left to right, gives what
        # _untangle's repeated scans give (tests/domain/kernel_statements.py states it).
        zone_u8 = model.is_zone.astype(np.uint8)
        out_moved = kernel.untangle_free(moved, zone_u8, Movement)
        out_stranded = kernel.untangle_free(stranded, zone_u8, Movement)
        return _merge(out_moved), _merge([m for m in out_stranded if m.arcs])
    occupancy: dict[int, IntArray] = {
        int(v): np.full(horizon + 1, int(model.population[v]), dtype=np.int64) for v in bounded
    }
    every = [*moved, *stranded]
    for m in every:
        if m.nodes[0] in occupancy:
            occupancy[m.nodes[0]] -= m.count  # the resident's home stay is counted below
        for v, start, stop in stays(model, m, horizon):
            if v in occupancy:
                occupancy[v][start:stop] += m.count
    out_moved = [_untangle(model, m, horizon, occupancy) for m in moved]
    out_stranded = [_untangle(model, m, horizon, occupancy) for m in stranded]
    # A stranded group whose loop brought it back home never left after all.
    return _merge(out_moved), _merge([m for m in out_stranded if m.arcs])


def _untangle(
    model: FlowModel, m: Movement, horizon: int, occupancy: dict[int, IntArray]
) -> Movement:
    changed = True
    while changed:
        changed = False
        last = {v: k for k, v in enumerate(m.nodes)}
        for i, v in enumerate(m.nodes):
            j = last[v]
            if j == i or model.is_zone[v]:
                continue
            shorter = _cut(model, m, i, j, horizon, occupancy)
            if shorter is not None:
                m, changed = shorter, True
                break
    return m


def _cut(
    model: FlowModel, m: Movement, i: int, j: int, horizon: int, occupancy: dict[int, IntArray]
) -> Movement | None:
    """``m`` without the loop between its i-th and j-th node, or None if ``v`` lacks room."""
    v = m.nodes[i]
    time = model.arc_time
    arrive_back = m.enter[j - 1] + int(time[m.arcs[j - 1]])
    left = m.enter[i]
    if v in occupancy:
        room = model.node_cap[v] - occupancy[v][left:arrive_back]
        if len(room) and room.min() < m.count:
            return None
        occupancy[v][left:arrive_back] += m.count
    inner = Movement(m.count, m.nodes[i : j + 1], m.arcs[i:j], m.enter[i:j], None)
    for node, start, stop in stays(model, inner, horizon)[1:-1]:
        if node in occupancy:
            occupancy[node][start:stop] -= m.count
    return Movement(
        m.count,
        m.nodes[: i + 1] + m.nodes[j + 1 :],
        m.arcs[:i] + m.arcs[j:],
        m.enter[:i] + m.enter[j:],
        m.arrive,
    )


def _merge(moves: list[Movement]) -> list[Movement]:
    """Groups with the same journey as one (roads and their minutes fix the journey: every
    group here has a road, and its arrival is the last road's entry plus its time or, for
    the stranded, none)."""
    total: dict[tuple[tuple[int, ...], tuple[int, ...]], list[Any]] = {}
    for m in moves:
        key = (m.arcs, m.enter)
        known = total.get(key)
        if known is None:
            total[key] = [m, m.count]
        else:
            known[1] += m.count
    out = [m if c == m.count else replace(m, count=c) for m, c in total.values()]
    out.sort(key=lambda mv: (mv.enter[0] if mv.enter else 0, mv.nodes[0], mv.arrive or 0, mv.nodes))
    return out
