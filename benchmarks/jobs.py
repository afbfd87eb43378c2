#!/usr/bin/env python3
"""Jobs on RabbitMQ and PostgreSQL: the overhead of a job, and a ranking spread over workers.

Usage (from the repository root; PostgreSQL 127.0.0.1:5432 database ``test`` and RabbitMQ
127.0.0.1:5672 guest/guest, as on the development machine; each run well under a minute)::

    python3 benchmarks/jobs.py overhead [--repeat 30]
    python3 benchmarks/jobs.py ranking --workers 1 [--side 100] [--blocked 30]
    python3 benchmarks/jobs.py ranking --workers 2

``overhead``: one ``safe-passage serve`` and one ``safe-passage worker`` on a fresh schema;
the fast plan of the teaching network's pause (a few milliseconds of computing) asked
``--repeat`` times inline (``POST /plans``, time to the answer) and as a job (``Prefer:
respond-async``: time from the POST to the answer of one ``GET /v1/jobs/{id}`` with ``Prefer:
wait=20``, which answers when the job ends: how a client waits). The difference of the medians
is what a job costs over the inline answer; from the job's own time stamps, the medians from
its creation to a worker starting it and from then to its end. For comparison, the same job
followed by polling ``GET /v1/jobs/{id}`` every 2 ms (the polls share the 2 cores with the
worker).

``ranking``: a ``--side`` × ``--side`` street grid (100 × 100: 10,000 places, 19,800 roads,
100,000 people, ``--blocked`` roads closed) stored, then its fast plan of the four-hour
window with ``rank_openings`` run as a job by ``--workers`` worker processes: the base plan
and the choice of concessions in one worker, then one task per concession, any worker.
Reported: seconds from submission to the answer, the parts, and the parts each worker
priced. Each case starts its workers afresh (each compiles the grid once: included).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.grid_scenario import grid_scenario  # noqa: E402

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
AMQP = "amqp://guest:guest@127.0.0.1:5672/"


@contextmanager
def schema() -> Any:
    import psycopg

    name = "bench_jobs_" + secrets.token_hex(4)
    conn = psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres", autocommit=True)
    conn.execute(f"CREATE SCHEMA {name}")
    try:
        yield f"{PG}?options=-csearch_path%3D{name}"
    finally:
        conn.execute(f"DROP SCHEMA {name} CASCADE")
        conn.close()


def environment(url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFE_PASSAGE_")}
    env.update(
        SAFE_PASSAGE_DATABASE_URL=url,
        SAFE_PASSAGE_DATA_DIR=str(data_dir),
        SAFE_PASSAGE_BROKER_URL=AMQP,
        SAFE_PASSAGE_JOB_QUEUE="bench_" + secrets.token_hex(4),
        SAFE_PASSAGE_LOG_JSON="true",
        PYTHONPATH=str(ROOT),
    )
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "app.cli", *args], env=env, cwd=ROOT,
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_ready(log: Path, needle: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while needle not in log.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{log.name}: {needle!r} not seen:\n{log.read_text()[-2000:]}")
        time.sleep(0.05)


def token(env: dict[str, str]) -> str:
    command = [sys.executable, "-m", "app.cli", "token", "create", "--role", "planner"]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def overhead(repeat: int, tmp: Path) -> dict[str, Any]:
    with schema() as url:
        env = environment(url, tmp)
        port = 8700 + secrets.randbelow(200)
        api = start(["serve", "--port", str(port)], env, tmp / "serve.log")
        worker = start(["worker"], env, tmp / "worker.log")
        try:
            wait_ready(tmp / "serve.log", "Application startup complete")
            wait_ready(tmp / "worker.log", "ready on queue")
            auth = {"Authorization": f"Bearer {token(env)}"}
            client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=auth, timeout=30)
            doc = json.loads((ROOT / "graphs" / "teaching.json").read_text())
            sid = client.post("/v1/scenarios", json=doc).json()["id"]
            body = {"window": "pause-1", "method": "fast"}
            path = f"/v1/scenarios/{sid}/plans"
            for _ in range(3):  # warm: the worker compiles the network once, like the API
                location = client.post(path, json=body, headers={"Prefer": "respond-async"})
                while client.get(location.headers["location"]).json()["state"] != "done":
                    time.sleep(0.01)
                client.post(path, json=body)
            inline, job, polled, accepted, queued, worked = [], [], [], [], [], []
            stamps = ("created", "started", "finished")
            waiting = {"Prefer": "wait=20"}
            for _ in range(repeat):
                t0 = time.perf_counter()
                assert client.post(path, json=body).status_code == 200
                inline.append(time.perf_counter() - t0)
                # as a client waits for a job: one GET with Prefer: wait, answered at its end
                t0 = time.perf_counter()
                answer = client.post(path, json=body, headers={"Prefer": "respond-async"})
                accepted.append(time.perf_counter() - t0)
                done = client.get(answer.headers["location"], headers=waiting).json()
                job.append(time.perf_counter() - t0)
                assert done["state"] == "done", done
                at = {k: datetime.fromisoformat(done[f"{k}_at"]) for k in stamps}
                queued.append((at["started"] - at["created"]).total_seconds())
                worked.append((at["finished"] - at["started"]).total_seconds())
                # the same, polling GET /v1/jobs/{id} every 2 ms instead
                t0 = time.perf_counter()
                answer = client.post(path, json=body, headers={"Prefer": "respond-async"})
                location = answer.headers["location"]
                while client.get(location).json()["state"] != "done":
                    time.sleep(0.002)
                polled.append(time.perf_counter() - t0)
        finally:
            stop(api)
            stop(worker)
    ms = lambda xs: round(1000 * statistics.median(xs), 1)  # noqa: E731
    return {
        "case": "overhead",
        "repeat": repeat,
        "inline_ms": ms(inline),
        "accepted_202_ms": ms(accepted),
        "job_done_ms": ms(job),
        "overhead_ms": round(ms(job) - ms(inline), 1),
        "job_done_polling_2ms_ms": ms(polled),
        "overhead_polling_ms": round(ms(polled) - ms(inline), 1),
        "created_to_started_ms": ms(queued),
        "started_to_finished_ms": ms(worked),
    }


def ranking(workers: int, side: int, blocked: int, tmp: Path) -> dict[str, Any]:
    with schema() as url:
        env = environment(url, tmp)
        port = 8700 + secrets.randbelow(200)
        api = start(["serve", "--port", str(port)], env, tmp / "serve.log")
        logs = [tmp / f"worker-{i}.log" for i in range(workers)]
        procs = [start(["worker"], env, log) for log in logs]
        try:
            wait_ready(tmp / "serve.log", "Application startup complete")
            for log in logs:
                wait_ready(log, "ready on queue")
            auth = {"Authorization": f"Bearer {token(env)}"}
            client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=auth, timeout=120)
            doc = grid_scenario(side, 100_000, blocked=blocked)
            sid = client.post("/v1/scenarios", json=doc).json()["id"]
            body = {"window": "afternoon", "method": "fast", "rank_openings": True}
            t0 = time.perf_counter()
            answer = client.post(f"/v1/scenarios/{sid}/plans", json=body,
                                 headers={"Prefer": "respond-async"})  # fmt: skip
            location = answer.headers["location"]
            while (job := client.get(location).json())["state"] not in ("done", "failed"):
                time.sleep(0.05)
            took = time.perf_counter() - t0
        finally:
            stop(api)
            for p in procs:
                stop(p)
    job_id = location.rsplit("/", 1)[1]
    per_worker = [log.read_text().count(f"job {job_id}: part ") for log in logs]
    c = (job.get("result") or {}).get("concessions", {})
    return {
        "case": "ranking",
        "workers": workers,
        "places": side * side,
        "state": job["state"],
        "seconds": round(took, 1),
        "parts": job["progress"].get("parts"),
        "parts_per_worker": per_worker,
        "priced": c.get("priced"),
        "skipped": c.get("skipped"),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="case", required=True)
    o = sub.add_parser("overhead")
    o.add_argument("--repeat", type=int, default=30)
    r = sub.add_parser("ranking")
    r.add_argument("--workers", type=int, default=1)
    r.add_argument("--side", type=int, default=100)
    r.add_argument("--blocked", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.case == "overhead":
            result = overhead(args.repeat, Path(tmp))
        else:
            result = ranking(args.workers, args.side, args.blocked, Path(tmp))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
