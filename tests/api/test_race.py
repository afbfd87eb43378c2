"""Concurrent writers on both backends: of several holding the same ETag exactly one wins.

The writers are threads, each with its own client, spread over two app instances
on the same database (two replicas), released together by a barrier.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.api import TEACHING, Stored, Tokens, app_of, load

WRITERS = 12


def race(
    replicas: list[TestClient], call: Callable[[TestClient, int], httpx.Response]
) -> list[httpx.Response]:
    """Run ``call(client, k)`` for k in range(WRITERS) at once; the responses in k order."""
    barrier = threading.Barrier(WRITERS)

    def one(k: int) -> httpx.Response:
        client = TestClient(app_of(replicas[k % len(replicas)]))  # a connection of its own
        barrier.wait(timeout=30)
        return call(client, k)

    with ThreadPoolExecutor(WRITERS) as pool:
        return list(pool.map(one, range(WRITERS)))


def versions(client: TestClient, tokens: Tokens, scenario_id: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = client.get(
        f"/v1/scenarios/{scenario_id}/versions", headers=tokens("viewer")
    ).json()["versions"]
    return listed


def test_racing_puts_on_the_same_etag_exactly_one_wins(
    app_client: TestClient,
    make_client: Callable[..., TestClient],
    tokens: Tokens,
    teaching: Stored,
) -> None:
    replicas = [app_client, make_client()]
    url = f"/v1/scenarios/{teaching.id}"
    headers = {**tokens("planner"), "If-Match": teaching.etag}

    def put(client: TestClient, k: int) -> httpx.Response:
        return client.put(url, json={**teaching.document, "name": f"variant {k}"}, headers=headers)

    responses = race(replicas, put)

    assert Counter(r.status_code for r in responses) == {200: 1, 412: WRITERS - 1}
    winner = next(k for k, r in enumerate(responses) if r.status_code == 200)
    assert responses[winner].headers["ETag"] == '"2"'
    for r in responses:
        if r.status_code == 412:
            assert r.json()["current_version"] == 2
    assert [v["version"] for v in versions(app_client, tokens, teaching.id)] == [1, 2]
    current = replicas[1].get(url, headers=tokens("viewer"))
    assert current.headers["ETag"] == '"2"'
    assert current.json() == {**teaching.document, "name": f"variant {winner}"}
    audit = app_client.get(f"/v1/audit?scenario_id={teaching.id}", headers=tokens("admin"))
    assert [e["action"] for e in audit.json()["items"]] == ["scenario.replace", "scenario.create"]


def test_racing_put_and_delete_on_the_same_etag_exactly_one_wins(
    app_client: TestClient,
    make_client: Callable[..., TestClient],
    tokens: Tokens,
    teaching: Stored,
) -> None:
    url = f"/v1/scenarios/{teaching.id}"
    headers = {**tokens("planner"), "If-Match": teaching.etag}

    def put_or_delete(client: TestClient, k: int) -> httpx.Response:
        if k % 2:
            return client.delete(url, headers=headers)
        return client.put(url, json=teaching.document, headers=headers)

    responses = race([app_client, make_client()], put_or_delete)
    statuses = [r.status_code for r in responses]
    assert sum(s in (200, 204) for s in statuses) == 1, statuses
    assert all(s in (200, 204, 404, 412) for s in statuses), statuses
    after = app_client.get(url, headers=tokens("viewer"))
    if 204 in statuses:
        assert after.status_code == 404
    else:
        assert after.headers["ETag"] == '"2"'
        assert [v["version"] for v in versions(app_client, tokens, teaching.id)] == [1, 2]


def test_racing_incidents_on_the_same_etag_exactly_one_wins(
    app_client: TestClient,
    make_client: Callable[..., TestClient],
    tokens: Tokens,
    teaching: Stored,
) -> None:
    url = f"/v1/scenarios/{teaching.id}/incidents"
    headers = {**tokens("planner"), "If-Match": teaching.etag}

    def report(client: TestClient, k: int) -> httpx.Response:
        return client.post(url, json={"incidents": [incident(k)]}, headers=headers)

    responses = race([app_client, make_client()], report)
    assert Counter(r.status_code for r in responses) == {201: 1, 412: WRITERS - 1}
    assert [v["version"] for v in versions(app_client, tokens, teaching.id)] == [1, 2]


def test_racing_incidents_without_if_match_are_all_kept(
    app_client: TestClient,
    make_client: Callable[..., TestClient],
    tokens: Tokens,
    teaching: Stored,
) -> None:
    url = f"/v1/scenarios/{teaching.id}"

    def report(client: TestClient, k: int) -> httpx.Response:
        return client.post(
            f"{url}/incidents", json={"incidents": [incident(k)]}, headers=tokens("planner")
        )

    responses = race([app_client, make_client()], report)
    assert [r.status_code for r in responses] == [201] * WRITERS, [r.text for r in responses]
    assert sorted(r.json()["version"] for r in responses) == list(range(2, WRITERS + 2))
    assert len(versions(app_client, tokens, teaching.id)) == WRITERS + 1
    kept = app_client.get(url, headers=tokens("viewer")).json()["incidents"]
    assert sorted(i["id"] for i in kept) == sorted(
        [i["id"] for i in teaching.document["incidents"]] + [f"report-{k}" for k in range(WRITERS)]
    )


def test_racing_creates_of_one_name_get_distinct_ids(
    app_client: TestClient, make_client: Callable[..., TestClient], tokens: Tokens
) -> None:
    document = load(TEACHING)

    def create(client: TestClient, _: int) -> httpx.Response:
        return client.post("/v1/scenarios", json=document, headers=tokens("planner"))

    responses = race([app_client, make_client()], create)
    assert [r.status_code for r in responses] == [201] * WRITERS, [r.text for r in responses]
    ids = {r.json()["id"] for r in responses}
    assert ids == {"teaching-network"} | {f"teaching-network-{n}" for n in range(2, WRITERS + 1)}
    listed = app_client.get("/v1/scenarios?limit=100", headers=tokens("viewer")).json()
    assert {i["id"] for i in listed["items"]} == ids


def incident(k: int) -> dict[str, Any]:
    return {
        "id": f"report-{k}",
        "kind": "shelling",
        "edges": ["ford--mill"],
        "severity": 0.1,
        "observed_at": "2025-03-01T09:00:00+00:00",
    }


def test_racing_edits_on_the_same_etag_exactly_one_wins_and_reads_back_whole(
    app_client: TestClient,
    make_client: Callable[..., TestClient],
    tokens: Tokens,
    teaching: Stored,
) -> None:
    replicas = [app_client, make_client()]
    url = f"/v1/scenarios/{teaching.id}/edits"
    headers = {**tokens("planner"), "If-Match": teaching.etag}
    roads = [e["id"] for e in teaching.document["edges"]]

    def edit(client: TestClient, k: int) -> httpx.Response:
        body = {"reason": f"writer {k}", "edits": [
            {"op": "set_road", "road": roads[k % len(roads)], "risk": round(0.01 * (k + 1), 2)}
        ]}  # fmt: skip
        return client.post(url, json=body, headers=headers)

    responses = race(replicas, edit)

    assert Counter(r.status_code for r in responses) == {200: 1, 412: WRITERS - 1}
    winner = next(k for k, r in enumerate(responses) if r.status_code == 200)
    assert responses[winner].headers["ETag"] == '"2"'
    assert all(r.json()["current_version"] == 2 for r in responses if r.status_code == 412)
    history = versions(app_client, tokens, teaching.id)
    assert [(v["version"], v["reason"]) for v in history] == [(1, None), (2, f"writer {winner}")]
    # Both replicas read the one edited version alike, with only the winner's road changed.
    reads = [r.get(f"/v1/scenarios/{teaching.id}", headers=tokens("viewer")) for r in replicas]
    assert reads[0].content == reads[1].content
    changed = {e["id"]: e for e in reads[0].json()["edges"]}
    for e in teaching.document["edges"]:
        expected = round(0.01 * (winner + 1), 2) if e["id"] == roads[winner % len(roads)] else e
        if e["id"] == roads[winner % len(roads)]:
            assert changed[e["id"]]["risk"] == expected
        else:
            assert changed[e["id"]] == e
