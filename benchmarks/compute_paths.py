#!/usr/bin/env python3
"""Every computing path of a city-sized scenario, against one route on the same grid.

Run from the repository root::

    python3 benchmarks/compute_paths.py              # the 1M-node grid (about 10 minutes)
    python3 benchmarks/compute_paths.py --side 316   # 100k nodes, quicker
    python3 benchmarks/compute_paths.py --plans-only # route, fast plan, choice of concessions

The scenario: a ``side`` × ``side`` street grid (1,000 × 1,000: 1M places,
1,998,000 roads of 100 m, risk uniform in [0, 0.01), 10–40 people per minute),
with coordinates, 100,000 people spread over 10,000 random places, eight safe
zones on the edge (corners and mid-sides), a party ``north`` holding a band of
rows with its consent pending and a checkpoint on each road into the band, and
two blocked roads. Its JSON text is written in pieces and read as columns by
``read_large_scenario`` (what an upload does); the network is compiled once, and
the general profile's conditions are computed once (as a server keeps them).

Then, each as the HTTP endpoint does it (the same service functions):

- one route corner to corner (``compute_routes``): the reference;
- k = 5 alternatives, a disjoint pair, the Pareto front (``compute_routes``);
- the map GeoJSON (``scenario_geojson``, pieces encoded to UTF-8 as they are sent):
  time to the first piece, total time, bytes, and the peak memory it adds;
- 10 incidents added from a CSV text (``import_incidents``: read, checked against
  the road ids, added as edits; what ``POST …/incidents`` does before storing its
  edits), and compiling the new version (``Network``, sharing the arcs of the version
  edited);
- a fast plan in a 45-minute window (``compute_plan``, method fast; see :data:`WINDOW`);
- choosing which concessions of that plan to price (``select_concessions``, with
  ``consenting_only``: up to 200 considered, each screened on a model of its own), then
  ranking them (``rank_concessions``: the choice again, and a plan for each one priced).

Times are medians of ``--repeat`` runs (plans and concessions: one run), wall clock and
CPU time of this process; the machine is shared, CPU time is the steadier figure and
the ratios to one route are of CPU times.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.config import Settings  # noqa: E402
from app.domain.network.graph import Network  # noqa: E402
from app.domain.plans.concessions import rank_concessions, select_concessions  # noqa: E402
from app.domain.plans.evacuation import PlanOptions, plan_evacuation  # noqa: E402
from app.domain.scenario.reading import read_large_scenario  # noqa: E402
from app.services.incidents import ImportRequest, import_incidents  # noqa: E402
from app.services.maps import scenario_geojson  # noqa: E402
from app.services.plans import PlanRequest, compute_plan  # noqa: E402
from app.services.requests import RouteRequest  # noqa: E402
from app.services.routes import compute_routes  # noqa: E402

PEOPLE = 100_000
BLOCKED = 2
"""Blocked roads (each an opening to price, as is the party ``north``)."""
PLACES_WITH_PEOPLE = 10_000
WINDOW = {"id": "w", "start": "2025-01-01T12:00:00+00:00", "end": "2025-01-01T12:45:00+00:00"}
"""45 minutes: on 1M places (4M road directions) the longest window the fast planner's
default table (200M road-minute cells) allows is 50 minutes."""


def grid_pieces(side: int, seed: int = 7) -> Iterator[bytes]:
    """The scenario's JSON text, in pieces (see the module docstring)."""
    rng = np.random.default_rng(seed)
    n = side * side
    idx = np.arange(n, dtype=np.int64).reshape(side, side)
    tail = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    head = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    risk = np.round(rng.random(len(tail)) * 0.01, 6)
    capacity = rng.integers(10, 41, len(tail))
    mid = side // 2
    zones = {0, side - 1, n - side, n - 1, mid, mid * side, mid * side + side - 1, n - side + mid}
    population = np.zeros(n, dtype=np.int64)
    free = np.setdiff1d(np.arange(n), np.array(sorted(zones)))
    homes = rng.choice(free, min(PLACES_WITH_PEOPLE, len(free) // 2), replace=False)
    population[homes] = PEOPLE // len(homes)
    band = (side * 2 // 5, side * 2 // 5 + max(1, side // 50))  # rows held by "north"
    row_t, row_h = tail // side, head // side
    held = (row_t >= band[0]) & (row_t < band[1]) & (row_h >= band[0]) & (row_h < band[1])
    into = (row_t == band[0] - 1) & (row_h == band[0])
    blocked = set(rng.choice(len(tail), BLOCKED, replace=False).tolist())
    header = {
        "schema": "safe-passage/scenario@1",
        "name": f"Grid {n}",
        "as_of": "2025-01-01T11:00:00+00:00",
        "parties": [
            {"id": "north", "name": "Northern force", "consent": "pending"},
            {"id": "east", "consent": "granted"},
        ],
        "windows": [WINDOW],
    }
    yield json.dumps(header)[:-1].encode() + b',"nodes":['
    for start in range(0, n, 10_000):
        part = []
        for i in range(start, min(n, start + 10_000)):
            extra = ',"kind":"safe_zone"' if i in zones else ""
            if population[i]:
                extra = f',"population":{population[i]}'
            part.append(
                f'{{"id":"n{i}","lat":{36 + (i // side) * 1e-3:.6f},'
                f'"lon":{37 + (i % side) * 1e-3:.6f}{extra}}}'
            )
        yield (("," if start else "") + ",".join(part)).encode()
    yield b'],"edges":['
    for start in range(0, len(tail), 10_000):
        part = []
        for k in range(start, min(len(tail), start + 10_000)):
            extra = ',"controlled_by":"north"' if held[k] else ""
            if into[k]:
                extra += ',"checkpoint":"north"'
            if k in blocked:
                extra += ',"status":"blocked"'
            part.append(
                f'{{"id":"e{k}","from":"n{tail[k]}","to":"n{head[k]}","length_m":100,'
                f'"capacity_per_min":{capacity[k]},"risk":{float(risk[k])!r}{extra}}}'
            )
        yield (("," if start else "") + ",".join(part)).encode()
    yield b"]}"


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Median wall and CPU seconds of ``repeat`` runs, and the last result."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus), result


def rss_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return math.nan


def reset_peak() -> bool:
    """Reset the process's peak resident memory (Linux: write 5 to clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def geojson_run(net: Network) -> dict[str, float]:
    start = time.perf_counter()
    cpu = time.process_time()
    first = None
    size = 0
    for piece in scenario_geojson(net):
        data = piece.encode("utf-8")  # what StreamingResponse sends
        if first is None:
            first = time.perf_counter() - start
        size += len(data)
    return {
        "first": first or 0.0,
        "wall": time.perf_counter() - start,
        "cpu": time.process_time() - cpu,
        "bytes": size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--plans-only",
        action="store_true",
        help="only the route, the fast plan and the choice of concessions (no full ranking)",
    )
    args = parser.parse_args()
    side, repeat = args.side, args.repeat
    n = side * side
    rows: list[tuple[str, float, float, str]] = []

    w, _, compact = timed(lambda: read_large_scenario(grid_pieces(side)), 1)
    print(f"read {n:,} places as columns: {w:.1f} s", file=sys.stderr)
    w, _, net = timed(lambda: Network(compact), 1)
    print(f"compiled: {w:.1f} s; {len(net.edge_ids):,} roads", file=sys.stderr)
    w, _, _ = timed(lambda: net.conditions(), 1)
    print(f"conditions: {w:.2f} s", file=sys.stderr)

    corner = {"from": "n0", "to": f"n{n - 1}"}

    def route_question(**extra: Any) -> Callable[[], Any]:
        request = RouteRequest.model_validate({**corner, **extra})
        return lambda: compute_routes(net, request)

    route_wall, route_cpu, answer = timed(route_question(), repeat)
    rows.append(("one route, corner to corner", route_wall, route_cpu, ""))
    roads = len(answer["routes"][0]["edges"])
    print(f"route: {route_wall:.2f} s ({roads} roads)", file=sys.stderr)
    if not args.plans_only:
        for label, extra in (
            ("k = 5 alternatives", {"alternatives": 5}),
            ("disjoint pair", {"disjoint": True}),
            ("Pareto front (cap 10)", {"pareto": True}),
        ):
            wall, cpu, answer = timed(route_question(**extra), repeat)
            rows.append((label, wall, cpu, f"{len(answer['routes'])} routes"))
            print(f"{label}: {wall:.2f} s", file=sys.stderr)

        rss_before = rss_mib("VmRSS")
        peak_ok = reset_peak()
        runs = [geojson_run(net) for _ in range(repeat)]
        peak = rss_mib("VmHWM") - rss_before if peak_ok else math.nan
        median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        rows.append(("map GeoJSON: first piece", median["first"], math.nan, ""))
        rows.append(
            (
                "map GeoJSON: whole, streamed",
                median["wall"],
                median["cpu"],
                f"{median['bytes'] / 2**20:,.0f} MiB of JSON; peak memory +{peak:,.0f} MiB",
            )
        )
        print(f"geojson: {median['wall']:.1f} s, {median['bytes']:,} bytes", file=sys.stderr)

        edge_ids = [f"e{k}" for k in random.Random(1).sample(range(len(net.edge_ids)), 10)]
        csv = "id,edges,severity,observed_at\n" + "".join(
            f"r{k},{e},0.2,2025-01-01T11:30:00Z\n" for k, e in enumerate(edge_ids)
        )
        wall, cpu, outcome = timed(
            lambda: import_incidents(compact, csv, ImportRequest(format="csv")), repeat
        )
        rows.append(("10 incidents added (CSV read, checked, added as edits)", wall, cpu, ""))
        merged = outcome.scenario
        wall, cpu, _ = timed(lambda: Network(merged, like=net).conditions(), 1)
        rows.append(("  then compiled: new version's network and conditions", wall, cpu, ""))

    plan_request = PlanRequest.model_validate({"window": "w", "method": "fast"})
    limit = Settings().max_expanded_arcs
    rss_before = rss_mib("VmRSS")
    peak_ok = reset_peak()
    wall, cpu, document = timed(lambda: compute_plan(net, plan_request, max_expanded_arcs=limit), 1)
    peak = rss_mib("VmHWM") - rss_before if peak_ok else math.nan
    rows.append(
        (
            "fast plan, 45-minute window (the first on this network)",
            wall,
            cpu,
            f"{document['evacuated']:,} of {PEOPLE:,} people; peak memory +{peak:,.0f} MiB",
        )
    )
    print(f"fast plan: {wall:.1f} s", file=sys.stderr)

    window_start = compact.header.windows[0].start
    options = PlanOptions(horizon=45, method="fast", consenting_only=True, at=window_start)
    base = plan_evacuation(net, options)
    wall, cpu, chosen = timed(lambda: select_concessions(net, options, base), 1)
    rows.append(
        (
            "choosing the concessions to price (select_concessions)",
            wall,
            cpu,
            f"{chosen.considered:,} found; {len(chosen.to_price)} to price, "
            f"{chosen.skipped} skipped, {chosen.not_priced} not priced",
        )
    )
    print(f"choosing concessions: {wall:.1f} s", file=sys.stderr)
    if not args.plans_only:
        wall, cpu, ranked = timed(lambda: rank_concessions(net, options, base), 1)
        rows.append(
            (
                f"rank concessions ({BLOCKED} blocked roads, 1 party)",
                wall,
                cpu,
                f"{ranked.priced} concessions priced, {ranked.skipped} skipped",
            )
        )

    print(f"\n{n:,} places, {len(net.edge_ids):,} roads; medians of {repeat} runs\n")
    print("| path | wall (s) | CPU (s) | CPU ÷ one route | note |")
    print("|---|---|---|---|---|")
    for label, wall, cpu, note in rows:
        cpu_text, ratio = "–", "–"
        if not math.isnan(cpu):
            cpu_text, ratio = f"{cpu:.2f}", f"{cpu / route_cpu:.1f}"
        print(f"| {label} | {wall:.2f} | {cpu_text} | {ratio} | {note} |")


if __name__ == "__main__":
    main()
