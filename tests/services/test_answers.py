"""Kept route answers: within their budget of bytes, least recently used first out."""

from __future__ import annotations

import pytest

from app.api import fast_routes
from app.services.answers import ENTRY_OVERHEAD, Answer, AnswerCache

HEADERS = [(b"content-type", b"application/json")]


def answer(size: int) -> Answer:
    return Answer(200, HEADERS, b"x" * size, {"routes": 1})


def key(n: int, scenario: str = "s") -> tuple[str, int, str, str]:
    return (scenario, 1, "/p", f'{{"n":{n:03d}}}')


def test_answers_stay_within_the_budget_and_the_least_recently_used_go_first() -> None:
    one = answer(1000).size(key(0)) + ENTRY_OVERHEAD
    cache = AnswerCache(budget_bytes=10 * one)
    for n in range(10):
        cache.keep(key(n), answer(1000))
    assert len(cache) == 10 and cache.bytes_held == 10 * one
    assert cache.get(key(0)) is not None  # 0 is now the most recently used
    cache.keep(key(10), answer(1000))
    assert cache.get(key(1)) is None  # the least recently used went
    assert cache.get(key(0)) is not None and cache.get(key(10)) is not None
    assert cache.bytes_held == 10 * one
    assert (cache.hits, cache.misses) == (3, 1)


def test_an_answer_over_an_eighth_of_the_budget_is_not_kept_and_zero_keeps_none() -> None:
    cache = AnswerCache(budget_bytes=8_000)
    cache.keep(key(0), answer(2_000))
    assert cache.get(key(0)) is None
    none = AnswerCache(budget_bytes=0)
    none.keep(key(0), answer(1))
    assert len(none) == 0


def test_a_deleted_scenarios_answers_are_forgotten() -> None:
    cache = AnswerCache(budget_bytes=1_000_000)
    cache.keep(key(0, "a"), answer(10))
    cache.keep(key(1, "b"), answer(10))
    cache.forget("a")
    assert cache.get(key(0, "a")) is None and cache.get(key(1, "b")) is not None
    assert cache.bytes_held == answer(10).size(key(1, "b")) + ENTRY_OVERHEAD


def test_the_plain_path_stays_off_when_the_operation_takes_parameters_it_does_not_know(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert fast_routes._operation() is not None
    warned: list[str] = []
    monkeypatch.setattr(fast_routes.log, "warning", lambda message, *_: warned.append(message))
    monkeypatch.setattr(fast_routes, "KNOWN_PARAMETERS", fast_routes.KNOWN_PARAMETERS - {"version"})
    assert fast_routes._operation() is None
    assert warned and "parameters changed" in warned[0]
