"""Whose agreement opens which route: the consent analysis behind ``safe-passage parties``.

Definition. A route *needs* every party it involves (:mod:`.holdings`: the
holders of the places it passes, origin and destination included, and of its
roads, and its checkpoints' parties) that has not granted consent — its
:meth:`~app.domain.routes.engine.Route.consents_needed`. With a set ``A`` of
parties that agree in addition to those that have already granted consent, the
*open* roads are :func:`~app.domain.routes.holdings.usable_roads` excluding every
other party (and the avoided ones): the roads ``--consenting-only`` would use if
the parties of ``A`` granted consent. For each ``A`` the analysis takes the
safest route over open roads (ties to the shorter time, as everywhere).

* *today*: ``A`` empty — what is possible without any new agreement.
* *safest*: every party except avoided ones agrees — the safest route there is,
  and whose agreement it needs.
* *options*: for each number ``k`` of new agreements, the set of ``k``
  parties that opens the safest route, kept only when it is safer than every
  option with fewer agreements. All subsets are examined when at most
  :data:`MAX_ENUMERATED` parties have not granted consent; otherwise no
  agreement, each party alone, all but one, and all.
* per party: the route if only that party agrees, and the route if it refuses
  (every other party agrees) — how much the outcome depends on it.

Cost: one lexicographic search per set examined, at most ``2**8`` plus two per party.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any

from app.domain.errors import Fault, QuestionError
from app.domain.network.graph import Conditions, Network
from app.domain.routes.engine import (
    Route,
    RouteOptions,
    check_parties,
    lexicographic_path,
    resolve_node,
    safest_route,
)
from app.domain.routes.holdings import Exclusion, usable_roads

MAX_ENUMERATED = 8
"""Up to this many non-consenting parties, every combination of agreements is examined."""


@dataclass
class Option:
    """A set of new agreements and the safest route it opens."""

    agreements: tuple[str, ...]
    route: Route


@dataclass
class PartyEffect:
    """What one party's answer changes."""

    party: str
    alone: Route | None
    """The safest route if this party alone agrees (None: it opens no route)."""
    refused: Route | None
    """The safest route if this party refuses and every other agrees (None: no route)."""


@dataclass
class ConsentAnalysis:
    conditions: Conditions
    source: str
    target: str
    granted: list[str]
    pending: list[str]
    """Parties that have not granted consent (pending, refused or unknown), not avoided."""
    today: Route | None
    safest: Route
    options: list[Option]
    effects: list[PartyEffect]
    enumerated: bool

    def as_dict(self) -> dict[str, Any]:
        net = self.conditions.network
        safest = self.safest
        today = self.today

        def gain(route: Route | None) -> float | None:
            if route is None or today is None:
                return None
            return route.survival_probability - today.survival_probability

        def brief(route: Route | None) -> dict[str, Any] | None:
            if route is None:
                return None
            return {
                "nodes": route.node_ids,
                "edges": route.edge_ids,
                "survival_probability": route.survival_probability,
                "risk": route.risk,
                "travel_time_min": route.travel_time_min,
                "consents_needed": route.consents_needed(),
            }

        parties = []
        for eff in self.effects:
            p = net.parties[eff.party]
            refused = eff.refused
            parties.append(
                {
                    "id": p.id,
                    "name": p.name,
                    "consent": p.consent,
                    "needed_for_safest": p.id in safest.consents_needed(),
                    "indispensable": refused is None,
                    "if_only_this_party_agrees": brief(eff.alone),
                    "if_this_party_refuses": brief(refused),
                    "survival_lost_if_refuses": (
                        None
                        if refused is None
                        else safest.survival_probability - refused.survival_probability
                    ),
                }
            )
        return {
            "from": self.source,
            "to": self.target,
            "profile": self.conditions.profile.id,
            "at": self.conditions.at.isoformat() if self.conditions.at else None,
            "granted": self.granted,
            "not_granted": self.pending,
            "today": today.as_dict() if today else None,
            "safest": safest.as_dict(),
            "safest_needs": safest.consents_needed(),
            "survival_gain": gain(safest),
            "options": [
                {
                    "agreements": list(o.agreements),
                    **(brief(o.route) or {}),
                    "survival_gain": gain(o.route),
                }
                for o in self.options
            ],
            "parties": parties,
            "all_combinations_examined": self.enumerated,
        }


def consent_analysis(
    net: Network, source: str, target: str, options: RouteOptions | None = None
) -> ConsentAnalysis:
    """Whose agreement opens the safest route from ``source`` to ``target``, and what it gains.

    ``options.avoid_parties`` are never counted on; ``consenting_only`` and
    ``max_risk`` do not apply. Raises :class:`NoRouteError` when no route exists
    even with every party agreeing.
    """
    opts = options or RouteOptions()
    s = resolve_node(net, source, "origin")
    t = resolve_node(net, target, "destination")
    if s == t:
        raise QuestionError(
            [Fault("destination", "'to' is the same place as 'from'")], detail="nothing to cross"
        )
    avoided = frozenset(check_parties(net, opts.avoid_parties))
    everyone = RouteOptions(profile=opts.profile, at=opts.at, avoid_parties=tuple(avoided))
    # Raises NoRouteError (its cut naming avoided ground) when even everyone's agreement
    # opens no route: the mask below with every party agreeing is that question's mask.
    cond = safest_route(net, source, target, everyone).conditions
    granted = [p for p in net.party_ids if net.parties[p].consent == "granted"]
    pending = [p for p in net.party_ids if p not in granted and p not in avoided]
    cache: dict[frozenset[str], Route | None] = {}

    def best(extra: frozenset[str]) -> Route | None:
        """The safest route once ``extra`` agree too (an avoided party's ground stays out
        even if it agrees)."""
        if extra not in cache:
            excluded = Exclusion(avoided, frozenset(pending) - extra)
            mask = usable_roads(net, cond.usable, excluded.parties)
            cache[extra] = lexicographic_path(cond, mask[net.arc_edge], s, t)
        return cache[extra]

    enumerated = len(pending) <= MAX_ENUMERATED
    if enumerated:
        sets = [frozenset(c) for k in range(len(pending) + 1) for c in combinations(pending, k)]
    else:
        every = frozenset(pending)
        sets = [frozenset(), *(frozenset([p]) for p in pending)]
        sets += [every - {p} for p in pending] + [every]
    by_size: dict[int, Option] = {}
    for extra in sets:
        route = best(extra)
        if route is None:
            continue
        current = by_size.get(len(extra))
        if current is None or _key(route) < _key(current.route):
            by_size[len(extra)] = Option(tuple(p for p in pending if p in extra), route)
    choices: list[Option] = []
    for k in sorted(by_size):
        if not choices or by_size[k].route.cost < choices[-1].route.cost:
            choices.append(by_size[k])

    everyone_set = frozenset(pending)
    safest = best(everyone_set)
    if safest is None:  # cannot happen: safest_route above found one over the same roads
        raise AssertionError("the route with every agreement was lost")
    effects = [PartyEffect(p, best(frozenset([p])), best(everyone_set - {p})) for p in pending]
    return ConsentAnalysis(
        conditions=cond,
        source=source,
        target=target,
        granted=granted,
        pending=pending,
        today=best(frozenset()),
        safest=safest,
        options=choices,
        effects=effects,
        enumerated=enumerated,
    )


def _key(route: Route) -> tuple[float, float]:
    return (route.cost, route.travel_time_min)
