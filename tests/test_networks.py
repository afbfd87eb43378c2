"""The provider of compiled networks: one compilation per version, a budget in bytes."""

from __future__ import annotations

import threading
import time

import pytest

from app.domain.network.graph import Network
from app.domain.scenario.reading import validate_scenario
from app.services.networks import Networks


def line(n: int) -> Network:
    doc = {
        "schema": "safe-passage/scenario@1",
        "nodes": [{"id": f"n{i}"} for i in range(n)],
        "edges": [
            {"id": f"e{i}", "from": f"n{i}", "to": f"n{i + 1}", "length_m": 10}
            for i in range(n - 1)
        ],
    }
    return Network(validate_scenario(doc))


def test_concurrent_requests_for_one_version_compile_it_once() -> None:
    networks = Networks(budget_bytes=10**9)
    release = threading.Event()
    built: list[int] = []
    answers: list[Network] = []

    def build() -> Network:
        built.append(1)
        release.wait(5)
        return line(5)

    def ask() -> None:
        answers.append(networks.get(("s", 1), build))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    # Every asker is either compiling or waiting for that compilation before it finishes.
    deadline = time.monotonic() + 5
    while networks.misses < 8 and time.monotonic() < deadline:
        time.sleep(0.001)
    release.set()
    for t in threads:
        t.join(5)
    assert len(built) == 1
    assert len(answers) == 8 and all(a is answers[0] for a in answers)
    assert networks.compilations == 1


def test_a_failed_compilation_reaches_every_waiter_and_is_not_kept() -> None:
    networks = Networks(budget_bytes=10**9)

    def broken() -> Network:
        raise RuntimeError("store unreachable")

    with pytest.raises(RuntimeError):
        networks.get(("s", 1), broken)
    assert len(networks) == 0
    assert networks.get(("s", 1), lambda: line(3)).n_nodes == 3


def test_the_budget_is_in_bytes_and_the_newest_is_always_kept() -> None:
    small, big = line(10), line(5000)
    assert big.nbytes > 20 * small.nbytes
    networks = Networks(budget_bytes=big.nbytes + 3 * small.nbytes)
    for v in range(3):
        networks.put(("s", v), line(10))
    networks.put(("big", 1), big)
    assert len(networks) == 4 and networks.bytes_held <= networks.budget_bytes
    networks.put(("s", 9), line(10))  # over budget: the least recently used goes first
    assert ("s", 0) not in networks._items
    assert networks.bytes_held <= networks.budget_bytes
    tiny = Networks(budget_bytes=1)
    tiny.put(("big", 1), big)
    assert len(tiny) == 1  # a network larger than the budget is still kept while newest
    tiny.put(("s", 1), small)
    assert list(tiny._items) == [("s", 1)]


def test_forgetting_a_scenario_drops_all_its_versions() -> None:
    networks = Networks(budget_bytes=10**9)
    for v in (1, 2):
        networks.put(("gone", v), line(3))
    networks.put(("kept", 1), line(3))
    networks.forget("gone")
    assert list(networks._items) == [("kept", 1)]
