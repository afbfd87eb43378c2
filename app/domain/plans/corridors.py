"""Moving people along fixed corridors: how many arrive by when, and the least window.

A proposal brief puts one corridor, or two sharing no road, from one place to another on
the table. Here people follow a corridor as stated (nobody switches corridor), all start at
its first place at minute 0 and wait there until they can enter. Times and capacities are
the evacuation plans' (:mod:`app.domain.plans.model`): corridor ``k`` takes ``T_k`` =
the sum of its roads' whole minutes and admits ``c_k`` people per minute, the entries per
minute of its narrowest road.

Definition. Entering corridor ``k`` at the narrowest road's rate, nobody queues inside it
(every road admits at least ``c_k``; no road is shared), so the people arriving by minute
``H`` are at most

    A(H) = Σ_k c_k · max(0, H − T_k + 1)

(those entering at minutes 0 … H − T_k), and that many do arrive. With ``R`` the number the
destination can receive, the most people moved by ``H`` is ``min(people, R, A(H))``; the
least window moving ``n`` people is the least ``H`` with ``A(H) ≥ n``. This is the egress
time of the optimal evacuation plan over the same corridors (the tests compare both on
random corridors). Cost: a bisection over ``H``, O(corridors × log people).

>>> one = Corridor(minutes=5, per_minute=10.0)
>>> s = schedule([one], people=30)
>>> s.moved, s.egress_min, s.shares[0].last_departure_min
(30, 7, 2)
>>> schedule([one], people=30, horizon=6).moved
20
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from app.domain.plans.model import entries_per_minute, whole_minutes
from app.domain.routes.engine import Route


@dataclass(frozen=True)
class Corridor:
    """A fixed route as plans count it."""

    minutes: int
    """Whole minutes from its first place to its last (``T_k``)."""
    per_minute: float
    """People entering per minute: its narrowest road (``c_k``; ``inf`` unbounded, 0 none)."""


@dataclass(frozen=True)
class Share:
    """The people one corridor carries in the schedule, and when (minutes from the start)."""

    people: int
    last_departure_min: int | None
    """Minute the last of them enters (everyone enters from minute 0); None: nobody."""
    first_arrival_min: int | None
    last_arrival_min: int | None


@dataclass(frozen=True)
class Schedule:
    """The quickest way to move as many people as possible along the corridors."""

    people: int
    """People asked to move."""
    deliverable: int
    """People the destination can receive of those (``min(people, R)``)."""
    horizon: int | None
    """Minutes of the window (None: no window)."""
    moved: int
    """People arriving within the window (all deliverable without one)."""
    egress_min: int | None
    """Minute the last of them arrives (None: nobody moves)."""
    shares: list[Share]
    first_arrival_min: int | None
    """Least minutes before anybody can arrive (None: no corridor admits anyone)."""
    needed_for_all_min: int | None
    """Least window moving every deliverable person (None: no corridor admits anyone)."""


def corridor_of(route: Route) -> Corridor:
    """``route`` in whole minutes and entries per minute, as plans count them."""
    cond = route.conditions
    minutes = int(whole_minutes(cond.time[route.edges]).sum()) if route.edges else 0
    entries = entries_per_minute(cond)[route.edges]
    per_minute = float(entries.min()) if route.edges else math.inf
    return Corridor(minutes=minutes, per_minute=per_minute)


def arrivals_by(corridors: Sequence[Corridor], horizon: int) -> float:
    """``A(H)``: the most people arriving by minute ``horizon`` (``inf``: unbounded)."""
    total = 0.0
    for c in corridors:
        slots = horizon - c.minutes + 1
        if slots > 0 and c.per_minute > 0:
            total += c.per_minute * slots
    return total


def least_horizon(corridors: Sequence[Corridor], people: int) -> int | None:
    """Least whole minutes by which ``people`` can arrive (None: no corridor admits anyone)."""
    usable = [c for c in corridors if c.per_minute > 0]
    if not usable:
        return None
    lo = min(c.minutes for c in usable)
    if people <= 0:
        return 0
    hi = lo + people  # one corridor alone admits at least one person a minute
    while lo < hi:
        mid = (lo + hi) // 2
        if arrivals_by(usable, mid) >= people:
            hi = mid
        else:
            lo = mid + 1
    return lo


def schedule(
    corridors: Sequence[Corridor],
    people: int,
    horizon: int | None = None,
    reception: int | None = None,
) -> Schedule:
    """Move as many of ``people`` as the window of ``horizon`` minutes and the destination's
    ``reception`` (None: unbounded) allow, as early as possible.

    Shares: every slot arriving before the egress minute is used; the rest arrive at the
    egress minute, filled in corridor order.
    """
    deliverable = people if reception is None else min(people, reception)
    target = deliverable
    if horizon is not None:
        target = int(min(target, arrivals_by(corridors, horizon)))
    usable = [c for c in corridors if c.per_minute > 0]
    first = min((c.minutes for c in usable), default=None)
    needed = least_horizon(corridors, deliverable)
    egress = least_horizon(corridors, target) if target > 0 else None
    counts = [0] * len(corridors)
    if egress is not None:
        for k, c in enumerate(corridors):
            early = arrivals_by([c], egress - 1)
            counts[k] = int(min(early, target))
        left = target - sum(counts)
        for k, c in enumerate(corridors):
            if left > 0 and c.per_minute > 0 and c.minutes <= egress:
                extra = int(min(c.per_minute, left))
                counts[k] += extra
                left -= extra
    shares = []
    for n, c in zip(counts, corridors, strict=True):
        if n == 0:
            shares.append(Share(0, None, None, None))
            continue
        last_departure = 0 if math.isinf(c.per_minute) else math.ceil(n / c.per_minute) - 1
        shares.append(Share(n, last_departure, c.minutes, last_departure + c.minutes))
    return Schedule(
        people=people,
        deliverable=deliverable,
        horizon=horizon,
        moved=sum(counts),
        egress_min=egress,
        shares=shares,
        first_arrival_min=first,
        needed_for_all_min=needed,
    )
