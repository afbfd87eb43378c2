"""Which task queue runs safe-passage's jobs: the figures behind the choice (docs/jobs.md).

For each candidate queue and broker, with one worker process of one slot on this machine:

- ``enqueue``: how long the API's call to enqueue a job takes (milliseconds);
- ``latency``: from that call to the job's first line running in the worker, with the
  worker idle (median and 95th percentile over ``--jobs`` jobs, one at a time);
- ``per job``: wall time per job of a burst of ``--burst`` empty jobs (queue overhead);
- ``kill -9 → rerun``: a job whose worker is killed while it runs, from a new worker's
  start to the job running again (no recipe of our own: what the library does by itself).

Only the candidates whose library is installed are measured (they are not all
dependencies of safe-passage: ``pip install "dramatiq[rabbitmq,redis]" celery
procrastinate arq`` in a scratch environment). Brokers: Redis 127.0.0.1:6379, RabbitMQ
127.0.0.1:5672 (guest), PostgreSQL 127.0.0.1:5432 database ``test``.

    PYTHONPATH=. python3 benchmarks/queue_choice.py [--jobs 40] [--burst 200] [--only NAME]

The worker records when each job starts in Redis (list ``qb:starts``), the same sink for
every candidate; times are ``time.time()`` on one machine.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CANDIDATE = os.environ.get("QB_CANDIDATE", "")
SINK = "qb:starts"
QUEUE = "qb_" + CANDIDATE.replace("-", "_")
"""A queue of its own per candidate (they declare queues with different arguments)."""


def _record(i: int, sleep: float) -> None:
    import redis

    r = redis.Redis(host="127.0.0.1", port=6379)
    r.rpush(SINK, json.dumps({"i": i, "t": time.time(), "pid": os.getpid()}))
    if sleep:
        time.sleep(sleep)


# --- the candidates: each defines enqueue(i, sleep) and a worker command ----------------

if CANDIDATE.startswith("dramatiq"):
    import dramatiq

    if CANDIDATE == "dramatiq-rabbitmq":
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        broker: Any = RabbitmqBroker(url="amqp://guest:guest@127.0.0.1:5672", confirm_delivery=True)
    else:
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(url="redis://127.0.0.1:6379/3")
    dramatiq.set_broker(broker)

    @dramatiq.actor(queue_name=QUEUE, max_retries=0)
    def qb_task(i: int, sleep: float) -> None:
        _record(i, sleep)

    def enqueue(i: int, sleep: float) -> None:
        qb_task.send(i, sleep)

    def purge() -> None:
        broker.declare_queue(QUEUE)
        broker.flush_all()

    WORKER = ["dramatiq", "benchmarks.queue_choice", "--processes", "1", "--threads", "1"]

elif CANDIDATE.startswith("celery"):
    from celery import Celery

    url = (
        "amqp://guest:guest@127.0.0.1:5672//"
        if CANDIDATE == "celery-rabbitmq"
        else "redis://127.0.0.1:6379/4"
    )
    celery_app = Celery("qb", broker=url)
    celery_app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=QUEUE,
        broker_connection_retry_on_startup=True,
    )

    @celery_app.task(name="qb_task")
    def qb_ctask(i: int, sleep: float) -> None:
        _record(i, sleep)

    def enqueue(i: int, sleep: float) -> None:
        qb_ctask.delay(i, sleep)

    def purge() -> None:
        celery_app.control.purge()

    WORKER = ["celery", "-A", "benchmarks.queue_choice", "worker", "-c", "1", "-Q", QUEUE]
    WORKER += ["--pool", "prefork", "--loglevel", "WARNING"]

elif CANDIDATE == "procrastinate-postgres":
    import procrastinate

    pg_app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(
            conninfo="host=127.0.0.1 port=5432 dbname=test user=postgres"
        )
    )

    @pg_app.task(name="qb_task", queue=QUEUE)
    def qb_ptask(i: int, sleep: float) -> None:
        _record(i, sleep)

    def enqueue(i: int, sleep: float) -> None:
        qb_ptask.defer(i=i, sleep=sleep)

    def purge() -> None:
        pg_app.open()
        try:
            query = f"DELETE FROM procrastinate_jobs WHERE queue_name='{QUEUE}'"
            pg_app.connector.execute_query(query)
        except Exception:
            pg_app.schema_manager.apply_schema()

    WORKER = ["procrastinate", "--app", "benchmarks.queue_choice.pg_worker_app", "worker"]
    WORKER += ["--concurrency", "1", QUEUE]
    pg_worker_app = pg_app

elif CANDIDATE == "arq-redis":
    import asyncio

    from arq import create_pool
    from arq.connections import RedisSettings

    REDIS = RedisSettings(host="127.0.0.1", port=6379, database=5)
    _loop = asyncio.new_event_loop()
    _pool: Any = None

    async def qb_atask(ctx: dict[str, Any], i: int, sleep: float) -> None:
        await asyncio.to_thread(_record, i, sleep)

    class WorkerSettings:
        functions = [qb_atask]  # noqa: RUF012
        redis_settings = REDIS
        max_jobs = 1
        poll_delay = 0.5

    def enqueue(i: int, sleep: float) -> None:
        global _pool
        if _pool is None:
            _pool = _loop.run_until_complete(create_pool(REDIS))
        _loop.run_until_complete(_pool.enqueue_job("qb_atask", i, sleep))

    def purge() -> None:
        import redis

        redis.Redis(host="127.0.0.1", port=6379, db=5).flushdb()

    WORKER = ["arq", "benchmarks.queue_choice.WorkerSettings"]


CANDIDATES = [
    "dramatiq-rabbitmq",
    "dramatiq-redis",
    "celery-rabbitmq",
    "celery-redis",
    "procrastinate-postgres",
    "arq-redis",
]


# --- the client side -------------------------------------------------------------------


def _starts(r: Any, want: int, timeout: float) -> list[dict[str, Any]]:
    deadline = time.time() + timeout
    while r.llen(SINK) < want and time.time() < deadline:
        time.sleep(0.002)
    return [json.loads(x) for x in r.lrange(SINK, 0, -1)]


def _start_worker() -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    bindir = Path(sys.executable).parent
    cmd = [str(bindir / WORKER[0]), *WORKER[1:]]
    return subprocess.Popen(cmd, env=env, cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def _stop(worker: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    try:
        os.killpg(worker.pid, sig)
    except ProcessLookupError:
        return
    try:
        worker.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()


def measure(jobs: int, burst: int) -> dict[str, Any]:
    import redis

    r = redis.Redis(host="127.0.0.1", port=6379)
    r.delete(SINK)
    purge()
    worker = _start_worker()
    try:
        enqueue(-1, 0.0)  # warm: the worker is up and connected
        if not _starts(r, 1, 60):
            raise RuntimeError("the worker never ran a job")
        enq, lat = [], []
        for i in range(jobs):
            r.delete(SINK)
            t0 = time.time()
            enqueue(i, 0.0)
            enq.append(time.time() - t0)
            got = _starts(r, 1, 10)
            lat.append(got[0]["t"] - t0)
        r.delete(SINK)
        t0 = time.time()
        for i in range(burst):
            enqueue(i, 0.0)
        got = _starts(r, burst, 120)
        per_job = (max(g["t"] for g in got) - t0) / max(len(got), 1)
        # kill -9 while a job runs, then a new worker: how long until it runs again?
        r.delete(SINK)
        enqueue(10_000, 3.0)
        first = _starts(r, 1, 10)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        t_new = time.time()
        worker = _start_worker()
        again = _starts(r, 2, 90)
        rerun = again[1]["t"] - t_new if len(again) > 1 and first else None
    finally:
        _stop(worker)
    q = statistics.quantiles(lat, n=20)
    return {
        "candidate": CANDIDATE,
        "enqueue_ms": round(1000 * statistics.median(enq), 2),
        "latency_median_ms": round(1000 * statistics.median(lat), 2),
        "latency_p95_ms": round(1000 * q[18], 2),
        "per_job_ms": round(1000 * per_job, 2),
        "kill_rerun_s": None if rerun is None else round(rerun, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--only", choices=CANDIDATES)
    args = parser.parse_args()
    if not CANDIDATE:
        for name in [args.only] if args.only else CANDIDATES:
            env = {**os.environ, "QB_CANDIDATE": name, "PYTHONPATH": str(ROOT)}
            cmd = [sys.executable, __file__, "--jobs", str(args.jobs), "--burst", str(args.burst)]
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
            line = done.stdout.strip().splitlines()[-1:] or [done.stderr.strip()[-300:]]
            print(line[0], flush=True)
        return
    print(json.dumps(measure(args.jobs, args.burst)), flush=True)


if __name__ == "__main__":
    main()
