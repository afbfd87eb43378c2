"""Every request example the OpenAPI document publishes works on the bundled scenarios.

The examples are what a reader of /docs tries first ("Try it out"): each one is sent, as
published, to a service that loaded graphs/*.json the way ``safe-passage serve --demo`` does,
and must answer 2xx. An example meant to show an error says so: its summary starts with
"Error:" and it carries ``x-expected-status``, the exact status it answers.

Examples are read from the document itself (request bodies and parameters, ``example`` and
``examples``, ``$ref`` followed), so one added later is tried without touching this file.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api.app import create_app
from app.cli.service import load_demo
from app.config import Settings
from tests.api import GRAPHS, app_of, assert_problem, bearer

DEMO_SCENARIO = "aleppo-2016-12"
"""The scenario the examples speak of (graphs/aleppo-2016-12.json, stored under its file name)."""

METHODS = ("get", "put", "post", "delete", "patch")


@dataclass
class Case:
    """One published example, as the request that tries it."""

    id: str
    method: str
    path: str
    parameters: list[dict[str, Any]]
    values: dict[str, Any] = field(default_factory=dict)  # parameter name -> example
    media_type: str | None = None
    body: Any = None
    expected_status: int | None = None  # None: any 2xx
    summary: str = ""


def _resolve(doc: dict[str, Any], obj: Any) -> Any:
    while isinstance(obj, dict) and "$ref" in obj:
        node: Any = doc
        for part in obj["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        obj = node
    return obj


def _examples(
    doc: dict[str, Any], holder: dict[str, Any]
) -> Iterator[tuple[str, Any, int | None, str]]:
    """(name, value, expected status, summary) of an object's ``example`` / ``examples``."""
    if "example" in holder:
        yield "example", holder["example"], None, ""
    for name, example in (holder.get("examples") or {}).items():
        example = _resolve(doc, example)
        status = example.get("x-expected-status")
        yield name, example.get("value"), status, example.get("summary", "")


def published_cases(doc: dict[str, Any]) -> list[Case]:
    """Every request example of ``doc``: one case per body example and per parameter example.

    A case for a parameter's example sends the operation's first body example (if any); a
    case for a body example sends each parameter's first example (if any).
    """
    cases: list[Case] = []
    for path, item in doc["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            params = [
                _resolve(doc, p) for p in item.get("parameters", []) + op.get("parameters", [])
            ]
            param_examples = [
                (p["name"], name, value, status, summary)
                for p in params
                for name, value, status, summary in _examples(doc, p)
            ]
            firsts: dict[str, Any] = {}
            for pname, _, value, _, _ in param_examples:
                firsts.setdefault(pname, value)
            content = _resolve(doc, op.get("requestBody", {})).get("content", {})
            bodies = [
                (media, name, value, status, summary)
                for media, spec in content.items()
                for name, value, status, summary in _examples(doc, spec)
            ]
            where = f"{method.upper()} {path}"
            for media, name, value, status, summary in bodies:
                cases.append(
                    Case(
                        f"{where} {media} {name}",
                        method,
                        path,
                        params,
                        dict(firsts),
                        media,
                        value,
                        status,
                        summary,
                    )
                )
            first_body = bodies[0] if bodies else None
            for pname, name, value, status, summary in param_examples:
                case = Case(
                    f"{where} {pname}={name}",
                    method,
                    path,
                    params,
                    {**firsts, pname: value},
                    expected_status=status,
                    summary=summary,
                )
                if first_body is not None:
                    case.media_type, case.body = first_body[0], first_body[2]
                cases.append(case)
    return cases


def _published_document() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data_dir:
        document: dict[str, Any] = create_app(
            Settings(data_dir=Path(data_dir), log_json=False)
        ).openapi()
        return document


CASES = published_cases(_published_document())


@pytest.fixture
def backend() -> str:
    """One backend is enough: this checks what the documentation says, not the storage."""
    return "sqlite"


@pytest.fixture
def demo_client(make_client: Any) -> tuple[TestClient, dict[str, str]]:
    """A service with the bundled scenarios stored as ``serve --demo`` stores them, and an
    admin's token (every role's examples can be tried with it)."""
    from tests.api import add_token

    client: TestClient = make_client()
    loaded = load_demo(app_of(client).state.catalog, GRAPHS)
    assert DEMO_SCENARIO in loaded
    _, secret = add_token(client, "admin", "ada")
    return client, bearer(secret)


def test_the_document_publishes_the_examples_we_wrote() -> None:
    """The walk finds the examples (a walk that finds none would pass vacuously)."""
    ids = {case.id for case in CASES}
    assert "POST /v1/scenarios/{scenario_id}/routes application/json disjoint" in ids
    assert "POST /v1/scenarios/{scenario_id}/routes application/json no-disjoint" in ids
    assert "POST /v1/scenarios/{scenario_id}/briefs application/json two-lanes" in ids
    assert "POST /v1/scenarios application/json example" in ids
    assert "POST /v1/scenarios/{scenario_id}/incidents text/csv example" in ids
    assert len(CASES) >= 15


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_published_example_answers(
    case: Case, demo_client: tuple[TestClient, dict[str, str]]
) -> None:
    client, auth = demo_client
    # An error example is marked in both places, so a reader sees it and this test knows it.
    assert case.summary.startswith("Error:") == (case.expected_status is not None), case.summary

    path = case.path
    query: dict[str, Any] = {}
    headers = dict(auth)
    for param in case.parameters:
        name, where = param["name"], param["in"]
        if name in case.values:
            value = case.values[name]
        elif where == "path" and name == "scenario_id":
            value = DEMO_SCENARIO
        elif where == "header" and name.lower() == "if-match":
            # The ETag of the version the reader has just read, as the docs ask.
            read = client.get(f"/v1/scenarios/{DEMO_SCENARIO}", headers=auth)
            assert read.status_code == 200, read.text
            value = read.headers["ETag"]
        elif param.get("required"):
            pytest.fail(f"{case.id}: required parameter {name!r} has no example")
        else:
            continue
        if where == "path":
            path = path.replace("{" + name + "}", str(value))
        elif where == "query":
            query[name] = value
        elif where == "header":
            headers[name] = str(value)

    kwargs: dict[str, Any] = {"params": query, "headers": headers}
    if case.media_type is not None:
        if case.media_type.endswith("json"):
            headers["Content-Type"] = case.media_type
            kwargs["json"] = case.body
        else:
            headers["Content-Type"] = case.media_type
            kwargs["content"] = str(case.body).encode()
    response = client.request(case.method.upper(), path, **kwargs)

    if case.expected_status is None:
        assert 200 <= response.status_code < 300, f"{case.id}: {response.text[:2000]}"
    else:
        assert_problem(response, case.expected_status)


def test_error_examples_are_marked() -> None:
    """The one error example says what it shows: the road every route to al-Rashideen uses."""
    errors = {case.id: case.expected_status for case in CASES if case.expected_status is not None}
    assert errors == {"POST /v1/scenarios/{scenario_id}/routes application/json no-disjoint": 422}
