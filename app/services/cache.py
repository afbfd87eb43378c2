"""Compiled scenario versions kept in memory, bounded, keyed by (scenario, version).

A version is immutable, so an entry never goes stale: a new version has a new
key. Each process (replica) has its own cache; the current version number (and
whether the scenario still exists) is read from the store on every request.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from threading import Lock

from app.domain.network import Network


class NetworkCache:
    def __init__(self, entries: int) -> None:
        self.entries = entries
        self._items: OrderedDict[tuple[str, int], Network] = OrderedDict()
        self._lock = Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[str, int], build: Callable[[], Network]) -> Network:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return found
            self.misses += 1
        network = build()  # outside the lock: compiling a big scenario takes time
        with self._lock:
            self._items[key] = network
            self._items.move_to_end(key)
            while len(self._items) > self.entries:
                self._items.popitem(last=False)
        return network

    def forget(self, scenario_id: str) -> None:
        """Drop every version of a scenario (it was deleted)."""
        with self._lock:
            for key in [k for k in self._items if k[0] == scenario_id]:
                del self._items[key]

    def __len__(self) -> int:
        return len(self._items)
