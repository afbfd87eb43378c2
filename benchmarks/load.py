#!/usr/bin/env python3
"""Route load on the Aleppo scenario, with and without plans computed at the same time.

Usage (from the repository root)::

    python benchmarks/load.py                         # SQLite in a temporary directory
    python benchmarks/load.py --clients 16 --seconds 30 --requests 5000
    python benchmarks/load.py --database-url 'postgresql+psycopg://…'
    python benchmarks/load.py --url http://127.0.0.1:8000 --token TOKEN   # a running service
    python benchmarks/load.py --json                  # one JSON document instead of the table
    python benchmarks/load.py --planners 1 --plan-grid 10000 --plan-workers 0  # plans inline

Starts one ``safe-passage serve --demo`` on 127.0.0.1 (unless ``--url``) and drives
it with an asyncio client (httpx; one connection per client task):

1. *routes*: ``--clients`` tasks ask ``POST /v1/scenarios/aleppo-2016-12/routes``
   for random (district, safe zone) pairs, one after another, until ``--requests``
   answers or ``--seconds`` seconds, whichever comes first;
2. *routes + plans*: the same, while ``--planners`` more tasks ask for evacuation
   plans of the 3-hour pause over and over (``--plan-method``, optimal by default).
   With ``--plan-grid PLACES`` the plans are of a square street grid of about that
   many places and 100,000 people instead (its 4-hour window; the grid of
   ``tests/grid_scenario.py``), stored first.

In both phases one more task asks ``GET /v1/health`` every 50 ms. Reported per
phase: answered routes per second, route latency p50/p90/p99/max (ms), the
slowest health check, errors; in phase 2 also the plans finished and their
median time; and the CPU use of the server process and of its plan workers
(100% = one core busy). ``--plan-workers N`` starts the server with
``SAFE_PASSAGE_PLAN_WORKERS=N`` (0: plans in the server process). Every figure
is for one server process on this machine, with the load generator on the same
cores; compare phases within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SCENARIO = "aleppo-2016-12"
WINDOW = "pause-2016-12-15-3h"


@dataclass
class Phase:
    name: str
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    plans_ms: list[float] = field(default_factory=list)
    plan_errors: dict[str, int] = field(default_factory=dict)
    health_ms: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ms)

        def pct(p: float) -> float | None:
            return round(lat[min(len(lat) - 1, int(p / 100 * len(lat)))], 1) if lat else None

        plans = sorted(self.plans_ms)
        return {
            "phase": self.name,
            "routes": len(lat),
            "seconds": round(self.seconds, 2),
            "routes_per_s": round(len(lat) / self.seconds, 1) if self.seconds else None,
            "p50_ms": pct(50),
            "p90_ms": pct(90),
            "p99_ms": pct(99),
            "max_ms": round(lat[-1], 1) if lat else None,
            "health_max_ms": round(max(self.health_ms), 1) if self.health_ms else None,
            "errors": self.errors,
            "plans": len(plans),
            "plan_p50_ms": round(plans[len(plans) // 2], 1) if plans else None,
            "plan_errors": self.plan_errors,
        }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process so far (0 when not known)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def workers_cpu_seconds(pid: int | None) -> float:
    """CPU time so far of the plan worker processes a server spawned (0 when none)."""
    if pid is None:
        return 0.0
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and b"spawn_main" in (stat.parent / "cmdline").read_bytes():
                total += cpu_seconds(int(stat.parent.name))
        except OSError:
            continue
    return total


@contextmanager
def given(url: str, token: str | None) -> Iterator[tuple[str, str, int | None]]:
    """A service already running (its CPU time is not measured)."""
    if not token:
        raise SystemExit("--url needs --token (a planner token)")
    yield url.rstrip("/"), token, None


@contextmanager
def served(
    database_url: str | None, plan_workers: int | None
) -> Iterator[tuple[str, str, int | None]]:
    """``safe-passage serve --demo`` on a free port: URL, the planner token it printed, pid."""
    with tempfile.TemporaryDirectory(prefix="safe-passage-load-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAFE_PASSAGE_")}
        env.update(SAFE_PASSAGE_DATA_DIR=tmp, SAFE_PASSAGE_DEMO_DIR=str(ROOT / "graphs"))
        env["SAFE_PASSAGE_LOG_JSON"] = "true"
        if database_url:
            env["SAFE_PASSAGE_DATABASE_URL"] = database_url
        if plan_workers is not None:
            env["SAFE_PASSAGE_PLAN_WORKERS"] = str(plan_workers)
        port = free_port()
        log = Path(tmp) / "serve.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--demo"],
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.DEVNULL,  # one access-log line per request: not measured
            )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"serve did not start:\n{log.read_text()}")
                try:
                    if httpx.get(f"{url}/v1/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            token = next(
                line.removeprefix("Token: ").strip()
                for line in log.read_text().splitlines()
                if line.startswith("Token: ")
            )
            yield url, token, process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()


def route_pairs(url: str, token: str) -> list[tuple[str, str]]:
    """Every (district with people, safe zone) pair of the stored Aleppo scenario."""
    document = httpx.get(
        f"{url}/v1/scenarios/{SCENARIO}", headers={"Authorization": f"Bearer {token}"}, timeout=30
    ).json()
    zones = [n["id"] for n in document["nodes"] if n.get("kind") == "safe_zone"]
    districts = [n["id"] for n in document["nodes"] if n.get("kind") == "district"]
    return [(d, z) for d in districts for z in zones]


async def route_client(
    url: str, token: str, pairs: list[tuple[str, str]], seed: int, phase: Phase, stop: Stop
) -> None:
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as client:
        while stop.more():
            a, b = rng.choice(pairs)
            started = time.perf_counter()
            try:
                r = await client.post(f"/v1/scenarios/{SCENARIO}/routes", json={"from": a, "to": b})
                outcome = str(r.status_code)
            except httpx.HTTPError as exc:
                outcome = type(exc).__name__
            elapsed = (time.perf_counter() - started) * 1000
            # 200, or 422 no-route: both are answers (some districts are cut off).
            if outcome in ("200", "422"):
                if stop.count():
                    phase.latencies_ms.append(elapsed)
            else:
                phase.errors[outcome] = phase.errors.get(outcome, 0) + 1


@dataclass
class PlanTarget:
    """What the plan clients ask: a stored scenario and the window of its plans."""

    scenario: str = SCENARIO
    window: str = WINDOW


async def plan_client(
    url: str, token: str, target: PlanTarget, method: str, phase: Phase, stop: Stop
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    body = {"window": target.window, "method": method}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=600) as client:
        while stop.more():
            started = time.perf_counter()
            try:
                r = await client.post(f"/v1/scenarios/{target.scenario}/plans", json=body)
                outcome = str(r.status_code)
            except httpx.HTTPError as exc:
                outcome = type(exc).__name__
            if outcome == "200":
                phase.plans_ms.append((time.perf_counter() - started) * 1000)
            else:
                phase.plan_errors[outcome] = phase.plan_errors.get(outcome, 0) + 1


async def health_client(url: str, phase: Phase, stop: Stop) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        while stop.more():
            started = time.perf_counter()
            try:
                r = await client.get("/v1/health")
                outcome = str(r.status_code)
            except httpx.HTTPError as exc:
                outcome = type(exc).__name__
            if outcome == "200":
                phase.health_ms.append((time.perf_counter() - started) * 1000)
            else:
                phase.errors[f"health {outcome}"] = phase.errors.get(f"health {outcome}", 0) + 1
            await asyncio.sleep(0.05)


@dataclass
class Stop:
    """Ends a phase after ``requests`` answered routes or ``seconds``, whichever is first."""

    requests: int
    seconds: float
    started: float = field(default_factory=time.perf_counter)
    answered: int = 0

    def more(self) -> bool:
        return self.answered < self.requests and time.perf_counter() - self.started < self.seconds

    def count(self) -> bool:
        if self.answered >= self.requests:
            return False
        self.answered += 1
        return True


async def run_phase(
    name: str,
    url: str,
    token: str,
    pairs: list[tuple[str, str]],
    args: argparse.Namespace,
    target: PlanTarget,
    planners: int,
) -> Phase:
    phase = Phase(name)
    stop = Stop(args.requests, args.seconds)
    tasks = [
        route_client(url, token, pairs, args.seed + k, phase, stop) for k in range(args.clients)
    ]
    tasks.append(health_client(url, phase, stop))
    plans = [
        asyncio.create_task(plan_client(url, token, target, args.plan_method, phase, stop))
        for _ in range(planners)
    ]
    await asyncio.gather(*tasks)
    phase.seconds = time.perf_counter() - stop.started
    for plan in plans:  # a plan still computing (a large grid's) is not waited for
        plan.cancel()
    await asyncio.gather(*plans, return_exceptions=True)
    return phase


async def warm_up(url: str, token: str, pairs: list[tuple[str, str]], target: PlanTarget) -> None:
    """Compile the scenario and warm the caches before measuring (a grid's first plan is
    part of the measurement)."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=300) as client:
        for a, b in pairs[:20]:
            await client.post(f"/v1/scenarios/{SCENARIO}/routes", json={"from": a, "to": b})
        await client.post(f"/v1/scenarios/{SCENARIO}/plans", json={"window": WINDOW})


def store_grid(url: str, token: str, places: int) -> PlanTarget:
    from tests.grid_scenario import WINDOW as GRID_WINDOW
    from tests.grid_scenario import grid_scenario

    document = grid_scenario(round(places**0.5), 100_000)
    headers = {"Authorization": f"Bearer {token}"}
    r = httpx.post(f"{url}/v1/scenarios", json=document, headers=headers, timeout=300)
    r.raise_for_status()
    return PlanTarget(r.json()["id"], GRID_WINDOW["id"])


def table(rows: list[dict[str, Any]]) -> str:
    head = "| phase | routes | routes/s | p50 ms | p90 ms | p99 ms | max ms | health max ms "
    head += "| errors | plans (p50 ms) | server CPU | workers CPU |"
    lines = [head, "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        plans = f"{r['plans']} ({r['plan_p50_ms']})" if r["plans"] else "-"
        errors = sum(r["errors"].values()) + sum(r["plan_errors"].values())
        cpu = f"{r['server_cpu_pct']}%" if r.get("server_cpu_pct") is not None else "-"
        workers = f"{r['workers_cpu_pct']}%" if r.get("workers_cpu_pct") is not None else "-"
        lines.append(
            f"| {r['phase']} | {r['routes']} | {r['routes_per_s']} | {r['p50_ms']} | "
            f"{r['p90_ms']} | {r['p99_ms']} | {r['max_ms']} | {r['health_max_ms']} | "
            f"{errors} | {plans} | {cpu} | {workers} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent route clients")
    parser.add_argument("--planners", type=int, default=2, help="concurrent plan clients")
    parser.add_argument("--plan-method", choices=["optimal", "fast"], default="optimal")
    parser.add_argument("--requests", type=int, default=3000, help="routes per phase at most")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds per phase at most")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="serve on this database (default: SQLite)")
    parser.add_argument("--url", help="a running service instead (with --token)")
    parser.add_argument("--token", help="planner token for --url")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--plan-grid", type=int, metavar="PLACES", help="plan on a grid of about PLACES places"
    )
    parser.add_argument(
        "--plan-workers", type=int, help="SAFE_PASSAGE_PLAN_WORKERS of the server started"
    )
    args = parser.parse_args()

    rows = []
    server = (
        given(args.url, args.token) if args.url else served(args.database_url, args.plan_workers)
    )
    with server as (url, token, pid):
        pairs = route_pairs(url, token)
        target = store_grid(url, token, args.plan_grid) if args.plan_grid else PlanTarget()
        asyncio.run(warm_up(url, token, pairs, target))
        plans = f"{args.plan_method} plans" + (
            f" ({args.plan_grid} places)" if args.plan_grid else ""
        )
        for name, planners in (("routes", 0), (f"routes + {args.planners} {plans}", args.planners)):
            before, workers_before = cpu_seconds(pid), workers_cpu_seconds(pid)
            phase = asyncio.run(run_phase(name, url, token, pairs, args, target, planners))
            row = phase.summary()
            if pid is not None:
                row["server_cpu_pct"] = round(100 * (cpu_seconds(pid) - before) / phase.seconds)
                workers = workers_cpu_seconds(pid) - workers_before
                row["workers_cpu_pct"] = round(100 * workers / phase.seconds)
            rows.append(row)
    settings = {
        "clients": args.clients,
        "planners": args.planners,
        "plan_method": args.plan_method,
        "requests": args.requests,
        "seconds": args.seconds,
        "backend": "postgresql" if args.database_url else ("given" if args.url else "sqlite"),
        "plan_grid": args.plan_grid,
        "plan_workers": args.plan_workers,
        "cpus": os.cpu_count(),
    }
    if args.json:
        print(json.dumps({"settings": settings, "phases": rows}, indent=2))
    else:
        print(json.dumps(settings))
        print(table(rows))


if __name__ == "__main__":
    main()
