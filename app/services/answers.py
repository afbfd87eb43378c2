"""Answers to route questions kept by (scenario, version, question), within a budget of bytes.

A stored version never changes, and a route answer is a function of the version's network
and the question alone (no clock, no randomness): the same question on the same version
gets the same bytes, computed once. Negotiators and the map ask the same few questions
over and over while a version is under discussion; an answer kept costs a dictionary
look-up instead of a search (and, for places cut off, the search for the closures that
cut them off, which takes longer than a route).

Kept: the answer as sent (status, headers, body): the route document, or the problem
document of the error answered (a no-route with its cut, an unknown place…), rendered once
by the same function as every problem. Least recently used first out; an answer larger
than an eighth of the budget is not kept. Every answer is still audited and every request
still checks its token and reads the current version from the store: only the computation
(and its encoding) is saved.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

Key = tuple[str, int, str, str]
"""(scenario id, version, the request's path, the question as canonical JSON)."""

ENTRY_OVERHEAD = 200
"""Bytes counted per kept answer beyond its body, headers and key (dictionary entries)."""


@dataclass(frozen=True)
class Answer:
    """A kept answer, as sent."""

    status: int
    headers: list[tuple[bytes, bytes]]
    """The response's raw headers (content type and length)."""
    body: bytes
    note: dict[str, Any] | None = None
    """What the audit record says of an answer with status 200 (e.g. how many routes)."""

    def size(self, key: Key) -> int:
        headers = sum(len(k) + len(v) for k, v in self.headers)
        return len(self.body) + headers + sum(len(part) for part in key if isinstance(part, str))


class AnswerCache:
    """Kept answers by :data:`Key`, at most ``budget_bytes`` of them (0: none kept)."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._items: OrderedDict[Key, Answer] = OrderedDict()
        self._sizes: dict[Key, int] = {}
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Key) -> Answer | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found

    def keep(self, key: Key, answer: Answer) -> None:
        size = answer.size(key) + ENTRY_OVERHEAD
        if size * 8 > self.budget_bytes:
            return
        with self._lock:
            if key in self._items:
                del self._items[key]
                self._bytes -= self._sizes.pop(key)
            self._items[key] = answer
            self._sizes[key] = size
            self._bytes += size
            while self._bytes > self.budget_bytes:
                dropped, _ = self._items.popitem(last=False)
                self._bytes -= self._sizes.pop(dropped)

    def forget(self, scenario_id: str) -> None:
        """Drop the answers of every version of a deleted scenario."""
        with self._lock:
            for key in [k for k in self._items if k[0] == scenario_id]:
                del self._items[key]
                self._bytes -= self._sizes.pop(key)

    @property
    def bytes_held(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)
