"""Plan jobs that a test holds in a plan worker until it lets them go.

Run by :meth:`app.services.plan_workers.PlanWorkers.run` in a worker process, so
the tests of the worker pool (queue, hard limit, lost workers) decide when a plan
ends instead of guessing how long a real one takes on this machine.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.managers import SyncManager
from queue import Queue
from threading import Event
from typing import Any, TypeVar

from app.services.plan_workers import PlanAnswer, encode_plan
from app.services.plans import PlanRequest

WAIT_S = 120.0
"""Longest a test waits for a held plan to start (guards against a hung test only)."""

ANSWER = {"method": "fast", "evacuated": 7, "egress_time_min": 3}
"""What a held plan answers once let go."""


def held_plan(started: Queue[int], release: Event) -> PlanAnswer:
    """Report this worker's pid, then answer only when ``release`` is set (or never)."""
    started.put(os.getpid())
    release.wait()
    return encode_plan(1, ANSWER)


@dataclass
class Gate:
    """One held plan's signals, shared with the worker process."""

    started: Queue[int]
    release: Event

    def args(self) -> tuple[Any, ...]:
        return (self.started, self.release)

    def worker_pid(self) -> int:
        """The pid of the worker running the plan, once it has started."""
        return self.started.get(timeout=WAIT_S)


@contextmanager
def gates() -> Iterator[Any]:
    """A factory of gates (``make(released=False)``), alive for the block."""
    manager: SyncManager = multiprocessing.Manager()
    with manager:

        def make(released: bool = False) -> Gate:
            gate = Gate(manager.Queue(), manager.Event())
            if released:
                gate.release.set()
            return gate

        yield make


REQUEST = PlanRequest.model_validate({"window": "afternoon", "rank_openings": True})
"""The plan the held jobs stand for (its fields are named when it is refused as too long)."""


T = TypeVar("T")


def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to the end in a thread of its own: the browser tests' Playwright
    keeps an event loop running in the main thread for the whole session."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
