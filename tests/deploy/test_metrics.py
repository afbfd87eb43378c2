"""``GET /metrics``: valid Prometheus text, and counts that follow what the service did."""

from __future__ import annotations

import math
import random
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from app import __version__
from app.api.app import create_app
from app.config import Settings
from app.services.access import create_token
from app.services.metrics import (
    COMPUTE_BUCKETS,
    CONTENT_TYPE,
    REQUEST_BUCKETS,
    CacheStats,
    ServiceMetrics,
)
from tests.deploy import GRAPHS, bearer, load_teaching

ROUTES = "/v1/scenarios/{scenario_id}/routes"

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_VALUE = r'"(?:[^"\\\n]|\\\\|\\"|\\n)*"'
LABELS = (
    rf"\{{(?:[a-zA-Z_][a-zA-Z0-9_]*={LABEL_VALUE})(?:,[a-zA-Z_][a-zA-Z0-9_]*={LABEL_VALUE})*\}}"
)
VALUE = r"(?:[+-]?Inf|NaN|[+-]?[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?)"
SAMPLE = re.compile(rf"^({NAME})({LABELS})? ({VALUE})$")
HELP = re.compile(rf"^# HELP ({NAME}) (.*)$")
TYPE = re.compile(rf"^# TYPE ({NAME}) (counter|gauge|histogram|summary|untyped)$")
PAIR = re.compile(rf"([a-zA-Z_][a-zA-Z0-9_]*)=({LABEL_VALUE})")

Key = tuple[str, tuple[tuple[str, str], ...]]


def unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], value[1:-1])


def parse(text: str) -> tuple[dict[str, str], dict[Key, float]]:
    """Check the text format (0.0.4) line by line; return metric types and samples.

    Each sample must follow the ``# TYPE`` of its family, and a family's lines
    must be together.
    """
    assert text.endswith("\n")
    types: dict[str, str] = {}
    samples: dict[Key, float] = {}
    current = ""
    closed: set[str] = set()
    for line in text.splitlines():
        if m := HELP.match(line):
            assert m[1] not in types, f"HELP after TYPE or repeated: {line}"
            continue
        if m := TYPE.match(line):
            assert m[1] not in types, f"family {m[1]} declared twice"
            if current:
                closed.add(current)
            current = m[1]
            types[current] = m[2]
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, labels, value = m[1], m[2] or "", m[3]
        family = name
        if types.get(current) == "histogram":
            family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert family == current and family not in closed, f"{name} outside its family"
        key = (name, tuple((k, unescape(v)) for k, v in PAIR.findall(labels)))
        assert key not in samples, f"sample repeated: {line}"
        samples[key] = float(value.replace("Inf", "inf"))
    return types, samples


def check_histograms(types: dict[str, str], samples: dict[Key, float]) -> int:
    """Buckets cumulative, ending in +Inf equal to _count; return how many series there are."""
    series: dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[float, float]]] = defaultdict(
        list
    )
    for (name, labels), value in samples.items():
        family = name.removesuffix("_bucket")
        if name.endswith("_bucket") and types.get(family) == "histogram":
            rest = tuple(kv for kv in labels if kv[0] != "le")
            le = float(dict(labels)["le"].replace("Inf", "inf"))
            series[(family, rest)].append((le, value))
    for (family, rest), buckets in series.items():
        buckets.sort()
        counts = [c for _, c in buckets]
        assert counts == sorted(counts), f"{family}{rest} buckets are not cumulative"
        assert math.isinf(buckets[-1][0])
        assert samples[(family + "_count", rest)] == counts[-1]
        assert (family + "_sum", rest) in samples
    return len(series)


def test_histogram_counts_agree_with_counting_by_hand() -> None:
    rng = random.Random(7)
    metrics = ServiceMetrics()
    values = [rng.choice([0.01, 10.0, 1e6]) if rng.random() < 0.2 else rng.expovariate(2)
              for _ in range(500)]  # fmt: skip
    for value in values:
        metrics.observe_compute("route", value)
    types, samples = parse(metrics.render().decode())
    name = "safe_passage_compute_duration_seconds"
    for bound in (*COMPUTE_BUCKETS, math.inf):
        le = "+Inf" if math.isinf(bound) else repr(bound)
        expected = sum(1 for v in values if v <= bound)  # a value on a bound is in that bucket
        assert samples[(name + "_bucket", (("kind", "route"), ("le", le)))] == expected
    assert samples[(name + "_count", (("kind", "route"),))] == len(values)
    assert samples[(name + "_sum", (("kind", "route"),))] == pytest.approx(sum(values))
    assert check_histograms(types, samples) == 1


def test_label_values_are_escaped_and_unknown_methods_grouped() -> None:
    metrics = ServiceMetrics(cache=lambda: CacheStats(hits=2, misses=1, entries_held=1))
    metrics.observe_request("BREW", 'odd "route" \\ with\nnewline', 418, 0.2)
    types, samples = parse(metrics.render().decode())
    key = (
        "safe_passage_http_requests_total",
        (("method", "OTHER"), ("route", 'odd "route" \\ with\nnewline'), ("status", "418")),
    )
    assert samples[key] == 1
    assert samples[("safe_passage_network_cache_hits_total", ())] == 2
    assert types["safe_passage_network_cache_misses_total"] == "counter"
    check_histograms(types, samples)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    settings = Settings(data_dir=tmp_path, log_json=False, demo_dir=GRAPHS)
    app = create_app(settings)
    with TestClient(app) as test_client:
        _, secret = create_token(app.state.catalog.repo, "planner", "metrics-test")
        yield test_client, secret


def scrape(client: TestClient) -> tuple[dict[str, str], dict[Key, float]]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE
    types, samples = parse(response.text)
    check_histograms(types, samples)
    return types, samples


def test_metrics_count_requests_compute_time_and_cache_use(
    client: tuple[TestClient, str],
) -> None:
    http, token = client
    created = http.post("/v1/scenarios", json=load_teaching(), headers=bearer(token))
    sid = created.json()["id"]
    _, before = scrape(http)

    def get(samples: dict[Key, float], name: str, **labels: str) -> float:
        return samples.get((name, tuple(labels.items())), 0.0)

    # Three different questions, each computed (the same question again is answered from
    # the answers kept per version: counted as a request, not as a computation).
    for origin in ("hilltop", "riverside", "square"):
        question = {"from": origin, "to": "camp"}
        assert http.post(f"/v1/scenarios/{sid}/routes", json=question, headers=bearer(token))
    plan = http.post(
        f"/v1/scenarios/{sid}/plans", json={"window": "pause-1"}, headers=bearer(token)
    )
    assert plan.status_code == 200, plan.text
    assert http.get("/no/such/page").status_code == 404
    types, after = scrape(http)

    routes = {"method": "POST", "route": ROUTES}
    assert (
        get(after, "safe_passage_http_requests_total", **routes, status="200")
        - get(before, "safe_passage_http_requests_total", **routes, status="200")
        == 3
    )
    assert (
        get(after, "safe_passage_http_request_duration_seconds_count", **routes)
        - get(before, "safe_passage_http_request_duration_seconds_count", **routes)
        == 3
    )
    assert (
        get(after, "safe_passage_compute_duration_seconds_count", kind="route")
        - get(before, "safe_passage_compute_duration_seconds_count", kind="route")
        == 3
    )
    assert (
        get(after, "safe_passage_compute_duration_seconds_count", kind="plan")
        - get(before, "safe_passage_compute_duration_seconds_count", kind="plan")
        == 1
    )
    # This app's networks: the version was compiled when it was stored, so every route is
    # answered from memory (the plan is computed in a worker process, which compiles and
    # keeps the version itself).
    assert get(after, "safe_passage_network_cache_misses_total") == 0
    assert get(after, "safe_passage_network_cache_hits_total") == 3
    assert get(after, "safe_passage_network_cache_entries") == 1
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert get(after, "safe_passage_http_requests_total", **unmatched) >= 1
    # Route templates only: no scenario id or requested path in any label.
    assert all(sid not in value for (_, labels) in after for _, value in labels)
    assert all("/no/such" not in value for (_, labels) in after for _, value in labels)
    assert types["safe_passage_http_request_duration_seconds"] == "histogram"
    assert get(after, "process_resident_memory_bytes") > 1e6


def test_metrics_need_no_token(client: tuple[TestClient, str]) -> None:
    http, _ = client
    assert http.get("/metrics").status_code == 200


def families_of(http: TestClient) -> dict[str, Metric]:
    """A scrape read by prometheus_client's own text parser."""
    response = http.get("/metrics")
    assert response.status_code == 200
    return {f.name: f for f in text_string_to_metric_families(response.text)}


def value(family: Metric, sample_name: str, **labels: str) -> float:
    (found,) = [s.value for s in family.samples if s.name == sample_name and s.labels == labels]
    return found


def test_prometheus_clients_parser_reads_what_the_requests_did(
    client: tuple[TestClient, str],
) -> None:
    http, _ = client
    for _ in range(3):
        assert http.get("/v1/health").status_code == 200
    assert http.get("/no/such/page").status_code == 404
    families = families_of(http)

    requests = families["safe_passage_http_requests"]
    assert requests.type == "counter"
    health = {"method": "GET", "route": "/v1/health", "status": "200"}
    assert value(requests, "safe_passage_http_requests_total", **health) == 3
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert value(requests, "safe_passage_http_requests_total", **unmatched) == 1

    latency = families["safe_passage_http_request_duration_seconds"]
    assert latency.type == "histogram"
    name = "safe_passage_http_request_duration_seconds"
    assert value(latency, name + "_count", method="GET", route="/v1/health") == 3
    buckets = [s for s in latency.samples if s.name == name + "_bucket"]
    assert {s.labels["le"] for s in buckets if s.labels["route"] == "/v1/health"} == {
        *(repr(b) for b in REQUEST_BUCKETS),
        "+Inf",
    }
    # only the scrape being answered is in flight
    in_flight = families["safe_passage_http_requests_in_flight"]
    assert value(in_flight, "safe_passage_http_requests_in_flight") == 1
    (info,) = families["safe_passage_info"].samples
    assert (info.name, info.labels, info.value) == (
        "safe_passage_info",
        {"version": __version__},
        1,
    )
    # no route asked yet: nothing compiled, nothing answered from the cache
    assert (
        value(
            families["safe_passage_network_cache_misses"], "safe_passage_network_cache_misses_total"
        )
        == 0
    )
    assert (
        value(families["safe_passage_network_cache_entries"], "safe_passage_network_cache_entries")
        == 0
    )
    assert value(families["process_resident_memory_bytes"], "process_resident_memory_bytes") > 1e6
    # the library's *_created series are not exposed
    assert not [f for f in families if f.endswith("_created")]


def test_two_applications_in_one_process_count_apart(tmp_path: Path) -> None:
    apps = [
        create_app(Settings(data_dir=tmp_path / name, log_json=False, demo_dir=GRAPHS))
        for name in ("a", "b")
    ]
    with TestClient(apps[0]) as first, TestClient(apps[1]) as second:
        for _ in range(2):
            first.get("/v1/health")
        second.get("/v1/health")
        counts = []
        for http in (first, second):
            requests = families_of(http)["safe_passage_http_requests"]
            counts.append(
                value(
                    requests,
                    "safe_passage_http_requests_total",
                    method="GET",
                    route="/v1/health",
                    status="200",
                )
            )
    assert counts == [2, 1]
