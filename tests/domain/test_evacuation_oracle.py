"""Evacuation plans against an independent linear program and a minute-by-minute replay."""

from __future__ import annotations

import random

import pytest

from app.domain.network.graph import Network
from app.domain.plans.evacuation import NothingToEvacuateError, PlanOptions, plan_evacuation
from app.domain.scenario.reading import validate_scenario
from tests.domain.evacuation_oracle import (
    expected_harm,
    flow_document,
    lp_evacuated,
    lp_quickest,
    most_ever,
    replay,
    saturated_minutes,
)


def _case(seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    n = rng.randint(3, 7)
    return flow_document(rng, n, rng.randint(n, 2 * n + 2))


@pytest.mark.parametrize("seed", range(60))
def test_optimal_egress_equals_linear_program(seed: int) -> None:
    doc = _case(seed)
    net = Network(validate_scenario(doc))
    most = most_ever(doc)
    if most == 0:
        with pytest.raises(NothingToEvacuateError):
            plan_evacuation(net, PlanOptions(method="optimal"))
        return
    plan = plan_evacuation(net, PlanOptions(method="optimal")).as_dict()
    quickest = lp_quickest(doc, most)
    assert plan["evacuated"] == most
    assert plan["egress_time_min"] == quickest
    assert plan["optimal"] is True and plan["lower_bound_min"] == quickest
    entries = replay(doc, plan, plan["egress_time_min"])
    assert {b["edge"]: b["saturated_minutes"] for b in plan["bottlenecks"]} == saturated_minutes(
        doc, entries
    )
    assert plan["expected_harm"] == pytest.approx(expected_harm(doc, plan))

    fast = plan_evacuation(net, PlanOptions(method="fast")).as_dict()
    replay(doc, fast, max(fast["egress_time_min"], 1))
    # Labelled optimal exactly when it meets its bounds, and then it is the LP's optimum.
    met = (fast["egress_time_min"], fast["evacuated"]) == (
        fast["lower_bound_min"],
        fast["upper_bound_evacuated"],
    )
    assert fast["optimal"] is met
    if fast["optimal"]:
        assert (fast["evacuated"], fast["egress_time_min"]) == (most, quickest)
    assert fast["evacuated"] <= plan["evacuated"]
    if fast["evacuated"] == most:
        assert fast["egress_time_min"] >= quickest
        assert fast["lower_bound_min"] <= quickest


@pytest.mark.parametrize("seed", range(60))
def test_short_window_evacuates_the_maximum_possible(seed: int) -> None:
    doc = _case(1000 + seed)
    rng = random.Random(seed)
    horizon = rng.randint(1, 14)
    net = Network(validate_scenario(doc))
    best = lp_evacuated(doc, horizon)
    if best == 0:
        with pytest.raises(NothingToEvacuateError):
            plan_evacuation(net, PlanOptions(method="optimal", horizon=horizon))
        return
    plan = plan_evacuation(net, PlanOptions(method="optimal", horizon=horizon)).as_dict()
    assert plan["evacuated"] == best
    assert plan["stranded"] == plan["total_population"] - best
    # The egress time is the earliest minute by which that many can be out.
    assert plan["egress_time_min"] == lp_quickest(doc, best, upper=horizon)
    replay(doc, plan, horizon)

    fast = plan_evacuation(net, PlanOptions(method="fast", horizon=horizon)).as_dict()
    replay(doc, fast, horizon)
    assert fast["evacuated"] <= best <= fast["upper_bound_evacuated"]
    met = (fast["egress_time_min"], fast["evacuated"]) == (
        fast["lower_bound_min"],
        fast["upper_bound_evacuated"],
    )
    assert fast["optimal"] is met
    if fast["optimal"]:  # it met its bounds: the most people, by the earliest minute
        assert fast["evacuated"] == best == fast["upper_bound_evacuated"]
        assert fast["egress_time_min"] == plan["egress_time_min"] == fast["lower_bound_min"]
    assert fast["horizon_min"] == plan["horizon_min"] == horizon


@pytest.mark.parametrize("seed", range(30))
def test_plans_with_restrictions_replay_within_capacities(seed: int) -> None:
    """Larger random networks (too big for the LP here): both methods respect every rule."""
    rng = random.Random(seed)
    doc = flow_document(rng, rng.randint(8, 20), rng.randint(10, 40))
    net = Network(validate_scenario(doc))
    horizon = rng.choice([None, rng.randint(5, 40)])
    max_risk = rng.choice([None, 0.05])
    plans = {}
    for method in ("optimal", "fast"):
        try:
            plan = plan_evacuation(
                net, PlanOptions(method=method, horizon=horizon, max_risk=max_risk)
            ).as_dict()
        except NothingToEvacuateError:
            return
        replay(doc, plan, horizon if horizon is not None else max(plan["egress_time_min"], 1))
        for m in plan["movements"]:
            assert max_risk is None or all(
                e["risk"] <= max_risk for e in doc["edges"] if e["id"] in m["edges"]
            )
        plans[method] = plan
    assert plans["fast"]["evacuated"] <= plans["optimal"]["evacuated"]
    if plans["fast"]["evacuated"] == plans["optimal"]["evacuated"]:
        assert plans["fast"]["egress_time_min"] >= plans["optimal"]["egress_time_min"]
