#!/usr/bin/env python3
"""Speed of fleet plans (``safe-passage plan --fleet``): the bundled Aleppo scenario and a
10,000-place city with 200 vehicles over eight hours.

Usage (from the repository root)::

    python benchmarks/fleets.py            # a Markdown table on stdout
    python benchmarks/fleets.py --repeat 5

Cases:

``aleppo``
    ``graphs/aleppo-2016-12.json`` with its illustrative fleets (20 buses, 10 ambulances),
    screening at the crossing and the wounded as a stretcher group: the three-hour pause,
    the 48-hour pause and no window (until everyone is out), fast and (where small enough)
    exact, and a sizing question.
``city``
    ``tests/grid_scenario.py``'s 100 × 100 street grid (10,000 places, 100,000 people, eight
    safe zones on the edge) with checkpoints screening on every road into a safe zone, 150
    buses of 60 seats and 50 ambulances of two stretchers spread over four depots, 1 % of
    the people wounded, an eight-hour window; the fast method.

Figures: wall-clock and CPU seconds of compiling the question and planning (the median of
``--repeat`` runs, each in this process after one warm-up), with the plan's evacuated count
and its bound so the answers can be compared between runs.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.domain.fleets import FleetOptions, plan_fleet, sizing  # noqa: E402
from app.domain.network.graph import Network  # noqa: E402
from app.domain.scenario.reading import validate_scenario  # noqa: E402
from tests.grid_scenario import grid_scenario  # noqa: E402


def city(side: int = 100) -> dict[str, Any]:
    """The grid city with fleets, screening and wounded (see the module docstring)."""
    doc = grid_scenario(side, 100_000)
    doc["parties"] = [{"id": "gov", "consent": "granted"}]
    zones = {n["id"] for n in doc["nodes"] if n.get("kind") == "safe_zone"}
    for edge in doc["edges"]:
        if edge["to"] in zones or edge["from"] in zones:
            edge.update(
                checkpoint="gov",
                screening_min_per_vehicle=5,
                screening_min_per_person=0.05,
                screening_lanes=2,
            )
    populated = [n for n in doc["nodes"] if n.get("population")]
    wounded = {n["id"]: max(0, n["population"] // 100) for n in populated[::1]}
    doc["groups"] = [
        {"id": "wounded", "needs": "stretcher", "at": {k: v for k, v in wounded.items() if v}}
    ]
    depots = [
        f"g0-{side // 2}",
        f"g{side // 2}-0",
        f"g{side - 1}-{side // 2}",
        f"g{side // 2}-{side - 1}",
    ]
    doc["fleets"] = [
        {"id": f"buses-{k}", "count": 38 if k < 2 else 37, "seats": 60, "depot": d,
         "speed_m_per_min": 250, "load_min": 10, "unload_min": 5}
        for k, d in enumerate(depots)
    ] + [
        {"id": f"ambulances-{k}", "kind": "ambulance", "count": 13 if k < 2 else 12, "seats": 1,
         "stretchers": 2, "depot": d, "speed_m_per_min": 300, "load_min": 8, "unload_min": 5}
        for k, d in enumerate(depots)
    ]  # fmt: skip
    return doc


def timed(fn: Any, repeat: int) -> tuple[float, float, Any]:
    fn()  # warm-up: imports, landmark of caches
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus), result


def run(net: Network, options: FleetOptions, method: Any, with_sizing: bool) -> Any:
    plan = plan_fleet(net, options, method)
    if with_sizing:
        sizing(net, options, plan)
    return plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = []
    aleppo = Network(
        validate_scenario(json.loads((ROOT / "graphs/aleppo-2016-12.json").read_text()))
    )
    both = ("buses", "ambulances")
    cases: list[tuple[str, Network, tuple[str, ...], int | None, str, bool]] = [
        ("aleppo, 3 h", aleppo, both, 180, "fast", False),
        ("aleppo, 48 h", aleppo, both, 2880, "fast", False),
        ("aleppo, until everyone is out", aleppo, both, None, "fast", False),
        (
            "aleppo, 3 ambulances, 3 h, optimal asked",
            aleppo,
            ("ambulances",),
            180,
            "optimal",
            False,
        ),
        ("aleppo, 3 h, with sizing", aleppo, both, 180, "fast", True),
    ]
    started = time.perf_counter()
    big = Network(validate_scenario(city()))
    build = time.perf_counter() - started
    fleets = tuple(f.id for f in big.scenario.fleets)
    cases.append(("city 10,000 places, 200 vehicles, 8 h", big, fleets, 480, "fast", False))
    for name, net, chosen, horizon, method, with_sizing in cases:
        vehicles = {"ambulances": 3} if "3 ambulances" in name else {}
        options = FleetOptions(chosen, horizon=horizon, vehicles=vehicles)
        wall, cpu, plan = timed(
            functools.partial(run, net, options, method, with_sizing), args.repeat
        )
        rows.append(
            f"| {name} | {plan.method}{' (optimal)' if plan.optimal else ''} | "
            f"{plan.evacuated:,} | {plan.upper_bound_evacuated:,} | {len(plan.trips):,} | "
            f"{wall:.3f} | {cpu:.3f} |"
        )
    print(f"City network built and compiled in {build:.1f} s (not counted below).\n")
    print("| case | method | evacuated | bound | trips | wall s | CPU s |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
