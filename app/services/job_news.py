"""News of jobs, for the requests that wait on one (docs/jobs.md).

A request that waits for a job (``GET /v1/jobs/{id}`` with ``Prefer: wait=N``, the event
stream) reads the job from the store, then reads it again as soon as news of that job
arrives, or after :data:`QUIET_S` without news: the store is the truth; news only makes
the wait short. News arrives

- on PostgreSQL from the database itself: every change of a job's row notifies the channel
  ``safe_passage_jobs`` with the job's id (a trigger, migration 0006), whichever replica
  or worker made it; each API process listens on one connection of its own
  (:func:`app.storage.jobs.listen_for_jobs`);
- from the local worker processes of this API process (the embedded default), when an
  attempt of a job, or a part of it, ends.

A watch is registered before the job is read, so news that arrives between the read and
the wait is not lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator

from sqlalchemy import Engine

from app.storage.jobs import RECONNECT_S, listen_for_jobs

QUIET_S = 0.5
"""Longest wait for news before a waiting request reads its job again (news may be missed:
a SQLite store with workers of another process, the listener reconnecting)."""


class Watch:
    """One waiting request's view of one job's news."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._news = asyncio.Event()

    def wake(self) -> None:
        """Called from any thread."""
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
            self._loop.call_soon_threadsafe(self._news.set)

    async def next(self, timeout: float) -> bool:
        """Wait for news, at most ``timeout`` seconds; True when news came."""
        try:
            await asyncio.wait_for(self._news.wait(), timeout)
        except TimeoutError:
            return False
        finally:
            self._news.clear()
        return True


class JobNews:
    """Who waits on which job, and telling them (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watches: dict[str, set[Watch]] = {}

    def tell(self, job_id: str) -> None:
        """Something about ``job_id`` changed: wake whoever waits on it."""
        with self._lock:
            watches = tuple(self._watches.get(job_id, ()))
        for watch in watches:
            watch.wake()

    def tell_all(self) -> None:
        """Wake every waiting request (news may have been lost: they read their jobs again)."""
        with self._lock:
            watches = [w for ws in self._watches.values() for w in ws]
        for watch in watches:
            watch.wake()

    @contextlib.contextmanager
    def watch(self, job_id: str) -> Iterator[Watch]:
        """Wait on ``job_id`` inside the block (in the event loop)."""
        watch = Watch(asyncio.get_running_loop())
        with self._lock:
            self._watches.setdefault(job_id, set()).add(watch)
        try:
            yield watch
        finally:
            with self._lock:
                watches = self._watches.get(job_id)
                if watches is not None:
                    watches.discard(watch)
                    if not watches:
                        del self._watches[job_id]

    def waiting(self) -> int:
        """How many requests wait (for tests and metrics)."""
        with self._lock:
            return sum(len(ws) for ws in self._watches.values())


def listen(engine: Engine, news: JobNews) -> Callable[[], None]:
    """Bring the database's news of jobs to ``news`` (PostgreSQL: a thread listening on a
    connection of its own; other stores have none). Returns what stops it."""
    if engine.url.get_backend_name() != "postgresql":
        return lambda: None
    stop = threading.Event()
    thread = threading.Thread(
        target=listen_for_jobs,
        args=(engine, news.tell, stop, news.tell_all),
        name="job-news",
        daemon=True,
    )
    thread.start()

    def close() -> None:
        stop.set()
        thread.join(timeout=2 * RECONNECT_S)

    return close
