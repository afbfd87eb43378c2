"""Plans computed in worker processes, so that one plan cannot starve the other requests.

The optimal method spends seconds at a time in OR-Tools' max flow, which keeps
Python's global lock: in the server process it would hold every other request
(routes, health, reads) for as long. Here a plan runs in a worker process
(``spawn``) that opens the store itself and compiles (and caches) the network
of the exact version the server resolved. Only the settings, the scenario id,
the version and the request (JSON) cross to the worker; only the PLAN document,
already as JSON text, or the error with its problems and pointers, comes back.
(A plan on a city's streets can be tens of megabytes of JSON: rebuilt and encoded
in the server, it would hold the server's lock for a second or more again.)

- At most ``plan_workers`` processes, started on the first plan; at most
  ``plan_queue`` more plans wait for one, and further plans are refused at once
  (:class:`UnavailableError`, 503 with Retry-After).
- A plan that has not answered within :attr:`Settings.plan_hard_limit_s` has its
  worker killed and is refused (:class:`InvalidRequestError` at the fields that
  make it expensive); the next plan gets a new worker. Plans write nothing, so
  nothing is left half-written.
- A worker that dies (out of memory, ``kill -9``) fails only the plan it was
  computing (:class:`UnavailableError`); the next plan gets a new worker.

With ``plan_workers = 0`` plans are computed in the server process (debugging
and tests only). The CLI always computes in its own process.
"""

from __future__ import annotations

import asyncio
import logging
import math
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool

from app.config import Settings
from app.domain.errors import InvalidRequestError, Problem
from app.services.catalog import Catalog
from app.services.errors import UnavailableError
from app.services.plans import PlanRequest, compute_plan
from app.storage.db import make_engine
from app.storage.repository import Repository

log = logging.getLogger("safe_passage.plans")

WORKER_START_TIMEOUT_S = 120.0
"""Longest a new worker may take to import the planner and open the store."""
RETRY_AFTER_LOST_S = 5
"""Retry-After when a worker stopped: a new one starts with the next plan."""


@dataclass(frozen=True)
class PlanAnswer:
    """A PLAN document as sent, and what the audit log keeps of it."""

    version: int
    """The version of the scenario the plan is for."""
    body: bytes
    """The PLAN document (SPEC §3) as JSON."""
    summary: dict[str, Any]
    """``method``, ``evacuated`` and ``egress_time_min`` of the plan (and ``vehicles`` of a
    fleet plan)."""


def encode_plan(version: int, document: dict[str, Any]) -> PlanAnswer:
    summary = {k: document.get(k) for k in ("method", "evacuated", "egress_time_min")}
    if "vehicles" in document:  # a fleet plan: which fleets, how many vehicles
        summary["vehicles"] = document["vehicles"]
    return PlanAnswer(version, orjson.dumps(document), summary)


class _Worker:
    """One worker process, in an executor of its own so that it can be killed alone."""

    def __init__(self, executor: ProcessPoolExecutor, pid: int) -> None:
        self.executor = executor
        self.pid = pid

    def alive(self) -> bool:
        """Whether the process still runs (an idle one may have been killed, e.g. when out
        of memory); asking also reaps it if it ended."""
        return any(p.pid == self.pid for p in multiprocessing.active_children())

    def kill(self) -> None:
        with suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self.executor.shutdown(wait=False, cancel_futures=True)


class PlanWorkers:
    """The plan worker processes of one server process (see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._free = settings.plan_workers
        """Workers (started or not) not computing a plan."""
        self._idle: list[_Worker] = []
        self._running: set[_Worker] = set()
        self._waiting: deque[Future[_Worker | None]] = deque()

    async def plan(
        self, catalog: Catalog, scenario_id: str, version: int | None, request: PlanRequest
    ) -> PlanAnswer:
        """The plan of ``request`` on a version (the current one by default), in a worker.

        With ``plan_workers = 0``, in a thread of this process instead.
        """
        if self.settings.plan_workers == 0:
            return await run_in_threadpool(_plan, catalog, scenario_id, version, request)
        info = await run_in_threadpool(catalog.version_info, scenario_id, version)
        job_args = (scenario_id, info.version, request.model_dump_json(by_alias=True))
        return await self.run(request, _compute_in_worker, *job_args)

    async def run(
        self, request: PlanRequest, job: Callable[..., PlanAnswer], *job_args: Any
    ) -> PlanAnswer:
        """``job(*job_args)`` in a worker, as the plan ``request``: in the queue, under the
        hard limit (past it, refused as too long for ``request``), a lost worker a 503.

        :meth:`plan` runs :func:`_compute_in_worker`; ``job`` and its arguments are pickled
        (the function by its module and name) to the worker process.
        """
        worker = await self._acquire()
        try:
            if worker is not None and not worker.alive():
                log.error("plan worker %d died while idle", worker.pid)
                self._discard(worker, kill=False)
                worker = None
            if worker is None:
                worker = await self._start()
            try:
                submitted = worker.executor.submit(job, *job_args)
            except BrokenProcessPool:  # it died while idle: this plan has not started yet
                log.error("plan worker %d died while idle", worker.pid)
                self._discard(worker, kill=False)
                worker = None
                worker = await self._start()
                submitted = worker.executor.submit(job, *job_args)
            try:
                answer: PlanAnswer = await asyncio.wait_for(
                    asyncio.wrap_future(submitted), self.settings.plan_hard_limit_s
                )
            except TimeoutError:
                log.warning(
                    "plan worker %d stopped: no answer within %g s",
                    worker.pid,
                    self.settings.plan_hard_limit_s,
                )
                self._discard(worker, kill=True)
                worker = None
                raise self._too_long(request) from None
            except BrokenProcessPool:
                log.error("plan worker %d died while computing a plan", worker.pid)
                self._discard(worker, kill=False)
                worker = None
                raise UnavailableError(
                    "the plan worker stopped before it answered (it may have run out of "
                    "memory); a new one is started: ask again",
                    RETRY_AFTER_LOST_S,
                ) from None
            except asyncio.CancelledError:
                # Nobody waits for this plan any more: free the core rather than finish it.
                self._discard(worker, kill=True)
                worker = None
                raise
            return answer
        finally:
            self._release(worker)

    async def _acquire(self) -> _Worker | None:
        """A free worker, or ``None`` for a free place to start one; waits in the queue."""
        with self._lock:
            if self._free > 0:
                self._free -= 1
                if not self._idle:
                    return None
                worker = self._idle.pop()
                self._running.add(worker)
                return worker
            if len(self._waiting) >= self.settings.plan_queue:
                raise UnavailableError(
                    f"all {self.settings.plan_workers} plan worker(s) are busy and "
                    f"{len(self._waiting)} plan(s) are waiting: ask again later",
                    math.ceil(self.settings.plan_time_budget_s),
                )
            turn: Future[_Worker | None] = Future()
            self._waiting.append(turn)
        try:
            return await asyncio.wrap_future(turn)
        except BaseException:
            with self._lock:
                if turn in self._waiting:
                    self._waiting.remove(turn)
                    raise
                handed = turn.done() and not turn.cancelled() and turn.exception() is None
            if handed:
                self._release(turn.result())  # our turn came as we were cancelled: pass it on
            raise

    def _release(self, worker: _Worker | None) -> None:
        """Give a worker (or, ``None``, the place of one that is gone) to the next in line."""
        with self._lock:
            if worker is not None:
                self._running.discard(worker)
            while self._waiting:
                turn = self._waiting.popleft()
                if turn.set_running_or_notify_cancel():
                    if worker is not None:
                        self._running.add(worker)
                    turn.set_result(worker)
                    return
            self._free += 1
            if worker is not None:
                self._idle.append(worker)

    async def _start(self) -> _Worker:
        executor = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_open_store,
            initargs=(self.settings,),
        )
        try:
            pid: int = await asyncio.wait_for(
                asyncio.wrap_future(executor.submit(os.getpid)), WORKER_START_TIMEOUT_S
            )
        except BaseException as exc:
            executor.shutdown(wait=False, cancel_futures=True)
            if isinstance(exc, BrokenProcessPool | TimeoutError):
                log.error("a plan worker could not start: %r", exc)
                raise UnavailableError(
                    "the plan worker could not start (see the service log): ask again",
                    RETRY_AFTER_LOST_S,
                ) from None
            raise
        worker = _Worker(executor, pid)
        with self._lock:
            self._running.add(worker)
        return worker

    def _discard(self, worker: _Worker, *, kill: bool) -> None:
        with self._lock:
            self._running.discard(worker)
        if kill:
            worker.kill()
        else:
            worker.executor.shutdown(wait=False, cancel_futures=True)

    def _too_long(self, request: PlanRequest) -> InvalidRequestError:
        settings = self.settings
        problems = []
        if request.method == "optimal":
            problems.append(Problem("/method", "the optimal plan takes too long: use method fast"))
        elif request.window is not None or request.end is not None:
            where = "/window" if request.window is not None else "/end"
            problems.append(Problem(where, "the plan takes too long: use a shorter window"))
        if request.rank_openings:
            problems.append(
                Problem("/rank_openings", "ranking concessions plans once more for each one")
            )
        if request.sizing:
            problems.append(
                Problem("/sizing", "sizing plans the fleet again for each answer and searches")
            )
        if not problems:
            problems.append(Problem("/method", "the plan takes too long to compute"))
        return InvalidRequestError(
            problems,
            detail=f"the plan did not finish within {settings.plan_hard_limit_s:g} s (twice the "
            f"time budget of {settings.plan_time_budget_s:g} s, plus {settings.plan_grace_s:g} "
            "s) and was stopped: ask for method fast, a shorter window, no concessions ranked "
            "or no sizing",
        )

    def shutdown(self) -> None:
        """Stop every worker (a plan still computing is killed); plans waiting are refused."""
        with self._lock:
            idle, self._idle = self._idle, []
            running, self._running = list(self._running), set()
            waiting, self._waiting = list(self._waiting), deque()
        for turn in waiting:
            if turn.set_running_or_notify_cancel():
                turn.set_exception(
                    UnavailableError("the service is shutting down", RETRY_AFTER_LOST_S)
                )
        for worker in running:
            worker.kill()
        for worker in idle + running:
            worker.executor.shutdown(wait=True, cancel_futures=True)


_catalog: Catalog | None = None
"""The store as a worker process sees it (set by :func:`_open_store`)."""


def _open_store(settings: Settings) -> None:
    """Start a worker process: open the store the server uses."""
    global _catalog
    # Ctrl-C in a terminal reaches the whole process group; the server stops its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _catalog = Catalog(Repository(make_engine(settings.resolved_database_url())), settings)


def _compute_in_worker(scenario_id: str, version: int, request_json: str) -> PlanAnswer:
    """The plan, in a worker process; errors travel back pickled, problems and all."""
    if _catalog is None:
        raise RuntimeError("the plan worker has no store (its initializer did not run)")
    return _plan(_catalog, scenario_id, version, PlanRequest.model_validate_json(request_json))


def _plan(
    catalog: Catalog, scenario_id: str, version: int | None, request: PlanRequest
) -> PlanAnswer:
    settings = catalog.settings
    used, network = catalog.network(scenario_id, version)
    document = compute_plan(
        network,
        request,
        time_budget_s=settings.plan_time_budget_s,
        max_expanded_arcs=settings.max_expanded_arcs,
    )
    return encode_plan(used, document)
