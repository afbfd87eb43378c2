"""Large scenarios over HTTP: streamed uploads stored as columns, on SQLite and PostgreSQL.

Every JSON scenario goes the large way here (``large_scenario_bytes=1``) so that small
documents exercise it: stored byte for byte, compiled from the stored columns by any
replica, incidents added through the header only, its own upload size limit.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

import msgspec
import pytest

from app.domain.errors import NoRouteError, ValidationError
from app.domain.network.graph import Network
from app.domain.routes.engine import RouteOptions, safest_route
from app.domain.scenario.reading import validate_scenario
from tests.api import add_token, assert_problem, bearer, engine_of
from tests.test_large_scenarios import same_network, with_extras


def street_document(rng: random.Random, n: int = 60) -> dict[str, Any]:
    doc = with_extras(rng, n, 3 * n)
    doc["name"] = "Streets"
    doc["incidents"] = []
    return doc


@pytest.fixture
def large_client(make_client: Any) -> Any:
    """Every JSON scenario goes the large way; other bodies stay limited to 4 KiB."""
    return make_client(large_scenario_bytes=1, max_body_bytes=4096)


def test_large_upload_is_stored_as_sent_and_routes_like_the_plain_engine(
    large_client: Any, make_client: Any
) -> None:
    rng = random.Random(11)
    doc = street_document(rng)
    raw = json.dumps(doc, ensure_ascii=False, indent=1).encode()  # bigger than max_body_bytes
    planner = bearer(add_token(large_client, "planner", "petra")[1])
    created = large_client.post("/v1/scenarios", content=raw, headers=planner)
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    assert created.json()["sha256"] == hashlib.sha256(raw).hexdigest()
    assert (created.json()["nodes"], created.json()["edges"]) == (60, 180)
    read = large_client.get(f"/v1/scenarios/{sid}", headers=planner)
    assert read.status_code == 200 and read.content == raw  # byte for byte
    assert read.headers["etag"] == '"1"'
    with engine_of(large_client).connect() as conn:
        stored = conn.exec_driver_sql("SELECT arrays_bytes FROM scenario_versions").scalar()
    assert stored and stored > 0

    plain = Network(validate_scenario(doc))
    pairs = [rng.sample(list(plain.node_ids), 2) for _ in range(6)]

    def check(client: Any, net: Network) -> None:
        for s, t in pairs:
            body = {"from": s, "to": t, "avoid_parties": ["p1"]}
            got = client.post(f"/v1/scenarios/{sid}/routes", json=body, headers=planner)
            try:
                expected = safest_route(net, s, t, RouteOptions(avoid_parties=("p1",)))
            except NoRouteError:
                assert_problem(got, 422, "no-route")
                continue
            assert got.status_code == 200, got.text
            route = got.json()["routes"][0]
            assert route["edges"] == expected.edge_ids
            assert route["survival_probability"] == pytest.approx(expected.survival_probability)

    check(large_client, plain)
    # Another replica compiles from the stored columns.
    check(make_client(large_scenario_bytes=1, max_body_bytes=4096), plain)

    # Incidents: a new version written from the columns; the routes see them.
    shelling = {"id": "s1", "severity": 0.5, "observed_at": "2016-12-13T10:00:00+02:00",
                "edges": [doc["edges"][0]["id"]]}  # fmt: skip
    bad = large_client.post(
        f"/v1/scenarios/{sid}/incidents",
        json={"incidents": [{**shelling, "edges": ["nowhere"]}]},
        headers=planner,
    )
    assert assert_problem(bad, 422)["errors"] == [
        {"pointer": "/incidents/0/edges/0", "detail": "unknown road 'nowhere'"}
    ]
    added = large_client.post(
        f"/v1/scenarios/{sid}/incidents", json={"incidents": [shelling]}, headers=planner
    )
    assert added.status_code == 201, added.text
    version2 = large_client.get(f"/v1/scenarios/{sid}", headers=planner)
    assert version2.headers["etag"] == '"2"'
    # Stored as its edits: the digest is taken when the document is first read.
    assert added.json()["stored_as"] == "edits" and added.json()["sha256"] is None
    listed = large_client.get(f"/v1/scenarios/{sid}/versions", headers=planner).json()
    assert listed["versions"][1]["sha256"] == hashlib.sha256(version2.content).hexdigest()
    # The document as sent, with only `incidents` written anew: places and roads keep their text.
    members = msgspec.json.Decoder(dict[str, msgspec.Raw]).decode
    sent, now = members(raw), members(version2.content)
    assert bytes(now["nodes"]) == bytes(sent["nodes"]) and bytes(now["edges"]) == bytes(
        sent["edges"]
    )
    with_shelling = validate_scenario(version2.json())
    assert [i.id for i in with_shelling.header.incidents] == ["s1"]
    same_network(
        Network(with_shelling), Network(validate_scenario({**doc, "incidents": [shelling]}))
    )
    check(large_client, Network(with_shelling))

    # Replacing with another large document.
    doc3 = street_document(random.Random(12), 40)
    put = large_client.put(
        f"/v1/scenarios/{sid}", content=json.dumps(doc3).encode(),
        headers={**planner, "If-Match": '"2"'},
    )  # fmt: skip
    assert put.status_code == 200 and put.json()["version"] == 3, put.text
    assert large_client.get(f"/v1/scenarios/{sid}/versions/1", headers=planner).content == raw


def test_invalid_large_upload_lists_the_same_problems_and_stores_nothing(
    large_client: Any,
) -> None:
    rng = random.Random(5)
    doc = street_document(rng, 20)
    doc["edges"][3]["risk"] = 1.5
    doc["edges"][7]["to"] = "nowhere"
    doc["nodes"][2]["kind"] = "castle"
    planner = bearer(add_token(large_client, "planner", "petra")[1])
    got = large_client.post("/v1/scenarios", content=json.dumps(doc).encode(), headers=planner)
    body = assert_problem(got, 422, "invalid-document")
    with pytest.raises(ValidationError) as plain:
        validate_scenario(doc)
    assert body["errors"] == [p.as_dict() for p in plain.value.problems]
    assert large_client.get("/v1/scenarios", headers=planner).json()["total"] == 0


def test_scenario_uploads_have_their_own_size_limit(make_client: Any) -> None:
    client = make_client(large_scenario_bytes=1, max_body_bytes=1024, max_scenario_bytes=20_000)
    planner = bearer(add_token(client, "planner", "petra")[1])
    doc = street_document(random.Random(8), 20)
    raw = json.dumps(doc).encode()
    assert 1024 < len(raw) < 20_000
    assert client.post("/v1/scenarios", content=raw, headers=planner).status_code == 201
    huge = json.dumps(street_document(random.Random(9), 200)).encode()
    assert len(huge) > 20_000
    assert_problem(client.post("/v1/scenarios", content=huge, headers=planner), 413, "too-large")
    # Other requests keep the general limit.
    report = {"severity": 0.1, "edges": ["e0"], "observed_at": "2016-12-13T10:00:00+02:00"}
    incidents = {"incidents": [{"id": f"i{k}", **report} for k in range(40)]}
    sid = client.get("/v1/scenarios", headers=planner).json()["items"][0]["id"]
    assert_problem(
        client.post(f"/v1/scenarios/{sid}/incidents", json=incidents, headers=planner), 413
    )


def test_a_document_of_800k_places_sharing_one_id_is_refused_with_the_first_problems(
    app_client: Any,
) -> None:
    # About 11 MB: read item by item; every repeat of the id is a problem, the answer lists
    # the first thousand (the duplicate check was quadratic: over a minute for this).
    n = 800_000
    raw = (
        '{"schema":"safe-passage/scenario@1","nodes":[' + ",".join(['{"id":"x"}'] * n) + "]}"
    ).encode()
    planner = bearer(add_token(app_client, "planner", "petra")[1])
    refused = app_client.post("/v1/scenarios", content=raw, headers=planner)
    body = assert_problem(refused, 422)
    assert body["detail"] == f"{n - 1} problems found (the first 1000 are listed)"
    assert len(body["errors"]) == 1000
    assert body["errors"][0] == {
        "pointer": "/nodes/1/id",
        "detail": "duplicate id 'x' (first used at /nodes/0)",
    }
    listed = app_client.get("/v1/scenarios", headers=planner).json()
    assert listed["total"] == 0
