"""Evacuation plans: what negotiators see (limits, budget, errors, consent); concessions are
tested in test_concessions.py."""

from __future__ import annotations

import copy
import json
import random
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from app.domain.errors import PlanTooLargeError
from app.domain.network.graph import Network
from app.domain.plans.budget import Budget
from app.domain.plans.evacuation import (
    NothingToEvacuateError,
    PlanOptions,
    plan_evacuation,
)
from app.domain.scenario.reading import validate_scenario
from tests.domain.evacuation_oracle import flow_document, lp_evacuated, lp_quickest, replay

GRAPHS = Path(__file__).resolve().parents[2] / "graphs"


def teaching() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GRAPHS / "teaching.json").read_text())
    return data


def plan_of(doc: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return plan_evacuation(Network(validate_scenario(doc)), PlanOptions(**kw)).as_dict()


def test_teaching_plan_is_the_linear_programs_optimum() -> None:
    doc = teaching()
    plan = plan_of(doc)
    assert plan["evacuated"] == plan["total_population"] == 1800
    assert plan["egress_time_min"] == lp_quickest(doc, 1800, upper=200)
    assert plan["consents_needed"] == ["north"]
    replay(doc, plan, plan["egress_time_min"])
    window = plan_of(doc, horizon=60)
    assert window["evacuated"] == lp_evacuated(doc, 60) < 1800
    assert window["stranded"] == 1800 - window["evacuated"]
    assert sum(s["count"] for s in window["stranded_at"]) == window["stranded"]


def test_nothing_to_evacuate_is_a_no_answer_with_a_reason() -> None:
    doc = teaching()
    empty = copy.deepcopy(doc)
    for n in empty["nodes"]:
        n.pop("population", None)
    with pytest.raises(NothingToEvacuateError, match="nobody to evacuate"):
        plan_of(empty)
    no_zone = copy.deepcopy(doc)
    for n in no_zone["nodes"]:
        if n.get("kind") == "safe_zone":
            n["kind"] = "assembly"
            n.pop("capacity", None)
    with pytest.raises(NothingToEvacuateError, match="no safe zone"):
        plan_of(no_zone)
    closed = copy.deepcopy(doc)
    for e in closed["edges"]:
        e["status"] = "blocked"
    with pytest.raises(NothingToEvacuateError, match="nobody can reach a safe zone"):
        plan_of(closed)
    with pytest.raises(NothingToEvacuateError, match="within the 3-minute window"):
        plan_of(doc, horizon=3)


def test_risk_limit_keeps_people_off_risky_roads_and_reports_harm() -> None:
    doc = teaching()
    # At the scenario's as_of (08:00), before the ford's shelling (10:00) closes the only road
    # under the limit; by default the plan is asked at the newest report.
    as_of = datetime.fromisoformat(doc["as_of"])
    free = plan_of(doc, at=as_of)
    careful = plan_of(doc, max_risk=0.05, at=as_of)
    risky = {e["id"] for e in doc["edges"] if e["risk"] > 0.05}
    assert all(not risky & set(m["edges"]) for m in careful["movements"])
    assert careful["egress_time_min"] > free["egress_time_min"]
    assert careful["expected_harm"] < free["expected_harm"]
    assert careful["expected_harm"] > 0


def test_people_already_in_a_safe_zone_are_not_counted() -> None:
    doc = teaching()
    camp = next(n for n in doc["nodes"] if n["id"] == "camp")
    camp["population"] = 500
    assert plan_of(doc)["total_population"] == 1800


def test_oversized_expanded_network_is_refused_naming_the_window_or_the_method() -> None:
    doc = teaching()
    net = Network(validate_scenario(doc))
    with pytest.raises(PlanTooLargeError) as info:
        plan_evacuation(net, PlanOptions(horizon=100, max_expanded_arcs=50))
    assert [f.subject for f in info.value.faults] == ["horizon"]
    assert "limit is 50" in info.value.detail
    with pytest.raises(PlanTooLargeError) as info:
        plan_evacuation(net, PlanOptions(max_expanded_arcs=50))
    assert [f.subject for f in info.value.faults] == ["method"]
    # The fast method does not build the expanded network.
    assert plan_evacuation(net, PlanOptions(method="fast", max_expanded_arcs=50)).evacuated == 1800


def test_time_budget_answers_with_the_fast_plan_and_a_valid_bound() -> None:
    doc = teaching()
    net = Network(validate_scenario(doc))
    exact = plan_evacuation(net, PlanOptions()).egress_time_min
    # Overrun before it starts, on a clock that stands still: the fast plan has all its time.
    overrun = Budget(seconds=0.0, clock=lambda: 1.0, started=0.0)
    plan = plan_evacuation(net, PlanOptions(budget=overrun)).as_dict()
    assert plan["optimal"] is False and plan["method"] == "fast"
    assert "time budget" in plan["note"]
    assert plan["lower_bound_min"] <= exact <= plan["egress_time_min"]
    replay(doc, plan, plan["egress_time_min"])


def one_road(people: int = 30) -> dict[str, Any]:
    """home -> camp over one road: 5 minutes, 10 people a minute."""
    return {
        "schema": "safe-passage/scenario@1",
        "nodes": [{"id": "home", "population": people}, {"id": "camp", "kind": "safe_zone"}],
        "edges": [
            {
                "id": "road",
                "from": "home",
                "to": "camp",
                "travel_time_min": 5,
                "capacity_per_min": 10,
            }
        ],
    }


def lane_and_highway() -> dict[str, Any]:
    """south (9 people) -> camp by a lane (1 min, 2 a minute) or a one-way highway (4 min,
    3 a minute); north's 4 people come through south (3 min, 2 a minute). The fast plan
    fills the lane with south's people for four minutes, so north's, at south from minute 4,
    are out at minute 6; the optimum puts six of south's people on the highway, keeps the
    lane for north's and is done at minute 5."""
    return {
        "schema": "safe-passage/scenario@1",
        "nodes": [
            {"id": "north", "population": 4, "capacity": 5},
            {"id": "camp", "kind": "safe_zone"},
            {"id": "south", "population": 9},
        ],
        "edges": [
            {
                "id": "highway",
                "from": "south",
                "to": "camp",
                "directed": True,
                "travel_time_min": 4,
                "capacity_per_min": 3,
            },
            {
                "id": "north--south",
                "from": "south",
                "to": "north",
                "travel_time_min": 3,
                "capacity_per_min": 2,
            },
            {
                "id": "lane",
                "from": "camp",
                "to": "south",
                "travel_time_min": 1,
                "capacity_per_min": 2,
            },
        ],
    }


def test_fast_plan_that_meets_its_bound_is_optimal() -> None:
    """30 people on one road of 10 a minute: out by minute 5 + 2, and no plan does better."""
    doc = one_road()
    plan = plan_of(doc, method="fast")
    assert plan["egress_time_min"] == plan["lower_bound_min"] == lp_quickest(doc, 30) == 7
    assert plan["evacuated"] == plan["upper_bound_evacuated"] == 30
    assert plan["method"] == "fast" and plan["optimal"] is True
    assert plan["note"] is not None and "meets its bounds" in plan["note"]
    assert "lower_bound_min" in plan["note"] and "upper_bound_evacuated" not in plan["note"]


def test_fast_plan_that_meets_its_bounds_in_a_window_is_optimal() -> None:
    """A 6-minute window: 20 get out (minutes 5 and 6), the most any plan gets out."""
    doc = one_road()
    plan = plan_of(doc, method="fast", horizon=6)
    assert plan["evacuated"] == plan["upper_bound_evacuated"] == lp_evacuated(doc, 6) == 20
    assert plan["egress_time_min"] == plan["lower_bound_min"] == lp_quickest(doc, 20) == 6
    assert plan["optimal"] is True and "upper_bound_evacuated" in plan["note"]


def test_fast_plan_that_misses_its_bound_is_not_proven_optimal() -> None:
    doc = lane_and_highway()
    plan = plan_of(doc, method="fast")
    assert plan["evacuated"] == plan["upper_bound_evacuated"] == 13
    assert plan["egress_time_min"] == 6 > plan["lower_bound_min"] == lp_quickest(doc, 13) == 5
    assert plan["optimal"] is False and plan["note"] is None
    replay(doc, plan, plan["egress_time_min"])


def test_over_budget_fast_plan_meeting_its_bound_says_both() -> None:
    """The optimal method out of time answers with the fast plan, which here is optimal."""
    overrun = Budget(seconds=0.0, clock=lambda: 1.0, started=0.0)
    plan = plan_of(one_road(), budget=overrun)
    assert plan["method"] == "fast" and plan["optimal"] is True
    assert plan["egress_time_min"] == plan["lower_bound_min"] == 7
    assert "time budget" in plan["note"] and "meets its bounds" in plan["note"]


def test_progress_is_reported_up_to_the_end() -> None:
    seen: list[tuple[str, float, float | None]] = []
    net = Network(validate_scenario(teaching()))
    plan_evacuation(net, PlanOptions(progress=lambda *report: seen.append(report)))
    assert seen and all(total is not None and 0 <= done <= total for _, done, total in seen)
    assert any(stage.startswith("optimal plan") for stage, _, _ in seen)
    fast: list[tuple[str, float, float | None]] = []
    plan_evacuation(net, PlanOptions(method="fast", progress=lambda *report: fast.append(report)))
    districts = sum(1 for n in teaching()["nodes"] if n.get("population"))
    assert fast[-1] == ("fast plan", districts, districts)  # counted in districts, to the end


@pytest.mark.parametrize("seed", range(10))
def test_size_guard_counts_the_expanded_network_exactly(seed: int) -> None:
    from app.domain.plans.expanded import expanded_arcs, solve_horizon
    from app.domain.plans.model import ModelOptions, compile_model

    rng = random.Random(seed)
    doc = flow_document(rng, rng.randint(4, 9), rng.randint(4, 18))
    net = Network(validate_scenario(doc))
    model = compile_model(net, net.conditions(None, None), ModelOptions())
    for horizon in (1, 7, 40):
        assert expanded_arcs(model, horizon) == solve_horizon(model, horizon).arcs


@pytest.mark.parametrize("seed", range(10))
def test_a_group_s_risk_is_its_roads_combined_whether_or_not_the_plan_has_taken_them(
    seed: int,
) -> None:
    """A route's risk is 1 − Π(1 − p) over its roads: for the plan's own groups, and for
    a group of other roads asked about after (its roads' figures found then)."""
    import math

    from app.domain.plans.expanded import Movement

    rng = random.Random(4400 + seed)
    doc = flow_document(rng, rng.randint(4, 10), rng.randint(8, 20))
    net = Network(validate_scenario(doc))
    try:
        plan = plan_evacuation(net, PlanOptions(horizon=12))
    except Exception:  # nothing to evacuate
        return
    model = plan.model
    risk = model.conditions.risk[model.arc_edge]

    def combined(arcs: tuple[int, ...]) -> float:
        return 1.0 - math.prod(1.0 - float(risk[a]) for a in arcs)

    for m in plan.movements:
        assert plan.route_risk(m) == pytest.approx(combined(m.arcs), abs=1e-12)
    other = tuple(rng.sample(range(len(model.arc_tail)), min(3, len(model.arc_tail))))
    group = Movement(1, (0,) * (len(other) + 1), other, (0,) * len(other), None)
    assert plan.route_risk(group) == pytest.approx(combined(other), abs=1e-12)
