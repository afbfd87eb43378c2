#!/usr/bin/env python3
"""What the service's metrics cost: one ``/metrics`` scrape, and the bookkeeping per request.

Usage (from the repository root)::

    PYTHONPATH=. python3 benchmarks/metrics_overhead.py            # the table
    PYTHONPATH=. python3 benchmarks/metrics_overhead.py --json     # one JSON document

The metrics are filled as a busy service fills them: every (method, route
template) pair of the API answered with three status codes, and route and plan
compute times, so the exposition holds about as many series as in production
(``--routes`` templates). Reported, each the median of ``--repeat`` rounds:

* *request hook*: microseconds per request for what the middleware does for the
  metrics: in-flight gauge up and down, the request counter and the latency
  histogram (``observe_request``);
* *compute hook*: microseconds per ``observe_compute`` call;
* *render*: milliseconds to write the whole exposition text (in process);
* *scrape*: milliseconds per ``GET /metrics`` through the whole application
  (FastAPI's test client; middleware, routing, the cache figures and the text).

Times are CPU time of this process (all its threads), so that other processes on a
shared machine count less. Figures are for one process on this machine; compare
rows within one run.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402

from app.api.app import create_app  # noqa: E402
from app.config import Settings  # noqa: E402
from app.services.metrics import ServiceMetrics  # noqa: E402

METHODS = ("GET", "POST", "PUT", "DELETE")
STATUSES = (200, 404, 422)


def templates(count: int) -> list[tuple[str, str]]:
    rng = random.Random(1)
    return [(rng.choice(METHODS), f"/v1/scenarios/{{scenario_id}}/r{i}") for i in range(count)]


def fill(metrics: ServiceMetrics, routes: list[tuple[str, str]], requests: int) -> None:
    rng = random.Random(2)
    for _ in range(requests):
        method, route = rng.choice(routes)
        metrics.observe_request(method, route, rng.choice(STATUSES), rng.expovariate(20))
        metrics.observe_compute(rng.choice(("route", "plan")), rng.expovariate(5))


def per_call(action: Callable[[], object], calls: int, repeat: int) -> float:
    """Median seconds per call of ``action`` over ``repeat`` rounds of ``calls`` calls."""
    rounds = []
    for _ in range(repeat):
        started = time.process_time()
        for _ in range(calls):
            action()
        rounds.append((time.process_time() - started) / calls)
    return statistics.median(rounds)


def measure(route_count: int, repeat: int) -> dict[str, Any]:
    routes = templates(route_count)
    metrics = ServiceMetrics()
    fill(metrics, routes, 20_000)
    method, route = routes[0]

    def request_hook() -> None:
        metrics.in_flight.inc()
        metrics.observe_request(method, route, 200, 0.0123)
        metrics.in_flight.dec()

    results: dict[str, Any] = {"routes": route_count}
    results["request_hook_us"] = per_call(request_hook, 20_000, repeat) * 1e6
    results["compute_hook_us"] = (
        per_call(lambda: metrics.observe_compute("route", 0.02), 20_000, repeat) * 1e6
    )
    results["render_ms"] = per_call(metrics.render, 50, repeat) * 1e3
    results["exposition_bytes"] = len(metrics.render())

    with tempfile.TemporaryDirectory() as data_dir:
        app = create_app(Settings(data_dir=Path(data_dir), log_json=False))
        logging.getLogger("safe_passage").setLevel(logging.WARNING)  # access lines are not metrics
        fill(app.state.metrics, routes, 20_000)
        with TestClient(app) as client:
            assert client.get("/metrics").status_code == 200
            results["scrape_ms"] = per_call(lambda: client.get("/metrics"), 50, repeat) * 1e3
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--routes", type=int, default=26, help="route templates filled")
    parser.add_argument("--repeat", type=int, default=5, help="rounds; the median is shown")
    parser.add_argument("--json", action="store_true", help="one JSON document")
    args = parser.parse_args()
    results = measure(args.routes, args.repeat)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{args.routes} route templates, 3 statuses each; median of {args.repeat} rounds")
    print(f"request hook (in-flight ±1, counter, histogram)  {results['request_hook_us']:8.2f} µs")
    print(f"compute hook (histogram)                         {results['compute_hook_us']:8.2f} µs")
    print(f"render the exposition ({results['exposition_bytes']:,} bytes)".ljust(49), end="")
    print(f"{results['render_ms']:8.2f} ms")
    print(f"GET /metrics through the application             {results['scrape_ms']:8.2f} ms")


if __name__ == "__main__":
    main()
