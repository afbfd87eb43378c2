#!/usr/bin/env python3
"""Route load on the Aleppo scenario, with and without plans computed at the same time.

Usage (from the repository root)::

    python benchmarks/load.py                         # SQLite in a temporary directory
    python benchmarks/load.py --clients 16 --seconds 30 --requests 5000
    python benchmarks/load.py --database-url 'postgresql+psycopg://…'
    python benchmarks/load.py --url http://127.0.0.1:8000 --token TOKEN   # a running service
    python benchmarks/load.py --json                  # one JSON document instead of the table
    python benchmarks/load.py --planners 1 --plan-grid 10000 --plan-workers 0  # plans inline
    python benchmarks/load.py --wrk                   # wrk against the floor and the service
    python benchmarks/load.py --wrk --planners 2 --database-url 'postgresql+psycopg://…'

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

``--wrk`` measures throughput with ``wrk`` (Debian package ``wrk``; far lighter than a
Python client) instead: ``--connections`` (32) connections, two wrk threads, random
route questions of the same pairs, in ``--rounds`` rounds of ``--wrk-seconds`` that
alternate between *the floor* (``benchmarks/floor_app.py``: a minimal FastAPI app answering
a trivial JSON POST, served by uvicorn with the service's options and ``--workers``) and
the service, so that both see the same machine. Reported per round: requests/s, latency
p50/p90/p99/max (wrk's), non-2xx answers (422 no-route is an answer), the load average
and the server's CPU; then the medians and the service's rate as a share of the floor's.
With ``--planners N`` the service rounds have N plan clients running beside wrk.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
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
    database_url: str | None,
    plan_workers: int | None,
    workers: int = 1,
    extra_env: dict[str, str] | None = None,
    data_dir: Path | None = None,
    root: Path = ROOT,
) -> Iterator[tuple[str, str, int | None]]:
    """``safe-passage serve --demo`` on a free port: URL, the planner token it printed, pid
    (on a new data directory unless ``data_dir``)."""
    with tempfile.TemporaryDirectory(prefix="safe-passage-load-") as fresh:
        tmp = str(data_dir or fresh)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAFE_PASSAGE_")}
        env.update(SAFE_PASSAGE_DATA_DIR=tmp, SAFE_PASSAGE_DEMO_DIR=str(ROOT / "graphs"))
        env["SAFE_PASSAGE_LOG_JSON"] = "true"
        if database_url:
            env["SAFE_PASSAGE_DATABASE_URL"] = database_url
        if plan_workers is not None:
            env["SAFE_PASSAGE_PLAN_WORKERS"] = str(plan_workers)
        env.update(extra_env or {})
        env["PYTHONPATH"] = str(root)
        port = free_port()
        log = Path(tmp) / "serve.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--demo"),
                    *("--workers", str(workers)),
                ],
                env=env,
                cwd=root,
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


@contextmanager
def floor_served(workers: int = 1) -> Iterator[tuple[str, int]]:
    """``benchmarks/floor_app.py`` on a free port: URL and pid."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.floor_app", str(port), str(workers)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the floor app did not start")
            try:
                httpx.post(f"{url}/v1/scenarios/x/routes", json={"from": "a", "to": "b"})
                break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def wrk_script(directory: Path, token: str, pairs: list[tuple[str, str]]) -> Path:
    """A wrk Lua script asking the route of a random pair per request (seeded)."""
    directory.mkdir(parents=True, exist_ok=True)
    bodies = ",\n".join(json.dumps(json.dumps({"from": a, "to": b})) for a, b in pairs)
    script = directory / "routes.lua"
    script.write_text(
        "math.randomseed(7)\n"
        f"local bodies = {{\n{bodies}\n}}\n"
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
        "request = function()\n"
        f'  return wrk.format(nil, "/v1/scenarios/{SCENARIO}/routes", nil, '
        "bodies[math.random(#bodies)])\n"
        "end\n"
    )
    return script


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number = text.rstrip("umsh")
    return round(float(number) * _UNITS[text[len(number) :]], 2)


def parse_wrk(output: str) -> dict[str, Any]:
    """Requests/s, latency percentiles and maximum (ms), answers and non-2xx from wrk."""
    result: dict[str, Any] = {"non_2xx": 0, "socket_errors": 0}
    for line in output.splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] == "Latency" and len(words) >= 4:
            result["max_ms"] = _ms(words[3])
        elif words[0] in ("50%", "90%", "99%"):
            result[f"p{words[0][:-1]}_ms"] = _ms(words[1])
        elif words[0] == "Requests/sec:":
            result["per_s"] = float(words[1])
        elif len(words) > 2 and words[1] == "requests" and words[2] == "in":
            result["requests"] = int(words[0])
        elif line.strip().startswith("Non-2xx"):
            result["non_2xx"] = int(words[-1])
        elif words[0] == "Socket" and words[1] == "errors:":
            result["socket_errors"] = sum(int(w.rstrip(",")) for w in words[3::2])
    return result


def run_wrk(url: str, script: Path, seconds: float, connections: int) -> dict[str, Any]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    command += ["-s", str(script), url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return parse_wrk(output)


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (uvicorn's worker processes, plan workers)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += children.get(p, [])
    return found


def tree_cpu_seconds(pid: int) -> float:
    total = 0.0
    for p in process_tree(pid):
        try:
            total += cpu_seconds(p)
        except OSError:
            continue
    return total


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def wrk_rounds(args: argparse.Namespace) -> dict[str, Any]:
    """Alternate wrk rounds between the floor and the service (see the module docstring)."""
    import threading

    rounds: list[dict[str, Any]] = []
    with ExitStack() as stack:
        url, token, pid = stack.enter_context(
            served(args.database_url, args.plan_workers, args.workers)
        )
        floor_url, floor_pid = stack.enter_context(floor_served(args.workers))
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        assert pid is not None
        pairs = route_pairs(url, token)
        if args.answered_only:
            pairs = answered_pairs(url, token, pairs)
        apps: list[tuple[str, str, int, str]] = [("floor", floor_url, floor_pid, token)]
        if args.before:  # the same service at another commit, on its own store
            before_url, before_token, before_pid = stack.enter_context(
                served(args.database_url, args.plan_workers, args.workers, root=args.before)
            )
            assert before_pid is not None
            apps.append(("before", before_url, before_pid, before_token))
        apps.append(("service", url, pid, token))
        scripts = {}
        for name, target, _, app_token in apps:
            scripts[name] = wrk_script(Path(tmp) / name, app_token, pairs)
            if name != "floor":
                asyncio.run(warm_up(target, app_token, pairs, PlanTarget()))
            run_wrk(target, scripts[name], 2, args.connections)
        for n in range(args.rounds):
            for name, target, target_pid, app_token in apps:
                phase = Phase(name)
                stop = Stop(10**9, args.wrk_seconds + 1)
                planners = args.planners if name != "floor" else 0
                clients = plan_clients(target, app_token, planners, args, phase, stop)
                thread = threading.Thread(target=asyncio.run, args=(clients,))
                load_before, cpu_before = load_average(), tree_cpu_seconds(target_pid)
                thread.start()
                result = run_wrk(target, scripts[name], args.wrk_seconds, args.connections)
                cpu = tree_cpu_seconds(target_pid) - cpu_before
                stop.seconds = 0  # the plan clients stop after the plan under way
                thread.join()
                result.update(
                    round=n + 1,
                    app=name,
                    load_before=load_before,
                    load_after=load_average(),
                    cpu_pct=round(100 * cpu / args.wrk_seconds),
                    cpu_ms_per_request=round(1000 * cpu / max(1, result["requests"]), 3),
                    plans=len(phase.plans_ms),
                    plan_errors=phase.plan_errors,
                )
                rounds.append(result)
    return {"rounds": rounds, "summary": wrk_summary(rounds)}


async def plan_clients(
    url: str, token: str, planners: int, args: argparse.Namespace, phase: Phase, stop: Stop
) -> None:
    await asyncio.gather(
        *(
            plan_client(url, token, PlanTarget(), args.plan_method, phase, stop)
            for _ in range(planners)
        )
    )


def answered_pairs(url: str, token: str, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The pairs whose route question is answered with a route (200), not no-route (422)."""
    headers = {"Authorization": f"Bearer {token}"}
    kept = []
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        for a, b in pairs:
            r = client.post(f"/v1/scenarios/{SCENARIO}/routes", json={"from": a, "to": b})
            if r.status_code == 200:
                kept.append((a, b))
    return kept


def wrk_summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    def median(values: list[float]) -> float:
        ordered = sorted(values)
        return ordered[len(ordered) // 2]

    summary: dict[str, Any] = {}
    for name in ("floor", "before", "service"):
        mine = [r for r in rounds if r["app"] == name]
        if not mine:
            continue
        summary[name] = {
            key: median([r[key] for r in mine])
            for key in (
                "per_s",
                "p50_ms",
                "p90_ms",
                "p99_ms",
                "max_ms",
                "cpu_pct",
                "cpu_ms_per_request",
            )
        }
    summary["share_of_floor"] = round(summary["service"]["per_s"] / summary["floor"]["per_s"], 3)
    if "before" in summary:
        summary["before_share_of_floor"] = round(
            summary["before"]["per_s"] / summary["floor"]["per_s"], 3
        )
    ratios = [
        s["per_s"] / f["per_s"]
        for f, s in zip(
            [r for r in rounds if r["app"] == "floor"],
            [r for r in rounds if r["app"] == "service"],
            strict=True,
        )
    ]
    summary["share_of_floor_per_round"] = [round(r, 3) for r in ratios]
    summary["load_average"] = [
        min(r["load_before"] for r in rounds),
        max(r["load_after"] for r in rounds),
    ]
    return summary


def wrk_table(result: dict[str, Any]) -> str:
    lines = [
        "| round | app | requests/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx | CPU "
        "| CPU ms/request | plans | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rounds"]:
        lines.append(
            f"| {r['round']} | {r['app']} | {r['per_s']:.0f} | {r['p50_ms']} | {r['p90_ms']} | "
            f"{r['p99_ms']} | {r['max_ms']} | {r['non_2xx']} of {r['requests']} | "
            f"{r['cpu_pct']}% | {r['cpu_ms_per_request']} | {r['plans'] or '-'} | "
            f"{r['load_before']}–{r['load_after']} |"
        )
    s = result["summary"]
    lines.append("")
    lines.append(
        f"medians: floor {s['floor']['per_s']:.0f}/s (p99 {s['floor']['p99_ms']} ms), service "
        f"{s['service']['per_s']:.0f}/s (p99 {s['service']['p99_ms']} ms): "
        f"{100 * s['share_of_floor']:.1f}% of the floor (per round: "
        f"{', '.join(f'{100 * x:.1f}%' for x in s['share_of_floor_per_round'])}); "
        f"load average {s['load_average'][0]}–{s['load_average'][1]}; server CPU per request: "
        f"floor {s['floor']['cpu_ms_per_request']} ms, service "
        f"{s['service']['cpu_ms_per_request']} ms"
    )
    if "before" in s:
        lines.append(
            f"before: {s['before']['per_s']:.0f}/s (p99 {s['before']['p99_ms']} ms), "
            f"{100 * s['before_share_of_floor']:.1f}% of the floor, "
            f"{s['before']['cpu_ms_per_request']} ms CPU per request"
        )
    return "\n".join(lines)


def memory_of(pid: int) -> dict[str, float]:
    """Resident, proportional and private memory of a process (MiB), from smaps_rollup:
    pages mapped by several processes count whole in each one's RSS, and a share of them in
    its PSS; private pages are its own."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0]) / 1024
    return {
        "rss_mib": round(fields["Rss"], 1),
        "pss_mib": round(fields["Pss"], 1),
        "private_mib": round(fields["Private_Clean"] + fields["Private_Dirty"], 1),
    }


def memory_rounds(args: argparse.Namespace) -> dict[str, Any]:
    """Memory of ``serve --workers N`` once every worker has answered routes on a grid of
    ``--memory-grid`` places, with compiled versions shared (mapped) and not."""
    from tests.grid_scenario import grid_scenario

    side = round(args.memory_grid**0.5)
    document = grid_scenario(side, 100_000)
    ids = [n["id"] for n in document["nodes"]]
    question = {"from": ids[0], "to": ids[-1]}
    rows = []
    data = Path(tempfile.mkdtemp(prefix="safe-passage-memory-"))
    with served(args.database_url, None, 1, {}, data) as (url, token, _):
        # Stored by a process that has stopped since: every worker below compiles it (or
        # maps it) on its first route, as after a restart.
        headers = {"Authorization": f"Bearer {token}"}
        stored = httpx.post(f"{url}/v1/scenarios", json=document, headers=headers, timeout=300)
        stored.raise_for_status()
        scenario = stored.json()["id"]
    for share in ("false", "true"):
        shutil.rmtree(data / "compiled", ignore_errors=True)
        env = {"SAFE_PASSAGE_SHARE_COMPILED": share, "SAFE_PASSAGE_PLAN_WORKERS": "0"}
        with served(args.database_url, None, args.workers, env, data) as (url, token, pid):
            assert pid is not None
            headers = {"Authorization": f"Bearer {token}"}
            for _ in range(20 * args.workers):  # every worker up and its imports done
                httpx.get(f"{url}/v1/health")
            workers = [
                p
                for p in process_tree(pid)
                if p != pid and b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()
            ]
            idle = {p: memory_of(p) for p in workers}
            started = time.perf_counter()
            statuses = set()
            for _ in range(20 * args.workers):  # new connections: every worker gets some
                r = httpx.post(
                    f"{url}/v1/scenarios/{scenario}/routes",
                    json=question,
                    headers=headers,
                    timeout=300,
                )
                statuses.add(r.status_code)
            per_worker = [
                {**memory_of(p), "idle_private_mib": idle[p]["private_mib"]} for p in workers
            ]
            rows.append(
                {
                    "shared": share == "true",
                    "statuses": sorted(statuses),
                    "seconds": round(time.perf_counter() - started, 1),
                    "server": memory_of(pid),
                    "workers": per_worker,
                    "workers_pss_total_mib": round(sum(w["pss_mib"] for w in per_worker), 1),
                }
            )
    shutil.rmtree(data, ignore_errors=True)
    return {"places": side * side, "workers": args.workers, "rows": rows}


def memory_table(result: dict[str, Any]) -> str:
    lines = [
        f"grid of {result['places']} places, serve --workers {result['workers']}",
        "| compiled versions | worker | RSS MiB | PSS MiB | private MiB | private MiB idle |",
        "|---|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        shared = "shared (mapped)" if row["shared"] else "one copy per worker"
        for n, w in enumerate(row["workers"], 1):
            lines.append(
                f"| {shared} | {n} | {w['rss_mib']} | {w['pss_mib']} | {w['private_mib']} | "
                f"{w['idle_private_mib']} |"
            )
        lines.append(f"| {shared} | all (PSS) | | {row['workers_pss_total_mib']} | | |")
    return "\n".join(lines)


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
    parser.add_argument(
        "--planners", type=int, help="concurrent plan clients (default 2; --wrk: 0)"
    )
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
    parser.add_argument("--wrk", action="store_true", help="floor and service with wrk")
    parser.add_argument("--rounds", type=int, default=3, help="--wrk: rounds of each")
    parser.add_argument("--wrk-seconds", type=float, default=8.0, help="--wrk: seconds a round")
    parser.add_argument("--connections", type=int, default=32, help="--wrk: connections")
    parser.add_argument("--workers", type=int, default=1, help="serve --workers (and the floor)")
    parser.add_argument(
        "--answered-only", action="store_true", help="--wrk: only pairs that have a route"
    )
    parser.add_argument(
        "--before",
        type=Path,
        metavar="DIR",
        help="--wrk: also a checkout of another commit (rounds: floor, before, service)",
    )
    parser.add_argument(
        "--memory", action="store_true", help="memory per worker, versions shared or not"
    )
    parser.add_argument(
        "--memory-grid", type=int, default=100_000, help="--memory: places of the grid"
    )
    args = parser.parse_args()

    if args.memory:
        result = memory_rounds(args)
        print(json.dumps(result, indent=2) if args.json else memory_table(result))
        return
    if args.planners is None:
        args.planners = 0 if args.wrk else 2
    if args.wrk:
        result = wrk_rounds(args)
        result["settings"] = {
            "connections": args.connections,
            "rounds": args.rounds,
            "seconds": args.wrk_seconds,
            "workers": args.workers,
            "planners": args.planners if args.planners else 0,
            "plan_method": args.plan_method,
            "backend": "postgresql" if args.database_url else "sqlite",
            "answered_only": args.answered_only,
            "cpus": os.cpu_count(),
        }
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            print(json.dumps(result["settings"]))
            print(wrk_table(result))
        return

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
