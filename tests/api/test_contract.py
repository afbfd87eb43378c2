"""The published OpenAPI document is a contract integrators can build on.

Every operation is called for real (tests/api/contract_calls.py, on the bundled scenarios)
and every answer is checked against the schema the document publishes for its status and
media type, with no member beyond those declared allowed (the published schemas stay open to
additions; this test holds them to what is sent today). Declared response headers must be
sent (required ones always, optional ones at least once); every reference must resolve; every
problem type the code can send is described.
"""

from __future__ import annotations

import copy
import inspect
import json
import pkgutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from importlib import import_module
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator, FormatChecker

import app
from app.api.problems import PROBLEM_TYPES, SLUGS
from app.cli.service import load_demo
from app.domain.errors import ScenarioError
from tests.api import GRAPHS, add_token, app_of
from tests.api.contract_calls import Call, exercise, operation_of

FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _rfc3339(value: object) -> bool:
    """RFC 3339: a date, ``T``, a time and the UTC offset."""
    if not isinstance(value, str):
        return True
    return "T" in value.upper() and datetime.fromisoformat(value).tzinfo is not None


def strict(schema: Any) -> Any:
    """``schema`` with ``additionalProperties: false`` on every object that lists its
    properties and says nothing of others (maps and free-form objects stay open)."""
    if isinstance(schema, dict):
        out = {k: strict(v) for k, v in schema.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


def validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    root = {**strict(schema), "components": strict(document["components"])}
    return Draft202012Validator(root, format_checker=FORMATS)


def media(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def events(stream: str) -> list[dict[str, str]]:
    """The events of a text/event-stream body as ``{field: value}`` (comments left out; the
    service sends one ``data:`` line an event)."""
    found = []
    for block in stream.replace("\r\n", "\n").split("\n\n"):
        fields = [line.partition(":") for line in block.split("\n") if line and line[0] != ":"]
        if fields:
            found.append({name: value.removeprefix(" ") for name, _, value in fields})
    return found


def contents(document: dict[str, Any], schema: dict[str, Any], body: Any) -> list[tuple[Any, Any]]:
    """``(value, schema)`` of each member of ``body`` that its schema says holds JSON
    (``contentMediaType``, ``contentSchema``), which JSON Schema only annotates."""
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    found = []
    for name, member in schema.get("properties", {}).items():
        if member.get("contentMediaType") == "application/json" and name in body:
            found.append((json.loads(body[name]), member["contentSchema"]))
    return found


def declared(document: dict[str, Any], call: Call) -> tuple[str, dict[str, Any]]:
    """The operation id and the response entry the document declares for ``call``."""
    _, operation = operation_of(document, call.method, call.path)
    responses = operation["responses"]
    entry = responses.get(str(call.status))
    assert entry is not None, (
        f"{call.method} {call.path} answered {call.status}, not declared: {sorted(responses)}"
    )
    return operation["operationId"], entry


class QueueOf:
    """:class:`~tests.api.contract_calls.Queue` of a service in this process: its dispatch's
    ``enqueue`` replaced for a while."""

    def __init__(self, dispatch: Any) -> None:
        self.dispatch = dispatch

    @contextmanager
    def held(self) -> Iterator[None]:
        held: list[str] = []
        enqueue = self.dispatch.enqueue
        self.dispatch.enqueue = held.append
        try:
            yield
        finally:
            self.dispatch.enqueue = enqueue
        for job_id in held:
            enqueue(job_id)

    @contextmanager
    def down(self) -> Iterator[None]:
        def refuse(job_id: str) -> None:
            raise ConnectionError("broker unreachable")

        enqueue = self.dispatch.enqueue
        self.dispatch.enqueue = refuse
        try:
            yield
        finally:
            self.dispatch.enqueue = enqueue


@pytest.fixture(scope="module")
def answered() -> Iterator[tuple[dict[str, Any], list[Call]]]:
    """The document and one real call or more of every operation (SQLite: the contract is
    the same on both backends)."""
    import tempfile
    from pathlib import Path

    from app.api.app import create_app
    from app.config import Settings

    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(data_dir=Path(data_dir), log_json=False, demo_dir=GRAPHS)
        with TestClient(create_app(settings)) as client:
            load_demo(app_of(client).state.catalog, GRAPHS)
            secrets = {
                role: add_token(client, role, name)[1]  # type: ignore[arg-type]
                for role, name in (("admin", "ada"), ("planner", "petra"), ("viewer", "vera"))
            }
            queue = QueueOf(app_of(client).state.jobs.dispatch)
            calls = exercise(client, secrets["admin"], secrets["planner"], secrets["viewer"], queue)
            yield app_of(client).openapi(), calls


def test_every_operation_is_called_and_answers(
    answered: tuple[dict[str, Any], list[Call]],
) -> None:
    document, calls = answered
    operations = {op["operationId"] for item in document["paths"].values() for op in item.values()}
    succeeded = {declared(document, c)[0] for c in calls if c.status < 300}
    assert operations - succeeded == set()


def test_every_answer_is_what_the_document_declares(
    answered: tuple[dict[str, Any], list[Call]],
) -> None:
    """Status, media type, body (no undeclared member) and headers of every real answer: a
    required header in every answer, an optional one in one answer at least."""
    document, calls = answered
    failures: list[str] = []
    optional: set[tuple[str, int, str]] = set()
    sent_optional: set[tuple[str, int, str]] = set()
    for call in calls:
        operation_id, entry = declared(document, call)
        where = f"{operation_id} {call.method} {call.path} → {call.status}"
        content = entry.get("content", {})
        if call.status == 204 or not content:
            assert call.response.content == b"", where
            continue
        sent = media(call.response.headers["content-type"])
        types = {media(t): spec for t, spec in content.items()}
        assert sent in types, f"{where}: {sent} not among {sorted(types)}"
        schema = types[sent].get("schema")
        assert schema, f"{where}: {sent} has no schema"
        if sent == "text/event-stream":
            bodies: list[Any] = events(call.response.text)
            assert bodies, f"{where}: no event"
        else:
            bodies = [call.response.json() if sent.endswith("json") else call.response.text]
        for body in bodies:
            for part, part_schema in [(body, schema), *contents(document, schema, body)]:
                for error in validator(document, part_schema).iter_errors(part):
                    path = "/".join(str(p) for p in error.absolute_path)
                    failures.append(f"{where}: at /{path}: {error.message[:300]}")
        for header, spec in entry.get("headers", {}).items():
            if header in call.response.headers:
                sent_optional.add((operation_id, call.status, header))
            elif spec.get("required"):
                failures.append(f"{where}: required header {header} not sent")
            else:
                optional.add((operation_id, call.status, header))
    never = optional - sent_optional
    failures += [f"{op} → {status}: optional header {h} never sent" for op, status, h in never]
    assert not failures, "\n".join(failures[:40])


def test_declared_headers_say_whether_they_are_always_sent(
    answered: tuple[dict[str, Any], list[Call]],
) -> None:
    """Each response header is declared required (always sent) or not, never left unsaid."""
    document, _ = answered
    for path, item in document["paths"].items():
        for method, op in item.items():
            for status, entry in op["responses"].items():
                for header, spec in entry.get("headers", {}).items():
                    assert isinstance(spec.get("required"), bool), (method, path, status, header)


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_every_reference_resolves(answered: tuple[dict[str, Any], list[Call]]) -> None:
    document, _ = answered
    refs = set(_refs(document))
    assert refs, "no references at all"
    for ref in refs:
        assert ref.startswith("#/components/"), ref
        node: Any = document
        for part in ref.removeprefix("#/").split("/"):
            assert part in node, f"{ref} does not resolve"
            node = node[part]


def test_json_answers_are_named_components(answered: tuple[dict[str, Any], list[Call]]) -> None:
    """No 2xx JSON answer without a schema, none with an inline object."""
    document, _ = answered
    for path, item in document["paths"].items():
        for method, op in item.items():
            for status, entry in op["responses"].items():
                for media_type, spec in entry.get("content", {}).items():
                    schema = spec.get("schema") or {}
                    where = f"{method.upper()} {path} {status} {media_type}"
                    if "json" in media_type:
                        schema = (
                            schema.get("items", schema) if schema.get("type") == "array" else schema
                        )
                        named = [schema] if "$ref" in schema else schema.get("anyOf", [])
                        assert named and all("$ref" in s for s in named), where
                    elif media_type == "text/event-stream":  # the schema of each event
                        assert "$ref" in schema, where
                    else:
                        assert schema == {"type": "string"}, where


def _error_classes() -> set[type[ScenarioError]]:
    for module in pkgutil.walk_packages(app.__path__, "app."):
        if module.name.startswith(("app.web", "app.cli")):
            continue
        import_module(module.name)
    found: set[type[ScenarioError]] = set()
    todo = [ScenarioError]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


def test_every_problem_type_is_described_and_enumerated(
    answered: tuple[dict[str, Any], list[Call]],
) -> None:
    """Each slug an error class or a status can give is described at /problems/<slug> and
    listed in exactly one problem schema."""
    document, _ = answered
    slugs = {cls.slug for cls in _error_classes() if not inspect.isabstract(cls)} | set(
        SLUGS.values()
    )
    assert slugs - set(PROBLEM_TYPES) == set()
    schemas = document["components"]["schemas"]
    kinds = [ref["$ref"].rsplit("/", 1)[1] for ref in schemas["Problem"]["oneOf"]]
    listed = [t for k in kinds for t in schemas[k]["properties"]["type"]["enum"]]
    assert sorted(listed) == sorted(f"/problems/{s}" for s in PROBLEM_TYPES)


def test_if_match_is_required_where_its_absence_is_428(
    answered: tuple[dict[str, Any], list[Call]],
) -> None:
    document, calls = answered
    missing = [c for c in calls if c.status == 428]
    assert missing, "no call without If-Match"
    for path, item in document["paths"].items():
        for method, op in item.items():
            if_match = [p for p in op.get("parameters", []) if p["name"].lower() == "if-match"]
            required = bool(if_match and if_match[0].get("required"))
            assert required == ("428" in op["responses"]), f"{method} {path}"
    required_ops = {
        op["operationId"]
        for item in document["paths"].values()
        for op in item.values()
        if "428" in op["responses"]
    }
    assert required_ops == {"replace_scenario", "edit_scenario"}


def test_strict_schemas_refuse_an_undeclared_member(
    answered: tuple[dict[str, Any], list[Call]],
) -> None:
    """The check above would catch a member the server adds without declaring it."""
    document, calls = answered
    call = next(c for c in calls if c.path.endswith("/routes") and c.status == 200)
    body = copy.deepcopy(call.response.json())
    schema = {"$ref": "#/components/schemas/RoutesOut"}
    assert not list(validator(document, schema).iter_errors(body))
    body["routes"][0]["steps"][0]["surprise"] = 1
    assert list(validator(document, schema).iter_errors(body))
