"""A scenario compiled once into flat arrays, and the conditions of one question.

:class:`Network` holds the structure of a scenario version (nodes, roads, arcs
sorted by tail then head). :class:`Conditions` holds what depends on who travels
and when: each road's final risk (base, incidents, checkpoint), travel time and
whether the profile may use it. Requests apply further masks (avoided parties,
consent) over these arrays instead of rebuilding a graph.

Costs: a road's routing cost is ``−ln(1 − risk)`` quantised to integers of
``COST_SCALE`` (so sums are exact and ties are real ties); minimising the sum
maximises the product of ``(1 − risk)``, the survival probability.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from threading import Lock
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from app.domain.network.risk import (
    IncidentEffect,
    default_time,
    haversine_array_m,
    haversine_m,
    incident_effects,
    incidents_after,
)
from app.domain.scenario.columns import ROAD_STATUSES, CompactScenario, IdIndex, Texts
from app.domain.scenario.model import Party, Profile, ScenarioHeader, UnknownRisk
from app.domain.scenario.profiles import (
    WALKING_SPEED_M_PER_MIN,
    available_profiles,
    resolve_profile,
)

COST_SCALE = 1e9
"""Routing costs are −ln(1 − risk) in units of 1e-9: survival is resolved to 1e-9 relative."""

STATUS_CODES = {status: code for code, status in enumerate(ROAD_STATUSES)}
"""Each road status's code in the columns (the order of ``RoadStatus``)."""

CONDITIONS_BUDGET_BYTES = 512 * 1024 * 1024
"""Memory the cached conditions of one network may take (see Network.conditions_kept)."""

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class Network:
    """The structure of one scenario version as arrays (built once, read-only after)."""

    node_ids: Sequence[str]
    node_index: Mapping[str, int]
    edge_ids: Sequence[str]
    edge_index: Mapping[str, int]

    def __init__(self, scenario: CompactScenario, like: Network | None = None) -> None:
        """Compile a scenario's columns (no Python object per node or road).

        ``like``: a network of an earlier version of the scenario; where this one has the
        same places and the same road ends and directions (the same arrays: an edit of
        roads' risk, status, capacity or parties), its arcs are taken as they are.
        """
        c = scenario
        self.columns = c
        self.scenario: ScenarioHeader = c.header
        self.node_ids, self.node_index = c.nodes.id, IdIndex(c.nodes.id)
        self.edge_ids, self.edge_index = c.edges.id, IdIndex(c.edges.id)
        self.parties = {p.id: p for p in c.header.parties}
        self.party_ids = [p.id for p in c.header.parties]
        party_code = {pid: i for i, pid in enumerate(self.party_ids)}
        self.node_lat, self.node_lon = c.nodes.lat, c.nodes.lon
        self.node_controller = c.nodes.controlled_by.mapped(party_code)
        e = c.edges
        self.edge_tail, self.edge_head = e.tail, e.head
        self.edge_directed = e.directed
        missing = np.isnan(e.length_m)
        self.edge_length = e.length_m
        if missing.any():
            self.edge_length = e.length_m.copy()
            t, h = e.tail[missing], e.head[missing]
            self.edge_length[missing] = haversine_array_m(
                self.node_lat[t], self.node_lon[t], self.node_lat[h], self.node_lon[h]
            )
        self.edge_given_time = e.travel_time_min
        self.edge_base_risk = e.risk
        self.edge_status = e.status.astype(np.int64)
        self.edge_controller = e.controlled_by.mapped(party_code)
        self.edge_checkpoint = e.checkpoint.mapped(party_code)
        self.edge_vehicle = e.vehicle_passable
        self.edge_capacity = np.where(e.capacity_per_min > 0, e.capacity_per_min, np.inf).astype(
            np.float64
        )
        self.landmarks: Any = None
        """Landmark distances of the goal-directed route search, made on first use
        (:mod:`app.domain.routes.landmarks`)."""
        self.landmarks_lock = Lock()
        self.landmarks_before: Any = None
        """The earlier version's landmarks (``like``): still valid while no road is cheaper."""
        if like is not None and _same_structure(like.columns, c):
            self._share_arcs(like)
            self.landmarks_before = like.landmarks or like.landmarks_before
        else:
            self._build_arcs()

    def _build_arcs(self) -> None:
        tail, head = self.edge_tail, self.edge_head
        n_edges = len(tail)
        # Arcs: one per direction a road can be travelled, sorted by (tail, head).
        und = np.flatnonzero(~self.edge_directed)
        a_edge = np.concatenate([np.arange(n_edges, dtype=np.int64), und])
        a_tail = np.concatenate([tail, head[und]])
        a_head = np.concatenate([head, tail[und]])
        order = np.lexsort((a_edge, a_head, a_tail))
        self.arc_edge: IntArray = a_edge[order]
        self.arc_tail: IntArray = a_tail[order]
        self.arc_head: IntArray = a_head[order]
        self.n_nodes = len(self.node_lat)
        # Row pointers of the arcs as compressed sparse rows: arcs of node u are
        # arc_indptr[u]:arc_indptr[u + 1]. Searches reuse them with per-question weights.
        self.arc_indptr: IntArray = np.zeros(self.n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.arc_tail, minlength=self.n_nodes), out=self.arc_indptr[1:])
        # scipy keeps sparse indices as int32 when they fit; handing it int32 avoids a copy
        # per search.
        small = len(self.arc_head) < 2**31 - 1
        index_type = np.int32 if small else np.int64
        self.csr_indices = self.arc_head.astype(index_type)
        self.csr_indptr = self.arc_indptr.astype(index_type)
        self._conditions: OrderedDict[ConditionsKey, Conditions] = OrderedDict()
        self._lock = Lock()

    def _share_arcs(self, like: Network) -> None:
        self.arc_edge, self.arc_tail, self.arc_head = like.arc_edge, like.arc_tail, like.arc_head
        self.n_nodes = like.n_nodes
        self.arc_indptr = like.arc_indptr
        self.csr_indices, self.csr_indptr = like.csr_indices, like.csr_indptr
        self._conditions = OrderedDict()
        self._lock = Lock()

    def __getstate__(self) -> dict[str, object]:
        """The structure, without what each process keeps for itself (the locks, the
        cached conditions, the landmarks of the goal-directed search, which each process
        prepares when it needs them): a compiled network can be written once and mapped by
        every process (:mod:`app.services.shared_networks`)."""
        state = dict(vars(self))
        del state["_lock"], state["_conditions"], state["landmarks_lock"]
        state["landmarks"] = state["landmarks_before"] = None
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._conditions = OrderedDict()
        self._lock = Lock()
        self.landmarks_lock = Lock()

    @property
    def nbytes(self) -> int:
        """Memory the compiled structure holds, bytes (its arrays and id tables; cached
        conditions are bounded apart, by :data:`CONDITIONS_BUDGET_BYTES`)."""
        seen: set[int] = set()
        total = 0
        arrays = [v for v in vars(self).values() if isinstance(v, np.ndarray)]
        arrays += [self.columns.nodes.id.raw, self.columns.edges.id.raw]
        for column in (self.columns.nodes, self.columns.edges):
            arrays += [v for v in vars(column).values() if isinstance(v, np.ndarray)]
            arrays += [v.codes for v in vars(column).values() if isinstance(v, Texts)]
        for array in arrays:
            base = array if array.base is None else array.base
            if id(base) not in seen and isinstance(base, np.ndarray):
                seen.add(id(base))
                total += base.nbytes
        return total

    @property
    def conditions_kept(self) -> int:
        """How many profile/time conditions stay cached: 32, fewer for big networks.

        Each holds about 41 bytes per road and 25 per arc; the cache stays under
        :data:`CONDITIONS_BUDGET_BYTES` but keeps at least two.
        """
        each = 41 * len(self.edge_tail) + 25 * len(self.arc_edge) + 1
        return max(2, min(32, CONDITIONS_BUDGET_BYTES // each))

    @cached_property
    def typical_length_m(self) -> float | None:
        """Median length of a sample of roads, metres (None without lengths)."""
        sample = self.edge_length[:: max(1, len(self.edge_length) // 4096)]
        sample = sample[np.isfinite(sample) & (sample > 0)]
        return float(np.median(sample)) if len(sample) else None

    def hops_apart(self, a: int, b: int) -> float | None:
        """Straight-line distance between two nodes in typical road lengths (None without
        coordinates): a cheap guess at how far a search must reach."""
        typical = self.typical_length_m
        coords = self.node_lat[a], self.node_lon[a], self.node_lat[b], self.node_lon[b]
        if typical is None or any(math.isnan(float(c)) for c in coords):
            return None
        return haversine_m(*(float(c) for c in coords)) / typical

    # Nodes and roads beyond the routing arrays, read from columns ---------------------

    @property
    def node_kind(self) -> npt.NDArray[np.int8]:
        """Kind of each node as its position in :data:`~app.domain.scenario.columns.NODE_KINDS`."""
        return self.columns.nodes.kind

    @property
    def node_population(self) -> IntArray:
        """People living at each node."""
        return self.columns.nodes.population

    @property
    def node_capacity(self) -> IntArray:
        """People each node holds; 0: not given (unbounded)."""
        return self.columns.nodes.capacity

    def node_texts(self, field: str) -> Texts:
        """A text column of the nodes: ``name``, ``name_ar``, ``population_source``,
        ``notes`` or ``controlled_by`` (a party id)."""
        column: Texts = getattr(self.columns.nodes, field)
        return column

    def node_text(self, node: int, field: str) -> str | None:
        """One node's text field (see :meth:`node_texts`)."""
        return self.node_texts(field)[node]

    def edge_texts(self, field: str) -> Texts:
        """A text column of the roads: ``name``, ``risk_source``, ``notes``, or the party
        ids ``controlled_by`` and ``checkpoint``."""
        column: Texts = getattr(self.columns.edges, field)
        return column

    def edge_text(self, edge: int, field: str) -> str | None:
        """One road's text field (see :meth:`edge_texts`)."""
        return self.edge_texts(field)[edge]

    def edge_from_id(self, edge: int) -> str:
        """Id of the node a road leaves from."""
        return self.node_ids[int(self.edge_tail[edge])]

    def edge_to_id(self, edge: int) -> str:
        """Id of the node a road leads to."""
        return self.node_ids[int(self.edge_head[edge])]

    @cached_property
    def arc_key(self) -> IntArray:
        """``tail * n_nodes + head`` per arc, ascending: finds the arcs of a hop by bisection."""
        key: IntArray = self.arc_tail * self.n_nodes + self.arc_head
        return key

    @cached_property
    def arc_by_head(self) -> IntArray:
        """Arc positions ordered by head node (for searches backwards)."""
        order: IntArray = np.argsort(self.arc_head, kind="stable")
        return order

    @cached_property
    def arc_rev_indptr(self) -> IntArray:
        """Row pointers into :attr:`arc_by_head`: arcs into node v are
        ``arc_by_head[arc_rev_indptr[v]:arc_rev_indptr[v + 1]]``."""
        ptr: IntArray = np.zeros(self.n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.arc_head, minlength=self.n_nodes), out=ptr[1:])
        return ptr

    @property
    def has_geometry(self) -> bool:
        return bool(self.n_nodes) and not bool(np.isnan(self.node_lat).any())

    def conditions(
        self,
        profile_id: str | None = None,
        at: datetime | None = None,
        *,
        objective: Objective = "survival",
        unknown_risk: UnknownRisk | None = None,
    ) -> Conditions:
        """Risk, time and usability of every road for one profile at one time (cached).

        ``objective``: which probability routing costs minimise (see :class:`Conditions`);
        ``unknown_risk``: what to assume for roads without an estimate, overriding the
        scenario's policy (see :class:`UnknownPolicy`).
        """
        profile = resolve_profile(self.scenario, profile_id)
        when = at if at is not None else default_time(self.scenario)
        policy = self.unknown_policy(unknown_risk)
        key = (profile.id, when, objective, policy)
        with self._lock:
            cached = self._conditions.get(key)
            if cached is not None:
                self._conditions.move_to_end(key)
                return cached
        built = Conditions.build(self, profile, when, objective, policy)
        with self._lock:
            self._conditions[key] = built
            while len(self._conditions) > self.conditions_kept:
                self._conditions.popitem(last=False)
        return built

    def profiles(self) -> dict[str, Profile]:
        return available_profiles(self.scenario)

    @cached_property
    def edge_unknown(self) -> BoolArray:
        """Roads without a risk estimate."""
        unknown: BoolArray = np.isnan(self.edge_base_risk)
        return unknown

    @cached_property
    def highest_risk(self) -> tuple[float, float]:
        """The highest base risk estimated on any road, and the highest high end of any
        estimate (0 when no road has one)."""
        known = self.edge_base_risk[~self.edge_unknown]
        if len(known) == 0:
            return 0.0, 0.0
        high = np.where(
            np.isnan(self.columns.edges.risk_high),
            self.edge_base_risk,
            self.columns.edges.risk_high,
        )[~self.edge_unknown]
        return float(known.max()), float(high.max())

    def unknown_policy(self, override: UnknownRisk | None = None) -> UnknownPolicy:
        """What a question assumes for roads without an estimate: ``override`` (the
        request's), else the scenario's ``unknown_risk``, else ``"highest"``."""
        if override is not None:
            rule, given_by = override, "request"
        elif self.scenario.unknown_risk is not None:
            rule, given_by = self.scenario.unknown_risk, "scenario"
        else:
            rule, given_by = "highest", "default"
        assumed = self.highest_risk[0] if rule == "highest" else float(rule)
        return UnknownPolicy(rule, assumed, given_by)


Objective = Literal["survival", "harm", "detention"]
"""What the safest route minimises: the chance of being harmed or detained (``survival``, the
default: arriving unharmed and free), of being harmed on the way (``harm``), or of being
detained or disappeared at checkpoints (``detention``)."""

OBJECTIVES: tuple[Objective, ...] = ("survival", "harm", "detention")

ConditionsKey = tuple[str, datetime | None, Objective, "UnknownPolicy"]


@dataclass(frozen=True)
class UnknownPolicy:
    """What an answer assumes for a road without a risk estimate, and who said so."""

    rule: UnknownRisk
    """A probability, or ``"highest"``: the highest estimate of any road in the scenario."""
    assumed: float
    """The probability assumed."""
    given_by: str
    """``request``, ``scenario`` or ``default``."""

    def as_dict(self) -> dict[str, object]:
        return {"rule": self.rule, "assumed": self.assumed, "given_by": self.given_by}


@dataclass
class Conditions:
    """Per-road figures for one profile at one time. Arrays are indexed by edge position.

    Harm (the road's base risk combined with incidents) and detention (the profile's risk
    at the road's checkpoint) are kept apart; ``risk`` combines them: one minus the chance
    of passing unharmed and free.
    """

    network: Network
    profile: Profile
    at: datetime | None
    harm: FloatArray
    """Probability of harm on each road: base risk (or what is assumed where unknown) and
    incidents combined."""
    incident_risk: dict[int, list[IncidentEffect]]
    detention: FloatArray
    """Probability of detention or disappearance at each road's checkpoint, for this profile."""
    time: FloatArray
    """Travel time in minutes for this profile."""
    usable: BoolArray
    """Roads this profile may use at all (not blocked, allowed status, vehicle rule)."""
    objective: Objective = "survival"
    unknown: UnknownPolicy = field(default_factory=lambda: UnknownPolicy("highest", 0.0, "default"))
    risk: FloatArray = field(init=False)
    """Probability of being harmed or detained on each road: 1 − (1 − harm)(1 − detention)."""

    def __post_init__(self) -> None:
        self.risk = 1.0 - (1.0 - self.harm) * (1.0 - self.detention)

    @cached_property
    def cost(self) -> FloatArray:
        """Quantised −ln(1 − p) per road of the objective's probability p (integers as
        floats)."""
        minimised = {"survival": self.risk, "harm": self.harm, "detention": self.detention}
        return quantised_cost(minimised[self.objective])

    @cached_property
    def arc_cost(self) -> FloatArray:
        """``cost`` per arc (see :attr:`Network.arc_edge`)."""
        arc_cost: FloatArray = self.cost[self.network.arc_edge]
        return arc_cost

    @cached_property
    def arc_time(self) -> FloatArray:
        """``time`` per arc, minutes."""
        arc_time: FloatArray = self.time[self.network.arc_edge]
        return arc_time

    @classmethod
    def build(
        cls,
        net: Network,
        profile: Profile,
        at: datetime | None,
        objective: Objective = "survival",
        unknown: UnknownPolicy | None = None,
    ) -> Conditions:
        unknown = unknown or net.unknown_policy()
        seg = (
            net.node_lat[net.edge_tail],
            net.node_lon[net.edge_tail],
            net.node_lat[net.edge_head],
            net.node_lon[net.edge_head],
        )
        effects = incident_effects(net.scenario, at, net.edge_index, seg)
        survive = 1.0 - np.where(net.edge_unknown, unknown.assumed, net.edge_base_risk)
        for i, items in effects.items():
            for eff in items:
                survive[i] *= 1.0 - eff.probability
        harm = 1.0 - survive

        speed_ratio = WALKING_SPEED_M_PER_MIN / profile.speed_m_per_min
        time = np.where(
            np.isnan(net.edge_given_time),
            net.edge_length / profile.speed_m_per_min,
            net.edge_given_time * speed_ratio,
        )
        detention = detention_at_checkpoints(net, profile)
        usable = _usable(net, profile, harm, detention)
        return cls(net, profile, at, harm, effects, detention, time, usable, objective, unknown)

    def with_checkpoints_of(self, net: Network) -> Conditions:
        """These conditions on ``net``, a copy of this network whose checkpoints differ
        (nothing else): harm and travel times do not depend on checkpoints and are shared;
        detention and usability are found by the rules of :meth:`build`."""
        detention = detention_at_checkpoints(net, self.profile)
        usable = _usable(net, self.profile, self.harm, detention)
        return Conditions(
            net, self.profile, self.at, self.harm, self.incident_risk, detention, self.time,
            usable, self.objective, self.unknown,
        )  # fmt: skip

    def harm_range(self, edges: IntArray | list[int]) -> tuple[FloatArray, FloatArray]:
        """Low and high ends of the probability of harm on ``edges`` (computed along a
        route, not for every road): base risk between ``risk_low`` and ``risk_high`` (a
        point where not given; a road without an estimate between 0 and the larger of what
        is assumed and the highest estimate's high end), each incident between its
        :attr:`~app.domain.network.risk.IncidentEffect.low` and ``high``."""
        net = self.network
        rows = np.asarray(edges, dtype=np.int64)
        base = net.edge_base_risk[rows]
        cols = net.columns.edges
        low = np.where(np.isnan(cols.risk_low[rows]), base, cols.risk_low[rows])
        high = np.where(np.isnan(cols.risk_high[rows]), base, cols.risk_high[rows])
        unknown = net.edge_unknown[rows]
        low[unknown] = 0.0
        high[unknown] = max(self.unknown.assumed, net.highest_risk[1])
        survive_low, survive_high = 1.0 - high, 1.0 - low
        for k, e in enumerate(rows.tolist()):
            for eff in self.incident_risk.get(e, ()):
                survive_low[k] *= 1.0 - eff.high
                survive_high[k] *= 1.0 - eff.low
        return 1.0 - survive_high, 1.0 - survive_low

    @cached_property
    def incidents_after_at(self) -> list[str]:
        """Ids of the reports observed after :attr:`at`, which these conditions leave out."""
        return incidents_after(self.network.scenario, self.at)

    @cached_property
    def arc_usable(self) -> BoolArray:
        """``usable`` per arc (the mask of a question that avoids no party)."""
        mask: BoolArray = self.usable[self.network.arc_edge]
        return mask

    @cached_property
    def arc_usable_cost(self) -> FloatArray:
        """``arc_cost`` where usable, inf elsewhere: the weights of a plain question."""
        weights: FloatArray = np.where(self.arc_usable, self.arc_cost, np.inf)
        return weights

    def exclusion_reasons(self, edge: int) -> list[str]:
        """Why road ``edge`` cannot be used under these conditions (status, profile, certain
        harm). The parties a question leaves out add theirs:
        :func:`app.domain.routes.holdings.road_reasons`."""
        net = self.network
        status = ROAD_STATUSES[int(net.edge_status[edge])]
        reasons = []
        if status == "blocked":
            reasons.append("blocked")
        elif status in self.profile.excluded_statuses:
            reasons.append(f"{status}: not usable by profile {self.profile.id!r}")
        if self.profile.vehicle and not net.edge_vehicle[edge]:
            reasons.append(f"not passable by vehicles (profile {self.profile.id!r})")
        if not reasons and self.harm[edge] >= 1.0:
            reasons.append("risk of harm is certain")
        if not reasons and self.detention[edge] >= 1.0:
            reasons.append("detention at its checkpoint is certain")
        return reasons


def _usable(net: Network, profile: Profile, harm: FloatArray, detention: FloatArray) -> BoolArray:
    """Roads ``profile`` may use at all: not blocked, of a status it allows, passable by its
    vehicles if it has any, and neither harm nor detention certain."""
    usable: BoolArray = net.edge_status != STATUS_CODES["blocked"]
    for status in profile.excluded_statuses:
        usable &= net.edge_status != STATUS_CODES[status]
    if profile.vehicle:
        usable &= net.edge_vehicle
    usable &= (harm < 1.0) & (detention < 1.0)
    return usable


def quantised_cost(probability: FloatArray) -> FloatArray:
    """Routing cost of roads passed with ``probability`` of the minimised harm: −ln(1 − p)
    in units of 1/:data:`COST_SCALE`, rounded to integers (kept as floats; inf for p = 1)."""
    with np.errstate(divide="ignore"):
        cost: FloatArray = np.rint(-np.log1p(-probability) * COST_SCALE)
    return cost


def least_costs(base_risk: FloatArray) -> FloatArray:
    """A lower bound on the cost of roads of ``base_risk`` (NaN: unknown) under any conditions
    whose objective is survival or harm: the base risk alone (0 where unknown, as a request
    may assume), less one unit.

    Incidents only multiply a road's chance of passing unharmed by factors at most 1, a
    checkpoint's detention likewise, and every step of :class:`Conditions` (products,
    ``1 − x``, ``log1p``, rounding) is monotone, so no profile, time, policy or objective
    of those two gives a road a lower cost; the unit taken off covers a last-place
    rounding of ``log1p``. Closures and avoided parties remove roads, which never lowers a
    route's cost either.
    """
    base = np.where(np.isnan(base_risk), 0.0, base_risk)
    harm = 1.0 - (1.0 - base)  # as Conditions computes harm without incidents
    risk = 1.0 - (1.0 - harm)  # and the risk without detention
    floor = np.minimum(quantised_cost(harm), quantised_cost(risk)) - 1.0
    least: FloatArray = np.maximum(floor, 0.0)
    return least


def detention_at_checkpoints(net: Network, profile: Profile) -> FloatArray:
    """The profile's probability of detention or disappearance at each road's checkpoint:
    ``checkpoint_risk`` of the checkpoint's party, else ``detention_checkpoint_risk`` when the
    party has a detention record, else 0."""
    detention = np.zeros(len(net.edge_tail))
    for code, pid in enumerate(net.party_ids):
        extra = checkpoint_figure(profile, net.parties[pid])
        if extra:
            detention[net.edge_checkpoint == code] = extra
    return detention


def checkpoint_figure(profile: Profile, party: Party) -> float:
    """The profile's probability of detention at one checkpoint of ``party``."""
    extra = profile.checkpoint_risk.get(party.id)
    if extra is None:
        extra = profile.detention_checkpoint_risk if party.detention_record else 0.0
    return extra


def _same_structure(a: CompactScenario, b: CompactScenario) -> bool:
    """Whether two scenarios' places and road ends are the same arrays."""
    return (
        a.nodes.id is b.nodes.id
        and a.edges.tail is b.edges.tail
        and a.edges.head is b.edges.head
        and a.edges.directed is b.edges.directed
    )
