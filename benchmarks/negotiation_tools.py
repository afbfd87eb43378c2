"""Negotiation tools on city-sized grids, before and after, in one run (issue 19, item 3).

Run (each under a minute on the project machine):

    python3 benchmarks/negotiation_tools.py --size 1M --tools alternatives,disjoint
    python3 benchmarks/negotiation_tools.py --size 100k --tools pareto

Grids as in benchmarks/engine.py (4-neighbour, 100 m roads, risk uniform in [0, 0.01),
seed 0); ``--times`` chooses the roads' travel times: ``uniform`` (100 m at walking speed,
every road alike), ``random`` (uniform in [0.5, 2) min, seed 5, independent of risk) or
``anti`` (riskier roads faster: 2 − 100 × risk × U[0.8, 1.2) min). Landmarks are prepared
first (as the service does in the background). Per tool and question (corner to corner,
the opposite corners, ``--pairs`` random pairs), in this process, one after the other:

* before: the method as it was (``tests/domain/tools_before.py``: alternatives by plain
  penalised searches recomputing penalties over every arc, the disjoint pair by
  Suurballe over the whole network, the Pareto front's label search in Python with its
  50,000-label budget);
* after: the same function as the service calls now; the answers are checked to be the
  same routes (the Pareto front: the same when both are complete);
* the whole answer after (``compute_routes`` + orjson: what the service sends, less HTTP).

Medians of ``--runs``; the load average is printed (the machine is shared: compare the
ratios of one run).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from engine import compact_grid, grid  # noqa: E402

from app.domain.network.graph import Network  # noqa: E402
from app.domain.routes import pareto  # noqa: E402
from app.domain.routes.alternatives import alternative_routes, pose  # noqa: E402
from app.domain.routes.disjoint import _decompose, disjoint_pair, suurballe  # noqa: E402
from app.domain.routes.landmarks import prepare  # noqa: E402
from app.services.requests import RouteRequest  # noqa: E402
from app.services.routes import compute_routes  # noqa: E402
from tests.domain.tools_before import alternative_routes_before, martins_before  # noqa: E402

SIZES = {"10k": 100, "100k": 316, "1M": 1000}


def median_s(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def network(side: int, times: str) -> Network:
    tail, head, risk = grid(side)
    scenario = compact_grid(side, tail, head, risk)
    rng = np.random.default_rng(5)
    if times == "random":
        scenario.edges.travel_time_min = rng.uniform(0.5, 2.0, len(tail))
    elif times == "anti":
        scenario.edges.travel_time_min = 2.0 - 100 * risk * rng.uniform(0.8, 1.2, len(tail))
    return Network(scenario)


def pareto_before(net: Network, a: str, b: str) -> pareto.ParetoFront:
    """The front as before: the Python label search, 50,000 labels, then supported members."""

    def search(q: Any, arc_ok: Any, cost: Any, ticks: Any, _: int) -> Any:
        routes, complete = martins_before(q, arc_ok, cost, ticks, 50_000)
        return routes, complete, None if complete else (0, 0)

    real = pareto._martins
    pareto._martins = search  # type: ignore[assignment]
    try:
        return pareto.pareto_front(net, a, b, max_labels=50_000)
    finally:
        pareto._martins = real


def answer(net: Network, a: str, b: str, extra: dict[str, Any]) -> bytes:
    request = RouteRequest.model_validate({"from": a, "to": b, **extra})
    return orjson.dumps(compute_routes(net, request))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="100k")
    parser.add_argument("--tools", default="alternatives,disjoint,pareto")
    parser.add_argument("--times", choices=["uniform", "random", "anti"], default="uniform")
    parser.add_argument("--pairs", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args()
    side = SIZES[args.size]
    n = side * side
    start = time.perf_counter()
    net = network(side, args.times)
    net.conditions()
    prepare(net)
    print(
        f"{args.size} grid ({n:,} places, times {args.times}), landmarks ready in "
        f"{time.perf_counter() - start:.1f} s; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    rng = random.Random(1)
    pairs = [(0, n - 1), (side - 1, n - side)]
    pairs += [(rng.randrange(n), rng.randrange(n)) for _ in range(args.pairs)]
    print("| tool | question | before | after | ratio | whole answer after | note |")
    print("|---|---|---|---|---|---|---|")
    for tool in args.tools.split(","):
        for s, t in pairs:
            a, b = f"n{s}", f"n{t}"
            label = {0: "corner to corner", side - 1: "other corners"}.get(s, f"{a} → {b}")
            if tool == "alternatives":
                before_s, old = median_s(
                    lambda: alternative_routes_before(net, a, b, k=args.k),  # noqa: B023
                    args.runs,
                )
                after_s, new = median_s(
                    lambda: alternative_routes(net, a, b, k=args.k),  # noqa: B023
                    args.runs,
                )
                same = [r.edges for r in new.routes] == [r.edges for r in old.routes]
                note = f"{len(new.routes)} routes, same: {same}"
                extra: dict[str, Any] = {"alternatives": args.k}
            elif tool == "disjoint":
                q = pose(net, a, b)

                def full(q: Any = q) -> Any:
                    flow = suurballe(q)
                    assert flow is not None
                    return _decompose(q, flow)

                before_s, old = median_s(full, args.runs)
                after_s, new = median_s(lambda: disjoint_pair(net, a, b), args.runs)  # noqa: B023
                same = [r.edges for r in new.routes] == [r.edges for r in old.routes]
                note = f"same: {same}, equally safe: {new.cost == old.cost}"
                extra = {"disjoint": True}
            else:
                before_s, old = median_s(lambda: pareto_before(net, a, b), args.runs)  # noqa: B023
                after_s, new = median_s(lambda: pareto.pareto_front(net, a, b), args.runs)  # noqa: B023
                same = [r.edges for r in new.routes] == [r.edges for r in old.routes]
                note = (
                    f"before: {old.size} members, complete {old.complete}; after: {new.size}, "
                    f"complete {new.complete}, {len(new.missing)} gaps"
                    + (f"; same: {same}" if old.complete and new.complete else "")
                )
                extra = {"pareto": True}
            whole_s, _ = median_s(lambda: answer(net, a, b, extra), args.runs)  # noqa: B023
            print(
                f"| {tool} | {label} | {before_s * 1000:,.0f} ms | {after_s * 1000:,.0f} ms "
                f"| ×{before_s / after_s:.1f} | {whole_s * 1000:,.0f} ms | {note} |",
                flush=True,
            )
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
