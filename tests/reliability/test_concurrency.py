"""Fifty writers at once against a real ``safe-passage serve``, on SQLite and on PostgreSQL.

Each writer has its own connection and they are released together by a barrier.
Fifty replacements (or fifty edits) holding the same ETag: exactly one wins, 49
get 412 naming the version that won, and the record holds versions 1 and 2 only,
version 2 being the winner's document. Fifty incident reports without If-Match: all are
kept, as versions 2…51 with no gap and no repeat, each report exactly once.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.api import assert_problem
from tests.deploy import Service, bearer, create_token, fresh_schema, load_teaching, running
from tests.deploy import service_env as base_env

WRITERS = 50


@dataclass
class Served:
    service: Service
    planner: dict[str, str]
    admin: dict[str, str]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp(f"writers-{request.param}")
    with ExitStack() as stack:
        url = None
        if request.param == "postgres":
            url, _, _ = stack.enter_context(fresh_schema())
        env = base_env(tmp, url)
        planner, admin = bearer(create_token(env, "planner")), bearer(create_token(env, "admin"))
        (service,) = stack.enter_context(running(env, tmp))
        yield Served(service, planner, admin)


def at_once(
    service: Service, call: Callable[[httpx.Client, int], httpx.Response]
) -> list[httpx.Response]:
    """``call(client, k)`` for k < WRITERS, each on its own connection, released together."""
    barrier = threading.Barrier(WRITERS)

    def one(k: int) -> httpx.Response:
        with httpx.Client(base_url=service.url, timeout=120) as client:
            client.get("/v1/health").raise_for_status()  # connect before the barrier
            barrier.wait(timeout=60)
            return call(client, k)

    with ThreadPoolExecutor(WRITERS) as pool:
        return list(pool.map(one, range(WRITERS)))


def create(served: Served, name: str) -> tuple[str, dict[str, Any]]:
    document = {**load_teaching(), "name": name}
    response = served.service.client.post("/v1/scenarios", json=document, headers=served.planner)
    assert response.status_code == 201, response.text
    return response.json()["id"], document


def versions(served: Served, scenario_id: str) -> list[dict[str, Any]]:
    response = served.service.client.get(
        f"/v1/scenarios/{scenario_id}/versions", headers=served.planner
    )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["versions"]
    return found


def test_fifty_replacements_with_one_etag_make_one_version(served: Served) -> None:
    scenario_id, document = create(served, "Fifty writers")
    url = f"/v1/scenarios/{scenario_id}"
    headers = {**served.planner, "If-Match": '"1"'}

    def replace(client: httpx.Client, k: int) -> httpx.Response:
        return client.put(url, json={**document, "name": f"variant {k}"}, headers=headers)

    responses = at_once(served.service, replace)

    assert Counter(r.status_code for r in responses) == {200: 1, 412: WRITERS - 1}
    winner = next(k for k, r in enumerate(responses) if r.status_code == 200)
    assert responses[winner].headers["ETag"] == '"2"'
    for response in responses:
        if response.status_code == 412:
            assert assert_problem(response, 412, "precondition-failed")["current_version"] == 2
    history = versions(served, scenario_id)
    assert [v["version"] for v in history] == [1, 2]
    assert [v["change"] for v in history] == ["created", "replaced"]
    current = served.service.client.get(url, headers=served.planner)
    assert current.headers["ETag"] == '"2"'
    assert current.json() == {**document, "name": f"variant {winner}"}
    first = served.service.client.get(f"{url}/versions/1", headers=served.planner)
    assert first.json() == document
    audit = served.service.client.get(
        f"/v1/audit?scenario_id={scenario_id}", headers=served.admin
    ).json()
    assert [e["action"] for e in audit["items"]] == ["scenario.replace", "scenario.create"]


def test_fifty_edits_with_one_etag_make_one_version(served: Served) -> None:
    scenario_id, _ = create(served, "Fifty editors")
    url = f"/v1/scenarios/{scenario_id}"
    headers = {**served.planner, "If-Match": '"1"'}

    def edit(client: httpx.Client, k: int) -> httpx.Response:
        body = {
            "reason": f"editor {k}",
            "edits": [{"op": "set_road", "road": "ford--mill", "risk": round(0.001 * k, 3)}],
        }
        return client.post(f"{url}/edits", json=body, headers=headers)  # fmt: skip

    responses = at_once(served.service, edit)

    assert Counter(r.status_code for r in responses) == {200: 1, 412: WRITERS - 1}
    winner = next(k for k, r in enumerate(responses) if r.status_code == 200)
    assert responses[winner].json()["reason"] == f"editor {winner}"
    for response in responses:
        if response.status_code == 412:
            assert assert_problem(response, 412, "precondition-failed")["current_version"] == 2
    history = versions(served, scenario_id)
    assert [(v["version"], v["kind"]) for v in history] == [(1, "created"), (2, "edited")]
    road = next(e for e in served.service.client.get(url, headers=served.planner).json()["edges"]
                if e["id"] == "ford--mill")  # fmt: skip
    assert road["risk"] == round(0.001 * winner, 3)


def report(k: int) -> dict[str, Any]:
    return {
        "id": f"writer-{k}",
        "kind": "shelling",
        "edges": ["ford--mill"],
        "severity": 0.01,
        "observed_at": "2025-03-01T09:00:00+00:00",
    }


def test_fifty_incident_reports_without_if_match_are_all_kept_in_order(served: Served) -> None:
    scenario_id, document = create(served, "Fifty reporters")
    url = f"/v1/scenarios/{scenario_id}/incidents"

    def add(client: httpx.Client, k: int) -> httpx.Response:
        return client.post(url, json={"incidents": [report(k)]}, headers=served.planner)

    responses = at_once(served.service, add)

    assert [r.status_code for r in responses] == [201] * WRITERS, [
        r.text for r in responses if r.status_code != 201
    ]
    assert sorted(r.json()["version"] for r in responses) == list(range(2, WRITERS + 2))
    history = versions(served, scenario_id)
    assert [v["version"] for v in history] == list(range(1, WRITERS + 2))
    # Each version holds the one before it plus exactly one new report.
    seen = {i["id"] for i in document["incidents"]}
    for v in range(2, WRITERS + 2):
        stored = served.service.client.get(
            f"/v1/scenarios/{scenario_id}/versions/{v}", headers=served.planner
        ).json()
        ids = [i["id"] for i in stored["incidents"]]
        assert len(ids) == len(set(ids)), v
        new = set(ids) - seen
        assert len(new) == 1 and seen <= set(ids), (v, new)
        seen |= new
    assert seen == {i["id"] for i in document["incidents"]} | {
        f"writer-{k}" for k in range(WRITERS)
    }
