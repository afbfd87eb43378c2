"""Audit records of computations, written in batches instead of one transaction each.

A route is answered in about a millisecond; writing its audit line in a transaction of its
own (on SQLite, a synced write to disk) cost more than the route. The service therefore
keeps computation records in memory and writes them together, in one transaction, at
least once per ``interval_s`` (one second), before any write of the same process (so
the log keeps the order things happened in), before the audit log is read through the
same process, and when the service stops. Writes of scenarios and tokens keep their
audit lines in their own transaction, as before: they are never held back.

What a crash (``kill -9``, power loss) can lose: the computation records of at most the
last ``interval_s`` seconds (plus the time one batch takes to write), never a scenario
write, a token change or their audit lines. When the store refuses a batch, the records
stay queued and are written with the next one; past ``max_pending`` queued records the
caller writes them itself (and fails as the store fails) rather than drop any.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("safe_passage.audit")

AUDIT_INTERVAL_S = 1.0
"""Longest a computation record waits in memory before it is written."""

Entry = dict[str, Any]


class AuditBatcher:
    """Records queued in memory and written by ``write`` (one call per batch, in order).

    :meth:`start` runs a thread that writes the queue every ``interval_s``; ``wait`` is how
    it waits (``Event.wait``-like: returns True to stop), injectable for tests.
    """

    def __init__(
        self,
        write: Callable[[list[Entry]], None],
        interval_s: float = AUDIT_INTERVAL_S,
        max_pending: int = 100_000,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        self._write = write
        self.interval_s = interval_s
        self.max_pending = max_pending
        self._pending: list[Entry] = []
        self._lock = threading.Lock()
        """Guards the queue."""
        self._flushing = threading.Lock()
        """One batch written at a time, so batches are written in the order queued."""
        self._stop = threading.Event()
        self._wait = wait or self._stop.wait
        self._thread: threading.Thread | None = None

    def add(self, entry: Entry) -> None:
        """Queue one record (its time stamp is already in it)."""
        with self._lock:
            self._pending.append(entry)
            full = len(self._pending) >= self.max_pending
        if full:  # the store has refused batches for a while: write here, or fail here
            self.flush()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def flush(self) -> int:
        """Write every queued record now, in one call of ``write``; the number written.

        If ``write`` raises, the records go back to the front of the queue and the error
        propagates.
        """
        with self._flushing:
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch:
                return 0
            try:
                self._write(batch)
            except BaseException:
                with self._lock:
                    self._pending[:0] = batch
                raise
            return len(batch)

    def start(self) -> None:
        """Write the queue every ``interval_s`` from a background thread."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._wait(self.interval_s) and not self._stop.is_set():
            try:
                self.flush()
            except Exception:
                log.exception("could not write %d audit records; kept for later", self.pending)

    def close(self) -> None:
        """Stop the thread and write what is queued (when the service stops)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.flush()
