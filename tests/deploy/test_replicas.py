"""Two real ``safe-passage serve`` processes on one PostgreSQL behave as one service.

A write through one replica is read through the other at once; a replica that
compiled an older version never answers with it once the scenario changed;
conflicting writes through different replicas give exactly one winner and
412s for the others.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.deploy import (
    Service,
    bearer,
    create_token,
    fresh_schema,
    load_teaching,
    running,
    service_env,
)

pytestmark = pytest.mark.postgres

ROUTE = {"from": "hilltop", "to": "camp"}
CONFLICT_ROUNDS = 8


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, Service, str]]:
    """Replicas A and B started together on a fresh schema (both migrate it at start)."""
    tmp = tmp_path_factory.mktemp("replicas")
    with fresh_schema() as (url, _, _):
        env = service_env(tmp, url)
        with running(env, tmp, count=2) as (a, b):
            yield a, b, create_token(env, "planner")


def route_edges(service: Service, token: str, scenario_id: str, **query: Any) -> list[str]:
    response = service.client.post(
        f"/v1/scenarios/{scenario_id}/routes", json=ROUTE, headers=bearer(token), params=query
    )
    assert response.status_code == 200, response.text
    edges: list[str] = response.json()["routes"][0]["edges"]
    return edges


def blocked(document: dict[str, Any], edge_id: str) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    for edge in changed["edges"]:
        if edge["id"] == edge_id:
            edge["status"] = "blocked"
    return changed


def test_a_write_on_one_replica_is_read_on_the_other_at_once(
    replicas: tuple[Service, Service, str],
) -> None:
    a, b, token = replicas
    document = load_teaching()
    created = a.client.post("/v1/scenarios", json=document, headers=bearer(token))
    assert created.status_code == 201, created.text
    sid = created.json()["id"]

    read = b.client.get(f"/v1/scenarios/{sid}", headers=bearer(token))
    assert read.status_code == 200, read.text
    assert read.headers["etag"] == '"1"'
    assert read.json() == document

    # B compiles version 1 and answers from its cache from now on.
    first = route_edges(b, token, sid)
    assert route_edges(b, token, sid) == first

    # A replaces the scenario, blocking the first road of that route.
    replaced = a.client.put(
        f"/v1/scenarios/{sid}",
        json=blocked(document, first[0]),
        headers={**bearer(token), "If-Match": '"1"'},
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.headers["etag"] == '"2"'

    # B's next answer is on version 2, never its cached version 1.
    second = route_edges(b, token, sid)
    assert first[0] not in second
    assert second == route_edges(a, token, sid)
    # Version 1 is immutable and still answerable on both replicas.
    assert route_edges(a, token, sid, version=1) == first

    # Incidents reported through B are seen through A.
    incident = {
        "id": "deploy-test-shelling",
        "kind": "shelling",
        "edges": [second[0]],
        "severity": 0.5,
        "confidence": 1.0,
        "observed_at": document["as_of"],
    }
    added = b.client.post(
        f"/v1/scenarios/{sid}/incidents", json={"incidents": [incident]}, headers=bearer(token)
    )
    assert added.status_code == 201, added.text
    seen = a.client.get(f"/v1/scenarios/{sid}", headers=bearer(token))
    assert seen.headers["etag"] == '"3"'
    assert incident["id"] in [i["id"] for i in seen.json()["incidents"]]

    # Deleted through B: gone through A.
    assert b.client.delete(f"/v1/scenarios/{sid}", headers=bearer(token)).status_code == 204
    assert a.client.get(f"/v1/scenarios/{sid}", headers=bearer(token)).status_code == 404


def race(
    sid: str,
    token: str,
    version: int,
    services: dict[str, Service],
) -> dict[str, httpx.Response]:
    """Replace scenario ``sid`` onto ``version`` through every service at the same moment.

    Each writes the description ``"<service name> onto <version>"``.
    """
    document = load_teaching()
    start = threading.Barrier(len(services))

    def put(name: str) -> httpx.Response:
        body = {**document, "description": f"{name} onto {version}"}
        with httpx.Client(base_url=services[name].url, timeout=30) as client:
            start.wait()
            return client.put(
                f"/v1/scenarios/{sid}",
                json=body,
                headers={**bearer(token), "If-Match": f'"{version}"'},
            )

    with ThreadPoolExecutor(len(services)) as pool:
        return dict(zip(services, pool.map(put, services), strict=True))


def test_conflicting_writes_through_two_replicas_have_one_winner(
    replicas: tuple[Service, Service, str],
) -> None:
    a, b, token = replicas
    document = load_teaching()
    created = a.client.post("/v1/scenarios", json=document, headers=bearer(token))
    assert created.status_code == 201, created.text
    sid = created.json()["id"]

    for version in range(1, CONFLICT_ROUNDS + 1):
        answers = race(sid, token, version, {"A": a, "B": b})
        statuses = {name: r.status_code for name, r in answers.items()}
        assert sorted(statuses.values()) == [200, 412], statuses
        winner = next(n for n, s in statuses.items() if s == 200)
        loser = next(n for n, s in statuses.items() if s == 412)
        assert answers[winner].json()["version"] == version + 1
        assert answers[loser].json()["type"].endswith("/precondition-failed")

        # Both replicas now read the winner's document.
        for service in (a, b):
            read = service.client.get(f"/v1/scenarios/{sid}", headers=bearer(token))
            assert read.headers["etag"] == f'"{version + 1}"'
            assert read.json()["description"] == f"{winner} onto {version}"

    history = b.client.get(f"/v1/scenarios/{sid}/versions", headers=bearer(token))
    assert [v["version"] for v in history.json()["versions"]] == list(range(1, CONFLICT_ROUNDS + 2))


def logged(service: Service, request_id: str) -> list[dict[str, Any]]:
    """The log entries of one request; the line is written just after the response is sent."""
    deadline = time.monotonic() + 10
    while True:
        entries = [json.loads(line) for line in service.log_lines() if line.startswith("{")]
        mine = [e for e in entries if e.get("request_id") == request_id]
        if mine or time.monotonic() > deadline:
            return mine
        time.sleep(0.05)


def test_every_request_is_one_json_log_line_with_its_request_id(
    replicas: tuple[Service, Service, str],
) -> None:
    a, b, token = replicas
    for service, request_id in ((a, "deploy-test-a-1"), (b, "deploy-test-b-1")):
        response = service.client.get(
            "/v1/scenarios", headers={**bearer(token), "X-Request-ID": request_id}
        )
        assert response.headers["x-request-id"] == request_id
        mine = logged(service, request_id)
        assert len(mine) == 1, mine
        assert mine[0]["route"] == "/v1/scenarios"
        assert mine[0]["status"] == 200
        assert mine[0]["level"] == "info"


def test_each_replica_counts_its_own_cache(replicas: tuple[Service, Service, str]) -> None:
    a, b, token = replicas

    def counter(service: Service, name: str) -> float:
        text = service.client.get("/metrics").text
        line = next(x for x in text.splitlines() if x.startswith(name + " "))
        return float(line.split()[1])

    created = a.client.post("/v1/scenarios", json=load_teaching(), headers=bearer(token))
    sid = created.json()["id"]
    misses_b = counter(b, "safe_passage_network_cache_misses_total")
    hits_b = counter(b, "safe_passage_network_cache_hits_total")
    hits_a = counter(a, "safe_passage_network_cache_hits_total")
    route_edges(b, token, sid)
    route_edges(b, token, sid)
    assert counter(b, "safe_passage_network_cache_misses_total") == misses_b + 1
    assert counter(b, "safe_passage_network_cache_hits_total") == hits_b + 1
    assert counter(a, "safe_passage_network_cache_hits_total") == hits_a
