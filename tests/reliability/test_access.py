"""Access control beyond tests/api/test_access.py: no endpoint outside the role matrix, no
CORS unless configured, security headers on the pages, and lists that show only summaries.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.api import Stored, Tokens, app_of, assert_problem, bearer
from tests.api.test_access import OPERATIONS

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])  # none of this depends on storage

PUBLIC = {("GET", "/metrics"), ("GET", "/v1/config")}
"""Operations that need no token by design (the load balancer, the map page before login)."""

PAGES = {"/", "/docs", "/openapi.json", "/problems/{slug}", "/static"}
"""Addresses outside the OpenAPI document: the map and docs pages, their files, problem types."""


def shape(path: str) -> str:
    """A path with parameters and version numbers as ``{}``, to compare templates (without
    its query)."""
    path = path.split("?")[0]
    return "/".join("{}" if re.fullmatch(r"\{[^}]+\}|\d+", s) else s for s in path.split("/"))


@sqlite_only
def test_every_operation_is_in_the_role_matrix_or_public_by_design(app_client: TestClient) -> None:
    """A new endpoint without a role-matrix entry (tests/api/test_access.py) fails here."""
    document = app_of(app_client).openapi()
    operations = {(m.upper(), shape(p)) for p, item in document["paths"].items() for m in item}
    matrix = {(op.method, shape(op.path)) for op in OPERATIONS}
    public = {(m, shape(p)) for m, p in PUBLIC}
    assert operations - matrix - public == set(), "add these to OPERATIONS in test_access.py"
    assert matrix - operations == set(), "the matrix names operations the service lacks"
    for method, path in PUBLIC:
        item = document["paths"][path][method.lower()]
        assert not item.get("security"), (method, path)
    secured = {
        (m.upper(), shape(p))
        for p, item in document["paths"].items()
        for m, op in item.items()
        if op.get("security")
    }
    needs_token = {(op.method, shape(op.path)) for op in OPERATIONS if op.role is not None}
    assert secured == needs_token  # the docs page's Authorize covers exactly these

    hidden = {getattr(r, "path", "") for r in app_of(app_client).routes}
    hidden = {p for p in hidden if p} - {p for p in document["paths"]}
    assert hidden <= PAGES, hidden - PAGES


@sqlite_only
def test_public_operations_hold_no_scenario_data_or_secrets(
    app_client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    planner = tokens("planner")
    app_client.post(
        f"/v1/scenarios/{teaching.id}/routes",
        json={"from": "hilltop", "to": "camp"},
        headers=planner,
    ).raise_for_status()
    for method, path in PUBLIC:
        response = app_client.request(method, path)
        assert response.status_code == 200, path
        for secret in (*tokens.secrets.values(), *tokens.ids.values()):
            assert secret not in response.text, path
        for private in (teaching.id, "hilltop", "Teaching network", "petra"):
            assert private not in response.text, (path, private)


@sqlite_only
def test_scenario_lists_show_summaries_only(
    app_client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    planner, viewer = tokens("planner"), tokens("viewer")
    doomed = app_client.post("/v1/scenarios", json={**teaching.document, "name": "Doomed"},
                             headers=planner).json()["id"]  # fmt: skip
    app_client.delete(f"/v1/scenarios/{doomed}", headers=planner).raise_for_status()

    listed = app_client.get("/v1/scenarios", headers=viewer)
    assert listed.status_code == 200
    page = listed.json()
    assert [item["id"] for item in page["items"]] == [teaching.id]  # deleted ones are gone
    summary = {"id", "name", "version", "created_at", "created_by", "change", "nodes", "edges",
               "size_bytes", "sha256", "kind", "author", "reason", "stored_as", "base_version",
               "forked_from"}  # fmt: skip
    assert set(page["items"][0]) == summary
    assert page["items"][0]["created_by"] == tokens.ids["planner"]  # the token's id, not secret
    text = listed.text
    for node in teaching.document["nodes"]:
        assert f'"{node["id"]}"' not in text  # no places, populations or coordinates
    assert "population" not in text and "incidents" not in text
    for secret in tokens.secrets.values():
        assert secret not in text
    # A deleted scenario and one that never existed look the same from outside.
    gone = assert_problem(app_client.get(f"/v1/scenarios/{doomed}", headers=viewer), 404)
    never = assert_problem(app_client.get("/v1/scenarios/never-was", headers=viewer), 404)
    assert (gone["type"], gone["title"]) == (never["type"], never["title"])
    assert gone["detail"].replace(doomed, "ID") == never["detail"].replace("never-was", "ID")


@sqlite_only
def test_token_and_audit_lists_show_no_secrets_or_hashes(
    app_client: TestClient, tokens: Tokens
) -> None:
    admin = tokens("admin")
    for path in ("/v1/tokens", "/v1/audit?limit=500"):
        text = app_client.get(path, headers=admin).text
        for secret in tokens.secrets.values():
            assert secret not in text, path
        assert not re.search(r"\b[0-9a-f]{64}\b", text), path  # no SHA-256 of any token


# --- CORS ------------------------------------------------------------------------------------

ALLOWED = "https://hq.example.org"
OTHER = "https://elsewhere.example.net"


def preflight(client: TestClient, origin: str, method: str = "POST") -> dict[str, str]:
    response = client.options(
        "/v1/scenarios",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    return {k.lower(): v for k, v in response.headers.items()} | {
        "status": str(response.status_code)
    }


@sqlite_only
def test_no_cors_unless_configured(app_client: TestClient, tokens: Tokens) -> None:
    answer = preflight(app_client, ALLOWED)
    assert answer["status"] == "405"
    assert not any(k.startswith("access-control-") for k in answer)
    read = app_client.get("/v1/scenarios", headers={**tokens("viewer"), "Origin": ALLOWED})
    assert read.status_code == 200
    assert not any(k.lower().startswith("access-control-") for k in read.headers)


@sqlite_only
def test_cors_allows_only_the_configured_origins(
    make_client: Callable[..., TestClient], tokens: Tokens
) -> None:
    client = make_client(cors_origins=[ALLOWED])
    allowed = preflight(client, ALLOWED)
    assert allowed["status"] == "200"
    assert allowed["access-control-allow-origin"] == ALLOWED
    assert {"POST", "PUT", "DELETE"} <= set(allowed["access-control-allow-methods"].split(", "))
    allowed_headers = allowed["access-control-allow-headers"].lower()
    assert "authorization" in allowed_headers and "if-match" in allowed_headers
    assert "access-control-allow-credentials" not in allowed  # bearer tokens, never cookies

    other = preflight(client, OTHER)
    assert other["status"] == "400"
    assert "access-control-allow-origin" not in other
    assert preflight(client, ALLOWED, method="PATCH")["status"] == "400"

    viewer = tokens("viewer")
    read = client.get("/v1/scenarios", headers={**viewer, "Origin": ALLOWED})
    assert read.headers["access-control-allow-origin"] == ALLOWED
    assert "etag" in read.headers["access-control-expose-headers"].lower()
    foreign = client.get("/v1/scenarios", headers={**viewer, "Origin": OTHER})
    assert foreign.status_code == 200  # CORS is the browser's guard; the token still rules
    assert "access-control-allow-origin" not in foreign.headers
    refused = client.get("/v1/scenarios", headers={"Origin": ALLOWED})
    assert_problem(refused, 401, "unauthorized")
    assert refused.headers["access-control-allow-origin"] == ALLOWED  # the page can read why


# --- security headers ------------------------------------------------------------------------

EVERYWHERE = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}


def directives(csp: str) -> dict[str, set[str]]:
    out = {}
    for part in csp.split(";"):
        name, *values = part.split()
        out[name] = set(values)
    return out


@sqlite_only
def test_the_map_and_docs_pages_carry_strict_security_headers(app_client: TestClient) -> None:
    for path in ("/", "/docs", "/static/app.js"):
        response = app_client.get(path)
        assert response.status_code == 200, path
        for name, value in EVERYWHERE.items():
            assert response.headers[name] == value, (path, name)
    page = directives(app_client.get("/").headers["content-security-policy"])
    assert page["default-src"] == {"'self'"}
    assert page["script-src"] == {"'self'"}  # no inline or remote script on the map page
    assert page["connect-src"] == {"'self'"}  # the page talks to this service only
    assert page["frame-ancestors"] == {"'none'"}
    assert page["base-uri"] == {"'none'"} and page["form-action"] == {"'none'"}
    assert not any("http" in v for values in page.values() for v in values)  # no other origin
    docs = directives(app_client.get("/docs").headers["content-security-policy"])
    assert docs["default-src"] == {"'self'"} and docs["frame-ancestors"] == {"'none'"}
    assert docs["connect-src"] == {"'self'"}


@sqlite_only
def test_a_tile_server_is_the_only_other_origin_the_map_may_load(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(tile_url="https://tiles.example.org/{z}/{x}/{y}.png")
    page = directives(client.get("/").headers["content-security-policy"])
    assert page["img-src"] == {"'self'", "data:", "https://tiles.example.org"}
    assert page["script-src"] == {"'self'"} and page["connect-src"] == {"'self'"}


@sqlite_only
def test_api_answers_are_never_cached_errors_included(
    app_client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    for headers, path in (
        (tokens("viewer"), f"/v1/scenarios/{teaching.id}"),
        (tokens("viewer"), f"/v1/scenarios/{teaching.id}/map.geojson"),
        ({}, "/v1/scenarios"),
        (bearer("sp_wrong"), f"/v1/scenarios/{teaching.id}"),
    ):
        response = app_client.get(path, headers=headers)
        assert response.headers["cache-control"] == "no-store", path
        for name, value in EVERYWHERE.items():
            assert response.headers[name] == value, (path, name)
