"""CLI cold start and a route on the bundled Aleppo scenario, from the shell.

Run:  python3 benchmarks/cli_route.py [--runs 10]

Prints medians (and min/max) of wall-clock time for: the bare interpreter,
`safe-passage --help`, `safe-passage validate`, `safe-passage route … --json`,
and, in-process, parsing+compiling the scenario and one route query.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "graphs" / "aleppo-2016-12.json"
CLI = [sys.executable, "-m", "app.cli"]


def wall(cmd: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def show(label: str, times: list[float]) -> None:
    ms = [t * 1000 for t in times]
    print(
        f"| {label} | {statistics.median(ms):.0f} ms | {min(ms):.0f}–{max(ms):.0f} ms |",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    print(f"runs: {runs}, python {sys.version.split()[0]}\n")
    print("| what | median | range |\n|---|---|---|")
    show("python -c pass", wall([sys.executable, "-c", "pass"], runs))
    show("safe-passage --help", wall([*CLI, "--help"], runs))
    show("safe-passage validate aleppo", wall([*CLI, "validate", str(SCENARIO)], runs))
    route = [*CLI, "route", str(SCENARIO), "--from", "as-sukkari", "--to", "khan-al-asal"]
    show("safe-passage route aleppo --json", wall([*route, "--json"], runs))

    sys.path.insert(0, str(ROOT))
    from app.config import Settings
    from app.domain.network.graph import Network
    from app.domain.routes.engine import safest_route
    from app.services.scenarios import load_scenario_file

    compile_times, query_times = [], []
    for _ in range(runs):
        start = time.perf_counter()
        net = Network(load_scenario_file(SCENARIO, Settings()))
        net.conditions()
        compile_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        safest_route(net, "as-sukkari", "khan-al-asal")
        query_times.append(time.perf_counter() - start)
    show("in-process: load + validate + compile", compile_times)
    show("in-process: one route query (compiled)", query_times)


if __name__ == "__main__":
    main()
