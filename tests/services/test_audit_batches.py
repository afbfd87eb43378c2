"""Computation records written in batches: within the interval, in order, on shutdown, and a
crash loses at most the records of the last interval.

The batcher's writer ("flusher") and its wait between batches are injected: the test
decides when the writer thread wakes, and sees every batch written. The store-level tests
use a real SQLite database.
"""

from __future__ import annotations

import queue
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.config import Settings
from app.services.access import SYSTEM, Principal
from app.services.catalog import Catalog
from app.storage.audit import AUDIT_INTERVAL_S, AuditBatcher
from app.storage.db import make_engine, upgrade
from app.storage.repository import Repository

GRAPHS = Path(__file__).resolve().parents[2] / "graphs"
PETRA = Principal("tok_1", "petra", "planner")


class Ticks:
    """The writer thread's wait: blocks until the test calls :meth:`tick` (or stops it);
    records the timeout it was asked to wait each time."""

    def __init__(self) -> None:
        self.asked: list[float] = []
        self._ticks: queue.Queue[bool] = queue.Queue()
        self.waiting = threading.Semaphore(0)

    def __call__(self, timeout: float) -> bool:
        self.asked.append(timeout)
        self.waiting.release()
        return self._ticks.get()

    def tick(self, stop: bool = False) -> None:
        """Let ``timeout`` pass once; return when the thread has written what was queued
        and waits again (or, with ``stop``, is told to stop)."""
        assert self.waiting.acquire(timeout=10), "the writer thread is not waiting"
        self._ticks.put(stop)
        if not stop:
            assert self.waiting.acquire(timeout=10), "the writer thread did not come back"
            self.waiting.release()


class Flusher:
    """Writes nothing: keeps every batch it is given, in order; can be made to fail."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.failing = False
        self.done = threading.Event()

    def __call__(self, batch: list[dict[str, Any]]) -> None:
        if self.failing:
            raise OSError("disk full")
        self.batches.append(list(batch))
        self.done.set()

    @property
    def written(self) -> list[int]:
        return [entry["n"] for batch in self.batches for entry in batch]


def entry(n: int) -> dict[str, Any]:
    return {"n": n, "action": "route.compute"}


def test_the_writer_waits_at_most_the_interval_and_writes_everything_queued_each_time() -> None:
    flusher, ticks = Flusher(), Ticks()
    batcher = AuditBatcher(flusher, interval_s=AUDIT_INTERVAL_S, wait=ticks)
    batcher.start()
    for n in range(5):
        batcher.add(entry(n))
    ticks.tick()  # one interval passes
    assert flusher.batches == [[entry(n) for n in range(5)]]
    for n in range(5, 8):
        batcher.add(entry(n))
    ticks.tick()
    assert flusher.batches[1] == [entry(n) for n in range(5, 8)]
    ticks.tick()  # nothing queued: nothing written
    assert len(flusher.batches) == 2
    batcher.add(entry(8))
    ticks.tick(stop=True)
    batcher.close()  # on shutdown, the rest is written
    assert flusher.written == list(range(9))
    assert ticks.asked and all(t <= AUDIT_INTERVAL_S for t in ticks.asked)


def test_a_crash_loses_only_what_was_queued_since_the_last_batch() -> None:
    flusher, ticks = Flusher(), Ticks()
    batcher = AuditBatcher(flusher, interval_s=AUDIT_INTERVAL_S, wait=ticks)
    batcher.start()
    batcher.add(entry(0))
    batcher.add(entry(1))
    ticks.tick()  # t = 1 s: written
    batcher.add(entry(2))  # made after the batch, less than one interval before the crash
    # kill -9 now: the process ends without close(); what the store has is what was written
    assert flusher.written == [0, 1]
    assert batcher.pending == 1  # at most one interval of records, never more
    ticks.tick(stop=True)


def test_a_batch_the_store_refuses_is_kept_and_written_with_the_next_in_order() -> None:
    flusher = Flusher()
    batcher = AuditBatcher(flusher)
    batcher.add(entry(0))
    batcher.add(entry(1))
    flusher.failing = True
    with pytest.raises(OSError):
        batcher.flush()
    batcher.add(entry(2))
    flusher.failing = False
    assert batcher.flush() == 3
    assert flusher.written == [0, 1, 2]


def test_past_max_pending_the_caller_writes_and_fails_as_the_store_fails() -> None:
    flusher = Flusher()
    batcher = AuditBatcher(flusher, max_pending=3)
    flusher.failing = True
    batcher.add(entry(0))
    batcher.add(entry(1))
    with pytest.raises(OSError):  # the third would make three queued: written here, refused
        batcher.add(entry(2))
    flusher.failing = False
    batcher.add(entry(3))  # written here, with everything before it
    assert flusher.written == [0, 1, 2, 3]


def test_with_a_real_clock_records_are_written_within_the_interval() -> None:
    flusher = Flusher()
    batcher = AuditBatcher(flusher, interval_s=0.2)
    batcher.start()
    try:
        time.sleep(0.05)
        made = time.monotonic()
        batcher.add(entry(0))
        assert flusher.done.wait(5)
        assert time.monotonic() - made < 0.2 + 0.5  # the interval, and slack for a busy CI
    finally:
        batcher.close()
    assert flusher.written == [0]


# --- in the store --------------------------------------------------------------------------


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    upgrade(engine)
    return Catalog(Repository(engine), Settings(data_dir=tmp_path))


def actions(catalog: Catalog) -> list[tuple[str, int | None]]:
    with catalog.repo.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT action, version FROM audit_log ORDER BY id")
        return [(r[0], r[1]) for r in rows]


def test_queued_records_are_written_before_the_next_write_so_the_log_keeps_its_order(
    catalog: Catalog,
) -> None:
    catalog.create((GRAPHS / "teaching.json").read_bytes(), PETRA, scenario_id="t")
    catalog.repo.batch_audit(interval_s=3600)  # only writes and reads flush it here
    try:
        catalog.record(PETRA, "route.compute", "t", 1, {"from": "hilltop", "to": "camp"})
        assert actions(catalog) == [("scenario.create", 1)]  # queued, not yet written
        catalog.delete("t", None, PETRA)
        assert actions(catalog) == [
            ("scenario.create", 1),
            ("route.compute", 1),
            ("scenario.delete", None),
        ]
        catalog.record(PETRA, "route.compute", "t", 1, None)
        items, total = catalog.repo.audit_entries(10, 0)  # a reader here sees it at once
        assert total == 4 and items[0]["action"] == "route.compute"
    finally:
        catalog.repo.stop_batching_audit()


def test_records_keep_the_time_they_were_made_and_every_field(catalog: Catalog) -> None:
    catalog.repo.batch_audit(interval_s=3600)
    before = datetime.now(UTC)
    catalog.record(PETRA, "route.compute", "t", 4, {"from": "a", "to": "b", "routes": 1})
    made = datetime.now(UTC)
    time.sleep(0.05)
    catalog.repo.stop_batching_audit()  # shutdown writes it
    items, _ = catalog.repo.audit_entries(10, 0)
    (item,) = items
    assert before <= datetime.fromisoformat(item["at"]).replace(tzinfo=UTC) <= made
    assert {k: item[k] for k in ("token_id", "actor", "role", "action", "scenario_id")} == {
        "token_id": "tok_1",
        "actor": "petra",
        "role": "planner",
        "action": "route.compute",
        "scenario_id": "t",
    }
    assert (item["version"], item["detail"]) == (4, {"from": "a", "to": "b", "routes": 1})


def test_without_batching_a_record_is_written_at_once(catalog: Catalog) -> None:
    catalog.record(SYSTEM, "route.compute", None, None, None)  # the CLI's way
    assert actions(catalog) == [("route.compute", None)]
    with pytest.raises(TypeError, match="not audit fields"):
        catalog.repo.record(action="x", colour="red")
