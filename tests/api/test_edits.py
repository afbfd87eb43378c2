"""The negotiation loop over HTTP: edits with If-Match, versions that say who and why, diffs,
forks that never change their parent (SPEC §5)."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.services import catalog as catalog_module
from tests.api import Stored, Tokens, assert_problem

AS_OF = "2025-03-01T08:00:00+00:00"
"""The teaching scenario's as_of: before its own shelling report (10:00), the ford is open."""

CLOSE_FORD = {
    "reason": "Ford shelled 09:10, field team report",
    "edits": [
        {"op": "set_road", "road": "ford--mill", "status": "blocked"},
        {
            "op": "add_incident",
            "incident": {
                "id": "shelling-0910",
                "kind": "shelling",
                "edges": ["camp--ford"],
                "severity": 0.3,
                "observed_at": "2025-03-01T09:10:00+00:00",
                "source": "field team",
                "confidence": 0.8,
            },
        },
    ],
}


def edit(
    client: TestClient, tokens: Tokens, sid: str, body: dict[str, Any], etag: str | None = '"1"'
) -> Any:
    headers = {**tokens("planner"), **({"If-Match": etag} if etag else {})}
    return client.post(f"/v1/scenarios/{sid}/edits", json=body, headers=headers)


def document(client: TestClient, tokens: Tokens, sid: str, version: int | None = None) -> Any:
    url = f"/v1/scenarios/{sid}" + (f"/versions/{version}" if version else "")
    response = client.get(url, headers=tokens("viewer"))
    assert response.status_code == 200, response.text
    return response


def test_an_edit_makes_a_version_that_reads_as_the_document_with_the_edits_made(
    app_client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    answer = edit(app_client, tokens, teaching.id, CLOSE_FORD)
    assert answer.status_code == 200, answer.text
    assert answer.headers["ETag"] == '"2"'
    body = answer.json()
    assert (body["version"], body["kind"], body["author"], body["reason"]) == (
        2, "edited", "petra", CLOSE_FORD["reason"]
    )  # fmt: skip
    assert body["edits"] == CLOSE_FORD["edits"] and body["stored_as"] == "edits"

    expected = copy.deepcopy(teaching.document)
    road = next(e for e in expected["edges"] if e["id"] == "ford--mill")
    road["status"] = "blocked"
    expected["incidents"].append(CLOSE_FORD["edits"][1]["incident"])  # type: ignore[index]
    read = document(app_client, tokens, teaching.id)
    assert read.headers["ETag"] == '"2"'
    got = read.json()
    got_road = next(e for e in got["edges"] if e["id"] == "ford--mill")
    assert got_road["status"] == "blocked"
    assert got["incidents"] == expected["incidents"]
    # Everything no edit names is the document as sent, item for item.
    assert [e for e in got["edges"] if e["id"] != "ford--mill"] == [
        e for e in expected["edges"] if e["id"] != "ford--mill"
    ]
    assert got["nodes"] == expected["nodes"] and got["parties"] == expected["parties"]
    # Stored as its edits, the version's digest is taken when its document is first read.
    assert body["sha256"] is None and body["size_bytes"] is None
    listed = app_client.get(f"/v1/scenarios/{teaching.id}/versions", headers=tokens("viewer"))
    second = listed.json()["versions"][1]
    assert second["sha256"] == hashlib.sha256(read.content).hexdigest()
    assert second["size_bytes"] == len(read.content) == int(read.headers["Content-Length"])
    # The first version is unchanged.
    assert document(app_client, tokens, teaching.id, 1).json() == teaching.document

    # Routes on the new version no longer use the closed road.
    route = app_client.post(
        f"/v1/scenarios/{teaching.id}/routes",
        json={"from": "mill", "to": "camp", "at": AS_OF},
        headers=tokens("planner"),
    )
    assert route.status_code == 200, route.text
    assert "ford--mill" not in route.json()["routes"][0]["edges"]
    old = app_client.post(
        f"/v1/scenarios/{teaching.id}/routes?version=1",
        json={"from": "mill", "to": "camp", "at": AS_OF},
        headers=tokens("planner"),
    )
    assert old.json()["routes"][0]["edges"] != route.json()["routes"][0]["edges"]


def test_edits_need_if_match_and_a_stale_one_is_412_with_the_current_version(
    app_client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    assert_problem(edit(app_client, tokens, teaching.id, CLOSE_FORD, etag=None), 428)
    assert edit(app_client, tokens, teaching.id, CLOSE_FORD).status_code == 200
    stale = assert_problem(edit(app_client, tokens, teaching.id, CLOSE_FORD), 412)
    assert stale["current_version"] == 2
    viewer = app_client.post(
        f"/v1/scenarios/{teaching.id}/edits",
        json=CLOSE_FORD,
        headers={**tokens("viewer"), "If-Match": '"2"'},
    )
    assert_problem(viewer, 403)


def test_an_invalid_edit_is_422_pointing_into_the_request_and_makes_no_version(
    app_client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    body = {
        "reason": "typos",
        "edits": [
            {"op": "set_road", "road": "ford--mill", "status": "closed"},
            {"op": "set_road", "road": "nowhere", "risk": 0.1},
            {"op": "set_place", "place": "camp", "population": -1},
            {"op": "fly"},
        ],
    }
    problems = assert_problem(edit(app_client, tokens, teaching.id, body), 422)["errors"]
    assert [p["pointer"] for p in problems] == [
        "/edits/0/status",
        "/edits/1/road",
        "/edits/2/population",
        "/edits/3/op",
    ]
    assert "unknown road 'nowhere'" in problems[1]["detail"]
    # A document that would no longer validate: both ways of saying how long a road is gone.
    broken = {"edits": [{"op": "set_road", "road": "camp--ford", "length_m": None,
                         "travel_time_min": None}]}  # fmt: skip
    problem = assert_problem(edit(app_client, tokens, teaching.id, broken), 422)
    assert problem["errors"][0]["pointer"] == "/edits/0"
    versions = app_client.get(f"/v1/scenarios/{teaching.id}/versions", headers=tokens("viewer"))
    assert [v["version"] for v in versions.json()["versions"]] == [1]
    assert_problem(edit(app_client, tokens, teaching.id, {"edits": []}), 422)
    assert_problem(edit(app_client, tokens, teaching.id, {"edits": [], "colour": 1}), 422)


def test_versions_list_who_when_how_and_why_and_the_diff_names_what_changed(
    app_client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    assert edit(app_client, tokens, teaching.id, CLOSE_FORD).status_code == 200
    agreed = {"reason": "north agreed", "edits": [{"op": "set_party", "party": "north",
                                                  "consent": "granted"}]}  # fmt: skip
    assert edit(app_client, tokens, teaching.id, agreed, '"2"').status_code == 200
    listed = app_client.get(f"/v1/scenarios/{teaching.id}/versions", headers=tokens("viewer"))
    rows = listed.json()["versions"]
    assert [(v["version"], v["kind"], v["author"], v["reason"]) for v in rows] == [
        (1, "created", "petra", None),
        (2, "edited", "petra", CLOSE_FORD["reason"]),
        (3, "edited", "petra", "north agreed"),
    ]
    diff = app_client.get(
        f"/v1/scenarios/{teaching.id}/diff?from=1&to=3", headers=tokens("viewer")
    ).json()
    before_consent = next(p for p in teaching.document["parties"] if p["id"] == "north")
    assert diff["changes"] == [
        {"kind": "party", "id": "north", "change": "changed", "field": "consent",
         "before": before_consent.get("consent", "unknown"), "after": "granted"},
        {"kind": "incident", "id": "shelling-0910", "change": "added"},
        {"kind": "road", "id": "ford--mill", "change": "changed", "field": "status",
         "before": "open", "after": "blocked"},
    ]  # fmt: skip
    latest = app_client.get(f"/v1/scenarios/{teaching.id}/diff?from=2", headers=tokens("viewer"))
    assert latest.json()["to"] == 3 and len(latest.json()["changes"]) == 1
    assert_problem(
        app_client.get(f"/v1/scenarios/{teaching.id}/diff?from=9", headers=tokens("viewer")), 404
    )
    audit = app_client.get("/v1/audit", headers=tokens("admin")).json()["items"]
    edits = [a for a in audit if a["action"] == "scenario.edit"]
    assert [a["detail"]["reason"] for a in edits] == ["north agreed", CLOSE_FORD["reason"]]


def test_a_fork_starts_at_the_version_asked_and_never_changes_its_parent(
    app_client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    assert edit(app_client, tokens, teaching.id, CLOSE_FORD).status_code == 200
    forked = app_client.post(
        f"/v1/scenarios/{teaching.id}/forks",
        json={"name": "What if the ford reopens", "version": 1},
        headers=tokens("planner"),
    )
    assert forked.status_code == 201, forked.text
    fork = forked.json()
    assert forked.headers["Location"] == f"/v1/scenarios/{fork['id']}"
    assert fork["forked_from"] == {"scenario": teaching.id, "version": 1}
    assert (fork["version"], fork["kind"], fork["name"]) == (
        1,
        "forked",
        "What if the ford reopens",
    )
    assert document(app_client, tokens, fork["id"]).json() == teaching.document

    reopen = {"edits": [{"op": "set_road", "road": "camp--square", "risk": 0.0}]}
    assert edit(app_client, tokens, fork["id"], reopen).status_code == 200
    parent = document(app_client, tokens, teaching.id)
    assert parent.headers["ETag"] == '"2"'
    parent_road = next(e for e in parent.json()["edges"] if e["id"] == "camp--square")
    original = next(e for e in teaching.document["edges"] if e["id"] == "camp--square")
    assert parent_road == original

    forks = app_client.get(f"/v1/scenarios/{teaching.id}/forks", headers=tokens("viewer"))
    assert [f["id"] for f in forks.json()["forks"]] == [fork["id"]]
    listing = app_client.get("/v1/scenarios", headers=tokens("viewer")).json()["items"]
    assert next(i for i in listing if i["id"] == fork["id"])["forked_from"]["version"] == 1


def test_a_long_run_of_edits_reads_back_every_version_as_it_was_made(
    app_client: TestClient, tokens: Tokens, teaching: Stored, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalog_module, "SNAPSHOT_VERSIONS", 8)
    answers = []
    for k in range(12):
        body = {"edits": [{"op": "set_road", "road": "hilltop--mill", "risk": 0.01 + k / 100}]}
        answer = edit(app_client, tokens, teaching.id, body, f'"{k + 1}"')
        assert answer.status_code == 200, answer.text
        answers.append(answer.json())
    # Every 8th version in a row is stored whole (here), the others as their edits.
    assert [a["stored_as"] for a in answers].count("document") == 1
    assert answers[7]["version"] == 9 and answers[7]["stored_as"] == "document"
    first_reads = {}
    for a in answers:
        read = document(app_client, tokens, teaching.id, a["version"])
        first_reads[a["version"]] = hashlib.sha256(read.content).hexdigest()
        if a["sha256"] is not None:  # stored whole: known from the start
            assert a["sha256"] == first_reads[a["version"]]
        road = next(e for e in read.json()["edges"] if e["id"] == "hilltop--mill")
        assert road["risk"] == 0.01 + (a["version"] - 2) / 100
    # A later read gives the same bytes, as the digest recorded at the first read says.
    listed = app_client.get(f"/v1/scenarios/{teaching.id}/versions", headers=tokens("viewer"))
    for v in listed.json()["versions"][1:]:
        again = document(app_client, tokens, teaching.id, v["version"])
        assert hashlib.sha256(again.content).hexdigest() == v["sha256"] == first_reads[v["version"]]


def test_compare_asks_both_sides_and_gives_b_minus_a(
    app_client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    assert edit(app_client, tokens, teaching.id, CLOSE_FORD).status_code == 200
    question = {"kind": "route", "from": "mill", "to": "camp", "at": AS_OF}
    body = {"a": {"scenario": teaching.id, "version": 1}, "b": {"scenario": teaching.id},
            "question": question}  # fmt: skip
    answer = app_client.post("/v1/compare", json=body, headers=tokens("planner"))
    assert answer.status_code == 200, answer.text
    got = answer.json()
    single = {
        v: app_client.post(
            f"/v1/scenarios/{teaching.id}/routes?version={v}",
            json={"from": "mill", "to": "camp", "at": AS_OF},
            headers=tokens("planner"),
        ).json()
        for v in (1, 2)
    }
    assert got["a"] == single[1] and got["b"] == single[2]
    assert got["versions"] == {
        "a": {"scenario": teaching.id, "version": 1},
        "b": {"scenario": teaching.id, "version": 2},
    }
    ra, rb = single[1]["routes"][0], single[2]["routes"][0]
    diff = got["difference"]
    assert diff["survival_probability"] == rb["survival_probability"] - ra["survival_probability"]
    assert diff["travel_time_min"] == rb["travel_time_min"] - ra["travel_time_min"]
    for key in ("harm_probability", "detention_probability"):
        assert diff[key] == rb[key] - ra[key]
    assert diff["roads_only_in_a"] == [e for e in ra["edges"] if e not in rb["edges"]]
    assert "ford--mill" in diff["roads_only_in_a"]
    assert diff["consents_needed"] == {"a": ra["consents_needed"], "b": rb["consents_needed"]}


def test_a_side_without_a_route_carries_its_problem_with_the_cut(
    app_client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    cut_off = {"edits": [{"op": "set_road", "road": r, "status": "blocked"}
                         for r in ("riverside--square",)]}  # fmt: skip
    assert edit(app_client, tokens, teaching.id, cut_off).status_code == 200
    body = {"a": {"scenario": teaching.id, "version": 1}, "b": {"scenario": teaching.id},
            "question": {"kind": "route", "from": "riverside", "to": "camp"}}  # fmt: skip
    got = app_client.post("/v1/compare", json=body, headers=tokens("planner")).json()
    assert got["a"]["routes"]
    assert got["b"]["type"] == "/problems/no-route" and got["b"]["cut"]["roads"]
    assert got["difference"]["survival_probability"] is None
    assert got["difference"]["consents_needed"]["b"] is None
    plan = {**body, "question": {"kind": "plan", "window": "pause-1", "method": "fast"}}
    plans = app_client.post("/v1/compare", json=plan, headers=tokens("planner")).json()
    for key in ("evacuated", "expected_harm", "expected_detained"):
        assert plans["difference"][key] == plans["b"][key] - plans["a"][key]
    bad = {**body, "question": {"kind": "walk"}}
    problem = assert_problem(
        app_client.post("/v1/compare", json=bad, headers=tokens("planner")), 422
    )
    assert problem["errors"][0]["pointer"] == "/question/kind"
    missing = {**body, "b": {"scenario": "nowhere"}}
    assert_problem(app_client.post("/v1/compare", json=missing, headers=tokens("planner")), 404)


def test_an_edited_fork_keeps_its_own_name(
    app_client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    fork = app_client.post(
        f"/v1/scenarios/{teaching.id}/forks", json={"name": "Ford open"}, headers=tokens("planner")
    ).json()
    assert edit(app_client, tokens, fork["id"], CLOSE_FORD).status_code == 200
    listed = app_client.get("/v1/scenarios", headers=tokens("viewer")).json()["items"]
    assert next(i for i in listed if i["id"] == fork["id"])["name"] == "Ford open"


def test_a_road_attached_report_is_drawn_at_its_road_with_its_label(
    app_client: TestClient, tokens: Tokens
) -> None:
    located = {
        "schema": "safe-passage/scenario@1",
        "as_of": "2016-12-15T10:00:00+02:00",
        "nodes": [{"id": "a", "lat": 36.0, "lon": 37.0}, {"id": "b", "lat": 36.02, "lon": 37.04}],
        "edges": [{"id": "a-b", "from": "a", "to": "b", "length_m": 4000}],
        "incidents": [{"id": "i1", "kind": "shelling", "edges": ["a-b"], "severity": 0.3,
                       "observed_at": "2016-12-15T09:00:00+02:00", "source": "field team",
                       "confidence": 0.8}],
    }  # fmt: skip
    sid = app_client.post("/v1/scenarios", json=located, headers=tokens("planner")).json()["id"]
    geo = app_client.get(f"/v1/scenarios/{sid}/map.geojson", headers=tokens("viewer")).json()
    (point,) = [f for f in geo["features"] if f["properties"].get("layer") == "incident"]
    assert point["geometry"]["coordinates"] == pytest.approx([37.02, 36.01])
    assert point["properties"]["road"] == "a-b"
    assert point["properties"]["label"] == "shelling, 1 h ago, field team, confidence 0.8"
