"""Who holds what a route or plan uses, and which roads a question may use (SPEC §1 Consent).

Definition. A route or plan *involves* every party that holds a place it passes —
the place people leave and the place they reach included —, a road it uses, or a
checkpoint on such a road (:func:`involved_parties`). It needs the consent of each
of them; ``consents_needed`` lists those whose consent is not ``granted``.

A question *excludes* parties (:func:`exclusion`): those it avoids, and with
``consenting_only`` every party whose consent is not granted, less any party
whose agreement is being priced. A road is usable only when none of its parties
— its controller, its checkpoint and the holders of both its ends — is excluded
(:func:`usable_roads`). Every place a route passes is an end of one of its roads,
so a route over usable roads involves no excluded party; a place held by an
excluded party is neither left nor reached (its people stay where they are).
Routes (:func:`~app.domain.routes.engine.safest_route`), the consent analysis
(:mod:`app.domain.routes.consent`) and plans (:mod:`app.domain.plans.model`) all use
these two functions, so they agree on every question.

>>> from app.domain.network.graph import Network
>>> from app.domain.scenario.reading import validate_scenario
>>> net = Network(validate_scenario({"schema": "safe-passage/scenario@1",
...   "parties": [{"id": "gov", "consent": "granted"}, {"id": "opp", "consent": "pending"}],
...   "nodes": [{"id": "home", "controlled_by": "opp"}, {"id": "x"}, {"id": "camp"}],
...   "edges": [{"id": "home-x", "from": "home", "to": "x", "travel_time_min": 5},
...             {"id": "x-camp", "from": "x", "to": "camp", "travel_time_min": 5,
...              "checkpoint": "gov"}]}))
>>> excluded = exclusion(net, consenting_only=True)
>>> sorted(excluded.parties), usable_roads(net, np.ones(2, dtype=bool), excluded.parties).tolist()
(['opp'], [False, True])
>>> involved_parties(net, [0, 1, 2], [0, 1])
['gov', 'opp']
>>> [p.reasons[0] for p in excluded_places(net, [(0, "origin"), (2, "destination")], excluded)]
["origin 'home' is held by 'opp', which has not granted consent"]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from weakref import WeakKeyDictionary

import numpy as np
import numpy.typing as npt

from app.domain.errors import CutPlace, PlaceRole
from app.domain.network.graph import BoolArray, IntArray, Network


@dataclass(frozen=True)
class Exclusion:
    """The parties a question leaves out, each for its reason."""

    avoided: frozenset[str] = frozenset()
    """Parties the question avoids."""
    not_consenting: frozenset[str] = frozenset()
    """Parties left out because their consent is not granted (and not avoided)."""

    @property
    def parties(self) -> frozenset[str]:
        return self.avoided | self.not_consenting

    def why(self, party: str) -> str:
        """The clause a sentence about ``party``'s holding ends with."""
        if party in self.avoided:
            return "which is avoided"
        return "which has not granted consent"


def exclusion(
    net: Network,
    avoid: Iterable[str] = (),
    consenting_only: bool = False,
    opened: Iterable[str] = (),
) -> Exclusion:
    """The parties a question excludes: ``avoid``, and with ``consenting_only`` every party
    whose consent is not granted; none of ``opened`` (parties whose agreement is priced)."""
    opened = frozenset(opened)
    avoided = frozenset(avoid) - opened
    not_consenting: frozenset[str] = frozenset()
    if consenting_only:
        not_consenting = frozenset(p.id for p in net.parties.values() if p.consent != "granted") - (
            avoided | opened
        )
    return Exclusion(avoided, not_consenting)


def party_codes_per_road(net: Network, roads: IntArray | None = None) -> list[IntArray]:
    """For each road (of ``roads`` if given), the party codes (−1: none) of its controller,
    its checkpoint and the holders of its two ends: everything whose party a road involves."""
    sel = slice(None) if roads is None else roads
    return [
        net.edge_controller[sel],
        net.edge_checkpoint[sel],
        net.node_controller[net.edge_tail[sel]],
        net.node_controller[net.edge_head[sel]],
    ]


def party_code_table(net: Network) -> npt.NDArray[np.int32]:
    """:func:`party_codes_per_road` as one (roads, 4) table, made once per network (for
    searches that test only the roads they reach)."""
    table = _CODE_TABLES.get(net)
    if table is None:
        table = np.ascontiguousarray(np.column_stack(party_codes_per_road(net)), dtype=np.int32)
        _CODE_TABLES[net] = table
    return table


_CODE_TABLES: WeakKeyDictionary[Network, npt.NDArray[np.int32]] = WeakKeyDictionary()


def allowed_codes(net: Network, excluded: Iterable[str]) -> BoolArray:
    """Per party code + 1 (code −1, no party, first), whether a road may involve it: a road
    is usable only when every one of its codes (:func:`party_codes_per_road`) is allowed."""
    allowed = np.ones(len(net.party_ids) + 1, dtype=bool)
    codes = {pid: i for i, pid in enumerate(net.party_ids)}
    for pid in excluded:
        if pid in codes:
            allowed[codes[pid] + 1] = False
    return allowed


def usable_roads(
    net: Network, base: BoolArray, excluded: Iterable[str], roads: IntArray | None = None
) -> BoolArray:
    """The roads of ``base`` none of whose parties (:func:`party_codes_per_road`) is in
    ``excluded`` (:func:`allowed_codes`). ``O(m)``; with ``roads``, ``base`` is given for
    those roads only, and so is the answer."""
    allowed = allowed_codes(net, excluded)
    mask = base.copy()
    if allowed.all():
        return mask
    for road_codes in party_codes_per_road(net, roads):
        mask &= allowed[road_codes + 1]
    return mask


def involved_codes(
    net: Network, nodes: Sequence[int] | IntArray, edges: Sequence[int] | IntArray
) -> BoolArray:
    """Which parties (by code) hold one of ``nodes`` or ``edges`` or a checkpoint on one of
    ``edges``."""
    nodes = np.asarray(nodes, dtype=np.int64)
    edges = np.asarray(edges, dtype=np.int64)
    used = np.zeros(len(net.party_ids) + 1, dtype=bool)  # by code; −1 (none) is the last
    used[net.node_controller[nodes]] = True
    used[net.edge_controller[edges]] = True
    used[net.edge_checkpoint[edges]] = True
    involved: BoolArray = used[:-1]
    return involved


def involved_parties(
    net: Network, nodes: Sequence[int] | IntArray, edges: Sequence[int] | IntArray
) -> list[str]:
    """The parties ``nodes`` and ``edges`` involve (:func:`involved_codes`), in scenario order."""
    used = involved_codes(net, nodes, edges)
    return [p for k, p in enumerate(net.party_ids) if used[k]]


def not_granted(net: Network, parties: Iterable[str]) -> list[str]:
    """Those of ``parties`` whose consent is not ``granted``, in the order given."""
    return [p for p in parties if net.parties[p].consent != "granted"]


def excluded_places(
    net: Network, places: Iterable[tuple[int, PlaceRole]], excluded: Exclusion
) -> list[CutPlace]:
    """The ``places`` (position, role) held by an excluded party, each with its reason."""
    out = []
    for node, role in places:
        holder = net.node_text(node, "controlled_by")
        if holder is not None and holder in excluded.parties:
            place = net.node_ids[node]
            reason = f"{role} {place!r} is held by {holder!r}, {excluded.why(holder)}"
            out.append(CutPlace(place, role, holder, (reason,)))
    return out


def road_reasons(net: Network, edge: int, excluded: Exclusion) -> list[str]:
    """Why road ``edge`` is closed to a question excluding ``excluded``: one sentence per
    excluded party it involves (controller, checkpoint, the holders of its ends)."""
    if not excluded.parties:
        return []
    reasons = []
    controller = net.edge_text(edge, "controlled_by")
    checkpoint = net.edge_text(edge, "checkpoint")
    for pid, what in ((controller, "controlled by"), (checkpoint, "checkpoint of")):
        if pid is None or pid not in excluded.parties:
            continue
        if pid in excluded.avoided:
            reasons.append(f"{what} avoided party {pid!r}")
        else:
            reasons.append(f"{what} {pid!r}, {excluded.why(pid)}")
    for node in dict.fromkeys((int(net.edge_tail[edge]), int(net.edge_head[edge]))):
        holder = net.node_text(node, "controlled_by")
        if holder is not None and holder in excluded.parties:
            place = net.node_ids[node]
            reasons.append(f"ends at {place!r}, held by {holder!r}, {excluded.why(holder)}")
    return reasons
