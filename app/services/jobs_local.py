"""Jobs without a broker: worker processes of the API process itself (the embedded default).

``serve --demo`` and a laptop on SQLite have no message broker; jobs are stored the same
way (:mod:`app.services.jobs`) and run in ``plan_workers`` processes of a pool started
with the first job (``spawn``; each opens the store itself). A ranking's parts go back to
the same pool. A job or part whose worker process died is started again (its attempts
counted, at most ``job_attempts``); a job still queued or running when the API process
stopped is started again when an API process starts. With ``plan_workers = 0`` jobs run in
a thread of the API process (tests and debugging only).
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from app.config import Settings
from app.domain.errors import ScenarioError
from app.services.catalog import Catalog
from app.services.jobs import WorkerContext, run_job, run_part
from app.storage.db import make_engine
from app.storage.jobs import JobStore
from app.storage.repository import Repository

log = logging.getLogger("safe_passage.jobs")

RETRY_DELAY_S = 1.0
"""Wait before a job that raised is started again."""

Problems = tuple[Callable[[ScenarioError], dict[str, Any]], Callable[[str], dict[str, Any]]]
"""How errors become problem documents: the HTTP layer's functions, passed in."""


class LocalJobs:
    """The :class:`~app.services.jobs.Dispatch` of the embedded default."""

    name = "local"

    def __init__(
        self,
        settings: Settings,
        problems: Problems,
        context: WorkerContext | None = None,
        tell: Callable[[str], None] = lambda job_id: None,
    ) -> None:
        self.settings = settings
        self.problems = problems
        self.tell = tell
        """Called with a job's id when an attempt of it, or a part, has ended (its news)."""
        self._context = context
        """Used by the in-process thread (``plan_workers = 0``)."""
        self._lock = threading.Lock()
        self._pool: Executor | None = None
        self._closed = False

    def _executor(self) -> Executor:
        with self._lock:
            if self._closed:
                raise RuntimeError("the job workers are shut down")
            if self._pool is None:
                if self.settings.plan_workers == 0:
                    self._pool = ThreadPoolExecutor(1, thread_name_prefix="job")
                else:
                    self._pool = ProcessPoolExecutor(
                        max_workers=self.settings.plan_workers,
                        mp_context=multiprocessing.get_context("spawn"),
                        initializer=_open_store,
                        initargs=(self.settings, self.problems),
                    )
            return self._pool

    def _submit(self, fn: Callable[..., Any], *args: Any) -> None:
        pool = self._executor()
        if isinstance(pool, ThreadPoolExecutor):
            future = pool.submit(_in_thread, self._context, fn, *args)
        else:
            future = pool.submit(fn, *args)
        future.add_done_callback(lambda f: self._done(f, pool, fn, args))

    def _done(
        self, future: Future[Any], pool: Executor, fn: Callable[..., Any], args: tuple[Any, ...]
    ) -> None:
        if future.cancelled() or self._closed:
            return
        self.tell(args[0])
        error = future.exception()
        if error is None:
            parts = future.result()
            if parts:
                self.enqueue_parts(args[0], parts)
            return
        if isinstance(error, BrokenProcessPool):
            log.error("a job worker process stopped: %s %s is started again", fn.__name__, args)
            with self._lock:
                if self._pool is pool:  # the first of its jobs to notice: a new pool
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=False)
            self._submit(fn, *args)
            return
        # run_job raised to be tried again (its attempts are bounded by the store)
        timer = threading.Timer(RETRY_DELAY_S, self._submit, (fn, *args))
        timer.daemon = True
        timer.start()

    def enqueue(self, job_id: str) -> None:
        self._submit(_run_job, job_id)

    def enqueue_parts(self, job_id: str, indices: list[int]) -> None:
        for index in indices:
            self._submit(_run_part, job_id, index)

    def resume(self, store: JobStore) -> int:
        """Start again the local jobs left queued or running by a stopped API process."""
        left = store.unfinished(self.name)
        for job in left:
            self.enqueue(job.id)
        return len(left)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is None:
            return
        if isinstance(pool, ProcessPoolExecutor):
            for process in list(getattr(pool, "_processes", {}).values()):
                process.kill()  # a job in the middle is started again at the next start
        pool.shutdown(wait=True, cancel_futures=True)


_context: WorkerContext | None = None


def worker_context(settings: Settings, problems: Problems) -> WorkerContext:
    """What a job worker process holds: its own engine, catalog and job store."""
    engine = make_engine(settings.resolved_database_url())
    return WorkerContext(
        catalog=Catalog(Repository(engine), settings),
        store=JobStore(engine),
        settings=settings,
        problem_of=problems[0],
        internal_problem=problems[1],
    )


def _open_store(settings: Settings, problems: Problems) -> None:
    global _context
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the API process stops its workers
    _context = worker_context(settings, problems)


def _ctx() -> WorkerContext:
    if _context is None:
        raise RuntimeError("the job worker has no store (its initializer did not run)")
    return _context


def _run_job(job_id: str) -> list[int]:
    return run_job(_ctx(), job_id)


def _run_part(job_id: str, index: int) -> list[int]:
    run_part(_ctx(), job_id, index)
    return []


def _in_thread(context: WorkerContext | None, fn: Callable[..., Any], *args: Any) -> Any:
    global _context
    if context is not None:
        _context = context
    return fn(*args)
