"""Every error is an RFC 9457 problem document; bad input is never a 500 or a stack trace.

Invalid documents are reported with the same pointers and sentences as
``safe-passage validate --json`` on the same file.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from app.cli import app as cli
from app.domain.errors import ValidationError
from app.services.scenarios import load_scenario_bytes
from tests.api import (
    TEACHING,
    Stored,
    Tokens,
    app_of,
    assert_problem,
    load,
    run_cli,
)

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])
"""For checks of parsing and rendering that never reach storage (speed: one backend)."""

# --- every status, as a problem document ---------------------------------------------------


def test_each_error_status_is_a_problem_document(
    make_client: Callable[..., TestClient], tokens: Tokens, teaching: Stored
) -> None:
    client = make_client(max_body_bytes=16 * 1024)
    viewer, planner = tokens("viewer"), tokens("planner")
    url = f"/v1/scenarios/{teaching.id}"
    document = teaching.document
    big = b'{"schema": "safe-passage/scenario@1", "nodes": [], "edges": [], "x": "' + (
        b"y" * 20_000 + b'"}'
    )

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while streaming
        for _ in range(20):
            yield b" " * 1024

    cases: list[tuple[str, Callable[[], Any], int, str]] = [
        ("no token", lambda: client.get("/v1/scenarios"), 401, "unauthorized"),
        (
            "wrong role",
            lambda: client.post("/v1/scenarios", json=document, headers=viewer),
            403,
            "forbidden",
        ),
        ("unknown address", lambda: client.get("/v2/anything", headers=viewer), 404, "not-found"),
        (
            "unknown scenario",
            lambda: client.get("/v1/scenarios/nope", headers=viewer),
            404,
            "not-found",
        ),
        ("PATCH", lambda: client.patch(url, json={}, headers=planner), 405, "method-not-allowed"),
        ("POST on health", lambda: client.post("/v1/health"), 405, "method-not-allowed"),
        (
            "stale If-Match",
            lambda: client.put(url, json=document, headers={**planner, "If-Match": '"0"'}),
            412,
            "precondition-failed",
        ),
        (
            "too large",
            lambda: client.post("/v1/scenarios", content=big, headers=planner),
            413,
            "too-large",
        ),
        (
            "too large, streamed",
            lambda: client.post("/v1/scenarios", content=chunks(), headers=planner),
            413,
            "too-large",
        ),
        (
            "no If-Match",
            lambda: client.put(url, json=document, headers=planner),
            428,
            "precondition-required",
        ),
        (
            "invalid document",
            lambda: client.post("/v1/scenarios", json={"schema": 1}, headers=planner),
            422,
            "invalid-document",
        ),
        (
            "bad query",
            lambda: client.get("/v1/scenarios?limit=0", headers=viewer),
            422,
            "invalid-request",
        ),
        (
            "bad path",
            lambda: client.get(f"{url}/versions/first", headers=viewer),
            422,
            "invalid-request",
        ),
        (
            "bad body",
            lambda: client.post(f"{url}/routes", json={"from": 3}, headers=planner),
            422,
            "invalid-request",
        ),
    ]
    for name, call, status, slug in cases:
        response = call()
        try:
            assert_problem(response, status, slug)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None


def test_an_unsupported_media_type_is_refused(app_client: TestClient, tokens: Tokens) -> None:
    response = app_client.post(
        "/v1/scenarios",
        content=b"id,from,to\n",
        headers={**tokens("planner"), "Content-Type": "text/csv"},
    )
    assert response.status_code == 415
    body = assert_problem(response, response.status_code)
    assert "text/csv" in body["detail"]


def test_fastapi_validation_errors_point_into_the_request(
    app_client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    url = f"/v1/scenarios/{teaching.id}/routes"
    response = app_client.post(
        url,
        json={"from": "hilltop", "max_risk": 2, "alternatives": "many", "colour": "red"},
        headers=tokens("planner"),
    )
    body = assert_problem(response, 422, "invalid-request")
    assert {e["pointer"] for e in body["errors"]} == {
        "/to",
        "/max_risk",
        "/alternatives",
        "/colour",
    }
    assert {e["pointer"]: e["detail"] for e in body["errors"]}["/to"] == "'to' is required"

    query = app_client.get("/v1/scenarios?limit=0&offset=-1", headers=tokens("viewer"))
    body = assert_problem(query, 422, "invalid-request")
    assert {e["pointer"] for e in body["errors"]} == {"/query/limit", "/query/offset"}

    broken = app_client.post(
        url,
        content=b'{"from": "hilltop",',
        headers={**tokens("planner"), "Content-Type": "application/json"},
    )
    assert assert_problem(broken, 422)["errors"] == [
        {"pointer": "", "detail": "the body is not valid JSON"}
    ]


def test_an_unexpected_failure_is_a_500_problem_without_internals(
    app_client: TestClient, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("connection string postgresql://secret@db")

    monkeypatch.setattr(app_of(app_client).state.catalog, "list_scenarios", broken)
    client = TestClient(app_of(app_client), raise_server_exceptions=False)
    response = client.get("/v1/scenarios", headers=tokens("viewer"))
    assert_problem(response, 500, "internal-error")
    assert "secret" not in response.text
    assert "RuntimeError" not in response.text


# --- invalid documents: the same pointers as the CLI ----------------------------------------


def _bad_documents() -> dict[str, tuple[bytes, str]]:
    """Invalid scenario files (bytes, suffix), each with several problems."""
    many = load(TEACHING)
    many["edges"][0]["risk"] = 1.5
    many["edges"][1]["to"] = "nowhere"
    many["nodes"][2]["colour"] = "red"
    many["nodes"].append(dict(many["nodes"][0]))
    many["parties"][0]["consent"] = "maybe"
    many["incidents"][0]["severity"] = -1
    types = load(TEACHING)
    types["nodes"] = {"id": "a"}
    types["edges"][0]["capacity_per_min"] = -5
    types["windows"][0]["end"] = "2025-03-01T09:00:00+00:00"
    yaml_doc = yaml.safe_dump({**load(TEACHING), "extra": 1, "schema": "safe-passage/scenario@9"})
    return {
        "many": (json.dumps(many).encode(), ".json"),
        "types": (json.dumps(types).encode(), ".json"),
        "yaml": (yaml_doc.encode(), ".yaml"),
        "not json": (b'{"schema": "safe-passage/scenario@1", "nodes": [', ".json"),
        "duplicate key": (b'{"schema": "a", "schema": "b"}', ".json"),
        "nan": (b'{"schema": "safe-passage/scenario@1", "nodes": [{"id": NaN}]}', ".json"),
        "yaml alias": (b"schema: &s x\nname: *s\n", ".yaml"),
        "yaml python tag": (b"schema: !!python/object/apply:os.system ['true']\n", ".yaml"),
        "empty": (b"   \n", ".json"),
        "latin-1": ('{"name": "Alep\xe9"}'.encode("latin-1"), ".json"),
    }


BAD_DOCUMENTS = _bad_documents()


@pytest.fixture(scope="module")
def cli_verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, Any]]:
    """``safe-passage validate --json`` on each bad document (once for both backends).

    In process for speed; one document also through a real ``python -m app.cli`` to show
    the two agree.
    """
    directory: Path = tmp_path_factory.mktemp("bad")
    verdicts = {}
    for name, (raw, suffix) in BAD_DOCUMENTS.items():
        path = directory / (name.replace(" ", "-") + suffix)
        path.write_bytes(raw)
        result = CliRunner().invoke(cli, ["validate", str(path), "--json"])
        verdicts[name] = (result.exit_code, json.loads(result.stdout))
    assert run_cli("validate", str(directory / "many.json"), "--json") == verdicts["many"]
    return verdicts


def test_invalid_documents_have_the_cli_pointers_on_post_and_put(
    app_client: TestClient,
    tokens: Tokens,
    teaching: Stored,
    cli_verdicts: dict[str, tuple[int, Any]],
) -> None:
    planner = tokens("planner")
    for name, (raw, suffix) in BAD_DOCUMENTS.items():
        code, cli = cli_verdicts[name]
        assert code == 1, (name, cli)
        ctype = "application/yaml" if suffix == ".yaml" else "application/json"
        created = app_client.post(
            "/v1/scenarios", content=raw, headers={**planner, "Content-Type": ctype}
        )
        body = assert_problem(created, 422, "invalid-document")
        assert body["errors"] == cli["errors"], name
        assert (body["type"], body["title"], body["detail"]) == (
            cli["type"], cli["title"], cli["detail"],
        ), name  # fmt: skip
        replaced = app_client.put(
            f"/v1/scenarios/{teaching.id}",
            content=raw,
            headers={**planner, "Content-Type": ctype, "If-Match": teaching.etag},
        )
        assert assert_problem(replaced, 422)["errors"] == cli["errors"], name
    many = {e["pointer"] for e in cli_verdicts["many"][1]["errors"]}
    assert {"/edges/0/risk", "/edges/1/to", "/nodes/2/colour", "/parties/0/consent"} <= many
    assert app_client.get("/v1/scenarios", headers=tokens("viewer")).json()["total"] == 1


# --- one set of limits for the service and the CLI ------------------------------------------

FOUR_PLACES = {
    "schema": "safe-passage/scenario@1",
    "nodes": [{"id": place} for place in "abcd"],
    "edges": [
        {"id": f"{a}-{b}", "from": a, "to": b, "length_m": 100} for a, b in ("ab", "bc", "cd")
    ],
}


@sqlite_only
def test_the_cli_refuses_what_the_service_refuses_under_the_same_settings(
    make_client: Callable[..., TestClient], tokens: Tokens, teaching: Stored, tmp_path: Path
) -> None:
    """SAFE_PASSAGE_MAX_NODES, _MAX_EDGES and _MAX_EXPANDED_ARCS bind the CLI as the service."""
    planner = tokens("planner")
    path = tmp_path / "four.json"
    path.write_text(json.dumps(FOUR_PLACES))
    for limits, expected in (
        ({"max_nodes": 3}, [{"pointer": "/nodes", "detail": "4 nodes; the limit is 3"}]),
        ({"max_edges": 2}, [{"pointer": "/edges", "detail": "3 edges; the limit is 2"}]),
    ):
        served = make_client(**limits).post("/v1/scenarios", json=FOUR_PLACES, headers=planner)
        problem = assert_problem(served, 422, "invalid-document")
        env = {f"SAFE_PASSAGE_{name.upper()}": str(value) for name, value in limits.items()}
        for command in (["validate"], ["route", "--from", "a", "--to", "d"]):
            code, printed = run_cli(*command, str(path), "--json", env=env)
            assert code == 1, (command, printed)
            assert printed["errors"] == problem["errors"] == expected
            assert (printed["type"], printed["title"], printed["detail"]) == (
                problem["type"], problem["title"], problem["detail"],
            )  # fmt: skip

    small = make_client(plan_workers=0, max_expanded_arcs=50)
    served = small.post(
        f"/v1/scenarios/{teaching.id}/plans", json={"window": "pause-1"}, headers=planner
    )
    problem = assert_problem(served, 422)
    code, printed = run_cli(
        "plan", str(TEACHING), "--window", "pause-1", "--json",
        env={"SAFE_PASSAGE_MAX_EXPANDED_ARCS": "50"},
    )  # fmt: skip
    assert code == 2, printed
    assert (
        printed["errors"]
        == problem["errors"]
        == [{"pointer": "/window", "detail": "the plan is too large for the optimal method"}]
    )
    assert printed["detail"] == problem["detail"]
    assert "the limit is 50:" in problem["detail"]


# --- never a 500 for bad input ------------------------------------------------------------

NASTY_BODIES = [
    b"",
    b"null",
    b"[]",
    b"1",
    b'"text"',
    b"[" * 20_000,
    b'{"a":' * 5_000,
    b"9" * 5_000,
    b'{"schema": 1e999999}',
    b"\xff\xfe\x00",
    b"\xef\xbb\xbf{}",
    b"a: [b, c",
    b"- &a [x]\n- *a\n",
    b"!!binary aGVsbG8=",
    b'{"nodes": [{"id": {"$ne": null}}]}',
    b'{"nodes": "\\ud800"}',
]


@sqlite_only
def test_nasty_bodies_are_4xx_problems_everywhere(
    app_client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    planner = tokens("planner")
    admin = tokens("admin")
    url = f"/v1/scenarios/{teaching.id}"
    document_types = ["application/json", "application/yaml", ""]  # "": guessed from content
    targets = [
        ("POST", "/v1/scenarios", planner, document_types),
        ("PUT", url, {**planner, "If-Match": teaching.etag}, document_types),
        ("POST", f"{url}/incidents", planner, ["application/json"]),
        ("POST", f"{url}/routes", planner, ["application/json"]),
        ("POST", "/v1/tokens", admin, ["application/json"]),
    ]
    for method, path, headers, ctypes in targets:
        for raw in NASTY_BODIES:
            for ctype in ctypes:
                sent = {**headers, "Content-Type": ctype} if ctype else headers
                response = app_client.request(method, path, content=raw, headers=sent)
                assert 400 <= response.status_code < 500, (method, path, raw[:30], response.text)
                assert_problem(response, response.status_code)
    assert app_client.get(url, headers=tokens("viewer")).headers["ETag"] == teaching.etag


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += _paths(value, (*prefix, i))
    return found


TEACHING_PATHS = _paths(load(TEACHING))[1:]


@sqlite_only
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(where=st.sampled_from(TEACHING_PATHS), value=JSON_VALUES)
def test_a_document_with_any_one_field_changed_is_stored_or_refused_like_the_cli(
    app_client: TestClient, tokens: Tokens, where: tuple[Any, ...], value: Any
) -> None:
    document = copy.deepcopy(load(TEACHING))
    parent = document
    for key in where[:-1]:
        parent = parent[key]
    parent[where[-1]] = value
    raw = json.dumps(document).encode()
    response = app_client.post(
        "/v1/scenarios",
        content=raw,
        headers={**tokens("planner"), "Content-Type": "application/json"},
    )
    try:
        load_scenario_bytes(raw, app_of(app_client).state.settings)
    except ValidationError as exc:
        body = assert_problem(response, 422, "invalid-document")
        assert body["errors"] == [p.as_dict() for p in exc.problems]
    else:
        assert response.status_code == 201, response.text


@sqlite_only
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.dictionaries(
        st.sampled_from(
            [
                "from",
                "to",
                "profile",
                "avoid_parties",
                "max_risk",
                "at",
                "alternatives",
                "disjoint",
                "x",
            ]
        ),
        JSON_VALUES | st.sampled_from(["hilltop", "camp", "north", "2025-03-01T11:00:00+00:00"]),
    )
)
def test_any_route_request_is_answered_or_refused_never_a_500(
    app_client: TestClient, tokens: Tokens, teaching: Stored, body: dict[str, Any]
) -> None:
    response = app_client.post(
        f"/v1/scenarios/{teaching.id}/routes", json=body, headers=tokens("planner")
    )
    if response.status_code == 200:
        assert response.json()["routes"]
    else:
        assert 400 <= response.status_code < 500, response.text
        assert_problem(response, response.status_code)
