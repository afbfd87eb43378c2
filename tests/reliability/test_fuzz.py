"""Schemathesis over the service's own OpenAPI document: no 5xx, every response as documented.

Every operation gets schema-driven requests (the documented examples, boundary
values, then random valid and invalid ones) with an admin token, so each reaches
past authentication. Path parameters of valid requests are pointed at a stored
scenario (or a done job), so routes, plans and briefs are computed rather than answered 404.
Checks: no server error; the status code, content type, headers and body are
those the OpenAPI document declares for that status. Bounded: a few dozen
requests per operation (about 30 s in all).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.api.app import create_app
from app.config import Settings
from app.services.access import create_token
from tests.api import ALEPPO, GRAPHS, TEACHING, bearer

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
"""Not ``positive_data_acceptance``: a request can match the schema and still name a place
the scenario does not have (422) or a stale version (412); refusing it is the contract.
Not ``negative_data_rejection``: the service ignores unknown query parameters and reads a
number sent as a time as Unix seconds (pydantic's lax mode), which that check counts as
accepting invalid data; neither can change a stored scenario."""

EXAMPLES_PER_OPERATION = int(os.environ.get("SAFE_PASSAGE_FUZZ_EXAMPLES", "20"))
"""Random requests per operation; raise it for a deeper local run (CI keeps 20)."""


@dataclass
class Fuzzed:
    app: FastAPI
    client: TestClient
    admin: dict[str, str]
    scenario_ids: dict[str, str]  # graph file name → stored id
    job_id: str  # a done plan job


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    """The service on a fresh SQLite file with teaching and Aleppo stored under their names."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("fuzz"), log_json=False, demo_dir=GRAPHS)
    app = create_app(settings)
    with TestClient(app) as client:
        _, secret = create_token(app.state.catalog.repo, "admin", "fuzzer")
        admin = bearer(secret)
        ids = {}
        for path in (TEACHING, ALEPPO):
            response = client.post(
                "/v1/scenarios",
                content=path.read_bytes(),
                headers={**admin, "Content-Type": "application/json"},
            )
            assert response.status_code == 201, response.text
            ids[path.stem] = response.json()["id"]
        accepted = client.post(
            f"/v1/scenarios/{ids['teaching']}/plans",
            json={"window": "pause-1"},
            headers={**admin, "Prefer": "respond-async"},
        )
        assert accepted.status_code == 202, accepted.text
        job_id = accepted.json()["id"]
        deadline = time.monotonic() + 120
        while app.state.jobs.get(job_id).state != "done":
            assert time.monotonic() < deadline, app.state.jobs.get(job_id)
            time.sleep(0.05)
        yield Fuzzed(app, client, admin, ids, job_id)


@pytest.fixture(scope="module")
def api_schema(fuzzed: Fuzzed) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzzed.app)


schema = schemathesis.pytest.from_fixture("api_schema")


def _valid_path(case: schemathesis.Case) -> bool:
    """True when schemathesis meant the path parameters to be valid (not a negative case)."""
    meta = case.meta
    if meta is None:
        return True
    component = meta.components.get(ParameterLocation.PATH)
    return component is None or component.mode == GenerationMode.POSITIVE


def _aim(case: schemathesis.Case, fuzzed: Fuzzed) -> None:
    """Point valid path parameters at stored things, so the request is not a plain 404."""
    params = case.path_parameters
    if not params or not _valid_path(case):
        return
    if "scenario_id" in params:
        if case.method == "DELETE" and case.path == "/v1/scenarios/{scenario_id}":
            # A scenario of its own to delete, so the others stay for the later operations.
            created = fuzzed.client.post(
                "/v1/scenarios",
                content=TEACHING.read_bytes(),
                headers={**fuzzed.admin, "Content-Type": "application/json"},
            )
            params["scenario_id"] = created.json()["id"]
        else:
            # Documented examples name Aleppo's places; generated ones fit either.
            params["scenario_id"] = fuzzed.scenario_ids["aleppo-2016-12"]
    if "job_id" in params:  # done: its events end at once, a cancel leaves it as it is
        params["job_id"] = fuzzed.job_id
    if "token_id" in params:
        spare = fuzzed.client.post("/v1/tokens", json={"role": "viewer"}, headers=fuzzed.admin)
        params["token_id"] = spare.json()["id"]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case: schemathesis.Case, fuzzed: Fuzzed) -> None:
    _aim(case, fuzzed)
    response = case.call_and_validate(headers=fuzzed.admin, checks=CHECKS)
    assert response.status_code < 500, response.text


def test_the_fuzzed_service_still_serves(fuzzed: Fuzzed) -> None:
    """After every operation was fuzzed, a plain route request is answered."""
    scenario = fuzzed.scenario_ids["teaching"]
    response = fuzzed.client.post(
        f"/v1/scenarios/{scenario}/routes",
        json={"from": "hilltop", "to": "camp"},
        headers=fuzzed.admin,
    )
    assert response.status_code in (200, 404), response.text  # 404 if a fuzzed DELETE won
    health = fuzzed.client.get("/v1/health")
    assert health.json()["status"] == "ok"
