"""Evacuation plans (SPEC §3 PLAN): how many people, through which roads, by when.

The model is described in :mod:`app.domain.plans.model`. Two methods:

``optimal``
    The true minimum egress time, by maximum flow on the time-expanded network
    (:mod:`app.domain.plans.expanded`) and a search over the horizon. In a window
    of ``H`` minutes it first finds the most people that can be evacuated by
    ``H``, then the earliest minute by which that many can be. Each probe of the
    search is exact; probes are chosen from lower bounds (distance, throughput of a
    minimum cut, arrivals per minute into the safe zones) and the fast plan's
    egress time, so that few probes are needed.
``fast``
    A capacity-respecting heuristic (:mod:`app.domain.plans.fast`), with the gap
    to a lower bound reported. A fast plan that meets its bounds (see
    :attr:`Plan.meets_bounds`) is optimal, and says so.

>>> from app.domain.scenario.reading import validate_scenario
>>> s = validate_scenario({"schema": "safe-passage/scenario@1",
...   "nodes": [{"id": "home", "population": 30}, {"id": "camp", "kind": "safe_zone"}],
...   "edges": [{"id": "road", "from": "home", "to": "camp", "travel_time_min": 5,
...              "capacity_per_min": 10}]})
>>> plan = plan_evacuation(Network(s), PlanOptions())
>>> plan.egress_time_min, plan.evacuated, [(m.count, m.enter[0]) for m in plan.movements]
(7, 30, [(10, 0), (10, 1), (10, 2)])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from itertools import chain
from typing import Any, Literal

import numpy as np

from app.domain.errors import NoAnswerError, PlanTooLargeError
from app.domain.network.graph import STATUS_CODES, Network
from app.domain.plans.budget import Budget, Progress
from app.domain.plans.expanded import Movement, Solution, decompose, expanded_arcs, solve_horizon
from app.domain.plans.fast import fast_movements
from app.domain.plans.kernel import kernel
from app.domain.plans.loops import remove_loops
from app.domain.plans.model import (
    UNREACHABLE,
    FlowModel,
    ModelOptions,
    compile_model,
    egress_lower_bound,
    evacuable_upper_bound,
    excluded_parties,
    most_evacuable,
)
from app.domain.routes.engine import check_parties

Method = Literal["optimal", "fast"]

MAX_FAST_CELLS = 200_000_000
"""Default limit on the fast planner's table of road entries (roads × minutes)."""
SECONDS_PER_ARC = 8e-7
"""Initial estimate of solving time per expanded arc, before the first probe measures it."""


class NothingToEvacuateError(NoAnswerError):
    """Nobody can be evacuated: no people, no safe zone, or no usable way between them."""

    title = "Nothing can be evacuated"
    slug = "nothing-to-evacuate"


@dataclass
class PlanOptions:
    """What a plan is asked for. Times in whole minutes."""

    profile: str | None = None
    at: datetime | None = None
    avoid_parties: tuple[str, ...] = ()
    consenting_only: bool = False
    max_risk: float | None = None
    horizon: int | None = None
    """Minutes of the window; ``None``: as long as it takes."""
    method: Method = "optimal"
    max_expanded_arcs: int | None = None
    """Largest time-expanded network (arcs) the optimal method may build; ``None``: no limit.
    About 2 GiB of memory at 40 million arcs."""
    max_fast_cells: int = MAX_FAST_CELLS
    budget: Budget | None = None
    """Time the plan may take. An optimal search that would overrun it gives the fast plan
    instead; a fast plan has the whole allowance from its own start, and past it is refused."""
    progress: Progress | None = None


@dataclass
class Plan:
    """An evacuation plan; :meth:`as_dict` is the PLAN document of SPEC §3."""

    model: FlowModel
    method: Method
    optimal: bool
    horizon: int | None
    movements: list[Movement]
    stranded_moves: list[Movement] = field(default_factory=list)
    lower_bound_min: int | None = None
    upper_bound_evacuated: int | None = None
    note: str | None = None

    @property
    def evacuated(self) -> int:
        return sum(m.count for m in self.movements)

    @property
    def total_population(self) -> int:
        return self.model.total_population

    @property
    def stranded(self) -> int:
        return self.total_population - self.evacuated

    @property
    def egress_time_min(self) -> int:
        return max((m.arrive or 0 for m in self.movements), default=0)

    @property
    def meets_bounds(self) -> bool:
        """Whether no plan can do better than this one: it gets out as many people as the
        upper bound allows (``upper_bound_evacuated``), by the lower bound on the time that
        many need (``lower_bound_min``). Both bounds hold for every plan, so a plan meeting
        them is optimal whatever method found it."""
        return (
            self.lower_bound_min is not None
            and self.upper_bound_evacuated is not None
            and self.evacuated == self.upper_bound_evacuated
            and self.egress_time_min == self.lower_bound_min
        )

    @cached_property
    def _arc_log_survival(self) -> list[float]:
        risk = self.model.conditions.risk[self.model.arc_edge]
        out: list[float] = np.log1p(-risk).tolist()
        return out

    def route_risk(self, mv: Movement) -> float:
        """Probability that one person of the group is harmed on its route."""
        # Keyed by the object: hashing a long route costs as much as summing it.
        known = self._route_risks.get(id(mv))
        if known is not None and known[0] is mv:
            return known[1]
        risk = -math.expm1(math.fsum(map(self._arc_log_survival.__getitem__, mv.arcs)))
        self._route_risks[id(mv)] = (mv, risk)
        return risk

    @cached_property
    def _route_risks(self) -> dict[int, tuple[Movement, float]]:
        """Risk of each group already asked about (the document asks twice)."""
        return {}

    @property
    def expected_harm(self) -> float:
        """Expected number of people harmed: Σ people × (1 − survival of their route)."""
        return math.fsum(
            m.count * self.route_risk(m) for m in [*self.movements, *self.stranded_moves]
        )

    def entries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(arc, minute, people) summed over movements: road entries per minute."""
        moves = [*self.movements, *self.stranded_moves]
        arcs = np.fromiter(chain.from_iterable(m.arcs for m in moves), dtype=np.int64)
        mins = np.fromiter(chain.from_iterable(m.enter for m in moves), dtype=np.int64)
        cnt = np.repeat(
            np.fromiter((m.count for m in moves), dtype=np.int64, count=len(moves)),
            np.fromiter((len(m.arcs) for m in moves), dtype=np.int64, count=len(moves)),
        )
        if len(arcs) == 0:
            return arcs, mins, cnt
        width = int(mins.max()) + 1
        key = arcs * width + mins
        if len(self.model.arc_tail) * width <= 8 * len(key) + 1_000_000:
            # Few enough (road, minute) cells to count them all directly.
            per_cell = np.bincount(key, weights=cnt)
            uniq = np.flatnonzero(per_cell)
            total = per_cell[uniq].astype(np.int64)
        else:
            uniq, inv = np.unique(key, return_inverse=True)
            total = np.bincount(inv, weights=cnt).astype(np.int64)
        return uniq // width, uniq % width, total

    def bottlenecks(self) -> list[dict[str, Any]]:
        """Roads whose capacity per minute is fully used, with the minutes it is (most first)."""
        model, net = self.model, self.model.network
        arcs, mins, people = self.entries()
        full = (people >= model.arc_cap[arcs]) & (model.arc_cap[arcs] < model.big)
        per_edge: dict[int, set[int]] = {}
        for a, t in zip(arcs[full].tolist(), mins[full].tolist(), strict=True):
            per_edge.setdefault(int(model.arc_edge[a]), set()).add(t)
        cap = np.floor(net.edge_capacity * model.conditions.profile.capacity_factor + 1e-9)
        rows: list[dict[str, Any]] = [
            {
                "edge": net.edge_ids[e],
                "saturated_minutes": len(ts),
                "capacity_per_min": int(cap[e]),
                "first_min": min(ts),
                "last_min": max(ts),
            }
            for e, ts in per_edge.items()
        ]
        rows.sort(key=lambda r: (-r["saturated_minutes"], r["edge"]))
        return rows

    def parties_involved(self) -> list[str]:
        """Parties holding a road, checkpoint or node that the plan uses (scenario order)."""
        model, net = self.model, self.model.network
        moves = [*self.movements, *self.stranded_moves]
        nodes = np.fromiter(set(chain.from_iterable(m.nodes for m in moves)), dtype=np.int64)
        arcs = np.fromiter(set(chain.from_iterable(m.arcs for m in moves)), dtype=np.int64)
        edges = model.arc_edge[arcs]
        used = np.zeros(len(net.party_ids) + 1, dtype=bool)  # by party code; -1 (none) is last
        used[net.node_controller[nodes]] = True
        used[net.edge_controller[edges]] = True
        used[net.edge_checkpoint[edges]] = True
        return [p for k, p in enumerate(net.party_ids) if used[k]]

    def consents_needed(self, involved: list[str] | None = None) -> list[str]:
        """Parties involved (``involved``, else :meth:`parties_involved`) without consent."""
        parties = self.model.network.parties
        if involved is None:
            involved = self.parties_involved()
        return [p for p in involved if parties[p].consent != "granted"]

    def stranded_at(self) -> list[dict[str, Any]]:
        """Where the people not evacuated are at the end: home, or where they stopped."""
        net, model = self.model.network, self.model
        left = model.population.copy()
        for m in [*self.movements, *self.stranded_moves]:
            left[m.nodes[0]] -= m.count
        for m in self.stranded_moves:
            left[m.nodes[-1]] += m.count
        where = np.flatnonzero(left > 0)
        return [{"node": net.node_ids[v], "count": int(left[v])} for v in where.tolist()]

    def movement_dicts(self, moves: list[Movement]) -> list[dict[str, Any]]:
        """Each group as in the PLAN document: its places, roads, minutes, people and risk."""
        risks = [self.route_risk(m) for m in moves]
        ids = self.model.network.node_ids
        names = ids if isinstance(ids, list) else list(ids)
        return kernel.movement_dicts(moves, names, self._arc_edge_ids, risks)

    @cached_property
    def _arc_edge_ids(self) -> list[str]:
        ids = self.model.network.edge_ids
        return [ids[e] for e in self.model.arc_edge.tolist()]

    def as_dict(self) -> dict[str, Any]:
        """The PLAN of SPEC §3, plus expected harm, bounds and where the stranded are."""
        cond = self.model.conditions
        involved = self.parties_involved()
        return {
            "egress_time_min": self.egress_time_min,
            "total_population": self.total_population,
            "evacuated": self.evacuated,
            "stranded": self.stranded,
            "method": self.method,
            "optimal": self.optimal,
            "horizon_min": self.horizon,
            "lower_bound_min": self.lower_bound_min,
            "upper_bound_evacuated": self.upper_bound_evacuated,
            "expected_harm": self.expected_harm,
            "profile": cond.profile.id,
            "at": cond.at.isoformat() if cond.at else None,
            "incidents_after_at": cond.incidents_after_at,
            "movements": self.movement_dicts(self.movements),
            "bottlenecks": self.bottlenecks(),
            "parties": involved,
            "consents_needed": self.consents_needed(involved),
            "stranded_at": self.stranded_at(),
            "stranded_movements": self.movement_dicts(self.stranded_moves),
            "note": self.note,
        }


def model_options(options: PlanOptions) -> ModelOptions:
    return ModelOptions(
        profile=options.profile,
        avoid_parties=options.avoid_parties,
        consenting_only=options.consenting_only,
        max_risk=options.max_risk,
    )


def plan_evacuation(net: Network, options: PlanOptions) -> Plan:
    """The evacuation plan for ``options`` (see module docstring).

    Raises :class:`NothingToEvacuateError` when nobody can be evacuated and
    :class:`~app.domain.errors.PlanTooLargeError` when the plan would exceed the size limits.
    """
    check_parties(net, options.avoid_parties)
    cond = net.conditions(options.profile, options.at)
    return plan_model(compile_model(net, cond, model_options(options)), options)


def plan_model(model: FlowModel, options: PlanOptions) -> Plan:
    """The plan over an already compiled model."""
    most = _check_evacuable(model, options.horizon)
    if options.method == "optimal":
        try:
            return _optimal(model, options, most)
        except _OverBudget as exc:
            fast = _fast(model, options, most)
            if fast.evacuated == most:
                fast.lower_bound_min = max(fast.lower_bound_min or 0, exc.lower)
            _label(fast)
            over = "the optimal plan did not fit in the time budget"
            fast.note = (
                f"{over}; {fast.note}"
                if fast.optimal
                else f"{over}; this is the fast plan (the optimum is at least {exc.lower} minutes)"
            )
            return fast
    return _label(_fast(model, options, most))


def _label(fast: Plan) -> Plan:
    """Mark a fast plan optimal, with a note saying why, when it meets its bounds."""
    fast.optimal = fast.meets_bounds
    if fast.optimal:
        most = (
            "evacuated equals upper_bound_evacuated (no plan gets more people out in the "
            "window) and "
            if fast.horizon is not None
            else ""
        )
        fast.note = (
            f"this fast plan meets its bounds: {most}egress_time_min equals lower_bound_min "
            "(no plan gets that many out sooner), so it is optimal"
        )
    return fast


def _fast(model: FlowModel, options: PlanOptions, most: int) -> Plan:
    moves = fast_movements(
        model,
        options.horizon,
        max_cells=options.max_fast_cells,
        progress=options.progress,
        budget=None if options.budget is None else options.budget.restarted(),
    )
    fast = Plan(model, "fast", False, options.horizon, moves)
    fast.lower_bound_min = egress_lower_bound(model, fast.evacuated).egress if moves else None
    fast.upper_bound_evacuated = (
        evacuable_upper_bound(model, options.horizon, most) if options.horizon is not None else most
    )
    return fast


def _check_evacuable(model: FlowModel, horizon: int | None) -> int:
    if model.total_population == 0:
        raise NothingToEvacuateError("nobody to evacuate: no node outside a safe zone has people")
    if not model.is_zone.any():
        raise NothingToEvacuateError("the scenario has no safe zone (a node of kind safe_zone)")
    most = most_evacuable(model)
    if most == 0:
        raise NothingToEvacuateError(
            "nobody can reach a safe zone over the roads this plan may use "
            "(blocked roads, avoided or non-consenting parties, the risk limit and the "
            "profile's restrictions are excluded)"
        )
    if horizon is not None:
        people = model.population > 0
        nearest = int(model.to_zone[people].min())
        if nearest > horizon:
            raise NothingToEvacuateError(
                f"nobody can reach a safe zone within the {horizon}-minute window: "
                f"the nearest people need {nearest} minutes"
            )
    return most


class _OverBudget(Exception):
    def __init__(self, lower: int) -> None:
        super().__init__(lower)
        self.lower = lower


@dataclass
class _Search:
    model: FlowModel
    options: PlanOptions
    target: int
    seconds_per_arc: float = SECONDS_PER_ARC
    """Measured solving time per expanded arc, from nothing."""
    warm_seconds_per_arc: float | None = None
    """Measured solving time per expanded arc, from a shorter horizon's flow."""
    probes: int = 0
    below: Solution | None = None
    """The longest horizon probed that fell short, with its flow (the next probes start
    from it: every later probe is longer)."""

    def probe(self, horizon: int, lo: int) -> Solution:
        opts = self.options
        arcs = expanded_arcs(self.model, horizon)
        if opts.max_expanded_arcs is not None and arcs > opts.max_expanded_arcs:
            raise PlanTooLargeError(
                "horizon" if opts.horizon is not None else "method",
                "the plan is too large for the optimal method",
                f"an optimal plan over {horizon} minutes needs a time-expanded network "
                f"of {arcs:,} arcs; the limit is {opts.max_expanded_arcs:,}: use a shorter "
                "window or method fast",
            )
        start = self.below if self.below is not None and self.below.horizon < horizon else None
        rate = self.seconds_per_arc
        if start is not None and self.warm_seconds_per_arc is not None:
            rate = self.warm_seconds_per_arc
        budget = opts.budget
        if budget is not None and arcs * rate > budget.remaining():
            raise _OverBudget(lo)
        if opts.progress is not None:
            opts.progress(f"optimal plan: trying {horizon} minutes", min(0.95, self.probes / 8))
        left = 0.0 if budget is None else budget.remaining()
        solution = solve_horizon(self.model, horizon, keep_flows=True, start=start, keep_state=True)
        if budget is not None:
            elapsed = max(left - budget.remaining(), 1e-9) / max(arcs, 1)
            if start is None:
                self.seconds_per_arc = elapsed
            else:
                self.warm_seconds_per_arc = elapsed
        self.probes += 1
        return solution

    def fell_short(self, solution: Solution) -> None:
        """Keep ``solution``'s flow as the start of longer probes if it is the longest yet."""
        if self.below is None or solution.horizon > self.below.horizon:
            if self.below is not None:
                self.below.state = None
            self.below = solution
        else:
            solution.state = None


def _optimal(model: FlowModel, options: PlanOptions, most: int) -> Plan:
    """Least horizon by which the most people possible are out (within the window, if any).

    Invariant: every horizon below ``lo`` evacuates fewer than ``target``; ``hi`` (when
    known) evacuates ``target``. A window caps the search; if even the whole window
    evacuates fewer than everybody, the target becomes what the window allows.
    """
    cap = options.horizon
    search = _Search(model, options, most)
    target = most
    lo = max(1, egress_lower_bound(model, target).egress)
    hi: int | None = None
    best: Solution | None = None
    failed: list[Solution] = []
    into_zones = model.arc_cap[model.is_zone[model.arc_head]]
    rate_cap = int(into_zones.sum()) if np.all(into_zones < model.big) else None
    direction: list[bool] = []
    while hi is None or lo < hi:
        guess = _next_probe(lo, hi, failed[-1] if failed else None, target, direction)
        if cap is not None:
            guess = min(guess, cap)
        sol = search.probe(guess, lo)
        ok = sol.evacuated >= target
        direction.append(ok)
        if ok:
            hi, best = guess, sol
            sol.state = None
            continue
        if guess == cap:
            # Even the whole window is not enough: aim for what it allows, as early as possible.
            target, hi, best = sol.evacuated, cap, sol
            sol.state = None
            for f in sorted(failed, key=lambda f: f.horizon):
                if f.evacuated >= target:  # an earlier probe already got that many out
                    hi, best = f.horizon, f
                    break
            failed = [f for f in failed if f.evacuated < target]
            lo = max(
                [1, egress_lower_bound(model, target).egress]
                + [f.horizon + 1 for f in failed if f.evacuated < target]
            )
            lo = min(lo, hi)
            direction.clear()
            continue
        failed.append(sol)
        search.fell_short(sol)
        jump = guess + 1
        if rate_cap:
            jump = max(jump, guess + math.ceil((target - sol.evacuated) / rate_cap))
        lo = max(lo, jump)
    if best is None or best.horizon != hi:
        best = search.probe(hi, lo)
    if options.progress is not None:
        options.progress("optimal plan: splitting into groups", 0.97)
    movements, stranded = remove_loops(model, best.horizon, *decompose(model, best))
    plan = Plan(model, "optimal", True, cap, movements, stranded)
    plan.lower_bound_min = plan.egress_time_min
    plan.upper_bound_evacuated = plan.evacuated
    return plan


def _next_probe(
    lo: int, hi: int | None, failed: Solution | None, target: int, direction: list[bool]
) -> int:
    """Next horizon to try: from the arrival rate of the last failed probe, else bisection."""
    if failed is None:
        return lo
    tail = failed.received_per_min[-min(10, len(failed.received_per_min)) :]
    rate = float(tail.mean()) if len(tail) else 0.0
    guess = failed.horizon + math.ceil((target - failed.evacuated) / rate) if rate > 0 else 2 * lo
    if hi is None:
        return max(lo, guess)
    if len(direction) >= 2 and direction[-1] == direction[-2]:
        guess = (lo + hi) // 2
    return min(max(lo, guess), hi - 1)


@dataclass
class Opening:
    """What lifting one closure would change: a blocked road, or a party's consent."""

    kind: Literal["road", "party"]
    id: str
    evacuated: int
    additional_evacuated: int
    egress_time_min: int
    minutes_sooner: int
    expected_harm: float
    reasons: list[str]
    optimal: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "evacuated": self.evacuated,
            "additional_evacuated": self.additional_evacuated,
            "egress_time_min": self.egress_time_min,
            "minutes_sooner": self.minutes_sooner,
            "expected_harm": self.expected_harm,
            "reasons": self.reasons,
            "optimal": self.optimal,
        }


def rank_openings(net: Network, options: PlanOptions, base: Plan) -> list[Opening]:
    """Each blocked road and each excluded non-consenting party, by what opening it gains.

    A party counts as closed when the plan excludes its roads (``consenting_only``
    or ``avoid_parties``) and its consent is not granted. Every opening is planned
    with the same method, window and restrictions; ranked by more people
    evacuated, then by minutes sooner.
    """
    model = base.model
    cond = model.conditions
    mopts = model.options
    candidates: list[tuple[Literal["road", "party"], str, ModelOptions, list[str]]] = []
    for e in np.flatnonzero(net.edge_status == STATUS_CODES["blocked"]).tolist():
        candidates.append(
            ("road", net.edge_ids[e], replace(mopts, open_edges=frozenset({e})), ["blocked"])
        )
    for pid in excluded_parties(net, mopts):
        consent = net.parties[pid].consent
        if consent != "granted":
            candidates.append(
                (
                    "party",
                    pid,
                    replace(mopts, open_parties=frozenset({pid})),
                    [f"consent {consent}"],
                )
            )
    out = []
    quiet = replace(options, progress=None)
    for k, (kind, ident, opts, reasons) in enumerate(candidates):
        if options.progress is not None:
            options.progress(f"pricing opening {ident}", k / max(1, len(candidates)))
        opened = compile_model(net, cond, opts)
        plan = base
        if _may_help(model, opened):
            try:
                plan = plan_model(opened, quiet)
            except NothingToEvacuateError:
                plan = base
        out.append(
            Opening(
                kind,
                ident,
                plan.evacuated,
                plan.evacuated - base.evacuated,
                plan.egress_time_min,
                base.egress_time_min - plan.egress_time_min,
                plan.expected_harm,
                reasons,
                plan.optimal,
            )
        )
    out.sort(key=lambda o: (-o.additional_evacuated, -o.minutes_sooner, o.kind, o.id))
    return out


def _may_help(base: FlowModel, opened: FlowModel) -> bool:
    """Whether an opening adds an arc on some way from people to a safe zone."""
    if len(opened.arc_tail) == len(base.arc_tail):
        return False
    # An arc is its road and the node it leaves (the road's other end is its head).
    n = base.n_nodes
    added = ~np.isin(opened.arc_edge * n + opened.arc_tail, base.arc_edge * n + base.arc_tail)
    u, v = opened.arc_tail[added], opened.arc_head[added]
    return bool(np.any((opened.from_people[u] < UNREACHABLE) & (opened.to_zone[v] < UNREACHABLE)))
