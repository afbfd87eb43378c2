"""The service's own counters and histograms in the Prometheus text format (version 0.0.4).

Metrics are per process, as Prometheus expects of a scrape target: run one
service process per container (replica) and let Prometheus add them up. The
route label is the route *template* (``/v1/scenarios/{scenario_id}/routes``),
never the requested path, so scenario ids neither leak into the metrics nor
grow the number of series.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from threading import Lock

from app import __version__

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: Upper bounds (seconds) of the request latency buckets.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
#: Upper bounds (seconds) of the compute time buckets; plans may run for their whole budget.
COMPUTE_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 60.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

Labels = tuple[str, ...]


def _number(value: float) -> str:
    """A sample value as Prometheus writes it (``+Inf``, ``NaN``, integers without ``.0``)."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _labels(names: Labels, values: Labels, extra: str = "") -> str:
    parts = [f'{n}="{_escape_label(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _header(name: str, help_text: str, kind: str) -> list[str]:
    return [f"# HELP {name} {_escape_help(help_text)}", f"# TYPE {name} {kind}"]


class Counter:
    """A monotonically increasing count per label set."""

    def __init__(self, name: str, help_text: str, labels: Labels = ()) -> None:
        self.name, self.help, self.label_names = name, help_text, labels
        self._values: dict[Labels, float] = {}
        self._lock = Lock()

    def inc(self, labels: Labels = (), amount: float = 1.0) -> None:
        with self._lock:
            self._values[labels] = self._values.get(labels, 0.0) + amount

    def value(self, labels: Labels = ()) -> float:
        with self._lock:
            return self._values.get(labels, 0.0)

    def render(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        lines = _header(self.name, self.help, "counter")
        for labels, value in items:
            lines.append(f"{self.name}{_labels(self.label_names, labels)} {_number(value)}")
        return lines


class Gauge:
    """A value that goes up and down (requests in flight)."""

    def __init__(self, name: str, help_text: str) -> None:
        self.name, self.help = name, help_text
        self._value = 0.0
        self._lock = Lock()

    def add(self, amount: float) -> None:
        with self._lock:
            self._value += amount

    @property
    def value(self) -> float:
        with self._lock:
            return self._value

    def render(self) -> list[str]:
        return [*_header(self.name, self.help, "gauge"), f"{self.name} {_number(self.value)}"]


class Histogram:
    """Counts of observations at or below each bucket bound, their sum and count."""

    def __init__(self, name: str, help_text: str, labels: Labels, buckets: Iterable[float]) -> None:
        self.name, self.help, self.label_names = name, help_text, labels
        self.bounds = (*sorted(buckets), math.inf)
        # per label set: per-bucket counts (not cumulative), then the sum
        self._series: dict[Labels, tuple[list[int], list[float]]] = {}
        self._lock = Lock()

    def observe(self, labels: Labels, value: float) -> None:
        # NaN compares false with every bound: count it in +Inf rather than fail the request
        last = len(self.bounds) - 1
        index = next((i for i, bound in enumerate(self.bounds) if value <= bound), last)
        with self._lock:
            counts, total = self._series.setdefault(labels, ([0] * len(self.bounds), [0.0]))
            counts[index] += 1
            total[0] += value

    def count(self, labels: Labels) -> int:
        with self._lock:
            series = self._series.get(labels)
            return sum(series[0]) if series else 0

    def render(self) -> list[str]:
        with self._lock:
            items = sorted((k, (list(c), s[0])) for k, (c, s) in self._series.items())
        lines = _header(self.name, self.help, "histogram")
        for labels, (counts, total) in items:
            running = 0
            for bound, n in zip(self.bounds, counts, strict=True):
                running += n
                le = f'le="{_number(bound) if math.isinf(bound) else repr(float(bound))}"'
                lines.append(f"{self.name}_bucket{_labels(self.label_names, labels, le)} {running}")
            plain = _labels(self.label_names, labels)
            lines.append(f"{self.name}_sum{plain} {_number(total)}")
            lines.append(f"{self.name}_count{plain} {running}")
        return lines


def _resident_bytes() -> float | None:
    """Resident memory of this process (bytes) from /proc; ``None`` where there is no /proc."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return float(pages * os.sysconf("SC_PAGE_SIZE"))


class ServiceMetrics:
    """Everything ``/metrics`` shows, for one process."""

    def __init__(self) -> None:
        self.started = time.time()
        self.requests = Counter(
            "safe_passage_http_requests_total",
            "HTTP requests answered, by method, route template and status code.",
            ("method", "route", "status"),
        )
        self.latency = Histogram(
            "safe_passage_http_request_duration_seconds",
            "Time from receiving a request to the end of its response (seconds), "
            "by method and route template.",
            ("method", "route"),
            REQUEST_BUCKETS,
        )
        self.compute = Histogram(
            "safe_passage_compute_duration_seconds",
            "Time spent computing answers (seconds), without storage and HTTP: "
            "kind is route or plan.",
            ("kind",),
            COMPUTE_BUCKETS,
        )
        self.in_flight = Gauge(
            "safe_passage_http_requests_in_flight", "HTTP requests being answered now."
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """The hook :class:`app.api.middleware.RequestLog` calls once per request."""
        method = method if method in METHODS else "OTHER"
        self.requests.inc((method, route, str(status)))
        self.latency.observe((method, route), seconds)

    def observe_compute(self, kind: str, seconds: float) -> None:
        """The hook the compute routers call (``app.state.observe_compute``): route or plan."""
        self.compute.observe((kind,), seconds)

    def render(self, cache: CacheStats | None = None) -> str:
        """The exposition text; ``cache`` adds the compiled-network cache figures."""
        lines = [
            *_header("safe_passage_info", "The running version.", "gauge"),
            f'safe_passage_info{{version="{_escape_label(__version__)}"}} 1',
            *_header(
                "process_start_time_seconds", "Start of this process (Unix time, s).", "gauge"
            ),
            f"process_start_time_seconds {_number(self.started)}",
        ]
        resident = _resident_bytes()
        if resident is not None:
            lines += _header(
                "process_resident_memory_bytes", "Resident memory of this process.", "gauge"
            )
            lines.append(f"process_resident_memory_bytes {_number(resident)}")
        lines += self.in_flight.render()
        lines += self.requests.render()
        lines += self.latency.render()
        lines += self.compute.render()
        if cache is not None:
            for name, help_text, kind, value in (
                (
                    "safe_passage_network_cache_hits_total",
                    "Route and plan questions answered from an already compiled version.",
                    "counter",
                    cache.hits,
                ),
                (
                    "safe_passage_network_cache_misses_total",
                    "Versions compiled because they were not in this process's cache.",
                    "counter",
                    cache.misses,
                ),
                (
                    "safe_passage_network_cache_entries",
                    "Compiled scenario versions held in this process now.",
                    "gauge",
                    cache.entries_held,
                ),
            ):
                lines += _header(name, help_text, kind)
                lines.append(f"{name} {_number(value)}")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class CacheStats:
    """A snapshot of the compiled-network cache for :meth:`ServiceMetrics.render`."""

    hits: int
    misses: int
    entries_held: int


#: The metrics of this process (one registry per process, like Prometheus client libraries).
METRICS = ServiceMetrics()
