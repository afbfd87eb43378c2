"""Comparing fleet plans (POST /v1/compare): two fleets on one scenario, one fleet on two
versions. Each side is exactly the /plans answer to its question; the difference is b − a of
the plans' totals and of each group's people evacuated, recomputed here from those answers."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api import ALEPPO, Stored, Tokens, assert_problem, load, store

PAUSE_3H = "pause-2016-12-15-3h"
CROSSING = "al-amiriyeh--ramouseh-crossing"
"""The government checkpoint most drives pass (screening 2 lanes in the scenario)."""


@pytest.fixture
def aleppo(app_client: TestClient, tokens: Tokens) -> Stored:
    return store(app_client, tokens("planner"), load(ALEPPO))


def plan(client: TestClient, tokens: Tokens, sid: str, body: dict[str, Any], v: int = 0) -> Any:
    path = f"/v1/scenarios/{sid}/plans" + (f"?version={v}" if v else "")
    answer = client.post(path, json=body, headers=tokens("planner"))
    assert answer.status_code == 200, answer.text
    return answer.json()


def evacuated_by_group(p: dict[str, Any]) -> dict[str, int]:
    return {g["group"]: g["evacuated"] for g in p["by_group"]}


def assert_b_minus_a(got: dict[str, Any], a: dict[str, Any], b: dict[str, Any]) -> None:
    assert got["a"] == a and got["b"] == b
    diff = got["difference"]
    for key in ("evacuated", "egress_time_min", "expected_harm"):
        assert diff[key] == b[key] - a[key]
    ga, gb = evacuated_by_group(a), evacuated_by_group(b)
    assert diff["evacuated_by_group"] == {g: gb[g] - ga[g] for g in ga}
    assert list(diff["evacuated_by_group"]) == [g["group"] for g in a["by_group"]]  # priority
    assert diff["vehicles"] == {"a": a["vehicles"], "b": b["vehicles"]}


def test_fleet_a_against_fleet_b_on_one_scenario(
    app_client: TestClient, tokens: Tokens, aleppo: Stored
) -> None:
    question = {"kind": "plan", "window": PAUSE_3H, "method": "fast"}
    body = {
        "a": {"scenario": aleppo.id, "fleet": "buses"},
        "b": {"scenario": aleppo.id, "fleet": ["buses", "ambulances"]},
        "question": question,
    }
    got = app_client.post("/v1/compare", json=body, headers=tokens("planner"))
    assert got.status_code == 200, got.text
    asked = {"window": PAUSE_3H, "method": "fast"}
    a = plan(app_client, tokens, aleppo.id, {**asked, "fleet": "buses"})
    b = plan(app_client, tokens, aleppo.id, {**asked, "fleet": ["buses", "ambulances"]})
    assert_b_minus_a(got.json(), a, b)
    # Buses have no stretchers: only the ambulances carry the wounded.
    assert evacuated_by_group(a)["wounded"] == 0 < evacuated_by_group(b)["wounded"]
    assert got.json()["difference"]["evacuated_by_group"]["wounded"] > 0


def test_a_side_gives_its_own_vehicles(
    app_client: TestClient, tokens: Tokens, aleppo: Stored
) -> None:
    question = {"kind": "plan", "window": PAUSE_3H, "method": "fast", "fleet": "buses"}
    body = {
        "a": {"scenario": aleppo.id, "vehicles": 5},
        "b": {"scenario": aleppo.id},
        "question": question,
    }
    got = app_client.post("/v1/compare", json=body, headers=tokens("planner")).json()
    asked = {"window": PAUSE_3H, "method": "fast", "fleet": "buses"}
    a = plan(app_client, tokens, aleppo.id, {**asked, "vehicles": 5})
    b = plan(app_client, tokens, aleppo.id, asked)
    assert_b_minus_a(got, a, b)
    assert got["difference"]["vehicles"] == {"a": {"buses": 5}, "b": {"buses": 20}}
    assert got["difference"]["evacuated"] > 0  # four times the buses carry more


def test_one_fleet_on_two_versions(app_client: TestClient, tokens: Tokens, aleppo: Stored) -> None:
    lanes = {"reason": "two more screening lanes agreed at the crossing",
             "edits": [{"op": "set_road", "road": CROSSING, "screening_lanes": 4}]}  # fmt: skip
    edited = app_client.post(
        f"/v1/scenarios/{aleppo.id}/edits",
        json=lanes,
        headers={**tokens("planner"), "If-Match": aleppo.etag},
    )
    assert edited.status_code == 200, edited.text
    question = {"kind": "plan", "window": PAUSE_3H, "method": "fast",
                "fleet": ["buses", "ambulances"]}  # fmt: skip
    body = {"a": {"scenario": aleppo.id, "version": 1}, "b": {"scenario": aleppo.id},
            "question": question}  # fmt: skip
    got = app_client.post("/v1/compare", json=body, headers=tokens("planner")).json()
    asked = {k: v for k, v in question.items() if k != "kind"}
    a = plan(app_client, tokens, aleppo.id, asked, v=1)
    b = plan(app_client, tokens, aleppo.id, asked, v=2)
    assert got["versions"]["b"]["version"] == 2
    assert_b_minus_a(got, a, b)
    # Queues at the checkpoints were the bottleneck in version 1: with more lanes more
    # vehicles pass, each waiting less on average, and more people get out.
    assert a["bottleneck"]["kind"] == "screening"
    assert got["difference"]["evacuated"] > 0

    def mean_wait(p: dict[str, Any]) -> float:
        cs = p["checkpoints"]
        return sum(c["waiting_min"] for c in cs) / sum(c["vehicles"] for c in cs)

    assert mean_wait(b) < mean_wait(a)


def test_a_side_without_a_fleet_plan_carries_its_problem(
    app_client: TestClient, tokens: Tokens, aleppo: Stored
) -> None:
    question = {"kind": "plan", "window": PAUSE_3H, "method": "fast"}
    body = {"a": {"scenario": aleppo.id, "fleet": "buses"},
            "b": {"scenario": aleppo.id, "fleet": "tanks"}, "question": question}  # fmt: skip
    got = app_client.post("/v1/compare", json=body, headers=tokens("planner")).json()
    assert got["a"]["evacuated"] > 0
    assert got["b"]["type"] == "/problems/invalid-request"
    assert got["b"]["errors"][0]["pointer"] == "/fleet"
    assert got["difference"]["evacuated"] is None
    assert got["difference"]["evacuated_by_group"] == {"wounded": None, "general": None}


def test_a_fleet_on_a_route_question_is_refused_with_a_pointer(
    app_client: TestClient, tokens: Tokens, aleppo: Stored
) -> None:
    route = {"kind": "route", "from": "as-sukkari", "to": "khan-al-asal"}
    for side, member in (("a", {"fleet": "buses"}), ("b", {"vehicles": 3})):
        body = {"a": {"scenario": aleppo.id}, "b": {"scenario": aleppo.id}, "question": route}
        body[side] = {**body[side], **member}
        problem = assert_problem(
            app_client.post("/v1/compare", json=body, headers=tokens("planner")), 422
        )
        assert [e["pointer"] for e in problem["errors"]] == [f"/{side}/{next(iter(member))}"]
    bad = {"a": {"scenario": aleppo.id, "vehicles": -2}, "b": {"scenario": aleppo.id},
           "question": {"kind": "plan", "window": PAUSE_3H}}  # fmt: skip
    problem = assert_problem(
        app_client.post("/v1/compare", json=bad, headers=tokens("planner")), 422
    )
    assert all(e["pointer"].startswith("/a/vehicles") for e in problem["errors"])
