"""Tokens, roles and the audit log over HTTP.

viewer reads, planner also writes and computes, admin also manages tokens and
reads the audit log; no token, an unknown or a revoked one → 401; a role too
low → 403. Tokens are shown once and only their SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.cli import app as cli
from app.config import Settings, get_settings
from tests.api import (
    TEACHING,
    Stored,
    Tokens,
    add_token,
    app_of,
    assert_problem,
    bearer,
    engine_of,
    load,
    store,
    store_snapshot,
)

RANK = {None: -1, "viewer": 0, "planner": 1, "admin": 2}

INCIDENT = {
    "id": "report-7",
    "kind": "sniper",
    "edges": ["camp--ford"],
    "severity": 0.2,
    "observed_at": "2025-03-01T09:30:00+00:00",
}


@dataclass(frozen=True)
class Operation:
    """One call of the API, the least role it needs (None: no token) and its success status."""

    method: str
    path: str
    role: str | None
    success: int
    body: dict[str, Any] | None = None
    if_match: bool = False


OPERATIONS = [
    Operation("GET", "/v1/health", None, 200),
    Operation("GET", "/v1/scenarios", "viewer", 200),
    Operation("GET", "/v1/scenarios/{id}", "viewer", 200),
    Operation("GET", "/v1/scenarios/{id}/versions", "viewer", 200),
    Operation("GET", "/v1/scenarios/{id}/versions/1", "viewer", 200),
    Operation("GET", "/v1/scenarios/{id}/map.geojson", "viewer", 200),
    Operation("POST", "/v1/scenarios", "planner", 201, body=load(TEACHING)),
    Operation("PUT", "/v1/scenarios/{id}", "planner", 200, body=load(TEACHING), if_match=True),
    Operation("DELETE", "/v1/scenarios/{id}", "planner", 204),
    Operation("POST", "/v1/scenarios/{id}/incidents", "planner", 201, {"incidents": [INCIDENT]}),
    Operation("POST", "/v1/scenarios/{id}/routes", "planner", 200, {"from": "mill", "to": "camp"}),
    Operation("POST", "/v1/scenarios/{id}/plans", "planner", 200, {"window": "pause-1"}),
    Operation("POST", "/v1/scenarios/{id}/parties", "planner", 200, {"from": "mill", "to": "camp"}),
    Operation("POST", "/v1/scenarios/{id}/briefs", "planner", 200, {"from": "mill", "to": "camp"}),
    Operation(
        "POST",
        "/v1/scenarios/{id}/edits",
        "planner",
        200,
        {"edits": [{"op": "set_road", "road": "ford--mill", "status": "blocked"}]},
        if_match=True,
    ),
    Operation("GET", "/v1/scenarios/{id}/diff?from=1", "viewer", 200),
    Operation("POST", "/v1/scenarios/{id}/forks", "planner", 201, {"name": "what if"}),
    Operation("GET", "/v1/scenarios/{id}/forks", "viewer", 200),
    Operation(
        "POST",
        "/v1/compare",
        "planner",
        200,
        {
            "a": {"scenario": "{id}"},
            "b": {"scenario": "{id}"},
            "question": {"kind": "route", "from": "mill", "to": "camp"},
        },
    ),
    Operation("GET", "/v1/whoami", "viewer", 200),
    Operation("GET", "/v1/tokens", "admin", 200),
    Operation("POST", "/v1/tokens", "admin", 201, body={"role": "viewer", "name": "spare"}),
    Operation("DELETE", "/v1/tokens/{token}", "admin", 200),
    Operation("GET", "/v1/audit", "admin", 200),
    Operation("GET", "/v1/jobs/{job}", "viewer", 200),
    Operation("GET", "/v1/jobs/{job}/result", "viewer", 200),
    Operation("GET", "/v1/jobs/{job}/events", "viewer", 200),
    Operation("DELETE", "/v1/jobs/{job}", "planner", 200),
]


def a_job(client: TestClient, planner: dict[str, str], scenario_id: str, *, queued: bool) -> str:
    """A plan job on the scenario: done (``queued=False``), or held in the queue for ever."""
    app = app_of(client)
    jobs = app.state.jobs
    enqueue = jobs.dispatch.enqueue
    if queued:
        jobs.dispatch.enqueue = lambda job_id: None  # no worker ever takes it
    try:
        response = client.post(
            f"/v1/scenarios/{scenario_id}/plans",
            json={"window": "pause-1"},
            headers={**planner, "Prefer": "respond-async"},
        )
    finally:
        jobs.dispatch.enqueue = enqueue
    assert response.status_code == 202, response.text
    job_id: str = response.json()["id"]
    deadline = time.monotonic() + 120
    while not queued and jobs.get(job_id).state != "done":
        assert time.monotonic() < deadline, jobs.get(job_id)
        time.sleep(0.05)
    app.state.catalog.repo.flush_audit()  # its audit record written before any snapshot
    return job_id


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: f"{op.method} {op.path}")
def test_role_matrix(app_client: TestClient, tokens: Tokens, op: Operation) -> None:
    """Every principal against one operation: the right ones succeed, the others change nothing."""
    revoked_id, revoked = add_token(app_client, "admin", "former admin")
    app_client.delete(f"/v1/tokens/{revoked_id}", headers=tokens("admin")).raise_for_status()
    principals: list[tuple[str, dict[str, str], str | None]] = [
        ("no token", {}, None),
        ("unknown token", bearer("sp_not-a-token"), None),
        ("revoked admin token", bearer(revoked), None),
        ("basic auth", {"Authorization": "Basic dmVyYTpzZWNyZXQ="}, None),
        ("viewer", tokens("viewer"), "viewer"),
        ("planner", tokens("planner"), "planner"),
        ("admin", tokens("admin"), "admin"),
    ]
    scenario = store(app_client, tokens("planner"), load(TEACHING))
    job_id = ""
    if "{job}" in op.path:  # done, to be read; queued, to be cancelled
        job_id = a_job(app_client, tokens("planner"), scenario.id, queued=op.method == "DELETE")
    for who, headers, role in principals:
        allowed = op.role is None or RANK[role] >= RANK[op.role]
        if allowed and op.method != "GET":  # a fresh scenario and token for each change
            scenario = store(app_client, tokens("planner"), load(TEACHING))
        spare_id = add_token(app_client, "viewer", "spare")[0] if "{token}" in op.path else ""
        path = op.path.format(id=scenario.id, token=spare_id, job=job_id)
        job_before = app_of(app_client).state.jobs.get(job_id).state if job_id else None
        sent = dict(headers)
        if op.if_match:
            sent["If-Match"] = scenario.etag
        before = None if allowed else store_snapshot(engine_of(app_client))
        body = json.loads(json.dumps(op.body).replace("{id}", scenario.id))
        response = app_client.request(op.method, path, json=body, headers=sent)

        if allowed:
            assert response.status_code == op.success, (who, response.text)
            continue
        if role is None:
            body = assert_problem(response, 401, "unauthorized")
            assert response.headers["WWW-Authenticate"] == "Bearer", who
        else:
            body = assert_problem(response, 403, "forbidden")
            assert op.role in body["detail"], body
        assert store_snapshot(engine_of(app_client)) == before, (who, op)
        if job_id:  # a job left as it was (a refused cancel cancels nothing)
            assert app_of(app_client).state.jobs.get(job_id).state == job_before, (who, op)


# --- tokens -------------------------------------------------------------------------------


def test_admin_creates_lists_and_revokes_tokens(app_client: TestClient, tokens: Tokens) -> None:
    admin = tokens("admin")
    created = app_client.post(
        "/v1/tokens", json={"role": "viewer", "name": "field office"}, headers=admin
    )
    assert created.status_code == 201, created.text
    new = created.json()
    assert (new["role"], new["name"], new["revoked_at"]) == ("viewer", "field office", None)
    secret = new["token"]

    # The new token reads but may not write.
    assert app_client.get("/v1/scenarios", headers=bearer(secret)).status_code == 200
    assert_problem(
        app_client.post("/v1/scenarios", json=load(TEACHING), headers=bearer(secret)), 403
    )

    listed = app_client.get("/v1/tokens", headers=admin)
    assert listed.status_code == 200
    by_id = {t["id"]: t for t in listed.json()}
    assert set(by_id) == {*tokens.ids.values(), new["id"]}
    assert {by_id[i]["role"] for i in tokens.ids.values()} == {"viewer", "planner", "admin"}
    assert by_id[new["id"]]["name"] == "field office"
    for entry in by_id.values():
        assert set(entry) == {"id", "name", "role", "created_at", "revoked_at"}
    for shown in [secret, *tokens.secrets.values()]:
        assert shown not in listed.text

    revoked = app_client.delete(f"/v1/tokens/{new['id']}", headers=admin)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert_problem(app_client.get("/v1/scenarios", headers=bearer(secret)), 401, "unauthorized")
    listed_again = {t["id"]: t for t in app_client.get("/v1/tokens", headers=admin).json()}
    assert listed_again[new["id"]]["revoked_at"] == revoked.json()["revoked_at"]
    assert_problem(app_client.delete("/v1/tokens/tok_nothing", headers=admin), 404)


def test_whoami_tells_each_token_its_name_and_role(app_client: TestClient, tokens: Tokens) -> None:
    for role, name in (("viewer", "vera"), ("planner", "petra"), ("admin", "ada")):
        answer = app_client.get("/v1/whoami", headers=tokens(role))
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"name": name, "role": role}
    assert_problem(app_client.get("/v1/whoami"), 401, "unauthorized")


def test_a_token_with_an_unknown_role_is_refused_at_its_pointer(
    app_client: TestClient, tokens: Tokens
) -> None:
    response = app_client.post(
        "/v1/tokens", json={"role": "superuser", "colour": "red"}, headers=tokens("admin")
    )
    body = assert_problem(response, 422, "invalid-request")
    assert {e["pointer"] for e in body["errors"]} == {"/role", "/colour"}


def test_only_the_hash_of_a_token_is_stored(
    app_client: TestClient, tokens: Tokens, backend: str, tmp_path: Path
) -> None:
    created = app_client.post("/v1/tokens", json={"role": "planner"}, headers=tokens("admin"))
    secret = created.json()["token"]
    shown = [secret, *tokens.secrets.values()]

    rows = store_snapshot(engine_of(app_client))
    assert all(s not in repr(rows) for s in shown)
    hashes = {row[0]: row[3] for row in rows["tokens"]}  # id, name, role, token_hash, …
    assert hashes[created.json()["id"]] == hashlib.sha256(secret.encode()).hexdigest()
    assert (
        hashes[tokens.ids["admin"]] == hashlib.sha256(tokens.secrets["admin"].encode()).hexdigest()
    )
    if backend == "sqlite":  # not even in the database files' bytes (main file and journal)
        files = list(tmp_path.glob("safe-passage.sqlite3*"))
        assert files
        for path in files:
            raw = path.read_bytes()
            assert all(s.encode() not in raw for s in shown), path


def test_cli_token_create_prints_a_working_token_once(
    app_client: TestClient,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAFE_PASSAGE_DATABASE_URL", make_settings().resolved_database_url())
    monkeypatch.setenv("SAFE_PASSAGE_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        made = CliRunner().invoke(
            cli, ["token", "create", "--role", "viewer", "--name", "cli", "--json"]
        )
        plain = CliRunner().invoke(cli, ["token", "create", "--role", "admin"])
    finally:
        get_settings.cache_clear()
    assert made.exit_code == 0, made.output
    shown = json.loads(made.stdout)
    assert set(shown) == {"id", "role", "token"}
    assert shown["role"] == "viewer"
    assert app_client.get("/v1/scenarios", headers=bearer(shown["token"])).status_code == 200
    assert_problem(
        app_client.post("/v1/scenarios", json=load(TEACHING), headers=bearer(shown["token"])), 403
    )
    assert plain.exit_code == 0, plain.output
    secret = plain.stdout.strip()
    assert plain.stdout == secret + "\n"  # the token alone on stdout
    assert app_client.get("/v1/audit", headers=bearer(secret)).status_code == 200
    listed = app_client.get("/v1/tokens", headers=bearer(secret)).json()
    assert {t["name"] for t in listed if t["id"] == shown["id"]} == {"cli"}


# --- audit log ----------------------------------------------------------------------------


def test_the_audit_log_records_who_created_changed_computed_and_deleted_what(
    app_client: TestClient, tokens: Tokens, teaching: Stored
) -> None:
    planner = tokens("planner")
    url = f"/v1/scenarios/{teaching.id}"
    app_client.put(
        url, json=teaching.document, headers={**planner, "If-Match": teaching.etag}
    ).raise_for_status()
    app_client.post(
        f"{url}/incidents", json={"incidents": [INCIDENT]}, headers=planner
    ).raise_for_status()
    app_client.post(
        f"{url}/routes", json={"from": "hilltop", "to": "camp"}, headers=planner
    ).raise_for_status()
    app_client.delete(url, headers=planner).raise_for_status()

    for role in ("viewer", "planner"):
        assert_problem(app_client.get("/v1/audit", headers=tokens(role)), 403)
    response = app_client.get(f"/v1/audit?scenario_id={teaching.id}", headers=tokens("admin"))
    assert response.status_code == 200
    page = response.json()
    assert page["total"] == 5
    entries = list(reversed(page["items"]))  # the log is newest first
    assert [(e["action"], e["version"]) for e in entries] == [
        ("scenario.create", 1),
        ("scenario.replace", 2),
        ("scenario.incidents", 3),
        ("route.compute", 3),
        ("scenario.delete", None),
    ]
    for entry in entries:
        assert entry["scenario_id"] == teaching.id
        assert (entry["actor"], entry["role"]) == ("petra", "planner")
        assert entry["token_id"] == tokens.ids["planner"]
    assert entries[3]["detail"]["from"] == "hilltop"

    everything = app_client.get("/v1/audit?limit=500", headers=tokens("admin")).json()
    created_tokens = [e for e in everything["items"] if e["action"] == "token.create"]
    assert {e["detail"]["token"] for e in created_tokens} == set(tokens.ids.values())
    paged = app_client.get("/v1/audit?limit=2&offset=1", headers=tokens("admin")).json()
    assert paged["items"] == everything["items"][1:3]
