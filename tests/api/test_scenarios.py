"""Stored scenarios over HTTP: create, read, replace with If-Match, delete, versions, incidents.

Every change makes a new immutable version; the ETag is the version; a rejected
request leaves the store exactly as it was.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import yaml
from fastapi.testclient import TestClient

from tests.api import (
    ALEPPO,
    TEACHING,
    Stored,
    Tokens,
    assert_problem,
    engine_of,
    load,
    store,
    store_snapshot,
)

SHELLING = {
    "id": "shelling-mill",
    "kind": "shelling",
    "edges": ["hilltop--mill"],
    "severity": 0.5,
    "confidence": 0.8,
    "observed_at": "2025-03-01T09:00:00+00:00",
    "half_life_h": 12,
    "source": "field report",
}


def renamed(document: dict[str, Any], name: str) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    changed["name"] = name
    return changed


def versions(client: TestClient, tokens: Tokens, scenario_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/v1/scenarios/{scenario_id}/versions", headers=tokens("viewer"))
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["versions"]
    return found


# --- create and read ----------------------------------------------------------------------


def test_create_answers_201_with_location_and_etag_and_reads_back_the_same_document(
    app_client: TestClient, tokens: Tokens
) -> None:
    document = load(TEACHING)
    response = app_client.post("/v1/scenarios", json=document, headers=tokens("planner"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["version"] == 1
    assert (body["nodes"], body["edges"]) == (len(document["nodes"]), len(document["edges"]))
    assert body["change"] == "created"
    assert body["created_by"] == tokens.ids["planner"]
    assert response.headers["Location"] == f"/v1/scenarios/{body['id']}"
    assert response.headers["ETag"] == '"1"'

    read = app_client.get(response.headers["Location"], headers=tokens("viewer"))
    assert read.status_code == 200
    assert read.headers["ETag"] == '"1"'
    assert read.json() == document


def test_a_yaml_document_is_stored_as_the_same_data(app_client: TestClient, tokens: Tokens) -> None:
    document = load(TEACHING)
    response = app_client.post(
        "/v1/scenarios",
        content=yaml.safe_dump(document, allow_unicode=True).encode(),
        headers={**tokens("planner"), "Content-Type": "application/yaml"},
    )
    assert response.status_code == 201, response.text
    read = app_client.get(response.headers["Location"], headers=tokens("viewer"))
    assert read.json() == document


def test_the_same_name_twice_gets_two_ids(app_client: TestClient, tokens: Tokens) -> None:
    first = store(app_client, tokens("planner"), load(TEACHING))
    second = store(app_client, tokens("planner"), load(TEACHING))
    assert first.id != second.id
    assert {first.id, second.id} == {"teaching-network", "teaching-network-2"}


def test_the_list_is_paged_and_shows_current_versions(
    app_client: TestClient, tokens: Tokens
) -> None:
    ids = [store(app_client, tokens("planner"), load(TEACHING)).id for _ in range(3)]
    app_client.put(
        f"/v1/scenarios/{ids[0]}",
        json=renamed(load(TEACHING), "Teaching, revised"),
        headers={**tokens("planner"), "If-Match": '"1"'},
    ).raise_for_status()

    first = app_client.get("/v1/scenarios?limit=2", headers=tokens("viewer")).json()
    assert first["total"] == 3
    assert [i["id"] for i in first["items"]] == ids[:2]
    assert first["items"][0]["version"] == 2
    assert first["items"][0]["name"] == "Teaching, revised"
    assert first["next"] is not None
    second = app_client.get(first["next"], headers=tokens("viewer")).json()
    assert [i["id"] for i in second["items"]] == ids[2:]
    assert second["next"] is None


# --- versions and ETags -------------------------------------------------------------------


def test_every_change_makes_a_new_immutable_version(
    app_client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    planner = tokens("planner")
    url = f"/v1/scenarios/{teaching.id}"
    revised = renamed(teaching.document, "Teaching, revised")

    put = app_client.put(url, json=revised, headers={**planner, "If-Match": teaching.etag})
    assert put.status_code == 200, put.text
    assert put.headers["ETag"] == '"2"'
    assert put.json()["version"] == 2

    added = app_client.post(f"{url}/incidents", json={"incidents": [SHELLING]}, headers=planner)
    assert added.status_code == 201, added.text
    assert added.headers["ETag"] == '"3"'

    listed = versions(app_client, tokens, teaching.id)
    assert [v["version"] for v in listed] == [1, 2, 3]
    assert [v["change"] for v in listed] == ["created", "replaced", "1 incident(s) added"]
    assert len({v["sha256"] for v in listed}) == 3

    current = app_client.get(url, headers=tokens("viewer"))
    assert current.headers["ETag"] == '"3"'
    assert current.json()["incidents"] == [*teaching.document["incidents"], SHELLING]
    assert current.json()["name"] == "Teaching, revised"
    # The older versions still read exactly as they were stored.
    assert app_client.get(f"{url}?version=1", headers=tokens("viewer")).json() == teaching.document
    old = app_client.get(f"{url}/versions/2", headers=tokens("viewer"))
    assert old.headers["ETag"] == '"2"'
    assert old.json() == revised


def test_put_without_if_match_is_428_and_with_a_stale_etag_412(
    app_client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    planner = tokens("planner")
    url = f"/v1/scenarios/{teaching.id}"
    revised = renamed(teaching.document, "revised")

    assert_problem(app_client.put(url, json=revised, headers=planner), 428, "precondition-required")
    ok = app_client.put(url, json=revised, headers={**planner, "If-Match": '"1"'})
    assert ok.status_code == 200
    stale = app_client.put(url, json=revised, headers={**planner, "If-Match": '"1"'})
    body = assert_problem(stale, 412, "precondition-failed")
    assert body["current_version"] == 2
    assert_problem(
        app_client.put(url, json=revised, headers={**planner, "If-Match": "yesterday"}), 412
    )
    assert [v["version"] for v in versions(app_client, tokens, teaching.id)] == [1, 2]


def test_if_match_accepts_weak_and_wildcard_etags(
    app_client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    planner = tokens("planner")
    url = f"/v1/scenarios/{teaching.id}"
    weak = app_client.put(url, json=teaching.document, headers={**planner, "If-Match": 'W/"1"'})
    assert weak.headers["ETag"] == '"2"'
    anything = app_client.put(url, json=teaching.document, headers={**planner, "If-Match": "*"})
    assert anything.headers["ETag"] == '"3"'


def test_put_on_a_missing_scenario_is_404(app_client: TestClient, tokens: Tokens) -> None:
    response = app_client.put(
        "/v1/scenarios/nowhere",
        json=load(TEACHING),
        headers={**tokens("planner"), "If-Match": '"1"'},
    )
    assert_problem(response, 404, "not-found")


def test_delete_is_204_then_the_scenario_is_gone(
    app_client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    url = f"/v1/scenarios/{teaching.id}"
    stale = app_client.delete(url, headers={**tokens("planner"), "If-Match": '"7"'})
    assert_problem(stale, 412, "precondition-failed")
    assert app_client.get(url, headers=tokens("viewer")).status_code == 200

    deleted = app_client.delete(url, headers=tokens("planner"))
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert_problem(app_client.get(url, headers=tokens("viewer")), 404, "not-found")
    assert_problem(app_client.get(f"{url}/versions", headers=tokens("viewer")), 404)
    assert_problem(app_client.delete(url, headers=tokens("planner")), 404)
    assert app_client.get("/v1/scenarios", headers=tokens("viewer")).json()["total"] == 0


def test_unknown_scenarios_and_versions_are_404(
    app_client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    viewer = tokens("viewer")
    assert_problem(app_client.get("/v1/scenarios/nowhere", headers=viewer), 404, "not-found")
    assert_problem(app_client.get(f"/v1/scenarios/{teaching.id}?version=9", headers=viewer), 404)
    assert_problem(app_client.get(f"/v1/scenarios/{teaching.id}/versions/9", headers=viewer), 404)
    assert_problem(
        app_client.post(
            "/v1/scenarios/nowhere/incidents",
            json={"incidents": [SHELLING]},
            headers=tokens("planner"),
        ),
        404,
    )


# --- incidents ----------------------------------------------------------------------------


def test_incidents_with_a_stale_if_match_are_412(
    app_client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    url = f"/v1/scenarios/{teaching.id}/incidents"
    planner = tokens("planner")
    first = app_client.post(
        url, json={"incidents": [SHELLING]}, headers={**planner, "If-Match": '"1"'}
    )
    assert first.status_code == 201
    again = {**SHELLING, "id": "shelling-2"}
    stale = app_client.post(
        url, json={"incidents": [again]}, headers={**planner, "If-Match": '"1"'}
    )
    assert assert_problem(stale, 412)["current_version"] == 2


def test_bad_incidents_are_reported_at_pointers_into_the_request(
    app_client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    bad = {**SHELLING, "id": "shelling-2", "edges": ["no-such-road"], "severity": 2}
    response = app_client.post(
        f"/v1/scenarios/{teaching.id}/incidents",
        json={"incidents": [SHELLING, bad]},
        headers=tokens("planner"),
    )
    body = assert_problem(response, 422, "invalid-document")
    # teaching.json already has one incident; the pointers name the request's own list.
    assert {e["pointer"] for e in body["errors"]} == {
        "/incidents/1/edges/0",
        "/incidents/1/severity",
    }


# --- a rejected request changes nothing ---------------------------------------------------


def bad_document() -> dict[str, Any]:
    document = load(TEACHING)
    document["edges"][0]["risk"] = 1.5
    document["edges"][1]["to"] = "nowhere"
    return document


REJECTED: list[tuple[str, str, Callable[[Stored], dict[str, Any]], str | None, int]] = [
    # (name, method+path, request kwargs, role, status)
    ("invalid PUT", "PUT", lambda s: {"json": bad_document(), "If-Match": s.etag}, "planner", 422),
    ("stale PUT", "PUT", lambda s: {"json": s.document, "If-Match": '"0"'}, "planner", 412),
    ("PUT without If-Match", "PUT", lambda s: {"json": s.document}, "planner", 428),
    ("PUT by a viewer", "PUT", lambda s: {"json": s.document, "If-Match": s.etag}, "viewer", 403),
    ("PUT without token", "PUT", lambda s: {"json": s.document, "If-Match": s.etag}, None, 401),
    ("PUT too large", "PUT", lambda s: {"aleppo": True, "If-Match": s.etag}, "planner", 413),
    ("invalid POST", "POST", lambda s: {"json": bad_document()}, "planner", 422),
    ("POST by a viewer", "POST", lambda s: {"json": s.document}, "viewer", 403),
    ("POST too large", "POST", lambda s: {"aleppo": True}, "planner", 413),
    ("POST as text/csv", "POST", lambda s: {"csv": True}, "planner", 415),
    ("bad incident", "INCIDENTS", lambda s: {"json": {"incidents": [{"id": "x"}]}}, "planner", 422),
    (
        "stale incidents",
        "INCIDENTS",
        lambda s: {"json": {"incidents": [SHELLING]}, "If-Match": '"5"'},
        "planner",
        412,
    ),
    (
        "incidents by a viewer",
        "INCIDENTS",
        lambda s: {"json": {"incidents": [SHELLING]}},
        "viewer",
        403,
    ),
    ("DELETE by a viewer", "DELETE", lambda s: {}, "viewer", 403),
    ("stale DELETE", "DELETE", lambda s: {"If-Match": '"3"'}, "planner", 412),
]


def test_a_rejected_request_changes_nothing_in_the_store(
    make_client: Callable[..., TestClient], tokens: Tokens, teaching: Stored
) -> None:
    # A replica with a limit between the sizes of teaching.json (5 KB) and aleppo (330 KB).
    client = make_client(max_body_bytes=64 * 1024)
    viewer = tokens("viewer")
    url = f"/v1/scenarios/{teaching.id}"
    before_store = store_snapshot(engine_of(client))
    before_versions = versions(client, tokens, teaching.id)
    assert client.get(url, headers=viewer).json() == teaching.document
    target = {"PUT": url, "DELETE": url, "POST": "/v1/scenarios", "INCIDENTS": f"{url}/incidents"}

    for name, method, make, role, status in REJECTED:
        spec = make(teaching)
        headers = tokens(role) if role else {}
        if "If-Match" in spec:
            headers["If-Match"] = spec.pop("If-Match")
        if spec.pop("aleppo", False):
            spec["content"] = ALEPPO.read_bytes()
            headers["Content-Type"] = "application/json"
        if spec.pop("csv", False):
            spec["content"] = b"id,from,to\na-b,a,b\n"
            headers["Content-Type"] = "text/csv"
        verb = {"INCIDENTS": "POST"}.get(method, method)
        response = client.request(verb, target[method], headers=headers, **spec)

        assert response.status_code == status, (name, response.text)
        assert_problem(response, status)
        assert store_snapshot(engine_of(client)) == before_store, name
        assert versions(client, tokens, teaching.id) == before_versions, name
        current = client.get(url, headers=viewer)
        assert current.headers["ETag"] == teaching.etag, name
        assert current.json() == teaching.document, name
