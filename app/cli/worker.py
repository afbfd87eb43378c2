"""``safe-passage worker``: run jobs from the broker, on any machine (docs/jobs.md)."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from typing import TYPE_CHECKING, Annotated

import typer

from app.cli.common import EXIT_USAGE, app, err, settings_from_env

if TYPE_CHECKING:
    from app.config import Settings

# The services, storage and Dramatiq are imported by the command (see app.cli.common).

log = logging.getLogger("safe_passage.jobs")


@app.command()
def worker(
    processes: Annotated[
        int,
        typer.Option(
            min=1, help="Worker processes, each running one job (or concession) at a time."
        ),
    ] = 1,
) -> None:
    """Run jobs (plans, concession rankings, fleet sizing) from SAFE_PASSAGE_BROKER_URL.

    Start workers on as many machines as you like, each pointed at the same broker and
    database as the API. Stops on SIGTERM or Ctrl-C after the jobs in hand (a job cut
    short is delivered again to another worker).
    """
    settings = settings_from_env()
    if not settings.broker_url:
        err.print(
            "error: SAFE_PASSAGE_BROKER_URL is not set: a worker takes jobs from a broker "
            "(e.g. amqp://guest:guest@127.0.0.1:5672/); without one the API runs jobs itself"
        )
        raise typer.Exit(EXIT_USAGE)
    from app.api.logs import configure_logging
    from app.storage.db import make_engine, upgrade

    configure_logging(settings)
    engine = make_engine(settings.resolved_database_url())
    upgrade(engine)  # the jobs table exists before the first job arrives
    engine.dispose()
    supervise(settings, processes)


def _child(settings: Settings) -> None:
    from app.api.logs import configure_logging
    from app.api.routers.jobs import PROBLEMS
    from app.services.jobs_dramatiq import work

    configure_logging(settings)
    work(settings, PROBLEMS)


def supervise(settings: Settings, processes: int) -> None:
    """``processes`` worker processes, each started again if it dies, until SIGTERM/SIGINT."""
    spawn = multiprocessing.get_context("spawn")
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())

    def start() -> multiprocessing.process.BaseProcess:
        child = spawn.Process(target=_child, args=(settings,), name="safe-passage-worker")
        child.start()
        return child

    children = [start() for _ in range(processes)]
    log.info("job workers started: %s", [c.pid for c in children])
    try:
        while not stopping.wait(0.5):
            for i, child in enumerate(children):
                if not child.is_alive():
                    log.error("job worker %s stopped (exit %s): started again", child.pid,
                              child.exitcode)  # fmt: skip
                    children[i] = start()
    finally:
        for child in children:
            if child.is_alive() and child.pid is not None:
                os.kill(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + settings.plan_grace_s + 5
        for child in children:
            child.join(max(0.1, deadline - time.monotonic()))
            if child.is_alive():
                child.kill()
