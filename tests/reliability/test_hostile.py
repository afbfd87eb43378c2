"""Hostile input, over HTTP to a real ``safe-passage serve`` and through the CLI.

Each input of the corpus gets a 4xx RFC 9457 problem document naming what is
wrong (with pointers where there is a place to point at), or from the CLI exit
code 1/2 and the same problem document. After each one the store holds exactly
what it held before, and the server is still alive and answering.

The server runs with small limits (64 KiB bodies, 128 KiB scenarios, 200 places,
300 roads) so over-limit inputs stay small, and reads JSON documents of 16 KiB or
more as columns: every document of the corpus is also sent padded past 16 KiB,
through that second parser, and must be refused at the same pointers.

Every request carries a client timeout: it guards against a hang, it does not
measure speed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from app.storage.db import make_engine
from tests.api import TEACHING, assert_problem, load, store_snapshot
from tests.deploy import REPO, Service, bearer, create_token, running, service_env

LIMITS = {
    "SAFE_PASSAGE_MAX_BODY_BYTES": str(64 * 1024),
    "SAFE_PASSAGE_MAX_SCENARIO_BYTES": str(128 * 1024),
    "SAFE_PASSAGE_LARGE_SCENARIO_BYTES": str(16 * 1024),
    "SAFE_PASSAGE_MAX_NODES": "200",
    "SAFE_PASSAGE_MAX_EDGES": "300",
    "SAFE_PASSAGE_PLAN_TIME_BUDGET_S": "5",
}
HANG_GUARD_S = 60.0
"""Client timeout per request: far above any answer here, only there so a hang fails."""

WINDOW_START = "2025-03-01T09:00:00+00:00"
CENTURY_LATER = "2125-03-01T09:00:00+00:00"


@dataclass
class Hostile:
    """One hostile input: how to send it and what the answer must say."""

    name: str
    body: bytes
    status: int
    slug: str
    pointers: set[str] = field(default_factory=set)
    """Pointers that must be among the problem's ``errors``."""
    content_type: str = "application/json"
    path: str = "/v1/scenarios"
    detail_has: str = ""


def teaching() -> dict[str, Any]:
    return load(TEACHING)


def changed(change: Callable[[dict[str, Any]], Any]) -> bytes:
    document = teaching()
    change(document)
    return json.dumps(document).encode()


def raw(section: str, index: int, key: str, literal: str) -> bytes:
    """teaching.json with one value written as a raw JSON literal (NaN cannot be dumped)."""
    document = teaching()
    document[section][index][key] = "__RAW__"
    return json.dumps(document).replace('"__RAW__"', literal).encode()


def duplicate_node(d: dict[str, Any]) -> None:
    d["nodes"].append(dict(d["nodes"][0]))


def unknown_fields(d: dict[str, Any]) -> None:
    d["nodes"][2]["colour"] = "red"
    d["shelter"] = True


def over_node_limit(d: dict[str, Any]) -> None:
    d["nodes"] += [{"id": f"extra-{i}"} for i in range(201 - len(d["nodes"]))]


def over_edge_limit(d: dict[str, Any]) -> None:
    d["nodes"] += [{"id": f"extra-{i}"} for i in range(150)]
    d["edges"] += [
        {"id": f"extra-road-{i}", "from": f"extra-{i}", "to": f"extra-{i + 1}", "length_m": 1}
        for i in range(149)
    ] + [
        {"id": f"extra-back-{i}", "from": f"extra-{i + 1}", "to": f"extra-{i}", "length_m": 1}
        for i in range(149)
    ]


BILLION_LAUGHS = b"""schema: safe-passage/scenario@1
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
nodes: *i
"""

DOCUMENTS = [
    Hostile("NaN risk", raw("edges", 0, "risk", "NaN"), 422, "invalid-document", {"/edges/0/risk"}),
    Hostile(
        "Infinity length",
        raw("edges", 0, "length_m", "Infinity"),
        422,
        "invalid-document",
        {"/edges/0/length_m"},
    ),
    Hostile(
        "-Infinity travel time",
        raw("edges", 0, "travel_time_min", "-Infinity"),
        422,
        "invalid-document",
        {"/edges/0/travel_time_min"},
    ),
    Hostile(
        "1e999 capacity",
        raw("edges", 0, "capacity_per_min", "1e999"),
        422,
        "invalid-document",
        {"/edges/0/capacity_per_min"},
    ),
    Hostile(
        "a 5,000-digit capacity",
        raw("edges", 0, "capacity_per_min", "9" * 5000),
        422,
        "invalid-document",
        {""},
    ),
    Hostile(
        "population of 1e30 people",
        changed(lambda d: d["nodes"][2].update(population=10**30)),
        422,
        "invalid-document",
        {"/nodes/2/population"},
    ),
    Hostile(
        "a road 1e300 m long",
        changed(lambda d: d["edges"][0].update(length_m=1e300)),
        422,
        "invalid-document",
        {"/edges/0/length_m"},
    ),
    Hostile(
        "a road of 1e300 minutes",
        changed(lambda d: d["edges"][0].update(travel_time_min=1e300)),
        422,
        "invalid-document",
        {"/edges/0/travel_time_min"},
    ),
    Hostile(
        "risk 1.0",
        changed(lambda d: d["edges"][0].update(risk=1.0)),
        422,
        "invalid-document",
        {"/edges/0/risk"},
    ),
    Hostile(
        "negative capacities",
        changed(
            lambda d: (
                d["edges"][0].update(capacity_per_min=-5),
                d["nodes"][0].update(capacity=-1),
            )
        ),
        422,
        "invalid-document",
        {"/edges/0/capacity_per_min", "/nodes/0/capacity"},
    ),
    Hostile(
        "unknown node id",
        changed(lambda d: d["edges"][1].update(to="nowhere")),
        422,
        "invalid-document",
        {"/edges/1/to"},
    ),
    Hostile("duplicate node id", changed(duplicate_node), 422, "invalid-document", {"/nodes/6/id"}),
    Hostile(
        "unknown fields",
        changed(unknown_fields),
        422,
        "invalid-document",
        {"/nodes/2/colour", "/shelter"},
    ),
    Hostile(
        "20,000 levels of nesting",
        b"[" * 20_000 + b"]" * 20_000,
        422,
        "invalid-document",
        {""},
        detail_has="nested",
    ),
    Hostile(
        "not UTF-8",
        b'{"schema": "safe-passage/scenario@1", "name": "Alep\xe9"}',
        422,
        "invalid-document",
        {""},
        detail_has="UTF-8",
    ),
    Hostile("empty body", b"", 422, "invalid-document", {""}, detail_has="empty"),
    Hostile(
        "YAML alias bomb",
        BILLION_LAUGHS,
        422,
        "invalid-document",
        {""},
        content_type="application/yaml",
        detail_has="YAML anchors are not accepted",
    ),
    Hostile("over the node limit", changed(over_node_limit), 422, "invalid-document", {"/nodes"}),
    Hostile("over the road limit", changed(over_edge_limit), 422, "invalid-document", {"/edges"}),
]
"""Scenario documents; each is refused by POST /v1/scenarios and by `safe-passage validate`."""

OVERSIZE = Hostile("over the body limit", b" " * (128 * 1024 + 1), 413, "too-large")

PADDING_NOTE = "padding to reach the column reader. " * 250  # 9,000 characters


def padded(raw: bytes) -> bytes | None:
    """The document with notes that take it past 16 KiB (None if it is not a JSON object)."""
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, dict):
        return None
    document["notes"] = [PADDING_NOTE, PADDING_NOTE]
    text = json.dumps(document, allow_nan=True)
    return text.encode()


def requests_on(scenario_id: str) -> list[Hostile]:
    """Hostile questions on a stored scenario: route, plan and incident bodies."""
    base = f"/v1/scenarios/{scenario_id}"
    return [
        Hostile("route to an unknown place", b'{"from": "nowhere", "to": "camp"}', 422,
                "invalid-request", {"/from"}, path=f"{base}/routes"),
        Hostile("route with max_risk NaN", b'{"from": "hilltop", "to": "camp", "max_risk": NaN}',
                422, "invalid-request", {"/max_risk"}, path=f"{base}/routes"),
        Hostile("route with an unknown field",
                b'{"from": "hilltop", "to": "camp", "via": "mill"}', 422, "invalid-request",
                {"/via"}, path=f"{base}/routes"),
        Hostile("route body over the limit", b" " * (64 * 1024 + 1), 413, "too-large",
                path=f"{base}/routes"),
        Hostile("route body not UTF-8", b'{"from": "hilltop", "to": "caf\xe9"}', 422,
                "invalid-request", {""}, path=f"{base}/routes"),
        Hostile("route body nested 20,000 deep", b'{"from": ' + b"[" * 20_000, 422,
                "invalid-request", {""}, path=f"{base}/routes", detail_has="nested"),
        Hostile("incident with NaN severity",
                b'{"incidents": [{"id": "r1", "kind": "shelling", "edges": ["camp--ford"], '
                b'"severity": NaN, "observed_at": "2025-03-01T09:30:00+00:00"}]}',
                422, "invalid-document", {"/incidents/0/severity"}, path=f"{base}/incidents"),
        Hostile("incident on an unknown road",
                b'{"incidents": [{"id": "r1", "kind": "shelling", "edges": ["no-road"], '
                b'"severity": 0.1, "observed_at": "2025-03-01T09:30:00+00:00"}]}',
                422, "invalid-document", {"/incidents/0/edges/0"}, path=f"{base}/incidents"),
        Hostile("incident already reported",
                json.dumps({"incidents": teaching()["incidents"][:1]}).encode(), 422,
                "invalid-document", path=f"{base}/incidents"),
        Hostile("optimal plan over a century",
                json.dumps({"start": WINDOW_START, "end": CENTURY_LATER}).encode(), 422,
                "invalid-request", {"/end"}, path=f"{base}/plans", detail_has="arcs"),
        Hostile("fast plan over a century",
                json.dumps({"start": WINDOW_START, "end": CENTURY_LATER,
                            "method": "fast"}).encode(),
                422, "invalid-request", {"/end"}, path=f"{base}/plans", detail_has="cells"),
        Hostile("fast plan for everyone, no window", json.dumps({"method": "fast"}).encode(), 422,
                "invalid-request", {"/method"}, path=f"{base}/plans", detail_has="time budget"),
        Hostile("plan ending before it starts",
                json.dumps({"start": CENTURY_LATER, "end": WINDOW_START}).encode(), 422,
                "invalid-request", {"/end"}, path=f"{base}/plans"),
    ]  # fmt: skip


CROWD = 10**9
"""People at the crowded scenario's district: a century is not enough for them."""


def crowded() -> dict[str, Any]:
    """teaching.json with a billion people at the Hilltop (within every bound, but no plan
    over it fits the limits)."""
    document = teaching()
    for node in document["nodes"]:
        if node["id"] == "hilltop":
            node["population"] = CROWD
        node.pop("capacity", None)
    document["name"] = "Crowded teaching network"
    return document


@dataclass
class Served:
    service: Service
    planner: dict[str, str]
    engine: Engine
    crowded_id: str
    teaching_id: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("hostile")
    env = {**service_env(tmp), **LIMITS}
    planner = bearer(create_token(env, "planner"))
    engine = make_engine(f"sqlite:///{tmp / 'safe-passage.sqlite3'}")
    try:
        with running(env, tmp) as (service,):
            ids = []
            for document in (teaching(), crowded()):
                response = service.client.post("/v1/scenarios", json=document, headers=planner)
                assert response.status_code == 201, response.text
                ids.append(response.json()["id"])
            yield Served(service, planner, engine, crowded_id=ids[1], teaching_id=ids[0])
    finally:
        engine.dispose()


def send(served: Served, hostile: Hostile, body: bytes | None = None) -> httpx.Response:
    return served.service.client.post(
        hostile.path,
        content=hostile.body if body is None else body,
        headers={**served.planner, "Content-Type": hostile.content_type},
        timeout=HANG_GUARD_S,
    )


def check_refusal(served: Served, hostile: Hostile, response: httpx.Response) -> dict[str, Any]:
    problem = assert_problem(response, hostile.status, hostile.slug)
    found = {e["pointer"] for e in problem.get("errors", [])}
    assert hostile.pointers <= found, (hostile.name, problem)
    assert hostile.detail_has in json.dumps(problem), (hostile.name, problem)
    return problem


def still_serving(served: Served) -> None:
    assert served.service.process.poll() is None, "the server died"
    response = served.service.client.post(
        f"/v1/scenarios/{served.teaching_id}/routes",
        json={"from": "hilltop", "to": "camp", "at": "2025-03-01T08:00:00+00:00"},  # as_of
        headers=served.planner,
        timeout=HANG_GUARD_S,
    )
    assert response.status_code == 200, response.text
    assert response.json()["routes"][0]["edges"] == ["hilltop--mill", "ford--mill", "camp--ford"]


@pytest.mark.parametrize("hostile", [*DOCUMENTS, OVERSIZE], ids=lambda h: h.name)
def test_a_hostile_document_is_refused_and_changes_nothing(
    served: Served, hostile: Hostile
) -> None:
    before = writes(served.engine)
    check_refusal(served, hostile, send(served, hostile))
    assert writes(served.engine) == before
    still_serving(served)


@pytest.mark.parametrize(
    "hostile", [h for h in DOCUMENTS if padded(h.body) is not None], ids=lambda h: h.name
)
def test_the_column_reader_refuses_it_at_the_same_pointers(
    served: Served, hostile: Hostile
) -> None:
    """Padded past 16 KiB the document goes through the large-document reader instead."""
    big = padded(hostile.body)
    assert big is not None and 16 * 1024 <= len(big) <= 128 * 1024
    before = writes(served.engine)
    small = check_refusal(served, hostile, send(served, hostile))
    large = check_refusal(served, hostile, send(served, hostile, big))
    assert large["errors"] == small["errors"]
    assert writes(served.engine) == before


def test_hostile_questions_are_refused_and_change_nothing(served: Served) -> None:
    cases = requests_on(served.teaching_id)
    crowded_cases = {"optimal plan over a century", "fast plan over a century",
                     "fast plan for everyone, no window"}  # fmt: skip
    for hostile in cases:
        if hostile.name in crowded_cases:
            hostile.path = hostile.path.replace(served.teaching_id, served.crowded_id)
        before = writes(served.engine)
        check_refusal(served, hostile, send(served, hostile))
        assert writes(served.engine) == before, hostile.name
    still_serving(served)


def writes(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """The store without computation records: those are written in batches up to a second
    after their answer (docs/reliability.md), so one made before a hostile request may land
    during it; every scenario, version, token and audited write is still compared."""
    snapshot = store_snapshot(engine)
    snapshot["audit_log"] = [
        row for row in snapshot["audit_log"] if not row[5].endswith(".compute")
    ]
    return snapshot


def test_a_raw_byte_if_match_is_a_412_not_a_500(served: Served) -> None:
    """Header bytes beyond ASCII (Latin-1 to the server) and versions beyond the store."""
    url = f"{served.service.url}/v1/scenarios/{served.teaching_id}"
    before = writes(served.engine)
    for tag in (b'"\xb2"', b"\xd9\xa1", b'"99999999999999999999"', b'"2147483647"'):
        response = httpx.put(
            url,
            content=TEACHING.read_bytes(),
            headers=[
                (b"Authorization", served.planner["Authorization"].encode()),
                (b"Content-Type", b"application/json"),
                (b"If-Match", tag),
            ],
            timeout=HANG_GUARD_S,
        )
        assert_problem(response, 412, "precondition-failed")
    assert writes(served.engine) == before
    still_serving(served)


# --- the same corpus through the command line -----------------------------------------------


def run_cli(*args: str, cwd: Path) -> tuple[int, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFE_PASSAGE_")}
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        timeout=HANG_GUARD_S * 2,
        check=False,
    )
    assert b"Traceback" not in proc.stderr, proc.stderr.decode(errors="replace")
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else None


CLI_DOCUMENTS = [h for h in DOCUMENTS if "limit" not in h.name]
"""The CLI's node and road limits are the built-in 2,000,000 / 5,000,000 (not settings)."""


def test_the_cli_refuses_each_hostile_document_with_its_pointers(tmp_path: Path) -> None:
    files = []
    for k, hostile in enumerate(CLI_DOCUMENTS):
        suffix = ".yaml" if hostile.content_type == "application/yaml" else ".json"
        path = tmp_path / f"hostile-{k}{suffix}"
        path.write_bytes(hostile.body)
        files.append(path)
    with ThreadPoolExecutor(4) as pool:
        verdicts = list(
            pool.map(lambda p: run_cli("validate", str(p), "--json", cwd=tmp_path), files)
        )
    for hostile, (code, problem) in zip(CLI_DOCUMENTS, verdicts, strict=True):
        assert code == 1, (hostile.name, problem)
        assert problem["type"].endswith("/" + hostile.slug), (hostile.name, problem)
        assert hostile.pointers <= {e["pointer"] for e in problem["errors"]}, (
            hostile.name,
            problem,
        )
        assert hostile.detail_has in json.dumps(problem), (hostile.name, problem)


def test_the_cli_refuses_a_century_long_plan_and_a_bad_incident_file(tmp_path: Path) -> None:
    scenario = tmp_path / "crowded.json"
    scenario.write_text(json.dumps(crowded()))
    reports = tmp_path / "reports.csv"
    reports.write_bytes(
        b"id,kind,lat,lon,severity,observed_at\n"
        b"r1,shelling,NaN,37.1,0.1,yesterday\n"
        b"r2,shelling,36.17,37.1,2,2025-03-01T09:00:00+00:00\n"
    )
    original = scenario.read_bytes()
    with ThreadPoolExecutor(2) as pool:
        plan = pool.submit(
            run_cli, "plan", str(scenario), "--start", WINDOW_START, "--end", CENTURY_LATER,
            "--json", cwd=tmp_path,
        )  # fmt: skip
        imported = pool.submit(
            run_cli, "incidents", "import", str(scenario), str(reports), "--json", cwd=tmp_path
        )
        (plan_code, plan_problem), (import_code, import_problem) = plan.result(), imported.result()
    assert plan_code == 2, plan_problem  # a usage error: the question is too big, not invalid
    assert plan_problem["type"].endswith("/invalid-request")
    assert "arcs" in plan_problem["detail"]
    assert import_code == 1, import_problem
    assert {"/rows/2/lat", "/rows/2/observed_at", "/rows/3/severity"} <= {
        e["pointer"] for e in import_problem["errors"]
    }
    assert scenario.read_bytes() == original  # nothing imported from a file with errors
