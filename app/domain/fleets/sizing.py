"""A fleet plan by the method asked, and the sizing questions a negotiator asks of a fleet.

Each answer is a re-plan with one thing changed (the fast method, so that sizing stays quick
at city scale):

* the marginal gain of one more vehicle, one more screening lane at the busiest checkpoint,
  and one more hour of the window;
* the shortest window the fleet needs to clear everyone (a plan without a window: its last
  arrival, and the bound below which no plan can go);
* the smallest fleet that clears everyone (or a given number of people) within the window:
  a search over the number of vehicles, from one to :data:`MOST_VEHICLES_TRIED` × the
  fleet's count (fast plans, so an exact plan may need fewer).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from app.domain.fleets.dispatch import fast_fleet_plan
from app.domain.fleets.exact import ExactTooLarge, exact_fleet_plan
from app.domain.fleets.plan import FleetPlan
from app.domain.fleets.problem import FleetOptions, FleetProblem, compile_fleet_problem
from app.domain.network.graph import Network

FleetMethod = Literal["optimal", "fast"]

MOST_VEHICLES_TRIED = 10
"""The search for the smallest fleet tries up to this many times the fleet's count."""


def plan_fleet(
    net: Network, options: FleetOptions, method: FleetMethod = "optimal", time_limit_s: float = 20.0
) -> FleetPlan:
    """The fleet plan: exact when asked and small enough, else the fast one (with a note)."""
    problem = compile_fleet_problem(net, options)
    if method == "fast":
        return fast_fleet_plan(problem)
    try:
        exact = exact_fleet_plan(problem, time_limit_s)
    except ExactTooLarge as why:
        plan = fast_fleet_plan(problem)
        plan.note = f"fast plan: {why}" + (f"; {plan.note}" if plan.note else "")
        return plan
    if exact.optimal:
        return exact
    # Stopped at its time limit: the better of its best plan and the fast one.
    fast = fast_fleet_plan(problem)
    return exact if priority_key(exact) >= priority_key(fast) else fast


def priority_key(plan: FleetPlan) -> tuple[int, ...]:
    """People evacuated group by group in priority order (compared as a tuple)."""
    return tuple(g["evacuated"] for g in plan.by_group())


def _fast(net: Network, options: FleetOptions) -> FleetPlan:
    return fast_fleet_plan(compile_fleet_problem(net, options))


def sizing(
    net: Network, options: FleetOptions, base: FleetPlan, people: int | None = None
) -> dict[str, Any]:
    """Sizing answers for ``base`` (a plan for ``options``), each a fast re-plan."""
    p = base.problem
    out: dict[str, Any] = {"method": "fast"}
    counts = {kind.fleet.id: kind.count for kind in p.kinds}
    out["one_more_vehicle"] = {
        fleet: _gain(base, _fast(net, replace(options, vehicles={**counts, fleet: n + 1})))
        for fleet, n in counts.items()
    }
    busiest = max(base.checkpoints(), key=lambda c: c["waiting_min"], default=None)
    if busiest is not None:
        e = p.network.edge_index[busiest["edge"]]
        lanes = dict(options.extra_lanes)
        lanes[e] = lanes.get(e, 0) + 1
        lane = _fast(net, replace(options, extra_lanes=lanes))
        out["one_more_lane"] = {"checkpoint": busiest["edge"], **_gain(base, lane)}
    else:
        out["one_more_lane"] = None
    if p.horizon is not None:
        hour = _fast(net, replace(options, horizon=p.horizon + 60))
        out["one_more_hour"] = _gain(base, hour)
    clear = base if p.horizon is None else _fast(net, replace(options, horizon=None))
    out["shortest_window_min"] = None if clear.stranded else clear.egress_time_min
    out["shortest_window_lower_bound_min"] = clear.lower_bound_min
    out["vehicles_to_clear"] = {
        fleet: _smallest_fleet(net, options, p, fleet, counts, people) for fleet in counts
    }
    return out


def _gain(base: FleetPlan, other: FleetPlan) -> dict[str, Any]:
    return {
        "evacuated": other.evacuated,
        "gained": other.evacuated - base.evacuated,
        "egress_time_min": other.egress_time_min,
    }


def _smallest_fleet(
    net: Network,
    options: FleetOptions,
    p: FleetProblem,
    fleet: str,
    counts: dict[str, int],
    people: int | None,
) -> dict[str, Any]:
    """Fewest vehicles of ``fleet`` (the others as asked) whose fast plan evacuates
    ``people`` (default everyone) in the window."""
    goal = p.total_people if people is None else min(people, p.total_people)
    most = MOST_VEHICLES_TRIED * max(1, counts[fleet])

    def enough(n: int) -> bool:
        return _fast(net, replace(options, vehicles={**counts, fleet: n})).evacuated >= goal

    if not enough(most):
        return {"people": goal, "vehicles": None, "tried_up_to": most}
    lo, hi = 1, most
    while lo < hi:
        mid = (lo + hi) // 2
        if enough(mid):
            hi = mid
        else:
            lo = mid + 1
    return {"people": goal, "vehicles": lo, "tried_up_to": most}
