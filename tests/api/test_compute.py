"""Questions on stored scenarios over HTTP: routes, no-route cuts, map GeoJSON (and plans).

Answers must be the CLI's on the same document, to the last digit, and match
the hand-computed worked example of graphs/README.md.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.cli import app as cli
from tests.api import ALEPPO, TEACHING, Stored, Tokens, assert_problem, load, run_cli, store

# (name, file, API body, CLI options); the Aleppo one goes through a real subprocess.
QUESTIONS: list[tuple[str, Path, dict[str, Any], list[str]]] = [
    ("teaching", TEACHING, {"from": "hilltop", "to": "camp"}, []),
    (
        "aleppo, military-age men",
        ALEPPO,
        {"from": "al-ansari-mashhad", "to": "al-rashideen", "profile": "military_age_men"},
        ["--profile", "military_age_men"],
    ),
    (
        "teaching at 10:00",
        TEACHING,
        {"from": "hilltop", "to": "camp", "at": "2025-03-01T10:00:00+00:00"},
        ["--at", "2025-03-01T10:00:00+00:00"],
    ),
    (
        "teaching, avoid north, risk limit",
        TEACHING,
        {"from": "hilltop", "to": "camp", "avoid_parties": ["north"], "max_risk": 0.2},
        ["--avoid-party", "north", "--max-risk", "0.2"],
    ),
    (
        "aleppo, consenting parties only",
        ALEPPO,
        {"from": "as-sukkari", "to": "khan-al-asal", "consenting_only": True},
        ["--consenting-only"],
    ),
    (
        "teaching, no route",
        TEACHING,
        {"from": "hilltop", "to": "camp", "avoid_parties": ["east", "north"]},
        ["--avoid-party", "east", "--avoid-party", "north"],
    ),
    (
        "aleppo, three alternatives",
        ALEPPO,
        {"from": "al-ansari-mashhad", "to": "al-rashideen", "alternatives": 3},
        ["--alternatives", "3"],
    ),
    (
        "teaching, disjoint pair",
        TEACHING,
        {"from": "hilltop", "to": "camp", "disjoint": True},
        ["--disjoint"],
    ),
    (
        "aleppo, no disjoint pair",
        ALEPPO,
        {"from": "al-ansari-mashhad", "to": "al-rashideen", "disjoint": True},
        ["--disjoint"],
    ),
    (
        "teaching, over the risk limit",
        TEACHING,
        {"from": "hilltop", "to": "camp", "max_risk": 0.01},
        ["--max-risk", "0.01"],
    ),
]


@pytest.fixture(scope="module")
def cli_answers() -> dict[str, tuple[int, Any]]:
    """``safe-passage route … --json`` for each question (exit code, JSON printed)."""
    answers = {}
    for name, path, body, options in QUESTIONS:
        args = ["route", str(path), "--from", body["from"], "--to", body["to"], *options, "--json"]
        if name == "aleppo, military-age men":
            answers[name] = run_cli(*args)
        else:  # the same command in process, for speed
            result = CliRunner().invoke(cli, args)
            answers[name] = (result.exit_code, json.loads(result.stdout))
    return answers


@pytest.fixture
def stored_graphs(app_client: TestClient, tokens: Tokens) -> dict[Path, str]:
    return {
        path: store(app_client, tokens("planner"), load(path)).id for path in (TEACHING, ALEPPO)
    }


def test_routes_are_the_clis_answers(
    app_client: TestClient,
    tokens: Tokens,
    stored_graphs: dict[Path, str],
    cli_answers: dict[str, tuple[int, Any]],
) -> None:
    for name, path, body, _ in QUESTIONS:
        code, expected = cli_answers[name]
        response = app_client.post(
            f"/v1/scenarios/{stored_graphs[path]}/routes", json=body, headers=tokens("planner")
        )
        if code == 0:
            assert response.status_code == 200, (name, response.text)
            assert response.json() == expected, name
        else:
            assert code == 3, (name, expected)
            problem = assert_problem(response, 422)
            assert problem["type"] == expected["type"], name
            assert {k: v for k, v in problem.items() if k not in ("status", "instance")} == expected


AS_OF = "2025-03-01T08:00:00+00:00"
"""The teaching scenario's as_of, before its shelling report (10:00)."""


def test_the_worked_example_by_hand(
    app_client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    """graphs/README.md: B at as_of, C at 10:00 (also the default time: the newest report) and
    for military-age men, B again at 16:00."""
    url = f"/v1/scenarios/{teaching.id}/routes"
    expected = [
        ({"at": AS_OF}, ["hilltop", "mill", "ford", "camp"], 0.98 * 0.97 * 0.99, 40.0),
        ({}, ["hilltop", "mill", "square", "camp"], 0.8379, 33.0),
        ({"at": "2025-03-01T10:00:00+00:00"}, ["hilltop", "mill", "square", "camp"], 0.8379, 33.0),
        ({"at": "2025-03-01T16:00:00+00:00"}, ["hilltop", "mill", "ford", "camp"], 0.8469846, 40.0),
        ({"profile": "military_age_men"}, ["hilltop", "mill", "square", "camp"], 0.8379, 33.0),
    ]
    for extra, nodes, survival, minutes in expected:
        response = app_client.post(
            url, json={"from": "hilltop", "to": "camp", **extra}, headers=tokens("planner")
        )
        (route,) = response.json()["routes"]
        assert route["nodes"] == nodes, extra
        assert math.isclose(route["survival_probability"], survival, rel_tol=1e-9), extra
        assert math.isclose(route["risk"], 1 - survival, rel_tol=1e-9), extra
        assert route["travel_time_min"] == minutes


def test_no_route_is_a_422_naming_the_cut(
    app_client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    response = app_client.post(
        f"/v1/scenarios/{teaching.id}/routes",
        json={"from": "hilltop", "to": "camp", "avoid_parties": ["east"]},
        headers=tokens("planner"),
    )
    problem = assert_problem(response, 422, "no-route")
    # Every road out of Hilltop belongs to east (and camp--hilltop is blocked as well).
    assert {r["edge"] for r in problem["cut"]["roads"]} == {
        "camp--hilltop",
        "hilltop--mill",
        "hilltop--square",
    }
    assert problem["cut"]["disconnected"] is False


def test_no_route_names_the_origin_held_by_a_party_without_consent(
    app_client: TestClient, tokens: Tokens, stored_graphs: dict[Path, str]
) -> None:
    """Aleppo, as-Sukkari → al-Rashideen, consenting parties only: the district's holder has
    not consented, so nobody may leave it (expectations from the document)."""
    doc = load(ALEPPO)
    holder = {n["id"]: n.get("controlled_by") for n in doc["nodes"]}
    consent = {p["id"]: p["consent"] for p in doc["parties"]}
    body = {"from": "as-sukkari", "to": "al-rashideen"}
    url = f"/v1/scenarios/{stored_graphs[ALEPPO]}/routes"
    party = holder[body["from"]]
    assert party is not None and consent[party] != "granted"

    response = app_client.post(url, json=body, headers=tokens("planner"))
    assert response.status_code == 200, response.text
    assert party in response.json()["routes"][0]["consents_needed"]

    response = app_client.post(
        url, json={**body, "consenting_only": True}, headers=tokens("planner")
    )
    problem = assert_problem(response, 422, "no-route")
    reason = f"origin 'as-sukkari' is held by {party!r}, which has not granted consent"
    [origin] = [p for p in problem["cut"]["places"] if p["role"] == "origin"]
    assert origin == {"node": "as-sukkari", "role": "origin", "held_by": party, "reasons": [reason]}
    assert reason in problem["detail"]
    # Every road of the cut is closed because of a party without consent, named with it.
    for road in problem["cut"]["roads"]:
        assert any("which has not granted consent" in r for r in road["reasons"]), road
    # Avoiding the party says so in the same terms.
    response = app_client.post(
        url, json={**body, "avoid_parties": [party]}, headers=tokens("planner")
    )
    problem = assert_problem(response, 422, "no-route")
    assert f"origin 'as-sukkari' is held by {party!r}, which is avoided" in problem["detail"]
    # The parties analysis agrees: no route today.
    response = app_client.post(
        f"/v1/scenarios/{stored_graphs[ALEPPO]}/parties", json=body, headers=tokens("planner")
    )
    assert response.status_code == 200, response.text
    assert response.json()["today"] is None


def test_unknown_places_are_refused_at_their_pointer(
    app_client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    response = app_client.post(
        f"/v1/scenarios/{teaching.id}/routes",
        json={"from": "hilltop", "to": "atlantis"},
        headers=tokens("planner"),
    )
    problem = assert_problem(response, 422)
    assert [e["pointer"] for e in problem["errors"]] == ["/to"]
    assert "atlantis" in problem["errors"][0]["detail"]


def test_the_map_refuses_an_unknown_place_or_profile_at_its_parameter(
    app_client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    url = f"/v1/scenarios/{teaching.id}/map.geojson"
    for params, where, detail in (
        ({"from": "atlantis", "to": "camp"}, "/from", "unknown node 'atlantis'"),
        ({"profile": "pilgrims"}, "/profile", "unknown profile 'pilgrims'"),
    ):
        problem = assert_problem(
            app_client.get(url, params=params, headers=tokens("viewer")), 422, "invalid-request"
        )
        assert [e["pointer"] for e in problem["errors"]] == [where]
        assert problem["detail"].startswith(detail)


def test_routes_use_the_version_asked_for_on_every_replica(
    app_client: TestClient,
    make_client: Callable[..., TestClient],
    tokens: Tokens,
    teaching: Stored,
) -> None:
    """A new version is seen at once by another replica whose cache holds the old one."""
    other = make_client()
    planner = tokens("planner")
    url = f"/v1/scenarios/{teaching.id}"
    question = {"from": "hilltop", "to": "camp", "at": AS_OF}
    before = other.post(f"{url}/routes", json=question, headers=planner).json()["routes"][0]
    assert before["nodes"] == ["hilltop", "mill", "ford", "camp"]

    blocked = load(TEACHING)
    for edge in blocked["edges"]:
        if edge["id"] == "ford--mill":
            edge["status"] = "blocked"
    app_client.put(url, json=blocked, headers={**planner, "If-Match": teaching.etag})

    after = other.post(f"{url}/routes", json=question, headers=planner).json()["routes"][0]
    assert after["nodes"] == ["hilltop", "mill", "square", "camp"]
    again = other.post(f"{url}/routes?version=1", json=question, headers=planner).json()
    assert again["routes"][0] == before
    assert_problem(
        other.post(f"{url}/routes?version=5", json=question, headers=planner), 404, "not-found"
    )


def test_a_deleted_scenario_answers_no_computation_on_any_replica(
    app_client: TestClient,
    make_client: Callable[..., TestClient],
    tokens: Tokens,
    teaching: Stored,
) -> None:
    """Both replicas hold version 1 compiled; after DELETE on one, every question is 404."""
    other = make_client(plan_workers=0)  # plans in-process: they read the same cache
    planner, viewer = tokens("planner"), tokens("viewer")
    url = f"/v1/scenarios/{teaching.id}"
    pair = {"from": "hilltop", "to": "camp"}
    questions: list[tuple[str, str, dict[str, Any] | None, dict[str, str]]] = [
        ("post", "routes", pair, planner),
        ("post", "parties", pair, planner),
        ("post", "briefs", pair, planner),
        ("get", "map.geojson", None, viewer),
    ]

    def ask(client: TestClient, method: str, path: str, body: Any, who: Any, query: str) -> Any:
        if method == "get":
            return client.get(f"{url}/{path}{query}", headers=who)
        return client.post(f"{url}/{path}{query}", json=body, headers=who)

    for client in (app_client, other):
        for method, path, body, who in questions:
            for query in ("", "?version=1"):
                answer = ask(client, method, path, body, who, query)
                assert answer.status_code == 200, (path, query, answer.text)
    planned = other.post(f"{url}/plans?version=1", json={"window": "pause-1"}, headers=planner)
    assert planned.status_code == 200, planned.text

    assert app_client.delete(url, headers=planner).status_code == 204

    for client in (app_client, other):
        for method, path, body, who in questions:
            for query in ("", "?version=1"):
                answer = ask(client, method, path, body, who, query)
                assert_problem(answer, 404, "not-found")
        for query in ("", "?version=1"):
            answer = client.post(f"{url}/plans{query}", json={"window": "pause-1"}, headers=planner)
            assert_problem(answer, 404, "not-found")
    health = app_client.get("/v1/health").json()
    assert health["storage"]["cached_versions"] == 0  # the replica that deleted let go


def test_the_map_geojson_has_every_located_node_road_and_the_route(
    app_client: TestClient, tokens: Tokens, stored_graphs: dict[Path, str]
) -> None:
    scenario_id = stored_graphs[ALEPPO]
    document = load(ALEPPO)
    question = {"from": "al-ansari-mashhad", "to": "al-rashideen"}
    response = app_client.get(
        f"/v1/scenarios/{scenario_id}/map.geojson", params=question, headers=tokens("viewer")
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    collection = response.json()
    assert collection["type"] == "FeatureCollection"
    layers: dict[str, list[dict[str, Any]]] = {}
    for feature in collection["features"]:
        layers.setdefault(feature["properties"]["layer"], []).append(feature)
    assert {f["properties"]["id"] for f in layers["node"]} == {n["id"] for n in document["nodes"]}
    assert {f["properties"]["id"] for f in layers["road"]} == {e["id"] for e in document["edges"]}
    by_id = {n["id"]: n for n in document["nodes"]}
    for feature in layers["node"]:
        node = by_id[feature["properties"]["id"]]
        assert feature["geometry"]["coordinates"] == [node["lon"], node["lat"]]  # GeoJSON: lon, lat
    for feature in layers["road"]:
        assert 0 <= feature["properties"]["risk"] < 1

    route = app_client.post(
        f"/v1/scenarios/{scenario_id}/routes", json=question, headers=tokens("planner")
    ).json()["routes"][0]
    (drawn,) = layers["route"]
    assert drawn["properties"]["nodes"] == route["nodes"]
    assert drawn["properties"]["survival_probability"] == route["survival_probability"]
    assert drawn["geometry"] == route["geometry"]


def test_alternatives_are_distinct_routes_safest_first(
    app_client: TestClient, tokens: Tokens, stored_graphs: dict[Path, str]
) -> None:
    url = f"/v1/scenarios/{stored_graphs[ALEPPO]}/routes"
    question = {"from": "al-ansari-mashhad", "to": "al-rashideen"}
    (best,) = app_client.post(url, json=question, headers=tokens("planner")).json()["routes"]
    response = app_client.post(url, json={**question, "alternatives": 3}, headers=tokens("planner"))
    routes = response.json()["routes"]
    assert len(routes) == 3
    assert {k: v for k, v in routes[0].items() if k != "overlap_with_safer"} == best
    assert len({tuple(r["edges"]) for r in routes}) == 3
    survival = [r["survival_probability"] for r in routes]
    assert survival == sorted(survival, reverse=True)


def test_the_disjoint_pair_by_hand(
    app_client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    """graphs/README.md: with camp--hilltop blocked, B and A are the only disjoint pair."""
    response = app_client.post(
        f"/v1/scenarios/{teaching.id}/routes",
        json={"from": "hilltop", "to": "camp", "disjoint": True, "at": AS_OF},
        headers=tokens("planner"),
    )
    answer = response.json()
    assert [r["nodes"] for r in answer["routes"]] == [
        ["hilltop", "mill", "ford", "camp"],
        ["hilltop", "square", "camp"],
    ]
    assert not set(answer["routes"][0]["edges"]) & set(answer["routes"][1]["edges"])
    assert math.isclose(answer["joint_survival_probability"], 0.941094 * 0.81, rel_tol=1e-9)


# --- plans ---------------------------------------------------------------------------------


def test_a_plan_in_a_window_is_the_clis(
    app_client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    url = f"/v1/scenarios/{teaching.id}/plans"
    response = app_client.post(url, json={"window": "pause-1"}, headers=tokens("planner"))
    assert response.status_code == 200, response.text
    plan = response.json()
    assert plan["total_population"] == 1200 + 600  # Hilltop and Riverside
    assert plan["evacuated"] + plan["stranded"] == plan["total_population"]
    assert sum(m["count"] for m in plan["movements"]) == plan["evacuated"]
    result = CliRunner().invoke(cli, ["plan", str(TEACHING), "--window", "pause-1", "--json"])
    assert result.exit_code == 0, result.output
    assert plan == json.loads(result.stdout)
    assert_problem(app_client.post(url, json={"window": "pause-1"}, headers=tokens("viewer")), 403)
    assert_problem(app_client.post(url, json={"window": "nope"}, headers=tokens("planner")), 422)


def test_a_brief_as_json_markdown_or_printable_html(app_client: TestClient, tokens: Tokens) -> None:
    planner = tokens("planner")
    aleppo = store(app_client, planner, load(ALEPPO))
    url = f"/v1/scenarios/{aleppo.id}/briefs"
    body = {"from": "as-sukkari", "to": "khan-al-asal", "window": "pause-2016-12-15-3h"}
    answer = app_client.post(url, json=body, headers=planner)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    brief = answer.json()
    assert brief["scenario"] == {"id": aleppo.id, "version": 1}
    assert brief["verdict"]["status"] == "nothing_fits"  # 233 min on foot, 180-minute window
    for how in ({"params": {"format": "html"}}, {"headers": {"Accept": "text/html"}}):
        headers = {**planner, **how.get("headers", {})}
        page = app_client.post(url, json=body, params=how.get("params"), headers=headers)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "NOT FOR OPERATIONAL USE" in page.text and "السكري" in page.text
        assert "Nothing fits the window" in page.text
    md = app_client.post(url, json=body, params={"format": "markdown"}, headers=planner)
    assert md.headers["content-type"].startswith("text/markdown")
    assert md.text == brief["markdown"]
    problem = assert_problem(
        app_client.post(url, json=body, params={"format": "pdf"}, headers=planner),
        422,
        "invalid-request",
    )
    assert [e["pointer"] for e in problem["errors"]] == ["/query/format"]


def test_a_brief_with_a_fleet_tells_the_fleet_plan_of_its_window(
    app_client: TestClient, tokens: Tokens
) -> None:
    planner = tokens("planner")
    aleppo = store(app_client, planner, load(ALEPPO))
    fleet = {"window": "pause-2016-12-15-3h", "fleet": ["buses", "ambulances"]}
    body = {"from": "as-sukkari", "to": "khan-al-asal", **fleet}
    url = f"/v1/scenarios/{aleppo.id}/briefs"
    brief = app_client.post(url, json=body, headers=planner).json()
    plan = app_client.post(f"/v1/scenarios/{aleppo.id}/plans", json=fleet, headers=planner).json()
    f = brief["fleet"]
    assert (f["evacuated"], f["vehicles"]) == (plan["evacuated"], plan["vehicles"])
    assert f["headline"].startswith(
        f"20 buses and 10 ambulances, 10:00–13:00: about {plan['evacuated']:,} people"
    )
    page = app_client.post(url, json=body, params={"format": "html"}, headers=planner)
    assert f["headline"] in page.text and plan["bottleneck"]["explanation"] in page.text
    for c in plan["checkpoints"]:
        assert f'<tr data-checkpoint="{c["edge"]}">' in page.text
    unknown = {**body, "fleet": "tanks"}
    problem = assert_problem(app_client.post(url, json=unknown, headers=planner), 422)
    assert [e["pointer"] for e in problem["errors"]] == ["/fleet"]
