"""Harm and detention apart, unknown risk, ranges and assumptions (issue 16, items 1–3).

Each figure is recomputed here from the document by hand or by brute force over every
simple path, not read back from the engine's own arrays.
"""

from __future__ import annotations

import itertools
import math
import random
from typing import Any

import networkx as nx
import pytest

from app.domain.network.graph import Network
from app.domain.plans.evacuation import PlanOptions, plan_evacuation
from app.domain.routes.engine import RouteOptions, safest_route
from app.domain.scenario.reading import validate_scenario

SCHEMA = "safe-passage/scenario@1"


def checkpoint_choice(**extra: Any) -> dict[str, Any]:
    """Two ways from a to c: through a checkpoint of a party with a detention record (safe
    road, risky checkpoint for men), or a longer road with more shelling and no checkpoint."""
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "parties": [{"id": "gov", "detention_record": True, "consent": "granted"}],
        "nodes": [{"id": "a"}, {"id": "b"}, {"id": "c"}],
        "edges": [
            {"id": "ab", "from": "a", "to": "b", "travel_time_min": 10, "risk": 0.01,
             "checkpoint": "gov"},
            {"id": "bc", "from": "b", "to": "c", "travel_time_min": 10, "risk": 0.01},
            {"id": "ac", "from": "a", "to": "c", "travel_time_min": 30, "risk": 0.08},
        ],
    }  # fmt: skip
    doc.update(extra)
    return doc


def test_harm_and_detention_are_reported_apart_and_combine_into_survival() -> None:
    net = Network(validate_scenario(checkpoint_choice()))
    men = safest_route(net, "a", "c", RouteOptions(profile="military_age_men"))
    # Via the checkpoint: 0.99² × 0.8 = 0.784 < 0.92 on the direct road: men go direct.
    assert men.edge_ids == ["ac"]
    assert men.harm_probability == pytest.approx(0.08)
    assert men.detention_probability == 0.0
    general = safest_route(net, "a", "c")
    assert general.edge_ids == ["ab", "bc"]
    assert general.harm_probability == pytest.approx(1 - 0.99**2)
    assert general.detention_probability == 0.0
    # Men forced through the checkpoint (objective harm: the checkpoint does not count).
    harm_only = safest_route(
        net, "a", "c", RouteOptions(profile="military_age_men", objective="harm")
    )
    assert harm_only.edge_ids == ["ab", "bc"]
    assert harm_only.harm_probability == pytest.approx(1 - 0.99**2)
    assert harm_only.detention_probability == pytest.approx(0.2)
    assert harm_only.survival_probability == pytest.approx(0.99**2 * 0.8)
    doc = harm_only.as_dict()
    assert doc["objective"] == "harm"
    [detention] = [a for a in doc["assumptions"] if a["quantity"].startswith("detention")]
    assert detention["value"] == 0.2
    assert detention["applies_to"] == ["ab"]
    assert "assumption" in detention["source"]
    assert [s["detention"] for s in doc["steps"]] == [0.2, 0.0]


def test_objective_detention_avoids_checkpoints_even_at_higher_harm() -> None:
    net = Network(validate_scenario(checkpoint_choice()))
    route = safest_route(
        net, "a", "c", RouteOptions(profile="military_age_men", objective="detention")
    )
    assert route.edge_ids == ["ac"]
    assert route.detention_probability == 0.0


def test_a_road_without_an_estimate_is_unknown_and_the_answer_says_what_it_assumed() -> None:
    doc = checkpoint_choice()
    del doc["edges"][1]["risk"]  # bc: unknown
    net = Network(validate_scenario(doc))
    route = safest_route(net, "a", "c")
    # Default "highest": bc counts as 0.08 (the highest estimate): 0.99 × 0.92 < 0.92.
    assert net.unknown_policy().assumed == 0.08
    assert route.edge_ids == ["ac"]
    via = safest_route(net, "a", "c", RouteOptions(unknown_risk=0.0))
    assert via.edge_ids == ["ab", "bc"]
    unknown = via.as_dict()["unknown_risk"]
    assert unknown["roads"] == 1 and unknown["of_roads"] == 2
    assert unknown["travel_time_min"] == 10 and unknown["share_of_time"] == 0.5
    assert unknown["policy"] == {"rule": 0.0, "assumed": 0.0, "given_by": "request"}
    [assumed] = [a for a in via.as_dict()["assumptions"] if "without" in a["quantity"]]
    assert assumed["applies_to"] == ["bc"] and assumed["value"] == 0.0
    # The scenario's own policy, when the request says nothing.
    doc["unknown_risk"] = 0.001
    net = Network(validate_scenario(doc))
    route = safest_route(net, "a", "c")
    assert route.edge_ids == ["ab", "bc"]
    assert route.harm_probability == pytest.approx(1 - 0.99 * 0.999)
    assert route.as_dict()["unknown_risk"]["policy"]["given_by"] == "scenario"


def test_a_scenario_without_any_estimate_assumes_zero_and_says_so() -> None:
    doc = checkpoint_choice()
    for e in doc["edges"]:
        del e["risk"]
    route = safest_route(Network(validate_scenario(doc)), "a", "c")
    assert route.edge_ids == ["ab", "bc"]  # all equally unknown: the fastest
    assert route.as_dict()["unknown_risk"]["roads"] == 2
    assert route.as_dict()["unknown_risk"]["assumed_risk"] == 0.0


def test_ranges_come_from_risk_ranges_and_report_confidence() -> None:
    doc = checkpoint_choice(as_of="2016-12-13T10:00:00Z")
    doc["edges"][0].update(risk_low=0.005, risk_high=0.03)
    doc["incidents"] = [
        {"id": "i1", "edges": ["bc"], "severity": 0.1, "confidence": 0.5,
         "observed_at": "2016-12-13T10:00:00Z"}
    ]  # fmt: skip
    route = safest_route(Network(validate_scenario(doc)), "a", "c", RouteOptions(objective="harm"))
    assert route.edge_ids == ["ab", "bc"]
    point = 1 - 0.99 * (0.99 * (1 - 0.05))
    low = 1 - 0.995 * (0.99 * (1 - 0.05 * 0.5))
    high = 1 - 0.97 * (0.99 * (1 - 0.1))
    ranges = route.ranges()
    assert route.harm_probability == pytest.approx(point)
    assert ranges["harm_probability"] == pytest.approx([low, high])
    assert ranges["survival_probability"] == pytest.approx([1 - high, 1 - low])
    assert low < point < high


def test_a_risk_range_must_hold_the_risk() -> None:
    from app.domain.errors import ValidationError

    doc = checkpoint_choice()
    doc["edges"][0].update(risk_low=0.02)
    doc["edges"][1].pop("risk")
    doc["edges"][1]["risk_high"] = 0.5
    with pytest.raises(ValidationError) as caught:
        validate_scenario(doc)
    pointers = {p.pointer for p in caught.value.problems}
    assert pointers == {"/edges/0/risk_low", "/edges/1/risk_high"}


def brute_force_best(doc: dict[str, Any], s: str, t: str, key: str, assumed: float) -> float:
    """The least probability ``key`` over every simple path (undirected roads, all open)."""
    g = nx.MultiGraph()
    g.add_nodes_from(n["id"] for n in doc["nodes"])
    for e in doc["edges"]:
        g.add_edge(e["from"], e["to"], key=e["id"], edge=e)
    detention = {p["id"]: 0.2 for p in doc["parties"] if p.get("detention_record")}
    best = math.inf
    for path in nx.all_simple_edge_paths(g, s, t):
        keep = 1.0
        for u, v, k in path:
            e = g.edges[u, v, k]["edge"]
            harm = e.get("risk", assumed)
            det = detention.get(e.get("checkpoint"), 0.0)
            keep *= {"harm": 1 - harm, "detention": 1 - det, "survival": (1 - harm) * (1 - det)}[
                key
            ]
        best = min(best, 1 - keep)
    return best


@pytest.mark.parametrize("seed", range(40))
def test_each_objective_finds_the_least_probability_by_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(3, 7)
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "parties": [{"id": "x", "detention_record": True}, {"id": "y"}],
        "nodes": [{"id": f"n{i}"} for i in range(n)],
        "edges": [],
    }
    for k, (a, b) in enumerate(itertools.combinations(range(n), 2)):
        if rng.random() < 0.6:
            edge: dict[str, Any] = {
                "id": f"e{k}", "from": f"n{a}", "to": f"n{b}", "travel_time_min": rng.randint(1, 9),
                "checkpoint": rng.choice([None, None, "x", "y"]),
            }  # fmt: skip
            if rng.random() < 0.8:
                edge["risk"] = rng.choice([0.0, 0.01, 0.05, 0.2])
            doc["edges"].append(edge)
    net = Network(validate_scenario(doc))
    assumed = net.unknown_policy().assumed
    profile = "military_age_men"
    for objective in ("survival", "harm", "detention"):
        try:
            route = safest_route(
                net, "n0", f"n{n - 1}", RouteOptions(profile=profile, objective=objective)
            )
        except Exception:  # no road joins them: the brute force agrees
            assert brute_force_best(doc, "n0", f"n{n - 1}", objective, assumed) == math.inf
            continue
        got = {
            "survival": route.risk,
            "harm": route.harm_probability,
            "detention": route.detention_probability,
        }[objective]
        expected = brute_force_best(doc, "n0", f"n{n - 1}", objective, assumed)
        assert got == pytest.approx(expected, abs=1e-9)


def test_plans_report_expected_harm_and_detention_apart() -> None:
    doc = checkpoint_choice()
    doc["nodes"][0]["population"] = 100
    doc["nodes"][2]["kind"] = "safe_zone"
    for e in doc["edges"]:
        e["capacity_per_min"] = 10
    net = Network(validate_scenario(doc))
    plan = plan_evacuation(net, PlanOptions(profile="military_age_men"))
    out = plan.as_dict()
    assert out["evacuated"] == 100
    harm = detained = 0.0
    roads = {e["id"]: e for e in doc["edges"]}
    for m in out["movements"]:
        path = [roads[r] for r in m["edges"]]
        harm += m["count"] * (1 - math.prod(1 - r["risk"] for r in path))
        detained += m["count"] * (1 - math.prod(0.8 if r.get("checkpoint") else 1 for r in path))
    assert out["expected_harm"] == pytest.approx(harm)
    assert out["expected_detained"] == pytest.approx(detained)
    assert out["expected_harm_range"] == pytest.approx([harm, harm])  # no ranges given
    assert out["unknown_risk"]["roads"] == 0
    if detained:
        assert any(a["quantity"].startswith("detention") for a in out["assumptions"])


def test_who_set_the_unknown_policy_is_not_mixed_up_by_the_cache() -> None:
    doc = checkpoint_choice()
    del doc["edges"][1]["risk"]
    net = Network(validate_scenario(doc))
    asked = safest_route(net, "a", "c", RouteOptions(unknown_risk="highest")).as_dict()
    default = safest_route(net, "a", "c").as_dict()
    assert asked["unknown_risk"]["policy"]["given_by"] == "request"
    assert default["unknown_risk"]["policy"]["given_by"] == "default"
    assert asked["survival_probability"] == default["survival_probability"]


def test_an_edit_that_sets_a_risk_alone_replaces_the_estimate_and_its_range() -> None:
    from app.domain.scenario.edits import apply_edits

    doc = checkpoint_choice()
    doc["edges"][0].update(risk_low=0.005, risk_high=0.02)
    s = validate_scenario(doc)
    new = apply_edits(s, [{"op": "set_road", "road": "ab", "risk": 0.04}])
    assert new.edge_item(0)["risk"] == 0.04
    assert "risk_low" not in new.edge_item(0) and "risk_high" not in new.edge_item(0)
    ranged = apply_edits(
        s, [{"op": "set_road", "road": "ab", "risk": 0.04, "risk_low": 0.03, "risk_high": 0.1}]
    )
    assert (ranged.edges.risk_low[0], ranged.edges.risk_high[0]) == (0.03, 0.1)
