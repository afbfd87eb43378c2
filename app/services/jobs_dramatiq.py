"""Jobs on Dramatiq: API replicas enqueue, ``safe-passage worker`` processes on any machine
run them (docs/jobs.md says why Dramatiq, and on RabbitMQ).

Two actors carry only ids: ``safe_passage_job(job_id)`` runs :func:`~app.services.jobs.run_job`
and sends one ``safe_passage_part(job_id, index)`` per part it returns (a concession
to re-plan), which any free worker takes. Everything a worker needs (the request, the
scenario version) is read from the database.

Delivery: messages are persistent in durable queues, the API's enqueue waits for the
broker's confirmation (``confirm_delivery``: a ``202`` is only sent for a job the broker
holds), and a worker acknowledges a message only when the job's step has ended, one
message at a time (prefetch 1). A worker killed mid-job loses its connection, so RabbitMQ
delivers the message again to another worker at once; Redis after the broker's heartbeat
timeout. Retries of a failed attempt and the time limit are Dramatiq's middleware; the
bound on attempts is the job store's (it also stops a job, or a part, that kills its worker
each time).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from dataclasses import dataclass
from typing import Any

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.middleware import TimeLimitExceeded

from app.config import Settings
from app.services.jobs import WorkerContext, run_job, run_part
from app.services.jobs_local import Problems, worker_context

log = logging.getLogger("safe_passage.jobs")

RETRY_BACKOFF_MS = (1_000, 10_000)
"""Least and most wait before an attempt that raised is tried again."""
REDIS_HEARTBEAT_MS = 15_000
"""Redis broker: a worker silent this long is taken for dead and its messages delivered
again (Dramatiq's default is 60 s)."""


def make_broker(url: str) -> dramatiq.Broker:
    """The broker of ``url``: ``amqp://`` RabbitMQ (recommended) or ``redis://``."""
    if url.startswith(("amqp://", "amqps://")):
        return RabbitmqBroker(url=url, confirm_delivery=True)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(url=url, heartbeat_timeout=REDIS_HEARTBEAT_MS)  # type: ignore[no-untyped-call]
    raise ValueError(f"SAFE_PASSAGE_BROKER_URL {url!r}: expected amqp://… or redis://…")


@dataclass
class Actors:
    job: dramatiq.Actor[Any, Any]
    part: dramatiq.Actor[Any, Any]


_context: WorkerContext | None = None
"""The store of a worker process (set by :func:`work`)."""


def declare(broker: dramatiq.Broker, settings: Settings) -> Actors:
    """The two actors on ``broker``."""
    options: dict[str, Any] = {
        "broker": broker,
        "queue_name": settings.job_queue,
        "max_retries": settings.job_attempts - 1,
        "min_backoff": RETRY_BACKOFF_MS[0],
        "max_backoff": RETRY_BACKOFF_MS[1],
        "time_limit": int(settings.job_hard_limit_s * 1000),
    }
    actors: Actors

    def safe_passage_job(job_id: str) -> None:
        ctx = _worker()
        try:
            parts = run_job(ctx, job_id)
        except TimeLimitExceeded:
            ctx.store.fail(job_id, ctx.internal_problem(_too_long(settings)))
            return
        for index in parts:
            actors.part.send(job_id, index)

    def safe_passage_part(job_id: str, index: int) -> None:
        ctx = _worker()
        try:
            run_part(ctx, job_id, index)
        except TimeLimitExceeded:
            ctx.store.fail(job_id, ctx.internal_problem(_too_long(settings)))

    actors = Actors(
        dramatiq.actor(actor_name="safe_passage_job", **options)(safe_passage_job),
        dramatiq.actor(actor_name="safe_passage_part", **options)(safe_passage_part),
    )
    return actors


def _too_long(settings: Settings) -> str:
    return (
        f"the job did not finish within {settings.job_hard_limit_s:g} s and was stopped: "
        "ask for method fast, a shorter window or no concessions ranked"
    )


def _worker() -> WorkerContext:
    if _context is None:
        raise RuntimeError("not a job worker process (start one with `safe-passage worker`)")
    return _context


class DramatiqJobs:
    """The :class:`~app.services.jobs.Dispatch` of a deployment with a broker."""

    name = "dramatiq"

    def __init__(self, settings: Settings) -> None:
        assert settings.broker_url is not None
        self.broker = make_broker(settings.broker_url)
        self.actors = declare(self.broker, settings)

    def enqueue(self, job_id: str) -> None:
        self.actors.job.send(job_id)

    def enqueue_parts(self, job_id: str, indices: list[int]) -> None:
        for index in indices:
            self.actors.part.send(job_id, index)

    def close(self) -> None:
        self.broker.close()


# --- `safe-passage worker` ---------------------------------------------------------------


def work(settings: Settings, problems: Problems, stop: threading.Event | None = None) -> None:
    """Run jobs in this process, one at a time, until SIGTERM or SIGINT (or ``stop``)."""
    global _context
    assert settings.broker_url is not None
    _context = worker_context(settings, problems)
    broker = make_broker(settings.broker_url)
    declare(broker, settings)
    worker = dramatiq.Worker(broker, queues={settings.job_queue}, worker_threads=1)
    worker.queue_prefetch = 1  # one message at a time: idle workers take the next part
    stopped = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stopped.set())
    worker.start()
    log.info("job worker %d ready on queue %s", os.getpid(), settings.job_queue)
    try:
        stopped.wait()
    finally:
        worker.stop(timeout=int(settings.plan_grace_s * 1000))
        broker.close()
