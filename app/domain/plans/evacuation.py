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
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from itertools import chain
from typing import Any, Literal

import numpy as np

from app.domain.errors import NoAnswerError, PlanTooLargeError
from app.domain.network.assumptions import Assumption, population_assumptions, route_assumptions
from app.domain.network.graph import Conditions, IntArray, Network
from app.domain.plans.budget import Budget
from app.domain.plans.expanded import Movement, Solution, decompose, expanded_arcs, solve_horizon
from app.domain.plans.fast import fast_movements
from app.domain.plans.kernel import kernel
from app.domain.plans.loops import remove_loops
from app.domain.plans.model import (
    FlowModel,
    ModelOptions,
    compile_model,
    egress_lower_bound,
    evacuable_upper_bound,
    most_evacuable,
)
from app.domain.progress import Progress
from app.domain.routes.engine import check_parties
from app.domain.routes.holdings import involved_parties, not_granted
from app.domain.scenario.model import UnknownRisk

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
    unknown_risk: UnknownRisk | None = None
    """What to assume for roads without a risk estimate (None: the scenario's policy)."""
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
    def _arc_log_keep(self) -> dict[str, dict[int, float]]:
        """ln(1 − p) of the probability of being harmed or detained (``risk``), harmed
        (``harm``) and detained (``detention``), per arc a group of the plan takes (only
        those: a city has millions of arcs, a plan's groups take a few)."""
        return self._log_keep(self.used_arcs)

    def _log_keep(self, index: IntArray) -> dict[str, dict[int, float]]:
        cond, edge = self.model.conditions, self.model.arc_edge
        positions = index.tolist()
        out: dict[str, dict[int, float]] = {}
        for key in ("risk", "harm", "detention"):
            logs = np.log1p(-getattr(cond, key)[edge[index]]).tolist()
            out[key] = dict(zip(positions, logs, strict=True))
        return out

    def route_risk(self, mv: Movement, key: str = "risk") -> float:
        """Probability that one person of the group is harmed or detained on its route
        (``key``: ``harm`` or ``detention`` for either alone)."""
        # Keyed by the object: hashing a long route costs as much as summing it.
        known = self._route_risks.get((id(mv), key))
        if known is not None and known[0] is mv:
            return known[1]
        table = self._arc_log_keep[key]
        try:
            log_keep = math.fsum(map(table.__getitem__, mv.arcs))
        except KeyError:  # a group made after the table was
            for k, more in self._log_keep(np.unique(np.asarray(mv.arcs, np.int64))).items():
                self._arc_log_keep[k].update(more)
            log_keep = math.fsum(map(table.__getitem__, mv.arcs))
        risk = -math.expm1(log_keep)
        self._route_risks[(id(mv), key)] = (mv, risk)
        return risk

    @cached_property
    def _route_risks(self) -> dict[tuple[int, str], tuple[Movement, float]]:
        """Risk of each group already asked about (the document asks twice)."""
        return {}

    @property
    def _moves(self) -> list[Movement]:
        return [*self.movements, *self.stranded_moves]

    @property
    def expected_harm(self) -> float:
        """Expected number of people harmed on the way: Σ people × harm of their route."""
        return math.fsum(m.count * self.route_risk(m, "harm") for m in self._moves)

    @property
    def expected_detained(self) -> float:
        """Expected number of people detained or disappeared at checkpoints."""
        return math.fsum(m.count * self.route_risk(m, "detention") for m in self._moves)

    def expected_harm_range(self) -> list[float]:
        """Low and high ends of :attr:`expected_harm`, from the ranges of the risk inputs
        along the routes people take (see :meth:`Conditions.harm_range`)."""
        model = self.model
        moves = self._moves
        if not moves:
            return [0.0, 0.0]
        edges = self.used_edges()
        low, high = model.conditions.harm_range(edges)
        where = {int(e): k for k, e in enumerate(edges.tolist())}
        log_low, log_high = np.log1p(-low).tolist(), np.log1p(-high).tolist()
        lo = hi = 0.0
        for m in moves:
            rows = [where[int(e)] for e in model.arc_edge[np.asarray(m.arcs, np.int64)].tolist()]
            lo += m.count * -math.expm1(math.fsum(log_low[k] for k in rows))
            hi += m.count * -math.expm1(math.fsum(log_high[k] for k in rows))
        return [lo, hi]

    @cached_property
    def used_arcs(self) -> IntArray:
        """Arcs the plan's groups take (moving and stranded), ascending, each once."""
        arcs = np.fromiter(chain.from_iterable(m.arcs for m in self._moves), dtype=np.int64)
        return np.unique(arcs)

    def used_edges(self) -> IntArray:
        """Roads the plan's groups use."""
        return np.unique(self.model.arc_edge[self.used_arcs])

    def unknown_part(self) -> dict[str, Any]:
        """How many people travel over roads without a risk estimate, on how many roads."""
        model, net = self.model, self.model.network
        used = self.used_edges()
        people = sum(
            m.count
            for m in self._moves
            if net.edge_unknown[model.arc_edge[np.asarray(m.arcs, np.int64)]].any()
        )
        return {
            "roads": int(net.edge_unknown[used].sum()),
            "of_roads": len(used),
            "people_on_unknown_roads": int(people),
            "assumed_risk": model.conditions.unknown.assumed,
            "policy": model.conditions.unknown.as_dict(),
        }

    def assumptions(self) -> list[Assumption]:
        """The assumed figures behind the plan: those of its roads and its populations."""
        cond = self.model.conditions
        places = np.flatnonzero(self.model.population > 0)
        return route_assumptions(cond, self.used_edges().tolist()) + population_assumptions(
            cond, places.tolist()
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
        model = self.model
        moves = [*self.movements, *self.stranded_moves]
        nodes = np.fromiter(set(chain.from_iterable(m.nodes for m in moves)), dtype=np.int64)
        arcs = np.fromiter(set(chain.from_iterable(m.arcs for m in moves)), dtype=np.int64)
        return involved_parties(model.network, nodes, model.arc_edge[arcs])

    def consents_needed(self, involved: list[str] | None = None) -> list[str]:
        """Parties involved (``involved``, else :meth:`parties_involved`) without consent."""
        if involved is None:
            involved = self.parties_involved()
        return not_granted(self.model.network, involved)

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
        net, arc_edge = self.model.network, self.model.arc_edge
        return kernel.movement_dicts(
            moves,
            self._names[0],
            net.node_ids.__getitem__,
            self._names[1],
            lambda a: net.edge_ids[int(arc_edge[a])],
            risks,
        )

    @cached_property
    def _names(self) -> tuple[dict[int, str], dict[int, str]]:
        """The ids of the places and of the roads of the arcs the groups use, as read."""
        return {}, {}

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
            "expected_harm_range": self.expected_harm_range(),
            "expected_detained": self.expected_detained,
            "unknown_risk": self.unknown_part(),
            "assumptions": [a.as_dict() for a in self.assumptions()],
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


def plan_conditions(net: Network, options: PlanOptions) -> Conditions:
    """The conditions a plan is computed under: its profile, time and unknown-risk policy."""
    return net.conditions(options.profile, options.at, unknown_risk=options.unknown_risk)


def plan_evacuation(net: Network, options: PlanOptions) -> Plan:
    """The evacuation plan for ``options`` (see module docstring).

    Raises :class:`NothingToEvacuateError` when nobody can be evacuated and
    :class:`~app.domain.errors.PlanTooLargeError` when the plan would exceed the size limits.
    """
    check_parties(net, options.avoid_parties)
    cond = plan_conditions(net, options)
    return plan_model(compile_model(net, cond, model_options(options)), options)


def standstill_plan(net: Network, options: PlanOptions, reason: NothingToEvacuateError) -> Plan:
    """The plan that moves nobody because nobody can reach a safe zone over the roads
    ``options`` allow (``reason``, raised by :func:`plan_evacuation`): the base against
    which openings are ranked, e.g. a non-consenting party holding every district.

    Raises ``reason`` again when no opening could change it: nobody to evacuate, or no
    safe zone.
    """
    model = compile_model(net, plan_conditions(net, options), model_options(options))
    if model.total_population == 0 or not model.is_zone.any():
        raise reason
    plan = Plan(model, options.method, options.method == "optimal", options.horizon, [])
    plan.upper_bound_evacuated = 0
    plan.note = f"{reason.detail}: nobody moves"
    return plan


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
            "(blocked roads, the roads and places of avoided or non-consenting parties, "
            "the risk limit and the profile's restrictions are excluded)"
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
            opts.progress(f"optimal plan: trying {horizon} minutes", min(0.95, self.probes / 8), 1)
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
        options.progress("optimal plan: splitting into groups", 0.97, 1)
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
