"""Fleet plans: buses and ambulances shuttling people from their places to safe zones through
checkpoints with screening, carrying priority groups first (:mod:`.problem` states the
model; :mod:`.dispatch` the fast method and its bound; :mod:`.exact` the exact method for
small questions; :mod:`.sizing` the questions a negotiator asks of a fleet)."""

from app.domain.fleets.dispatch import fast_fleet_plan, upper_bound
from app.domain.fleets.exact import ExactTooLarge, exact_fleet_plan
from app.domain.fleets.plan import FleetPlan, Trip
from app.domain.fleets.problem import FleetOptions, FleetProblem, compile_fleet_problem
from app.domain.fleets.sizing import FleetMethod, plan_fleet, sizing

__all__ = [
    "ExactTooLarge",
    "FleetMethod",
    "FleetOptions",
    "FleetPlan",
    "FleetProblem",
    "Trip",
    "compile_fleet_problem",
    "exact_fleet_plan",
    "fast_fleet_plan",
    "plan_fleet",
    "sizing",
    "upper_bound",
]
