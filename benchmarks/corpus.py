"""A fixed corpus of questions whose answers must stay byte-identical across a refactor.

Run from the repository root:

    python3 benchmarks/corpus.py --check            # recompute every answer, compare (exit 1)
    python3 benchmarks/corpus.py --check --quick    # only the cases marked quick (the test's)
    python3 benchmarks/corpus.py --write            # record the current answers as the reference
    python3 benchmarks/corpus.py --check --dump DIR # also save every answer's bytes in DIR
    python3 benchmarks/corpus.py --check --before DIR   # exact diffs against a saved --dump

The corpus is the two bundled scenarios of ``graphs/`` and 30 random scenarios made
here from a fixed seed (small ones, two of a few thousand places and three of 26k-34k
places whose documents are larger than the server's 8 MiB columnar threshold), plus
invalid documents and invalid questions. Each is asked through stable public
interfaces only: the HTTP API (``fastapi.testclient.TestClient`` on the app factory,
a temporary SQLite database per server, a planner token made with the
``safe-passage token create`` command) and a few ``safe-passage ... --json`` commands.
Nothing here imports the domain or the services: they are what a refactor moves.

Each answer's canonical bytes are ``STATUS MEDIA-TYPE`` (plus ``ETag`` and ``Location``
when sent), a newline, and the exact response body; for commands, the exit code and
the exact stdout. Only the fields in :data:`VOLATILE` are blanked, and only in the
answers that carry them (:data:`VOLATILE_CASES`). ``benchmarks/corpus-digests.json``
keeps each case's SHA-256 and size, and digests of its blocks so that a difference can
be located without the old bytes.

Servers are configured for reproducible answers: plans are computed in the server
process (``plan_workers=0``, same code as the workers) with a time budget of an hour,
so that an optimal plan is never replaced by the fast one because the machine was slow.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's code, whichever one is installed
GRAPHS = ROOT / "graphs"
DIGESTS = ROOT / "benchmarks" / "corpus-digests.json"

SEED = 20_250_301
RANDOM_SCENARIOS = 30
LARGE_DOCUMENT_BYTES = 8 * 1024 * 1024
"""The server's default ``large_scenario_bytes``: documents at least this big are read as
columns. The large random scenarios are checked to be bigger than this."""

VOLATILE: dict[str, str] = {
    "created_at": "when the version was stored: the clock during the run",
    "created_by": "id of the token that stored it: every run makes a new random token",
}
"""Members blanked (value replaced by ``"<volatile>"``) where an answer carries them, with
the reason. Not recorded at all: response headers other than the media type, ETag and
Location (``x-request-id`` is random per request), the token's secret and id, timings."""

VOLATILE_CASES = re.compile(r"/(stored|incidents-added[^/]*)$")
"""The cases whose answers carry :data:`VOLATILE` members: responses of ``POST
/v1/scenarios`` and ``POST .../incidents`` (a version: id, counts, size, sha256, when, who)."""

BLOCKS = 32
"""At most this many block digests are kept per case to locate a difference."""


# --------------------------------------------------------------------------- the cases


QUICK_CASES = re.compile(
    "|".join(
        [
            r"(api|columnar|replica)/(teaching|aleppo|yaml)/.*",
            r"(api|replica)/r0[0-4]/.*",
            r"(api|columnar)/invalid/.*",
            r"api/r27/(stored|route|alternatives|disjoint|plan-fast-w0|parties|brief-markdown"
            r"|map-route|document|bad-route-unknown-place|incidents-added"
            r"|after-incidents/(route|document))",
            r"replica/r27/.*",
            r"cli/(teaching/route|invalid/validate)",
        ]
    )
)
"""The cases ``--quick`` (and the test) asks: the bundled scenarios, five small random ones
(with and without coordinates, a profile, non-ASCII ids), every invalid document on both
readers (the one over 8 MiB included), one valid document over 8 MiB, two commands."""


@dataclass
class Case:
    """One question and its answer's canonical bytes."""

    name: str
    data: bytes
    quick: bool


@dataclass
class Corpus:
    """Cases in the order asked; names are unique."""

    quick_only: bool
    cases: dict[str, Case] = field(default_factory=dict)

    def wants(self, name: str) -> bool:
        return not self.quick_only or QUICK_CASES.fullmatch(name) is not None

    def record(self, name: str, answer: Any) -> None:
        """Keep ``answer`` (a response, or bytes) as case ``name`` if this run wants it."""
        if name in self.cases:
            raise ValueError(f"duplicate case name {name!r}")
        if not self.wants(name):
            return
        data = rounded(answer if isinstance(answer, bytes) else canonical(answer))
        if VOLATILE_CASES.search(name):
            data = blank_volatile(data)
        self.cases[name] = Case(name, data, QUICK_CASES.fullmatch(name) is not None)

    def post(self, name: str, server: Server, path: str, body: Any, **options: Any) -> None:
        """Ask a question with ``POST`` (only if this run wants the case)."""
        if self.wants(name):
            self.record(name, server.post(path, body, **options))

    def get(self, name: str, server: Server, path: str, params: Any = None) -> None:
        """Ask a question with ``GET`` (only if this run wants the case)."""
        if self.wants(name):
            self.record(name, server.get(path, params))


def blank_volatile(data: bytes) -> bytes:
    """``data`` with the value of every :data:`VOLATILE` member replaced by a placeholder."""
    for key in VOLATILE:
        data = re.sub(
            rb'("' + key.encode() + rb'"\s*:\s*)("(?:[^"\\]|\\.)*"|null|[-0-9.eE+]+)',
            rb'\1"<volatile>"',
            data,
        )
    return data


def canonical(response: Any) -> bytes:
    """Status, media type, ETag/Location headers and the exact body of an HTTP response."""
    head = f"{response.status_code} {response.headers.get('content-type', '-')}"
    for header in ("etag", "location"):
        if header in response.headers:
            head += f"\n{header}: {response.headers[header]}"
    body: bytes = response.content
    return head.encode() + b"\n\n" + body


NUMBER = re.compile(rb"(?<![\w.])-?\d+\.\d+(?:[eE][-+]?\d+)?(?![\w.])")
"""A decimal number written with a fraction, alone (not part of an id, a version or a date)."""

SIGNIFICANT = 10
"""Digits of a number the record keeps (see :func:`rounded`)."""


def rounded(data: bytes) -> bytes:
    """``data`` with every number of more than :data:`SIGNIFICANT` significant digits
    rounded to that many.

    Answers computed with numpy's vectorised logarithms and exponentials differ in their
    last bit between CPUs (numpy picks other implementations where AVX-512 is present):
    the same code gave 0.20400000000000418 people harmed on one machine and another final
    digit on the machine the record was made on. Ten significant digits keep every
    difference a change of code would make (a route, a count, a risk) and drop those."""

    def one(match: re.Match[bytes]) -> bytes:
        text = match.group()
        digits = len(
            text.split(b"e")[0].split(b"E")[0].lstrip(b"-").replace(b".", b"").lstrip(b"0")
        )
        if digits <= SIGNIFICANT:
            return text
        return f"{float(text):.{SIGNIFICANT}g}".encode()

    return NUMBER.sub(one, data)


# --------------------------------------------------------------------------- servers


@contextlib.contextmanager
def clean_environment() -> Iterator[None]:
    """No ``SAFE_PASSAGE_*`` variable of the caller's shell may change the answers."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("SAFE_PASSAGE_")}
    for key in saved:
        del os.environ[key]
    try:
        yield
    finally:
        os.environ.update(saved)


def command_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFE_PASSAGE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["SAFE_PASSAGE_LOG_JSON"] = "false"
    env["COLUMNS"] = "160"
    return env


def start_token(database_url: str) -> subprocess.Popen[str]:
    """``safe-passage token create`` on ``database_url`` (it also creates the schema)."""
    env = {**command_env(), "SAFE_PASSAGE_DATABASE_URL": database_url}
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "token", "create", "--role", "planner", "--json"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish_token(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"token create failed ({proc.returncode}): {err}")
    token: str = json.loads(out)["token"]
    return token


class Server:
    """One app (the factory's, with a lifespan) on its own SQLite database, asked as a planner."""

    def __init__(
        self,
        stack: contextlib.ExitStack,
        database_url: str,
        data_dir: Path,
        token: str,
        **overrides: Any,
    ) -> None:
        from fastapi.testclient import TestClient

        from app.api.app import create_app
        from app.config import Settings

        fields: dict[str, Any] = {
            "data_dir": data_dir,
            "database_url": database_url,
            "log_json": False,
            "demo_dir": GRAPHS,
            "plan_workers": 0,
            "plan_time_budget_s": 3600.0,
            # Every plan answered inline (a job's id is random): the corpus compares answers.
            "job_inline_s": 1e9,
        }
        fields.update(overrides)
        with clean_environment():
            settings = Settings(**fields)
        # A server error is an answer too (500 problem document), not an exception here.
        client = TestClient(create_app(settings), raise_server_exceptions=False)
        self.client = stack.enter_context(client)
        self.headers = {"Authorization": f"Bearer {token}"}

    def post(
        self,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        content_type: str = "application/json",
        accept: str | None = None,
    ) -> Any:
        headers = {**self.headers, "content-type": content_type}
        if accept:
            headers["accept"] = accept
        content = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
        return self.client.post(path, content=content, headers=headers)

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.get(path, params=params, headers=self.headers)


# --------------------------------------------------------------------------- random scenarios


BASE_TIME = datetime.fromisoformat("2025-06-01T06:00:00+03:00")
STATUSES = ["open"] * 14 + ["restricted", "damaged", "blocked"]
CONSENTS = ["granted", "pending", "refused", "unknown"]
INCIDENT_KINDS = ["shelling", "sniper fire", "air strike", "clashes", "abduction"]


def iso(moment: datetime) -> str:
    return moment.isoformat()


@dataclass(frozen=True)
class Shape:
    """What a random scenario looks like."""

    places: int
    geo: bool = True
    parties: int = 3
    safe_zones: int = 2
    populated: int = 4
    incidents: int = 3
    windows: int = 1
    profile: bool = False
    unicode_ids: bool = False


def shapes() -> list[Shape]:
    """The 30 random scenarios: 22 small, 3 of 80-200 places, 2 of thousands, 3 over 8 MiB."""
    rng = random.Random(SEED)
    out = []
    for i in range(22):
        out.append(
            Shape(
                places=rng.randint(5, 60),
                geo=i % 5 != 3,
                parties=rng.randint(0, 4),
                safe_zones=rng.randint(1, 3),
                populated=rng.randint(1, 5),
                incidents=rng.randint(0, 4),
                windows=rng.randint(0, 2),
                profile=i % 4 == 1,
                unicode_ids=i % 7 == 2,
            )
        )
    for places in (80, 140, 200):
        out.append(Shape(places=places, populated=8, incidents=5, windows=2, profile=True))
    out.append(Shape(places=2_500, populated=12, incidents=8, windows=1))
    out.append(Shape(places=5_000, geo=False, populated=10, incidents=6, windows=1))
    out.append(Shape(places=26_000, populated=20, incidents=10, windows=1))
    out.append(Shape(places=28_000, parties=4, populated=25, incidents=12, windows=2, profile=True))
    out.append(Shape(places=34_000, geo=False, populated=15, incidents=8, windows=1))
    assert len(out) == RANDOM_SCENARIOS
    return out


def random_scenario(index: int, shape: Shape) -> dict[str, Any]:
    """A valid scenario document from its own seed: a jittered grid with a few chords."""
    rng = random.Random(SEED * 1000 + index)
    n = shape.places
    side = max(2, math.ceil(math.sqrt(n)))
    parties = [
        {
            "id": f"p{k}",
            "name": f"Party {k}",
            "consent": rng.choice(CONSENTS),
            **({"detention_record": True} if rng.random() < 0.4 else {}),
        }
        for k in range(shape.parties)
    ]
    party_ids = [p["id"] for p in parties]

    def party(p: float) -> str | None:
        return rng.choice(party_ids) if party_ids and rng.random() < p else None

    def node_id(i: int) -> str:
        return f"حي-{i}" if shape.unicode_ids and i % 3 == 0 else f"n{i}"

    roles = list(range(n))
    rng.shuffle(roles)
    safe = set(roles[: shape.safe_zones])
    populated = set(roles[shape.safe_zones : shape.safe_zones + shape.populated])
    lat0, lon0 = 36.1 + rng.random() * 0.2, 37.0 + rng.random() * 0.2
    nodes = []
    for i in range(n):
        node: dict[str, Any] = {"id": node_id(i)}
        if rng.random() < 0.5:
            node["name"] = f"Place {i}"
        if i in safe:
            node["kind"] = "safe_zone"
            if rng.random() < 0.3:
                node["capacity"] = rng.randint(200, 5_000)
        elif i in populated:
            node["kind"] = "district"
            node["population"] = rng.randint(10, 400)
            if rng.random() < 0.3:
                node["capacity"] = node["population"] + rng.randint(0, 200)
        else:
            node["kind"] = rng.choice(["junction", "junction", "crossing", "assembly"])
            if rng.random() < 0.1:
                node["capacity"] = rng.randint(20, 300)
        if shape.geo:
            row, col = divmod(i, side)
            node["lat"] = round(lat0 + row * 0.0012 + rng.uniform(-3e-4, 3e-4), 6)
            node["lon"] = round(lon0 + col * 0.0015 + rng.uniform(-3e-4, 3e-4), 6)
        owner = party(0.6)
        if owner:
            node["controlled_by"] = owner
        nodes.append(node)

    pairs = []
    for i in range(n):
        row, col = divmod(i, side)
        if col + 1 < side and i + 1 < n and rng.random() < 0.9:
            pairs.append((i, i + 1))
        if i + side < n and rng.random() < 0.9:
            pairs.append((i, i + side))
    for _ in range(max(1, n // 10)):
        a, b = rng.randrange(n), rng.randrange(n)
        if a != b:
            pairs.append((a, b))
    edges = []
    for j, (a, b) in enumerate(pairs):
        edge: dict[str, Any] = {"id": f"e{j}", "from": node_id(a), "to": node_id(b)}
        timing = rng.random()
        if timing < 0.8:
            edge["length_m"] = round(rng.uniform(60.0, 600.0), 1)
        if timing > 0.6:
            edge["travel_time_min"] = round(rng.uniform(1.0, 15.0), 1)
        if rng.random() < 0.7:
            edge["capacity_per_min"] = rng.randint(3, 60)
        status = rng.choice(STATUSES)
        if status != "open" or rng.random() < 0.2:
            edge["status"] = status
        if rng.random() < 0.85:
            edge["risk"] = round(rng.random() * rng.choice([0.01, 0.05, 0.2]), 4)
        owner = party(0.5)
        if owner:
            edge["controlled_by"] = owner
        checkpoint = party(0.08)
        if checkpoint:
            edge["checkpoint"] = checkpoint
        if rng.random() < 0.08:
            edge["directed"] = True
        if rng.random() < 0.15:
            edge["vehicle_passable"] = False
        edges.append(edge)

    as_of = BASE_TIME + timedelta(hours=rng.randint(0, 48))
    incidents = []
    for k in range(shape.incidents):
        incident: dict[str, Any] = {
            "id": f"i{k}",
            "kind": rng.choice(INCIDENT_KINDS),
            "severity": round(rng.uniform(0.01, 0.4), 3),
            "observed_at": iso(as_of - timedelta(minutes=rng.randint(0, 3_000))),
        }
        if shape.geo and rng.random() < 0.7:
            where = rng.choice(nodes)
            incident["lat"] = round(where["lat"] + rng.uniform(-5e-4, 5e-4), 6)
            incident["lon"] = round(where["lon"] + rng.uniform(-5e-4, 5e-4), 6)
            incident["radius_m"] = float(rng.choice([50, 150, 300, 600]))
        elif edges:
            incident["edges"] = sorted({rng.choice(edges)["id"] for _ in range(rng.randint(1, 3))})
        else:
            continue
        if rng.random() < 0.7:
            incident["half_life_h"] = float(rng.choice([6, 12, 24, 72]))
        if rng.random() < 0.8:
            incident["confidence"] = round(rng.uniform(0.3, 1.0), 2)
        if rng.random() < 0.5:
            incident["source"] = "field report"
        incidents.append(incident)
    windows = []
    for k in range(shape.windows):
        start = as_of + timedelta(hours=rng.randint(1, 30))
        minutes = rng.choice([60, 90, 120, 180, 240])
        agreed = sorted({rng.choice(party_ids) for _ in range(2)}) if party_ids else []
        windows.append(
            {
                "id": f"w{k}",
                "name": f"Pause {k}",
                "start": iso(start),
                "end": iso(start + timedelta(minutes=minutes)),
                "agreed_by": agreed,
            }
        )
    document: dict[str, Any] = {
        "schema": "safe-passage/scenario@1",
        "name": f"Random {index:02d}, {n} places",
        "as_of": iso(as_of),
        "parties": parties,
        "nodes": nodes,
        "edges": edges,
        "incidents": incidents,
        "windows": windows,
    }
    if shape.profile:
        profile: dict[str, Any] = {
            "id": "elderly",
            "name": "Elderly on foot",
            "speed_m_per_min": 40.0,
            "excluded_statuses": ["damaged"],
        }
        if party_ids:
            profile["checkpoint_risk"] = {party_ids[0]: 0.05}
        document["profiles"] = [profile]
    return document


def encode(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode()


# --------------------------------------------------------------------------- questions


@dataclass
class Known:
    """What the questions about one stored scenario need to know of it."""

    id: str
    places: list[str]
    roads: list[str]
    populated: list[str]
    safe_zones: list[str]
    parties: list[str]
    windows: list[str]
    profiles: list[str]
    as_of: str | None
    geo: bool


def known(scenario_id: str, document: dict[str, Any]) -> Known:
    nodes = document["nodes"]
    return Known(
        id=scenario_id,
        places=[n["id"] for n in nodes],
        roads=[e["id"] for e in document.get("edges", [])],
        populated=[n["id"] for n in nodes if n.get("population", 0) > 0],
        safe_zones=[n["id"] for n in nodes if n.get("kind") == "safe_zone"],
        parties=[p["id"] for p in document.get("parties", [])],
        windows=[w["id"] for w in document.get("windows", [])],
        profiles=[p["id"] for p in document.get("profiles", [])],
        as_of=document.get("as_of"),
        geo=all("lat" in n for n in nodes),
    )


def route_questions(k: Known, rng: random.Random, full: bool) -> list[tuple[str, dict[str, Any]]]:
    """(label, body) of the route questions asked of a scenario."""
    a = k.populated[0] if k.populated else k.places[0]
    b = k.safe_zones[0] if k.safe_zones else k.places[-1]
    far_a, far_b = k.places[0], k.places[-1]
    other = rng.choice(k.places)
    qs: list[tuple[str, dict[str, Any]]] = [
        ("route", {"from": a, "to": b}),
        ("route-far", {"from": far_a, "to": far_b}),
        ("route-other", {"from": other, "to": b}),
        ("alternatives", {"from": a, "to": b, "alternatives": 3}),
        ("disjoint", {"from": a, "to": b, "disjoint": True}),
        ("route-same-place", {"from": a, "to": a}),
    ]
    if not full:
        return qs
    qs += [
        (
            "alternatives-overlap",
            {"from": far_a, "to": far_b, "alternatives": 4, "max_overlap": 0.2},
        ),
        ("pareto", {"from": a, "to": b, "pareto": True, "pareto_cap": 5}),
        ("max-risk", {"from": a, "to": b, "max_risk": 0.05}),
        ("consenting-only", {"from": a, "to": b, "consenting_only": True}),
    ]
    for profile in ["military_age_men", "medical", "convoy", *k.profiles]:
        qs.append((f"profile-{profile}", {"from": a, "to": b, "profile": profile}))
    for party in k.parties[:2]:
        qs.append((f"avoid-{party}", {"from": a, "to": b, "avoid_parties": [party]}))
    if k.as_of:
        later = datetime.fromisoformat(k.as_of) + timedelta(hours=30)
        qs.append(("at-later", {"from": a, "to": b, "at": iso(later)}))
    return qs


def plan_questions(k: Known, full: bool) -> list[tuple[str, dict[str, Any]]]:
    qs: list[tuple[str, dict[str, Any]]] = []
    for w in k.windows[: 2 if full else 1]:
        qs.append((f"plan-optimal-{w}", {"window": w, "method": "optimal"}))
        qs.append((f"plan-fast-{w}", {"window": w, "method": "fast"}))
    if full and k.windows and len(k.places) <= 1_000:  # pricing every closure takes minutes
        qs.append(("plan-ranked", {"window": k.windows[0], "rank_openings": True}))
        qs.append(("plan-avoid", {"window": k.windows[0], "avoid_parties": k.parties[:1]}))
    if k.as_of:
        start = datetime.fromisoformat(k.as_of) + timedelta(hours=2)
        span = {"start": iso(start), "end": iso(start + timedelta(minutes=90))}
        qs.append(("plan-span-optimal", {**span, "method": "optimal"}))
        if full:
            qs.append(("plan-span-fast-medical", {**span, "method": "fast", "profile": "medical"}))
    return qs


def ends(k: Known) -> tuple[str, str]:
    """The usual question: from the first populated place to the first safe zone."""
    a = k.populated[0] if k.populated else k.places[0]
    b = k.safe_zones[0] if k.safe_zones else k.places[-1]
    return a, b


def ask_scenario(
    corpus: Corpus, server: Server, prefix: str, k: Known, *, full: bool, optimal_plans: bool = True
) -> None:
    """Routes, plans, parties, briefs (JSON and Markdown) and the map of one scenario."""
    rng = random.Random(f"{SEED}/{prefix}")
    base = f"/v1/scenarios/{k.id}"
    for label, body in route_questions(k, rng, full):
        corpus.post(f"{prefix}/{label}", server, f"{base}/routes", body)
    for label, body in plan_questions(k, full):
        if body.get("method") != "optimal" or optimal_plans:
            corpus.post(f"{prefix}/{label}", server, f"{base}/plans", body)
    a, b = ends(k)
    corpus.post(f"{prefix}/parties", server, f"{base}/parties", {"from": a, "to": b})
    briefs: list[tuple[str, dict[str, Any]]] = [("brief", {"from": a, "to": b})]
    if full:
        window = {"window": k.windows[0]} if k.windows else {}
        extra = {"disjoint": True, "people": 250, "title": "Corridor", "requested_by": "Office"}
        briefs.append(("brief-disjoint", {"from": a, "to": b, **extra, **window}))
    for label, body in briefs:
        corpus.post(f"{prefix}/{label}", server, f"{base}/briefs", body)
        corpus.post(
            f"{prefix}/{label}-markdown", server, f"{base}/briefs", body, accept="text/markdown"
        )
    corpus.get(f"{prefix}/map", server, f"{base}/map.geojson")
    corpus.get(f"{prefix}/map-route", server, f"{base}/map.geojson", {"from": a, "to": b})
    if full and k.as_of:
        later = iso(datetime.fromisoformat(k.as_of) + timedelta(hours=30))
        params = {"from": a, "to": b, "profile": "convoy", "at": later}
        corpus.get(f"{prefix}/map-convoy-later", server, f"{base}/map.geojson", params)


def bad_questions(corpus: Corpus, server: Server, prefix: str, k: Known) -> None:
    """Invalid questions: their problem documents (pointers, details) are answers too."""
    base = f"/v1/scenarios/{k.id}"
    a, b = ends(k)
    start = "2025-06-02T10:00:00+03:00"
    asks: list[tuple[str, str, Any]] = [
        ("routes", "bad-route-unknown-place", {"from": "nowhere", "to": b}),
        ("routes", "bad-route-unknown-profile", {"from": a, "to": b, "profile": "bicycle"}),
        ("routes", "bad-route-unknown-party", {"from": a, "to": b, "avoid_parties": ["zz"]}),
        ("routes", "bad-route-two-kinds",
         {"from": a, "to": b, "alternatives": 2, "disjoint": True}),
        ("routes", "bad-route-fields", {"from": a, "to": b, "alternatives": 11, "colour": "red"}),
                ("plans", "bad-plan-unknown-window", {"window": "never"}),
        ("plans", "bad-plan-end-first", {"start": start, "end": "2025-06-02T09:00:00+03:00"}),
        ("plans", "bad-plan-method", {"method": "best"}),
        ("briefs", "bad-brief-window-and-start", {"from": a, "to": b, "window": "w0",
                                                  "start": start}),
        ("briefs", "bad-brief-unknown-place", {"from": a, "to": "nowhere"}),
        ("parties", "bad-parties-unknown-place", {"from": "nowhere", "to": b}),
    ]  # fmt: skip
    for path, label, body in asks:
        corpus.post(f"{prefix}/{label}", server, f"{base}/{path}", body)
    params = {"from": "nowhere", "to": b}
    corpus.get(f"{prefix}/bad-map-unknown-place", server, f"{base}/map.geojson", params)
    corpus.get(f"{prefix}/bad-map-no-version", server, f"{base}/map.geojson", {"version": 99})
    corpus.post(f"{prefix}/bad-route-not-json", server, f"{base}/routes", None, raw=b'{"from": ')


def store(
    corpus: Corpus, server: Server, prefix: str, raw: bytes, media: str = "application/json"
) -> str | None:
    """POST a document and record the answer: the scenario's id if it was stored.

    Nothing is sent when this run does not want the scenario (``--quick``).
    """
    if not corpus.wants(f"{prefix}/stored"):
        return None
    response = server.post("/v1/scenarios", raw=raw, content_type=media)
    corpus.record(f"{prefix}/stored", response)
    if response.status_code != 201:
        return None
    scenario_id: str = response.json()["id"]
    return scenario_id


def add_incidents(corpus: Corpus, server: Server, prefix: str, k: Known) -> None:
    """New incidents (JSON, and CSV where there are coordinates): answers on both versions.

    The changes are always made (what follows depends on them); their answers are recorded
    when the run wants them.
    """
    base = f"/v1/scenarios/{k.id}"
    observed = k.as_of or "2025-06-01T06:00:00+03:00"
    a, b = ends(k)
    first = server.post(f"{base}/routes", {"from": a, "to": b})
    route = first.json()["routes"][0] if first.status_code == 200 else None
    hit = route["edges"][:2] if route and route["edges"] else k.roads[:1]
    incident = {"id": "new-1", "kind": "shelling", "severity": 0.3, "observed_at": observed,
                "confidence": 0.9, "edges": hit, "source": "corpus"}  # fmt: skip
    corpus.record(
        f"{prefix}/incidents-added", server.post(f"{base}/incidents", {"incidents": [incident]})
    )
    bad = {"id": "new-2", "severity": 1.5, "observed_at": observed, "edges": ["no-such-road"]}
    corpus.post(f"{prefix}/bad-incidents", server, f"{base}/incidents", {"incidents": [bad]})
    if k.geo and len(k.places) < 20_000:
        # Event ids in the file make the imported incidents' ids stable.
        csv = (
            "event_id_cnty,event_date,event_type,latitude,longitude,source\n"
            "c-01,2025-06-01,Shelling/artillery/missile attack,36.2,37.1,field report\n"
            "c-02,2025-06-01,Battles,36.25,37.15,field report\n"
            "c-03,not a date,Battles,91,37.15,field report\n"
        )
        response = server.post(
            f"{base}/incidents?skip_bad=true", raw=csv.encode(), content_type="text/csv"
        )
        corpus.record(f"{prefix}/incidents-added-csv", response)
    after = f"{prefix}/after-incidents"
    corpus.post(f"{after}/route", server, f"{base}/routes", {"from": a, "to": b})
    corpus.post(
        f"{after}/route-version-1", server, f"{base}/routes?version=1", {"from": a, "to": b}
    )
    corpus.get(f"{after}/map-route", server, f"{base}/map.geojson", {"from": a, "to": b})
    corpus.get(f"{after}/document", server, base)


# --------------------------------------------------------------------------- invalid documents


def invalid_documents() -> list[tuple[str, bytes, str]]:
    """(label, bytes, media type) of documents with problems; each is one case per server."""
    valid = random_scenario(900, Shape(places=12, parties=2, incidents=2, windows=1))
    rng = random.Random(SEED + 1)

    def mutated(*changes: Callable[[dict[str, Any]], None]) -> bytes:
        doc = json.loads(json.dumps(valid))
        for change in changes:
            change(doc)
        return encode(doc)

    def node(i: int, **kv: Any) -> Callable[[dict[str, Any]], None]:
        return lambda d: d["nodes"][i].update(kv)

    def edge(i: int, **kv: Any) -> Callable[[dict[str, Any]], None]:
        return lambda d: d["edges"][i].update(kv)

    docs: list[tuple[str, bytes, str]] = [
        ("empty", b"", "application/json"),
        ("not-an-object", b"[1, 2]", "application/json"),
        ("trailing-comma", b'{"schema": "safe-passage/scenario@1", "nodes": [{"id": "a"}],}',
         "application/json"),
        ("missing-comma", b'{"schema": "safe-passage/scenario@1",\n "nodes": [\n  {"id": "a"}\n'
         b'  {"id": "b"}]}', "application/json"),
        ("bad-utf8", b'{"schema": "safe-passage/scenario@1", "nodes": [{"id": "\xff"}]}',
         "application/json"),
        ("trailing-text", b'{"schema": "safe-passage/scenario@1", "nodes": [{"id": "a"}]} x',
         "application/json"),
        ("deep", b'{"nodes": [' + b"[" * 70 + b"]" * 70 + b"]}", "application/json"),
        ("nan-literal", b'{"schema": "safe-passage/scenario@1", "nodes": [{"id": "a", '
         b'"lat": NaN}], "edges": []}', "application/json"),
        ("wrong-schema", mutated(lambda d: d.update(schema="v2")), "application/json"),
        ("no-nodes", mutated(lambda d: d.pop("nodes")), "application/json"),
        ("nodes-not-list", mutated(lambda d: d.update(nodes={"a": 1})), "application/json"),
        ("unknown-fields", mutated(lambda d: d.update(flavour="vanilla"), node(1, colour="red"),
                                   edge(2, extra=1)), "application/json"),
        ("references", mutated(edge(0, to="nowhere"), edge(1, checkpoint="nobody"),
                               node(3, controlled_by="p9"),
                               lambda d: d["windows"][0].update(agreed_by=["zz"])),
         "application/json"),
        ("duplicates", mutated(node(4, id="n0"), edge(3, id="e0"),
                               lambda d: d["incidents"].append(dict(d["incidents"][0]))),
         "application/json"),
        ("ranges", mutated(edge(0, risk=1.0), edge(1, risk=-0.1), edge(2, capacity_per_min=0),
                           node(2, population=-1), node(5, lat=91.0), edge(4, length_m=0)),
         "application/json"),
        ("types", mutated(node(1, population=2.5), node(2, population=True), edge(0, risk="high"),
                          edge(1, directed="yes"), edge(2, **{"from": 3}), node(0, id="")),
         "application/json"),
        ("enums", mutated(node(1, kind="castle"), edge(0, status="closed"),
                          lambda d: d["parties"][0].update(consent="maybe")), "application/json"),
        ("population-over-capacity", mutated(node(1, population=1000, capacity=10)),
         "application/json"),
        ("no-length", mutated(lambda d: [d["edges"][0].pop(key, None)
                                         for key in ("length_m", "travel_time_min")]),
         "application/json"),
        ("self-loop", mutated(lambda d: d["edges"][0].update(to=d["edges"][0]["from"])),
         "application/json"),
        ("incident-unknown-road", mutated(lambda d: d["incidents"].append(
            {"id": "i9", "severity": 0.1, "edges": ["zz"],
             "observed_at": "2025-06-01T09:00:00+03:00"})), "application/json"),
        ("items-not-objects", mutated(lambda d: d["nodes"].append("not an object"),
                                      lambda d: d["edges"].append(None)), "application/json"),
        ("long-text", mutated(node(0, name="x" * 10_001)), "application/json"),
        ("yaml-invalid", b"schema: safe-passage/scenario@1\nnodes:\n  - id: a\n  - id: a\n"
         b"edges:\n  - {id: e, from: a, to: b, risk: 2}\n", "application/yaml"),
        ("yaml-unreadable", b"schema: [unclosed\n", "application/yaml"),
        ("media-type", b"nodes: []", "text/plain"),
    ]  # fmt: skip
    for i in range(6):  # random combinations of the single mutations above
        picks = rng.sample(
            [node(rng.randrange(12), population=-5), edge(rng.randrange(10), risk=3),
             node(rng.randrange(12), kind="fort"), edge(rng.randrange(10), to="x"),
             node(rng.randrange(12), id="n1"), edge(rng.randrange(10), capacity_per_min=-1)],
            3,
        )  # fmt: skip
        docs.append((f"mixed-{i}", mutated(*picks), "application/json"))
    return docs


def large_invalid_document() -> bytes:
    """A document over 8 MiB with problems spread through it (read as columns by default)."""
    doc = random_scenario(901, Shape(places=26_000, populated=5, incidents=2))
    nodes, edges = doc["nodes"], doc["edges"]
    nodes[17]["population"] = -1
    nodes[9_000]["id"] = nodes[3]["id"]
    nodes[25_500]["kind"] = "castle"
    edges[5]["risk"] = 1.5
    edges[20_000]["to"] = "nowhere"
    edges[-1]["colour"] = "red"
    doc["incidents"].append(
        {"id": "i9", "severity": 0.1, "edges": ["zz"], "observed_at": "2025-06-01T09:00:00+03:00"}
    )
    return encode(doc)


# --------------------------------------------------------------------------- commands


def command_cases() -> list[tuple[str, list[str]]]:
    """(name, arguments) of the ``safe-passage`` commands asked (in a temporary directory)."""
    t, a = "teaching.json", "aleppo.json"
    return [
        ("cli/teaching/route", ["route", t, "--from", "hilltop", "--to", "camp", "--json"]),
        ("cli/invalid/validate", ["validate", "invalid.json", "--json"]),
        ("cli/teaching/plan", ["plan", t, "--window", "pause-1", "--json"]),
        ("cli/teaching/brief-markdown", ["brief", t, "--from", "hilltop", "--to", "camp"]),
        ("cli/teaching/brief", ["brief", t, "--from", "hilltop", "--to", "camp", "--json"]),
        ("cli/teaching/parties", ["parties", t, "--from", "hilltop", "--to", "camp", "--json"]),
        ("cli/teaching/route-unknown-place",
         ["route", t, "--from", "x", "--to", "camp", "--json"]),
        ("cli/aleppo/alternatives", ["route", a, "--from", "as-sukkari", "--to", "khan-al-asal",
                                     "--alternatives", "3", "--json"]),
        ("cli/aleppo/plan-fast", ["plan", a, "--window", "pause-2016-12-15-3h", "--method", "fast",
                                  "--json"]),
        ("cli/aleppo/validate", ["validate", a, "--json"]),
        ("cli/large/route", ["route", "large.json", "--from", "n0", "--to", "n25999", "--json"]),
        ("cli/large-invalid/validate", ["validate", "large-invalid.json", "--json"]),
    ]  # fmt: skip


def run_commands(corpus: Corpus, workdir: Path) -> int:
    """Run the wanted commands, two at a time; how many ran."""
    wanted = [(name, args) for name, args in command_cases() if corpus.wants(name)]
    (workdir / "teaching.json").write_bytes((GRAPHS / "teaching.json").read_bytes())
    (workdir / "aleppo.json").write_bytes((GRAPHS / "aleppo-2016-12.json").read_bytes())
    (workdir / "invalid.json").write_bytes(
        dict((d[0], d[1]) for d in invalid_documents())["references"]
    )
    if corpus.wants("cli/large/route"):
        (workdir / "large.json").write_bytes(encode(random_scenario(27, shapes()[27])))
    if corpus.wants("cli/large-invalid/validate"):
        (workdir / "large-invalid.json").write_bytes(large_invalid_document())

    def run(args: list[str]) -> bytes:
        proc = subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            cwd=workdir,
            env=command_env(),
            capture_output=True,
            timeout=600,
            check=False,
        )
        return f"exit {proc.returncode}\n\n".encode() + proc.stdout

    with ThreadPoolExecutor(2) as pool:
        outputs = list(pool.map(run, [args for _, args in wanted]))
    for (name, _), data in zip(wanted, outputs, strict=True):
        corpus.record(name, data)
    return len(wanted)


# --------------------------------------------------------------------------- the whole corpus


def build(quick_only: bool = False, log: Callable[[str], None] = print) -> Corpus:
    """Ask every question of the corpus (or only the quick ones); the answers' bytes."""
    corpus = Corpus(quick_only)
    logger = logging.getLogger("safe_passage")
    level = logger.level
    with tempfile.TemporaryDirectory(prefix="sp-corpus-") as tmp, contextlib.ExitStack() as stack:
        root = Path(tmp)
        urls = {name: f"sqlite:///{root / name}.sqlite3" for name in ("main", "columnar")}
        pending = {name: start_token(url) for name, url in urls.items()}
        tokens = {name: finish_token(proc) for name, proc in pending.items()}
        main = Server(stack, urls["main"], root, tokens["main"])
        replica = Server(stack, urls["main"], root, tokens["main"])
        # Every JSON document through the columnar reader, whatever its size.
        columnar = Server(stack, urls["columnar"], root, tokens["columnar"], large_scenario_bytes=1)
        logger.setLevel(logging.WARNING)  # no line per request on stderr
        try:
            ask_everything(corpus, main, replica, columnar, log)
            command_dir = root / "commands"
            command_dir.mkdir()
            log(f"  commands: {run_commands(corpus, command_dir)}")
        finally:
            logger.setLevel(level)
    return corpus


BUNDLED = [
    ("teaching", "teaching.json", ("hilltop", "riverside"), ("camp",)),
    ("aleppo", "aleppo-2016-12.json", ("as-sukkari", "al-kallaseh", "sayf-ad-dauleh"),
     ("khan-al-asal", "al-rashideen")),
]  # fmt: skip
"""(name, file, places people leave from, safe zones) of the bundled scenarios."""

YAML_SCENARIO = """\
schema: safe-passage/scenario@1
name: YAML corridor
as_of: '2025-06-01T06:00:00+03:00'
nodes:
  - {id: a, kind: district, population: 40}
  - {id: b}
  - {id: c, kind: safe_zone}
edges:
  - {id: a-b, from: a, to: b, length_m: 300, risk: 0.01, capacity_per_min: 5}
  - {id: b-c, from: b, to: c, travel_time_min: 4, risk: 0.02}
windows:
  - {id: w0, start: '2025-06-01T08:00:00+03:00', end: '2025-06-01T09:00:00+03:00'}
"""
"""YAML is always read whole. Its timestamps are quoted: unquoted ones are parsed by YAML
into datetimes, which the store cannot serialise today (an error 500, left out)."""


def ask_everything(
    corpus: Corpus, main: Server, replica: Server, columnar: Server, log: Callable[[str], None]
) -> None:
    for name, file, origins, zones in BUNDLED:
        started = time.perf_counter()
        raw = (GRAPHS / file).read_bytes()
        document = json.loads(raw)
        for server_name, server in (("api", main), ("columnar", columnar)):
            prefix = f"{server_name}/{name}"
            scenario_id = store(corpus, server, prefix, raw)
            if scenario_id is None:
                continue
            k = known(scenario_id, document)
            k.populated = [*origins, *[p for p in k.populated if p not in origins]]
            k.safe_zones = [*zones, *[z for z in k.safe_zones if z not in zones]]
            full = server_name == "api"
            ask_scenario(corpus, server, prefix, k, full=full)
            if not full:
                continue
            base = f"/v1/scenarios/{k.id}"
            for o in origins[1:]:
                for z in zones:
                    body = {"from": o, "to": z}
                    corpus.post(f"{prefix}/route-{o}-{z}", server, f"{base}/routes", body)
                    body = {**body, "disjoint": True}
                    corpus.post(f"{prefix}/disjoint-{o}-{z}", server, f"{base}/routes", body)
            bad_questions(corpus, server, prefix, k)
            corpus.get(f"{prefix}/document", server, base)
            # A replica on the same database compiles the stored version itself.
            body = {"from": k.populated[0], "to": k.safe_zones[0], "alternatives": 2}
            corpus.post(f"replica/{name}/alternatives", replica, f"{base}/routes", body)
            add_incidents(corpus, server, prefix, k)
        took = time.perf_counter() - started
        log(f"  {name}: {took:.1f} s, {len(corpus.cases)} cases so far")

    scenario_id = store(corpus, main, "api/yaml", YAML_SCENARIO.encode(), "application/yaml")
    if scenario_id is not None:
        k = Known(
            scenario_id, ["a", "b", "c"], ["a-b", "b-c"], ["a"], ["c"], [], ["w0"], [],
            "2025-06-01T06:00:00+03:00", False,
        )  # fmt: skip
        ask_scenario(corpus, main, "api/yaml", k, full=False)

    for index, shape in enumerate(shapes()):
        started = time.perf_counter()
        name = f"r{index:02d}"
        big = shape.places >= 20_000
        servers = [("api", main)] if big else [("api", main), ("columnar", columnar)]
        servers = [(s, server) for s, server in servers if corpus.wants(f"{s}/{name}/stored")]
        if not servers:
            continue
        document = random_scenario(index, shape)
        raw = encode(document)
        if big and len(raw) <= LARGE_DOCUMENT_BYTES:
            raise AssertionError(f"random scenario {index} is {len(raw)} bytes, not over 8 MiB")
        for server_name, server in servers:
            prefix = f"{server_name}/{name}"
            scenario_id = store(corpus, server, prefix, raw)
            if scenario_id is None:
                raise AssertionError(f"random scenario {index} was not stored")
            k = known(scenario_id, document)
            full = server_name == "api"
            ask_scenario(corpus, server, prefix, k, full=full and not big, optimal_plans=not big)
            if not full:
                continue
            base = f"/v1/scenarios/{k.id}"
            bad_questions(corpus, server, prefix, k)
            corpus.get(f"{prefix}/document", server, base)
            body = {"from": k.places[0], "to": k.places[-1], "alternatives": 2}
            corpus.post(f"replica/{name}/alternatives", replica, f"{base}/routes", body)
            add_incidents(corpus, server, prefix, k)
        log(
            f"  {name}: {shape.places} places, {len(raw) / 1e6:.1f} MB, "
            f"{time.perf_counter() - started:.1f} s, {len(corpus.cases)} cases so far"
        )

    # Invalid documents: through the whole-document reader and the columnar one.
    for label, raw, media in invalid_documents():
        for server_name, server in (("api", main), ("columnar", columnar)):
            store(corpus, server, f"{server_name}/invalid/{label}", raw, media)
    if corpus.wants("api/invalid/large/stored"):
        store(corpus, main, "api/invalid/large", large_invalid_document())
    log(f"  invalid documents: {len(corpus.cases)} cases so far")


# --------------------------------------------------------------------------- digests


def block_size(size: int) -> int:
    return max(256, math.ceil(size / BLOCKS / 256) * 256)


def describe(data: bytes) -> dict[str, Any]:
    block = block_size(len(data))
    blocks = "".join(
        hashlib.sha256(data[i : i + block]).hexdigest()[:8] for i in range(0, len(data), block)
    )
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "block": block,
        "blocks": blocks,
    }


def write_digests(corpus: Corpus, path: Path = DIGESTS) -> None:
    lines = [
        "{",
        '  "about": "SHA-256 of the answers of benchmarks/corpus.py; rewrite with '
        "python3 benchmarks/corpus.py --write only for a change of behaviour meant and "
        'explained in its commit",',
        '  "cases": {',
    ]
    entries = [
        f"    {json.dumps(name)}: {json.dumps(describe(case.data))}"
        for name, case in sorted(corpus.cases.items())
    ]
    lines.append(",\n".join(entries))
    lines += ["  }", "}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def load_digests(path: Path = DIGESTS) -> dict[str, Any]:
    recorded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return recorded


def excerpt(data: bytes, start: int, length: int = 120) -> str:
    return repr(data[start : start + length])[1:]


def hint(name: str, before: dict[str, Any], after: bytes, saved: bytes | None) -> str:
    """Where an answer first differs from the recorded one, and what it is now."""
    lines = [f"{name}: {before['size']} bytes before, {len(after)} now"]
    if saved is not None:
        at = next(
            (i for i, (x, y) in enumerate(zip(saved, after, strict=False)) if x != y),
            min(len(saved), len(after)),
        )
        lines.append(f"  first difference at byte {at}")
        lines.append(f"  before: {excerpt(saved, max(0, at - 40))}")
        lines.append(f"  now:    {excerpt(after, max(0, at - 40))}")
        return "\n".join(lines)
    block = before["block"]
    old = [before["blocks"][i : i + 8] for i in range(0, len(before["blocks"]), 8)]
    new = [describe_block(after, i, block) for i in range(0, len(after), block)]
    first = next((i for i, (x, y) in enumerate(zip(old, new, strict=False)) if x != y), None)
    if first is None:
        first = min(len(old), len(new))
    start = first * block
    lines.append(f"  first difference within bytes {start}..{start + block - 1}")
    lines.append(f"  now: {excerpt(after, start, min(block, 320))}")
    return "\n".join(lines)


def describe_block(data: bytes, start: int, block: int) -> str:
    return hashlib.sha256(data[start : start + block]).hexdigest()[:8]


def compare(corpus: Corpus, recorded: dict[str, Any], before_dir: Path | None = None) -> list[str]:
    """A hint per case that differs from ``recorded`` (or is missing or new); empty if none."""
    cases: dict[str, Any] = recorded["cases"]
    wanted = {name for name in cases if corpus.wants(name)}
    problems = []
    for name in sorted(wanted - set(corpus.cases)):
        problems.append(f"{name}: recorded but not asked any more")
    for name, case in corpus.cases.items():
        if name not in cases:
            problems.append(f"{name}: new case, not recorded (run --write if it is meant)")
            continue
        if hashlib.sha256(case.data).hexdigest() == cases[name]["sha256"]:
            continue
        saved = None
        if before_dir is not None and (before_dir / dump_name(name)).exists():
            saved = (before_dir / dump_name(name)).read_bytes()
        problems.append(hint(name, cases[name], case.data, saved))
    return problems


def dump_name(name: str) -> str:
    return name.replace("/", "__") + ".bin"


def dump(corpus: Corpus, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, case in corpus.cases.items():
        (directory / dump_name(name)).write_bytes(case.data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="compare with corpus-digests.json")
    mode.add_argument("--write", action="store_true", help="rewrite corpus-digests.json")
    parser.add_argument("--quick", action="store_true", help="only the cases the test runs")
    parser.add_argument("--dump", type=Path, help="save every answer's bytes in this directory")
    parser.add_argument("--before", type=Path, help="a --dump directory to diff against")
    args = parser.parse_args(argv)
    if args.write and args.quick:
        parser.error("--write records the whole corpus; it takes no --quick")
    started = time.perf_counter()
    corpus = build(quick_only=args.quick, log=lambda s: print(s, file=sys.stderr))
    took = time.perf_counter() - started
    if args.dump:
        dump(corpus, args.dump)
    if args.write:
        failed = [n for n, c in corpus.cases.items() if c.data[:1] == b"5"]
        if failed:
            print("not recorded: server errors (5xx) in " + ", ".join(failed), file=sys.stderr)
            return 1
        write_digests(corpus)
        print(f"wrote {len(corpus.cases)} cases to {DIGESTS.relative_to(ROOT)} in {took:.1f} s")
        return 0
    problems = compare(corpus, load_digests(), args.before)
    for problem in problems:
        print(problem)
    print(
        f"{len(corpus.cases)} cases in {took:.1f} s: "
        + (f"{len(problems)} differ" if problems else "all identical")
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
