#!/usr/bin/env python3
"""Sizing figures for a deployment: memory of one replica idle and under load, and the image.

Usage (from the repository root)::

    python benchmarks/deploy_sizing.py                        # SQLite in a temporary directory
    python benchmarks/deploy_sizing.py --database-url 'postgresql+psycopg://…'  # a replica on PG
    python benchmarks/deploy_sizing.py --image localhost/main:check           # + image size
    python benchmarks/deploy_sizing.py --quick                # 10k-node grid only, 5 s of load

What it does, with one real ``safe-passage serve --demo`` process on 127.0.0.1:

1. *idle*: resident memory (VmRSS, MiB) once it answers ``/v1/health``, with the
   bundled scenarios loaded;
2. *compiled*: resident memory after one route question on each of: the bundled
   Aleppo scenario, and square street grids of 10,000 and 100,000 nodes
   (uploaded first; each compiled version stays in the process's cache);
3. *loaded*: ``--clients`` threads asking routes between random places for
   ``--seconds`` seconds, on Aleppo and on the largest grid: answers per second,
   median and 95th-percentile latency, and the peak resident memory (VmHWM).

The figures are for one process (a replica); memory grows with the number and
size of the versions cached, up to ``SAFE_PASSAGE_CACHE_BYTES`` (1 GiB by default).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
ALEPPO = "aleppo-2016-12"


def status_kib(pid: int, field: str) -> int:
    """A memory figure of /proc/PID/status, in KiB (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def mib(kib: int) -> str:
    return f"{kib / 1024:.0f} MiB"


def grid_document(side: int, seed: int = 11) -> dict[str, Any]:
    """A side × side street grid, roads of 1–3 min with risks up to 5 %, two safe zones."""
    rng = random.Random(seed)
    nodes = [
        {"id": f"g{r}-{c}", "lat": 36.1 + r * 1e-4, "lon": 37.1 + c * 1e-4}
        for r in range(side)
        for c in range(side)
    ]
    nodes[0]["kind"] = "safe_zone"
    nodes[-1]["kind"] = "safe_zone"
    edges = []
    for r in range(side):
        for c in range(side):
            for dr, dc in ((0, 1), (1, 0)):
                if r + dr < side and c + dc < side:
                    minutes = rng.randint(1, 3)
                    edges.append(
                        {
                            "id": f"g{r}-{c}~g{r + dr}-{c + dc}",
                            "from": f"g{r}-{c}",
                            "to": f"g{r + dr}-{c + dc}",
                            "travel_time_min": minutes,
                            "length_m": minutes * 64,
                            "risk": round(rng.random() * 0.05, 4),
                        }
                    )
    return {
        "schema": "safe-passage/scenario@1",
        "name": f"Sizing grid {side}x{side}",
        "as_of": "2025-03-01T08:00:00+00:00",
        "nodes": nodes,
        "edges": edges,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start(env: dict[str, str], port: int, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``safe-passage serve --demo``; returns the process and the planner token it printed."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--demo"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"serve exited:\n{log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    for line in log.read_text().splitlines():
        if line.startswith("Token: "):
            return process, line.removeprefix("Token: ").strip()
    raise SystemExit(f"no token printed:\n{log.read_text()}")


def load(
    url: str, token: str, scenario: str, places: list[str], clients: int, seconds: float
) -> dict[str, float]:
    """Route questions from ``clients`` threads for ``seconds``; throughput and latency."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(seed: int) -> None:
        rng = random.Random(seed)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, timeout=120, headers=headers) as http:
            while time.monotonic() < stop:
                a, b = rng.sample(places, 2)
                began = time.perf_counter()
                response = http.post(f"/v1/scenarios/{scenario}/routes", json={"from": a, "to": b})
                took = time.perf_counter() - began
                with lock:
                    latencies.append(took)
                    # 422: no route between those two places (e.g. cut off), still an answer
                    errors[0] += response.status_code not in (200, 422)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    ordered = sorted(latencies)
    return {
        "answers_per_s": len(latencies) / elapsed,
        "p50_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[int(0.95 * (len(ordered) - 1))] * 1000,
        "errors": errors[0],
    }


def image_size(image: str) -> str:
    for tool in ("podman", "docker"):
        try:
            done = subprocess.run(
                [tool, "image", "inspect", image, "--format", "{{.Size}}"],
                capture_output=True,
                text=True,
                check=True,
            )
        except (OSError, subprocess.CalledProcessError):
            continue
        return f"{int(done.stdout.strip()) / 1e6:.0f} MB ({tool} image inspect)"
    return "not found"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="Default: SQLite in a temporary directory.")
    parser.add_argument("--image", help="Also report this container image's size.")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--quick", action="store_true", help="10k-node grid only, 5 s of load")
    args = parser.parse_args()
    sides = [100] if args.quick else [100, 316]
    seconds = 5.0 if args.quick else args.seconds

    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAFE_PASSAGE_")}
        env.update(
            SAFE_PASSAGE_DATA_DIR=tmp,
            SAFE_PASSAGE_DEMO_DIR=str(ROOT / "graphs"),
            SAFE_PASSAGE_MAX_BODY_BYTES=str(200 * 1024 * 1024),
            SAFE_PASSAGE_LOG_JSON="false",
        )
        if args.database_url:
            env["SAFE_PASSAGE_DATABASE_URL"] = args.database_url
        port = free_port()
        process, token = start(env, port, Path(tmp) / "serve.log")
        url = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {token}"}
        rows: list[tuple[str, str]] = []
        try:
            rows.append(("idle, bundled scenarios stored", mib(status_kib(process.pid, "VmRSS"))))
            aleppo = httpx.get(f"{url}/v1/scenarios/{ALEPPO}", headers=headers).json()
            aleppo_places = [n["id"] for n in aleppo["nodes"]]
            http = httpx.Client(base_url=url, headers=headers, timeout=600)
            http.post(
                f"/v1/scenarios/{ALEPPO}/routes",
                json={"from": aleppo_places[0], "to": aleppo_places[-1]},
            )
            rows.append(("Aleppo compiled (136 places)", mib(status_kib(process.pid, "VmRSS"))))
            grid_id = ""
            for side in sides:
                document = grid_document(side)
                body = json.dumps(document).encode()
                created = http.post(
                    "/v1/scenarios", content=body, headers={"Content-Type": "application/json"}
                )
                created.raise_for_status()
                grid_id = created.json()["id"]
                rows.append(
                    (
                        f"grid of {side * side:,} places uploaded ({len(body) / 1e6:.0f} MB "
                        "document, validated, not compiled yet)",
                        mib(status_kib(process.pid, "VmRSS")),
                    )
                )
                began = time.perf_counter()
                answer = http.post(
                    f"/v1/scenarios/{grid_id}/routes",
                    json={"from": "g0-0", "to": f"g{side - 1}-{side - 1}"},
                )
                answer.raise_for_status()
                first = time.perf_counter() - began
                rows.append(
                    (
                        f"grid of {side * side:,} places / {len(document['edges']):,} roads "
                        f"compiled (first route {first:.1f} s)",
                        mib(status_kib(process.pid, "VmRSS")),
                    )
                )
            http.close()

            side = sides[-1]
            grid_places = [f"g{r}-{c}" for r in range(side) for c in range(side)]
            for name, scenario, places in (
                ("Aleppo", ALEPPO, aleppo_places),
                (f"grid {side * side:,}", grid_id, grid_places),
            ):
                figures = load(url, token, scenario, places, args.clients, seconds)
                rows.append(
                    (
                        f"under load: {args.clients} clients, routes on {name}, {seconds:.0f} s: "
                        f"{figures['answers_per_s']:.0f} answers/s, "
                        f"p50 {figures['p50_ms']:.0f} ms, p95 {figures['p95_ms']:.0f} ms, "
                        f"{figures['errors']:.0f} errors",
                        mib(status_kib(process.pid, "VmRSS")),
                    )
                )
            rows.append(("peak during the run (VmHWM)", mib(status_kib(process.pid, "VmHWM"))))
        finally:
            process.terminate()
            process.wait(timeout=60)

    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(f"One replica (`safe-passage serve`, {backend}), python {sys.version.split()[0]}, ")
    print(f"{os.cpu_count()} CPUs\n")
    print("| state | resident memory |\n|---|---|")
    for what, memory in rows:
        print(f"| {what} | {memory} |")
    if args.image:
        print(f"\nImage {args.image}: {image_size(args.image)}")


if __name__ == "__main__":
    main()
