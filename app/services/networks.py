"""The provider of compiled networks: each stored version compiled once, kept within a budget.

A version is immutable, so a compiled network never goes stale: a new version has
a new key. Each process (replica) keeps its own networks; which version is current
is read from the store on every request (:class:`~app.services.catalog.Catalog`).

Concurrent requests for a version not compiled yet wait for one compilation
instead of each compiling it. Networks are kept least recently used first out,
within a budget of bytes (a street network of a million places takes hundreds
of MiB; a district graph a few KiB), and at least the newest one is kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from app.domain.network.graph import Network
from app.domain.routes.engine import GOAL_DIRECTED_NODES
from app.domain.routes.landmarks import landmarks_of, prepare

Key = tuple[str, int]


@dataclass
class _Compiling:
    """A compilation under way; other requests for the same key wait on ``done``."""

    done: threading.Event = field(default_factory=threading.Event)
    network: Network | None = None
    error: BaseException | None = None


class Networks:
    """Compiled networks by ``(scenario id, version)``, bounded by :attr:`budget_bytes`."""

    def __init__(self, budget_bytes: int, size_of: Callable[[Network], int] | None = None) -> None:
        self.budget_bytes = budget_bytes
        self._size_of = size_of or (lambda network: network.nbytes)
        self._items: OrderedDict[Key, Network] = OrderedDict()
        self._sizes: dict[Key, int] = {}
        self._compiling: dict[Key, _Compiling] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.compilations = 0

    def get(self, key: Key, build: Callable[[], Network]) -> Network:
        """The network of ``key``, compiled by ``build`` once if it is not kept."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return found
            self.misses += 1
            waiting = self._compiling.get(key)
            if waiting is None:
                mine = self._compiling[key] = _Compiling()
        if waiting is not None:
            waiting.done.wait()
            if waiting.error is not None:
                raise waiting.error
            assert waiting.network is not None
            return waiting.network
        try:
            self.compilations += 1
            network = build()  # outside the lock: compiling a big scenario takes seconds
        except BaseException as exc:
            mine.error = exc
            raise
        else:
            mine.network = network
            self.put(key, network)
            return network
        finally:
            with self._lock:
                del self._compiling[key]
            mine.done.set()

    def find(self, key: Key) -> Network | None:
        """The network of ``key`` if it is kept (a hit), else None (counted by the
        :meth:`get` that compiles it)."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                self.hits += 1
            return found

    def peek(self, key: Key) -> Network | None:
        """The network of ``key`` if it is kept (counted neither as a hit nor a miss)."""
        with self._lock:
            return self._items.get(key)

    def put(self, key: Key, network: Network) -> None:
        """Keep a network compiled elsewhere (a version just stored), and start preparing
        its goal-directed route search if it is large (:func:`prepare_search`)."""
        prepare_search(network)
        size = self._size_of(network)
        with self._lock:
            self._items[key] = network
            self._items.move_to_end(key)
            self._sizes[key] = size
            while len(self._items) > 1 and self.bytes_held > self.budget_bytes:
                old, _ = self._items.popitem(last=False)
                del self._sizes[old]

    def forget(self, scenario_id: str) -> None:
        """Drop every version of a deleted scenario."""
        with self._lock:
            for key in [k for k in self._items if k[0] == scenario_id]:
                del self._items[key]
                del self._sizes[key]

    @property
    def bytes_held(self) -> int:
        return sum(self._sizes.values())

    def __len__(self) -> int:
        return len(self._items)


def prepare_search(network: Network) -> None:
    """Compute a large network's landmarks in a background thread (seconds on a million
    places), unless it has them or takes the earlier version's (a closure or a raised risk:
    at once). Routes asked meanwhile search plainly: same answers, slower."""
    if network.n_nodes < GOAL_DIRECTED_NODES or landmarks_of(network) is not None:
        return
    threading.Thread(target=prepare, args=(network,), name="landmarks", daemon=True).start()
