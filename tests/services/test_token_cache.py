"""Tokens looked up about once a second, and a revoked token refused within a second.

The store is a dictionary and time is a clock the test moves (no sleeping): every claim is
checked for every revocation time on a grid of 10 ms, with requests every 10 ms. A token in
use is looked up again ahead of its expiry by a background renewal; here renewals run when
the test says: at once, or a step (10 ms) later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import pytest

from app.services.access import TOKEN_TTL_S, TokenCache, hash_token
from app.services.errors import AuthenticationError
from app.storage.repository import TokenInfo

SECRET = "sp_field-office"
STAMP = datetime(2016, 12, 15, tzinfo=UTC)


@dataclass
class Clock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Store:
    """Tokens by hash, as the repository keeps them; counts look-ups; a look-up may take
    ``delay`` seconds of the clock, and a revocation may land while it runs."""

    clock: Clock
    tokens: dict[str, TokenInfo] = field(default_factory=dict)
    lookups: int = 0
    delay: float = 0.0
    revoke_during_lookup: bool = False

    def add(self, secret: str, token_id: str = "tok_1", role: str = "planner") -> None:
        self.tokens[hash_token(secret)] = TokenInfo(token_id, "petra", role, STAMP, None)

    def revoke(self, secret: str) -> None:
        digest = hash_token(secret)
        self.tokens[digest] = replace(self.tokens[digest], revoked_at=STAMP)

    def find(self, digest: str) -> TokenInfo | None:
        self.lookups += 1
        found = self.tokens.get(digest)  # read as the look-up starts
        self.clock.now += self.delay
        if self.revoke_during_lookup:
            self.revoke(SECRET)
        return found


def at_once(work: Callable[[], None]) -> None:
    work()


class Later:
    """Renewals queued and run a step later, as a background thread would."""

    def __init__(self) -> None:
        self.queued: list[Callable[[], None]] = []

    def __call__(self, work: Callable[[], None]) -> None:
        self.queued.append(work)

    def run(self) -> None:
        work, self.queued = self.queued, []
        for one in work:
            one()


def accepted(cache: TokenCache, secret: str = SECRET) -> bool:
    try:
        cache.authenticate(secret)
    except AuthenticationError:
        return False
    return True


def test_a_token_in_use_is_renewed_ahead_of_expiry_and_no_request_waits_for_the_store() -> None:
    clock = Clock()
    store = Store(clock)
    store.add(SECRET)
    later = Later()
    cache = TokenCache(store.find, clock=clock, renew=later)
    assert accepted(cache)  # the first request asks the store itself
    for step in range(1, 1000):  # a request every 10 ms for 10 s
        clock.now = step / 100
        later.run()  # the renewal queued a step ago
        principal = cache.fresh(SECRET)  # every request served from memory
        assert principal is not None, clock.now
        assert (principal.token_id, principal.name, principal.role) == ("tok_1", "petra", "planner")
    # Renewed when 0.8 s old, each a step late: at 0.81, 1.62, ... 9.72 s, and the first.
    assert store.lookups == 13


def test_an_idle_token_is_looked_up_once_a_second_at_most() -> None:
    clock = Clock()
    store = Store(clock)
    store.add(SECRET)
    cache = TokenCache(store.find, clock=clock, renew=at_once)
    for step in range(10):  # a request every 1.1 s: its lookup has expired each time
        clock.now = step * 1.1
        assert accepted(cache)
    assert store.lookups == 10


@pytest.mark.parametrize("renewal", ["at once", "a step later"])
@pytest.mark.parametrize("revoked_at_ms", range(0, 3000, 10))
def test_a_revoked_token_is_refused_within_one_second(revoked_at_ms: int, renewal: str) -> None:
    clock = Clock()
    store = Store(clock)
    store.add(SECRET)
    later = Later()
    cache = TokenCache(store.find, clock=clock, renew=at_once if renewal == "at once" else later)
    revoked_at = revoked_at_ms / 1000
    last_accepted = None
    for step in range(500):  # a request every 10 ms for 5 s
        clock.now = step / 100
        later.run()
        if clock.now >= revoked_at and store.tokens[hash_token(SECRET)].revoked_at is None:
            store.revoke(SECRET)
        if accepted(cache):
            last_accepted = clock.now
    assert last_accepted is not None or revoked_at == 0
    if last_accepted is not None:
        assert last_accepted < revoked_at + TOKEN_TTL_S
    assert not accepted(cache)  # and it stays refused


def test_a_revocation_landing_during_a_slow_lookup_counts_from_when_the_lookup_began() -> None:
    """The store answered "valid" as the look-up began at t = 0; the revocation landed at
    t = 0.4 while it ran. Kept from t = 0, the answer is trusted until t = 1.0 at most."""
    clock = Clock()
    store = Store(clock, delay=0.4, revoke_during_lookup=True)
    store.add(SECRET)
    cache = TokenCache(store.find, clock=clock, renew=at_once)
    assert accepted(cache)  # the answer read before the revocation
    store.delay, store.revoke_during_lookup = 0.0, False
    clock.now = 0.99
    assert accepted(cache)
    clock.now = 1.0  # 0.6 s after the revocation
    assert not accepted(cache)


def test_two_replicas_on_one_store_both_refuse_a_revoked_token_within_one_second() -> None:
    clock = Clock()
    store = Store(clock)
    store.add(SECRET)
    replicas = [TokenCache(store.find, clock=clock, renew=at_once) for _ in range(2)]
    clock.now = 0.0
    assert accepted(replicas[0])
    clock.now = 0.5
    assert accepted(replicas[1])
    store.revoke(SECRET)  # through a third replica, at t = 0.5
    clock.now = 1.0
    assert not accepted(replicas[0])  # its look-up (t = 0) is a second old: asked again
    clock.now = 1.49
    assert accepted(replicas[1])  # looked up at t = 0.5, just before: trusted < 1 s
    clock.now = 1.5
    assert not any(accepted(replica) for replica in replicas)


def test_a_token_revoked_through_this_process_is_refused_at_once() -> None:
    clock = Clock()
    store = Store(clock)
    store.add(SECRET)
    cache = TokenCache(store.find, clock=clock, renew=at_once)
    assert accepted(cache)
    store.revoke(SECRET)
    cache.forget("tok_1")
    assert not accepted(cache)


def test_unknown_tokens_are_not_kept_so_a_new_token_works_at_once() -> None:
    clock = Clock()
    store = Store(clock)
    cache = TokenCache(store.find, clock=clock, renew=at_once)
    assert not accepted(cache)
    store.add(SECRET)  # created through another replica a moment later
    assert accepted(cache)
    assert not accepted(cache, "sp_unknown") and not accepted(cache, "sp_unknown")
    assert store.lookups == 4  # every refusal asked the store


def test_no_token_is_refused_without_asking_the_store() -> None:
    clock = Clock()
    store = Store(clock)
    cache = TokenCache(store.find, clock=clock, renew=at_once)
    for secret in (None, ""):
        with pytest.raises(AuthenticationError, match="send a token"):
            cache.authenticate(secret)
    assert store.lookups == 0
