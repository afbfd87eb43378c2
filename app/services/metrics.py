"""The service's own counters and histograms, exposed with ``prometheus-client``.

Metrics are per process, as Prometheus expects of a scrape target: run one
service process per container (replica) and let Prometheus add them up. Plan
workers are separate processes but report nothing themselves: a plan's compute
time is measured by the service process that waits for it. The route label is
the route *template* (``/v1/scenarios/{scenario_id}/routes``), never the
requested path, so scenario ids neither leak into the metrics nor grow the
number of series.

Each application has its own :class:`~prometheus_client.CollectorRegistry`
(not the library's global one), so several applications in one process (tests,
benchmarks) count apart and never clash over names.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import prometheus_client
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app import __version__

#: The text format written (0.0.4), whatever the scraper accepts: one format to support.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: Upper bounds (seconds) of the request latency buckets.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
#: Upper bounds (seconds) of the compute time buckets; plans may run for their whole budget.
COMPUTE_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 60.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# The library adds a ``*_created`` series (the time a label set was first seen) to every
# counter and histogram; the service never exposed them and they would double the series.
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class CacheStats:
    """A snapshot of the compiled-network cache, read at each scrape."""

    hits: int
    misses: int
    entries_held: int


class _CacheCollector(Collector):
    """The compiled-network cache figures, read from ``stats()`` when scraped."""

    def __init__(self, stats: Callable[[], CacheStats]) -> None:
        self.stats = stats

    def collect(self) -> Iterable[Metric]:
        stats = self.stats()
        yield CounterMetricFamily(
            "safe_passage_network_cache_hits",
            "Route and plan questions answered from an already compiled version.",
            value=stats.hits,
        )
        yield CounterMetricFamily(
            "safe_passage_network_cache_misses",
            "Versions compiled because they were not in this process's cache.",
            value=stats.misses,
        )
        yield GaugeMetricFamily(
            "safe_passage_network_cache_entries",
            "Compiled scenario versions held in this process now.",
            value=stats.entries_held,
        )


class ServiceMetrics:
    """Everything ``/metrics`` shows, for one application in one process.

    ``cache`` gives the compiled-network cache figures at each scrape; without it
    they are left out.
    """

    def __init__(self, cache: Callable[[], CacheStats] | None = None) -> None:
        self.registry = CollectorRegistry()
        Info("safe_passage", "The running version.", registry=self.registry).info(
            {"version": __version__}
        )
        # resident memory, start time, CPU seconds, open files: read from /proc at each scrape
        ProcessCollector(registry=self.registry)
        if not os.path.exists("/proc/self/stat"):
            Gauge(
                "process_start_time_seconds",
                "Start of this process (Unix time, s).",
                registry=self.registry,
            ).set(time.time())
        self.in_flight = Gauge(
            "safe_passage_http_requests_in_flight",
            "HTTP requests being answered now.",
            registry=self.registry,
        )
        self.requests = Counter(
            "safe_passage_http_requests",
            "HTTP requests answered, by method, route template and status code.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "safe_passage_http_request_duration_seconds",
            "Time from receiving a request to the end of its response (seconds), "
            "by method and route template.",
            ("method", "route"),
            buckets=REQUEST_BUCKETS,
            registry=self.registry,
        )
        self.compute = Histogram(
            "safe_passage_compute_duration_seconds",
            "Time spent computing answers (seconds), without storage and HTTP: "
            "kind is route or plan.",
            ("kind",),
            buckets=COMPUTE_BUCKETS,
            registry=self.registry,
        )
        if cache is not None:
            self.registry.register(_CacheCollector(cache))
        # The children of each label set, kept: ``labels()`` costs more than counting.
        # Bounded like the series themselves (known methods, route templates, statuses).
        self._request_series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._compute_series: dict[str, Histogram] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """The hook :class:`app.api.middleware.RequestLog` calls once per request."""
        method = method if method in METHODS else "OTHER"
        key = (method, route, status)
        series = self._request_series.get(key)
        if series is None:
            series = self._request_series.setdefault(
                key,
                (
                    self.requests.labels(method, route, str(status)),
                    self.latency.labels(method, route),
                ),
            )
        series[0].inc()
        series[1].observe(seconds)

    def observe_compute(self, kind: str, seconds: float) -> None:
        """The hook the compute routers call (``app.state.observe_compute``): route or plan."""
        series = self._compute_series.get(kind)
        if series is None:
            series = self._compute_series.setdefault(kind, self.compute.labels(kind))
        series.observe(seconds)

    def render(self) -> bytes:
        """The exposition text (format 0.0.4, UTF-8)."""
        return generate_latest(self.registry)
