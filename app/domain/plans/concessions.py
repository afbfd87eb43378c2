"""What to negotiate first: concessions priced by planning again (``rank_openings``).

A concession is one thing negotiators can trade for. Each kind changes the plan's
model in one way:

``crossing``
    open a road the scenario lists as a candidate (``edges[].candidate``, blocked today);
``road``
    open another blocked road;
``checkpoint``
    lift a checkpoint: the road as if it had none (without the checkpoint's extra risk,
    and its party no longer holding the road);
``party``
    a party's consent, where the plan excludes its roads (``consenting_only`` or
    ``avoid_parties``) and its consent is not granted;
``pause``
    extend the pause by 30, 60 or 120 minutes (only for a plan with a window);
``capacity``
    double ``capacity_per_min`` on one of the base plan's top bottleneck roads.

Each is priced by planning again with the same method, window and restrictions as
the base plan: people gained (evacuated after − before), expected harm changed and
egress time changed (after − before). Rows are ordered by most people gained, then
lower expected harm after, then kind (in the order above) and what — best first in
that order.

Affordable: a concession that provably cannot help is not planned again (its model has
no new arc on a way from people to a safe zone and nothing else changed; a longer pause
whose bound on evacuees is what the plan already gets out); at most
:data:`MAX_CANDIDATES` are considered and :data:`MAX_REPLANS` planned again, in the
order above (pauses and capacity first, then candidate crossings, parties,
checkpoints, blocked roads nearest the people and safe zones first). The answer says
how many were priced, skipped and left unpriced (also a concession whose plan would be
too large to make, e.g. a longer pause on a city-sized network, or a road opened into much
more of the city under an optimal plan's limit: the others are priced).

When no concession priced gets anybody more out, the answer says why, from the flow
model's bounds: everybody is out; people who cannot reach a safe zone at all; people
farther from a safe zone than the window; people held back by capacity (the roads of
a minimum cut admit no more within the window), or the safe zones full.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from app.domain.errors import PlanTooLargeError
from app.domain.network.graph import STATUS_CODES, Conditions, IntArray, Network
from app.domain.plans.evacuation import (
    Plan,
    PlanOptions,
    model_options,
    plan_conditions,
    plan_model,
)
from app.domain.plans.model import (
    UNREACHABLE,
    FlowModel,
    ModelOptions,
    added_arcs,
    compile_model,
    evacuable_upper_bound,
    excluded_parties,
    most_evacuable,
    road_change,
    to_zone_after,
    without_checkpoints,
)

Kind = Literal["crossing", "road", "checkpoint", "party", "pause", "capacity"]
KINDS: tuple[Kind, ...] = ("crossing", "road", "checkpoint", "party", "pause", "capacity")
"""Kinds in the order that breaks ties between rows."""

PAUSE_EXTENSIONS_MIN = (30, 60, 120)
"""Minutes a pause is priced longer by."""
BOTTLENECKS_PRICED = 3
"""Top bottleneck roads (most minutes full) whose capacity is priced doubled."""
CAPACITY_FACTOR = 2.0
MAX_CANDIDATES = 200
"""Most concessions considered (each costs a compiled model: two shortest-path trees)."""
MAX_REPLANS = 40
"""Most concessions planned again (each costs a plan)."""
ORDER = (
    "most people gained first, then lower expected harm, then fewer expected detained, "
    "then kind and what"
)


Stuck = tuple[bool, str]
"""Whether everybody is out, and the sentence saying so or why people are left behind."""


@dataclass(frozen=True)
class _Candidate:
    kind: Kind
    what: str
    detail: str
    """What the sentence says is conceded, e.g. "opening the blocked road x"."""
    options: ModelOptions | None = None
    """The model's options, for concessions that change the model."""
    extra_minutes: int = 0
    road: int | None = None


@dataclass
class Concession:
    """One concession and what planning with it gives, against the base plan."""

    kind: Kind
    what: str
    evacuated: int
    people_gained: int
    expected_harm: float
    harm_change: float
    expected_detained: float
    detained_change: float
    egress_time_min: int
    egress_change_min: int
    optimal: bool
    sentence: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "what": self.what,
            "people_gained": self.people_gained,
            "harm_change": self.harm_change,
            "detained_change": self.detained_change,
            "egress_change_min": self.egress_change_min,
            "evacuated": self.evacuated,
            "expected_harm": self.expected_harm,
            "expected_detained": self.expected_detained,
            "egress_time_min": self.egress_time_min,
            "optimal": self.optimal,
            "sentence": self.sentence,
        }

    @property
    def order_key(self) -> tuple[int, float, float, int, str]:
        return (
            -self.people_gained,
            self.expected_harm,
            self.expected_detained,
            KINDS.index(self.kind),
            self.what,
        )


@dataclass
class Concessions:
    """The ranked concessions and what was done to price them."""

    rows: list[Concession]
    considered: int
    priced: int
    skipped: int
    not_priced: int
    nothing_gains: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "order": ORDER,
            "rows": [r.as_dict() for r in self.rows],
            "considered": self.considered,
            "priced": self.priced,
            "skipped": self.skipped,
            "not_priced": self.not_priced,
            "max_candidates": MAX_CANDIDATES,
            "max_replans": MAX_REPLANS,
            "nothing_gains": self.nothing_gains,
        }


def rank_concessions(net: Network, options: PlanOptions, base: Plan) -> Concessions:
    """Every concession (see the module docstring), priced against ``base``, best first.

    ``options`` are those ``base`` was planned with (its method: ``fast`` if the base
    plan fell back to it).
    """
    model = base.model
    candidates = _candidates(net, options, base)
    considered = candidates[:MAX_CANDIDATES]
    not_priced = len(candidates) - len(considered)
    most = most_evacuable(model)
    quiet = replace(options, progress=None)
    figures = BaseFigures.of(base)
    rows: list[Concession] = []
    skipped = 0
    out_of_time = False
    lifted = _all_lifted(model, considered)
    for k, cand in enumerate(considered):
        if options.progress is not None:
            options.progress(f"pricing {cand.kind} {cand.what}", k, len(considered))
        changed, horizon = _lazy_model(net, model, cand), options.horizon
        if horizon is not None:
            horizon += cand.extra_minutes
        if not _may_help(base, cand, horizon, most, changed, lifted):
            skipped += 1
            continue
        out_of_time = out_of_time or (options.budget is not None and options.budget.expired())
        if len(rows) >= MAX_REPLANS or out_of_time:
            not_priced += 1
            continue
        try:
            row = _price(changed(), cand, figures, replace(quiet, horizon=horizon))
        except PlanTooLargeError:  # e.g. a longer pause on a city: the others are priced
            not_priced += 1
            continue
        if row is None:  # fell back to the fast plan: not comparable
            out_of_time = True
            not_priced += 1
            continue
        rows.append(row)
    return gather_concessions(rows, len(candidates), skipped, not_priced, stuck_reasons(base, most))


@dataclass(frozen=True)
class BaseFigures:
    """What a concession's row compares with: the base plan's totals."""

    evacuated: int
    egress_time_min: int
    expected_harm: float
    expected_detained: float
    method: str
    """How the base plan was found: a re-plan found another way is not comparable."""

    @classmethod
    def of(cls, plan: Plan) -> BaseFigures:
        return cls(
            plan.evacuated,
            plan.egress_time_min,
            plan.expected_harm,
            plan.expected_detained,
            plan.method,
        )


@dataclass
class Selection:
    """The concessions worth planning again for a base plan, chosen without planning
    (:func:`select_concessions`); each is priced on its own (:func:`price_concession`), in
    any order and any process, and the rows gathered (:func:`gather_concessions`)."""

    to_price: list[dict[str, Any]]
    """Each concession to plan again, as :func:`price_concession` takes it (JSON-ready)."""
    considered: int
    skipped: int
    not_priced: int
    base: BaseFigures
    stuck: Stuck
    """Why the base plan leaves people behind (:func:`stuck_reasons`)."""


def select_concessions(net: Network, options: PlanOptions, base: Plan) -> Selection:
    """:func:`rank_concessions` up to its planning: every concession considered, those that
    provably cannot help skipped, at most :data:`MAX_REPLANS` to plan again.

    Pricing them one by one with :func:`price_concession` and gathering the rows with
    :func:`gather_concessions` gives the ranking of :func:`rank_concessions` (which also
    stops pricing when the time budget runs out).
    """
    model = base.model
    candidates = _candidates(net, options, base)
    considered = candidates[:MAX_CANDIDATES]
    not_priced = len(candidates) - len(considered)
    most = most_evacuable(model)
    to_price: list[dict[str, Any]] = []
    skipped = 0
    lifted = _all_lifted(model, considered)
    for k, cand in enumerate(considered):
        if options.progress is not None:
            options.progress("choosing concessions to price", k, len(considered))
        horizon = options.horizon
        if horizon is not None:
            horizon += cand.extra_minutes
        if not _may_help(base, cand, horizon, most, _lazy_model(net, model, cand), lifted):
            skipped += 1
        elif len(to_price) >= MAX_REPLANS:
            not_priced += 1
        else:
            to_price.append(_spec(net, cand))
    return Selection(
        to_price, len(candidates), skipped, not_priced, BaseFigures.of(base),
        stuck_reasons(base, most),
    )  # fmt: skip


def price_concession(
    net: Network, options: PlanOptions, base: BaseFigures, spec: dict[str, Any]
) -> Concession | None:
    """One concession of a :class:`Selection` planned again with ``options`` (those of the
    base plan); ``None`` (left unpriced) when its plan fell back to the fast method and so
    cannot be compared with an optimal base plan, or would be too large to make."""
    mopts = model_options(options)
    cand = _from_spec(net, mopts, spec)
    conditions = plan_conditions(net, options)
    changed = compile_model(net, conditions, cand.options or mopts)
    horizon = None if options.horizon is None else options.horizon + cand.extra_minutes
    try:
        return _price(changed, cand, base, replace(options, progress=None, horizon=horizon))
    except PlanTooLargeError:
        return None


def gather_concessions(
    rows: list[Concession], considered: int, skipped: int, not_priced: int, stuck: Stuck
) -> Concessions:
    """The ranking from the priced rows (any order): best first, and why nothing gains."""
    rows = sorted(rows, key=lambda r: r.order_key)
    why = None
    if not any(r.people_gained > 0 for r in rows):
        why = _nothing_gains_sentence(stuck, rows, not_priced)
    return Concessions(rows, considered, len(rows), skipped, not_priced, why)


def _price(
    changed: FlowModel, cand: _Candidate, base: BaseFigures, options: PlanOptions
) -> Concession | None:
    # Never "nothing to evacuate": a concession only adds roads, time or capacity.
    plan = plan_model(changed, options)
    if plan.method != base.method:  # fell back to the fast plan: not comparable
        return None
    return _row(cand, base, plan)


def _spec(net: Network, cand: _Candidate) -> dict[str, Any]:
    return {
        "kind": cand.kind,
        "what": cand.what,
        "detail": cand.detail,
        "extra_minutes": cand.extra_minutes,
        "road": None if cand.road is None else net.edge_ids[cand.road],
    }


def _from_spec(net: Network, mopts: ModelOptions, spec: dict[str, Any]) -> _Candidate:
    """The candidate a :func:`_spec` describes, its model options rebuilt from the base's."""
    kind: Kind = spec["kind"]
    road = None if spec["road"] is None else net.edge_index[spec["road"]]
    options: ModelOptions | None = None
    if kind in ("crossing", "road"):
        assert road is not None
        options = replace(mopts, open_edges=mopts.open_edges | {road})
    elif kind == "checkpoint":
        assert road is not None
        options = replace(mopts, lifted_checkpoints=mopts.lifted_checkpoints | {road})
    elif kind == "party":
        options = replace(mopts, open_parties=mopts.open_parties | {spec["what"]})
    elif kind == "capacity":
        assert road is not None
        doubled = (*mopts.capacity_factor_edges, (road, CAPACITY_FACTOR))
        options = replace(mopts, capacity_factor_edges=doubled)
    return _Candidate(kind, spec["what"], spec["detail"], options, int(spec["extra_minutes"]), road)


def _candidates(net: Network, options: PlanOptions, base: Plan) -> list[_Candidate]:
    """Every concession for ``base``, in the order they are considered."""
    model = base.model
    mopts = model.options
    out: list[_Candidate] = []
    if options.horizon is not None:
        for m in PAUSE_EXTENSIONS_MIN:
            out.append(
                _Candidate(
                    "pause",
                    f"+{m} min",
                    f"extending the pause by {m} minutes (to {options.horizon + m})",
                    extra_minutes=m,
                )
            )
    cap = np.floor(net.edge_capacity * model.conditions.profile.capacity_factor + 1e-9)
    for b in base.bottlenecks()[:BOTTLENECKS_PRICED]:
        e = net.edge_index[b["edge"]]
        doubled = (*mopts.capacity_factor_edges, (e, CAPACITY_FACTOR))
        before = int(cap[e])
        out.append(
            _Candidate(
                "capacity",
                b["edge"],
                f"doubling the capacity of {b['edge']} ({before:,} → "
                f"{int(np.floor(before * CAPACITY_FACTOR)):,} a minute)",
                replace(mopts, capacity_factor_edges=doubled),
                road=e,
            )
        )
    blocked = net.edge_status == STATUS_CODES["blocked"]
    candidate = net.columns.edges.candidate
    nearest = _nearest_first(net, model)
    for e in nearest[(blocked & candidate)[nearest]].tolist():
        out.append(
            _Candidate(
                "crossing",
                net.edge_ids[e],
                f"opening the candidate crossing {net.edge_ids[e]}",
                replace(mopts, open_edges=mopts.open_edges | {e}),
                road=e,
            )
        )
    for pid in excluded_parties(net, mopts):
        consent = net.parties[pid].consent
        if consent != "granted":
            out.append(
                _Candidate(
                    "party",
                    pid,
                    f"the consent of {pid} (now {consent})",
                    replace(mopts, open_parties=mopts.open_parties | {pid}),
                )
            )
    held = (net.edge_checkpoint >= 0) & ~blocked
    for e in nearest[held[nearest]].tolist():
        party = net.party_ids[int(net.edge_checkpoint[e])]
        out.append(
            _Candidate(
                "checkpoint",
                net.edge_ids[e],
                f"lifting the {party} checkpoint on {net.edge_ids[e]}",
                replace(mopts, lifted_checkpoints=mopts.lifted_checkpoints | {e}),
                road=e,
            )
        )
    for e in nearest[(blocked & ~candidate)[nearest]].tolist():
        out.append(
            _Candidate(
                "road",
                net.edge_ids[e],
                f"opening the blocked road {net.edge_ids[e]}",
                replace(mopts, open_edges=mopts.open_edges | {e}),
                road=e,
            )
        )
    return out


def _nearest_first(net: Network, model: FlowModel) -> np.ndarray:
    """Road positions by the least minutes from people over it to a safe zone, in the base
    model (roads no way reaches last; ties by position)."""
    time = np.maximum(np.ceil(model.conditions.time - 1e-9), 1).astype(np.int64)
    tail, head = net.edge_tail, net.edge_head
    fp, tz = model.from_people, model.to_zone
    forward = np.minimum(fp[tail] + time + tz[head], UNREACHABLE)
    backward = np.where(
        net.edge_directed, UNREACHABLE, np.minimum(fp[head] + time + tz[tail], UNREACHABLE)
    )
    return np.lexsort((np.arange(len(tail)), np.minimum(forward, backward)))


Lifted = tuple[Network, Conditions]
"""A network and its conditions with some checkpoints lifted (``without_checkpoints``)."""


def _all_lifted(model: FlowModel, considered: list[_Candidate]) -> Callable[[], Lifted]:
    """The network and conditions with every checkpoint ``considered`` lifted (and those the
    base model lifts), made on first use: a road's figures depend on its own checkpoint
    only, so one serves every such candidate (:func:`~app.domain.plans.model.road_change`)."""
    roads = frozenset(c.road for c in considered if c.kind == "checkpoint" and c.road is not None)
    every = roads | model.options.lifted_checkpoints
    return functools.cache(lambda: without_checkpoints(model.conditions, every))


def _lazy_model(net: Network, model: FlowModel, cand: _Candidate) -> Callable[[], FlowModel]:
    """:func:`_changed_model`, compiled on the first call only."""
    return functools.cache(lambda: _changed_model(net, model, cand))


def _changed_model(net: Network, model: FlowModel, cand: _Candidate) -> FlowModel:
    """The model planned with ``cand`` (``model`` itself when it changes no road), its
    minutes to safe zones found from ``model``'s where it only adds arcs
    (:func:`~app.domain.plans.model.to_zone_after`)."""
    if cand.options is None:
        return model
    changed = compile_model(net, model.conditions, cand.options)
    to_zone = to_zone_after(model, changed)
    if to_zone is not None:
        changed.to_zone = to_zone
    return changed


def _may_help(
    base: Plan,
    cand: _Candidate,
    horizon: int | None,
    most: int,
    changed: Callable[[], FlowModel],
    lifted: Callable[[], Lifted] | None = None,
) -> bool:
    """Whether planning with ``cand`` might get more people out, sooner, or more safely
    (``changed()``: the model planned with it, compiled only where needed; ``lifted()``:
    the network with every checkpoint considered lifted, :func:`_all_lifted`).

    A longer pause cannot get out more people than the bound of evacuees within it (and
    with the same people out, the last arrives at the same minute). A changed model with
    the same arcs gives the same flows: only a lifted checkpoint on a road the plan uses,
    with a risk of its own, changes the harm. New arcs help only on a way from people to a
    safe zone short enough to end by the window's end (or, when everybody who can ever be
    is out, by the base plan's last arrival).

    A concession on one road (a crossing or road opened, a checkpoint lifted) changes the
    model on that road only (:func:`~app.domain.plans.model.road_change`), so it is decided
    from that road's arcs and the base model's minutes without compiling the model of a
    whole city for each; ``tests/domain/test_concessions.py`` checks every decision against
    the compiled model's.
    """
    model = base.model
    if cand.kind == "pause":
        assert horizon is not None
        return base.evacuated < evacuable_upper_bound(model, horizon, most)
    if cand.kind == "capacity":
        return True
    road = cand.road
    if cand.kind in ("crossing", "road", "checkpoint"):
        assert road is not None and cand.options is not None
        both = lifted() if lifted is not None and cand.kind == "checkpoint" else None
        change = road_change(model, cand.options, road, both)
        if change.same_arcs:
            return cand.kind == "checkpoint" and _risk_changes_on_used_road(base, road, change.risk)
        if change.adds_only:
            net = model.network
            arcs, minutes = change.added()
            u, v = net.arc_tail[arcs], net.arc_head[arcs]
            to_zone = change.to_zone(net, model.to_zone, v)
            return _through_helps(base, model.from_people[u] + minutes + to_zone, horizon, changed)
    after = changed()
    if np.array_equal(after.arc_index, model.arc_index):  # the same arcs
        return (
            cand.kind == "checkpoint"
            and road is not None
            and _risk_changes_on_used_road(base, road, float(after.conditions.risk[road]))
        )
    net, added = model.network, added_arcs(model, after)
    u, v = net.arc_tail[added], net.arc_head[added]
    return _through_helps(
        base,
        model.from_people[u] + after.network_arc_time[added] + after.to_zone[v],
        horizon,
        changed,
    )


def _risk_changes_on_used_road(base: Plan, road: int, risk: float) -> bool:
    return risk != base.model.conditions.risk[road] and bool(np.isin(road, base.used_edges()))


def _through_helps(
    base: Plan, through: IntArray, horizon: int | None, changed: Callable[[], FlowModel]
) -> bool:
    """Whether the least minutes from people to a safe zone through an added arc
    (``through``, one per added arc) ends in time.

    They are read from the base plan's minutes from people (one search fewer per
    candidate): on such a way the part before its first added arc uses only base arcs,
    whose minutes a concession leaves as they are (it adds arcs; a lifted checkpoint
    changes only its own road, added here). So the least of these sums is the least with
    the changed network's minutes."""
    through = np.minimum(through, UNREACHABLE)
    if not np.any(through < UNREACHABLE):
        return False
    limit = horizon
    if limit is None and base.evacuated >= most_evacuable(changed()):
        limit = base.egress_time_min
    return limit is None or bool(np.any(through <= limit))


def _row(cand: _Candidate, base: BaseFigures, plan: Plan) -> Concession:
    gained = plan.evacuated - base.evacuated
    harm = plan.expected_harm - base.expected_harm
    egress = plan.egress_time_min - base.egress_time_min
    return Concession(
        kind=cand.kind,
        what=cand.what,
        evacuated=plan.evacuated,
        people_gained=gained,
        expected_harm=plan.expected_harm,
        harm_change=harm,
        expected_detained=plan.expected_detained,
        detained_change=plan.expected_detained - base.expected_detained,
        egress_time_min=plan.egress_time_min,
        egress_change_min=egress,
        optimal=plan.optimal,
        sentence=_sentence(cand, base, plan),
    )


def _sentence(cand: _Candidate, base: BaseFigures, plan: Plan) -> str:
    what = cand.detail[0].upper() + cand.detail[1:]
    gained = plan.evacuated - base.evacuated
    if gained > 0:
        people = f"gets {gained:,} more people out ({base.evacuated:,} → {plan.evacuated:,})"
    elif gained < 0:
        people = f"gets {-gained:,} fewer people out ({base.evacuated:,} → {plan.evacuated:,})"
    else:
        people = f"gets nobody more out ({plan.evacuated:,})"
    egress = plan.egress_time_min - base.egress_time_min
    if egress < 0:
        people += f", {-egress} minutes sooner"
    elif egress > 0:
        people += f", the last arriving {egress} minutes later"
    detained = ""
    if abs(plan.expected_detained - base.expected_detained) >= 0.05:
        detained = (
            f"; expected detained {base.expected_detained:,.1f} → {plan.expected_detained:,.1f}"
        )
    return (
        f"{what} {people}; expected harm {base.expected_harm:,.1f} → "
        f"{plan.expected_harm:,.1f} people{detained}."
    )


def nothing_gains(base: Plan, most: int, rows: list[Concession], not_priced: int = 0) -> str:
    """Why no concession priced gets anybody more out, from the model's bounds."""
    return _nothing_gains_sentence(stuck_reasons(base, most), rows, not_priced)


def _nothing_gains_sentence(stuck: Stuck, rows: list[Concession], not_priced: int) -> str:
    everybody_out, reasons = stuck
    if everybody_out:
        return reasons
    priced = (
        f"none of the {len(rows)} concessions priced gets anybody more out"
        if rows
        else "no concession could be priced"
    )
    if not_priced:
        priced += f" ({not_priced} left unpriced by the limits or the time budget)"
    return f"{priced}: {reasons}"


def stuck_reasons(base: Plan, most: int) -> Stuck:
    """Why the base plan leaves people behind, from the model's bounds (or that all are
    out): the part of :func:`nothing_gains` that does not depend on the rows priced."""
    model = base.model
    total = model.total_population
    if base.evacuated >= total:
        return True, f"all {total:,} people are already evacuated"
    reasons: list[str] = []
    homes = np.flatnonzero(model.population > 0)
    d = model.to_zone[homes]
    pop = model.population[homes]
    cut_off = int(pop[d >= UNREACHABLE].sum())
    if cut_off:
        reasons.append(
            f"{cut_off:,} people cannot reach a safe zone at all over the roads this plan may use"
        )
    horizon = base.horizon
    if horizon is not None:
        far = (d > horizon) & (d < UNREACHABLE)
        if far.any():
            reasons.append(
                f"{int(pop[far].sum()):,} people live farther than the window allows: the "
                f"window ({horizon} min) is shorter than the shortest walk from their "
                f"districts to a safe zone ({int(d[far].min())} min)"
            )
    within = int(pop[d <= (horizon if horizon is not None else UNREACHABLE - 1)].sum())
    held = within - base.evacuated
    if held > 0:
        received = model.reception[model.is_zone]
        bound = evacuable_upper_bound(model, horizon, most) if horizon is not None else most
        if np.all(received < model.big) and base.evacuated >= int(received.sum()):
            reasons.append(f"the safe zones are full ({int(received.sum()):,} places)")
        elif bound <= base.evacuated:
            reasons.append(
                f"{held:,} more could reach a safe zone in time but every usable way out is "
                f"saturated: the roads of a minimum cut admit at most {bound:,} people "
                "within the window; capacity is the limit"
            )
        else:
            reasons.append(
                f"{held:,} more could reach a safe zone in time alone, but the roads' "
                "capacity and the room to wait along the way let no more through "
                f"(the plan is the most possible; a simple bound allows {bound:,})"
            )
    if not reasons:  # pragma: no cover - stranded people are cut off, far or held back
        reasons.append("the plan already gets out everybody who can be")
    return False, "; ".join(reasons)
