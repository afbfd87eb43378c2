"""Route answers are the same bytes however they are answered, and every one is audited.

A route question is answered by the plain-question path before FastAPI (app.api.fast_routes)
or through FastAPI (a query string sends it there), computed or kept from an earlier ask
(app.services.answers), with or without kept answers (``SAFE_PASSAGE_ANSWER_CACHE_BYTES=0``).
Every way must send what the operation sent before any of them existed: the route document
as ``orjson.dumps(compute_routes(network, question))`` and an error as the problem handler's
``from_error(error, instance=path)``, recomputed here from the scenario file.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from app.api.deps import planner
from app.api.problems import from_error
from app.domain.errors import ScenarioError
from app.domain.network.graph import Network
from app.domain.scenario.reading import validate_scenario
from app.services.requests import RouteRequest
from app.services.routes import compute_routes
from tests.api import ALEPPO, Tokens, bearer, load, store

PATH = "/v1/scenarios/aleppo/routes"

VARIANTS: list[dict[str, Any]] = [
    {},
    {"alternatives": 3},
    {"disjoint": True},
    {"pareto": True},
    {"max_risk": 0.001},
    {"profile": "no-such-profile"},
]


def questions() -> list[dict[str, Any]]:
    document = load(ALEPPO)
    zones = [n["id"] for n in document["nodes"] if n.get("kind") == "safe_zone"]
    districts = [n["id"] for n in document["nodes"] if n.get("kind") == "district"]
    asked: list[dict[str, Any]] = [{"from": d, "to": z} for d in districts for z in zones]
    answered = ["as-sukkari", "al-rashideen"]
    asked += [{"from": answered[0], "to": answered[1], **v} for v in VARIANTS]
    asked += [{"from": "no-such-place", "to": zones[0]}]
    return asked


def as_before(network: Network, question: dict[str, Any]) -> tuple[int, str, bytes]:
    """What the operation sent before: status, content type and body."""
    try:
        answer = compute_routes(network, RouteRequest.model_validate(question))
    except ScenarioError as exc:
        sent = from_error(exc, instance=PATH)
        return sent.status_code, sent.media_type or "", bytes(sent.body)
    return 200, "application/json", orjson.dumps(answer)


def sent(response: Any) -> tuple[int, str, bytes]:
    assert response.headers["content-length"] == str(len(response.content))
    return response.status_code, response.headers["content-type"], response.content


@pytest.fixture
def aleppo(app_client: TestClient, tokens: Tokens) -> str:
    stored = store(app_client, tokens("planner"), {**load(ALEPPO), "name": "aleppo"})
    assert stored.id == "aleppo"
    return stored.id


def route_audit(client: TestClient, tokens: Tokens) -> list[dict[str, Any]]:
    page = client.get("/v1/audit?limit=500&scenario_id=aleppo", headers=tokens("admin")).json()
    return [e for e in reversed(page["items"]) if e["action"] == "route.compute"]


def test_every_way_of_answering_sends_the_bytes_sent_before_and_audits_every_route(
    app_client: TestClient, tokens: Tokens, aleppo: str, make_client: Callable[..., TestClient]
) -> None:
    network = Network(validate_scenario(load(ALEPPO)))
    planner_headers = tokens("planner")
    uncached = make_client(answer_cache_bytes=0)  # a replica keeping no answers
    expected_audit = []
    statuses = set()
    for question in questions():
        before = as_before(network, question)
        statuses.add(before[0])
        ways = {
            "plain, computed": app_client.post(PATH, json=question, headers=planner_headers),
            "plain, kept": app_client.post(PATH, json=question, headers=planner_headers),
            "through FastAPI, kept": app_client.post(
                PATH + "?version=1", json=question, headers=planner_headers
            ),
            "no answers kept": uncached.post(PATH, json=question, headers=planner_headers),
        }
        for way, response in ways.items():
            assert sent(response) == before, (way, question)
        if before[0] == 200:
            routes = len(orjson.loads(before[2])["routes"])
            detail = {"from": question["from"], "to": question["to"], "routes": routes}
            expected_audit += [detail] * 4
    assert statuses == {200, 422}
    uncached.app.state.catalog.repo.flush_audit()  # type: ignore[attr-defined]  # its next second
    audit = route_audit(app_client, tokens)  # both replicas' records, the same store
    # Each replica writes its own batches: the two replicas' records interleave by batch.
    assert sorted(map(orjson.dumps, (e["detail"] for e in audit))) == sorted(
        map(orjson.dumps, expected_audit)
    )
    assert {(e["actor"], e["role"], e["version"]) for e in audit} == {("petra", "planner", 1)}


def test_plain_questions_are_answered_without_fastapis_dependencies(
    app_client: TestClient, tokens: Tokens, aleppo: str
) -> None:
    question = {"from": "as-sukkari", "to": "al-rashideen"}
    headers = tokens("planner")
    first = app_client.post(PATH, json=question, headers=headers)  # token looked up
    assert first.status_code == 200

    def unreachable() -> None:
        raise AssertionError("went through FastAPI's dependencies")

    app_client.app.dependency_overrides[planner] = unreachable  # type: ignore[attr-defined]
    try:
        plain = app_client.post(PATH, json=question, headers=headers)
        assert sent(plain) == sent(first)
        with pytest.raises(AssertionError, match="FastAPI's dependencies"):
            app_client.post(PATH + "?version=1", json=question, headers=headers)
    finally:
        app_client.app.dependency_overrides.clear()  # type: ignore[attr-defined]
    # The access log and the metrics name the operation alike on both paths.
    metrics = app_client.get("/metrics").text
    line = next(
        m
        for m in metrics.splitlines()
        if m.startswith("safe_passage_http_requests_total")
        and 'route="/v1/scenarios/{scenario_id}/routes"' in m
        and 'status="200"' in m
    )
    assert float(line.rsplit(" ", 1)[1]) >= 2


def test_unusual_requests_go_the_usual_way_and_get_the_usual_problems(
    app_client: TestClient, tokens: Tokens, aleppo: str
) -> None:
    question = {"from": "as-sukkari", "to": "al-rashideen"}
    assert app_client.post(PATH, json=question, headers=tokens("planner")).status_code == 200
    cases: list[tuple[dict[str, str], Any, int, str]] = [
        ({}, question, 401, "unauthorized"),
        (bearer("sp_wrong"), question, 401, "unauthorized"),
        (tokens("viewer"), question, 403, "forbidden"),
        (tokens("planner"), {"from": "as-sukkari"}, 422, "invalid-request"),
        (tokens("planner"), {**question, "colour": "red"}, 422, "invalid-request"),
    ]
    for headers, body, status, slug in cases:
        response = app_client.post(PATH, json=body, headers=headers)
        assert response.status_code == status, (headers, body, response.text)
        assert response.json()["type"].endswith("/" + slug)
    broken = app_client.post(
        PATH,
        content=b'{"from": ',
        headers={**tokens("planner"), "content-type": "application/json"},
    )
    assert broken.status_code == 422 and broken.json()["errors"][0]["pointer"] == ""
    missing = app_client.post(
        "/v1/scenarios/nowhere/routes", json=question, headers=tokens("planner")
    )
    assert (
        missing.status_code == 404 and missing.json()["instance"] == "/v1/scenarios/nowhere/routes"
    )


def test_a_token_revoked_through_another_replica_stops_within_a_second(
    app_client: TestClient, tokens: Tokens, aleppo: str, make_client: Callable[..., TestClient]
) -> None:
    from app.services.access import TokenCache

    now = [0.0]
    cache = TokenCache(app_client.app.state.catalog.repo.find_token, clock=lambda: now[0])  # type: ignore[attr-defined]
    app_client.app.state.tokens = cache  # type: ignore[attr-defined]
    question = {"from": "as-sukkari", "to": "al-rashideen"}
    headers = tokens("planner")
    assert app_client.post(PATH, json=question, headers=headers).status_code == 200
    other = make_client()
    revoked = other.delete(f"/v1/tokens/{tokens.ids['planner']}", headers=tokens("admin"))
    assert revoked.status_code == 200
    for t in itertools.takewhile(lambda t: t < 1.0, (i / 10 for i in range(10))):
        now[0] = t  # the look-up at t = 0 may be trusted, for less than a second
        assert app_client.post(PATH, json=question, headers=headers).status_code in (200, 401)
    now[0] = 1.0
    refused = app_client.post(PATH, json=question, headers=headers)
    assert refused.status_code == 401 and refused.json()["type"].endswith("/unauthorized")


def test_the_read_of_every_computation_survives_a_postgresql_connection_closed_under_it(
    app_client: TestClient, tokens: Tokens, aleppo: str, backend: str
) -> None:
    if backend != "postgres":
        pytest.skip("PostgreSQL's connections only")
    from tests.external import pg_connect

    repo = app_client.app.state.catalog.repo  # type: ignore[attr-defined]
    assert repo.current_version("aleppo") == 1
    pooled = repo._hot.raw_connection()  # the connection the next read will get
    cursor = pooled.cursor()
    cursor.execute("SELECT pg_backend_pid()")
    backend_pid = cursor.fetchone()[0]
    cursor.close()
    pooled.close()
    admin, _ = pg_connect()
    try:  # as a server restart would: only that one connection
        admin.execute("SELECT pg_terminate_backend(%s)", (backend_pid,))
    finally:
        admin.close()
    assert repo.current_version("aleppo") == 1
    question = {"from": "as-sukkari", "to": "al-rashideen"}
    assert app_client.post(PATH, json=question, headers=tokens("planner")).status_code == 200
