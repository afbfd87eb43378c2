"""Tokens and roles. A token is shown once; only its SHA-256 is stored."""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from app.services.errors import AuthenticationError, PermissionDeniedError
from app.storage.repository import Repository, TokenInfo

log = logging.getLogger(__name__)

Role = Literal["viewer", "planner", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "planner", "admin")
_RANK = {role: i for i, role in enumerate(ROLES)}


@dataclass(frozen=True)
class Principal:
    """Who is asking: a token's id, name and role."""

    token_id: str | None
    name: str | None
    role: Role

    def audit(self) -> dict[str, str | None]:
        return {"token_id": self.token_id, "actor": self.name, "role": self.role}


SYSTEM = Principal(token_id=None, name="system", role="admin")
"""The principal of local administrative commands (CLI on the server's own database)."""


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(repo: Repository, role: Role, name: str | None = None) -> tuple[TokenInfo, str]:
    """A new random token for ``role``; returns its record and the secret (shown once)."""
    secret = "sp_" + secrets.token_urlsafe(32)
    token_id = "tok_" + secrets.token_hex(8)
    return repo.add_token(token_id, name, role, hash_token(secret)), secret


def authenticate(repo: Repository, secret: str | None) -> Principal:
    if not secret:
        raise AuthenticationError(NO_TOKEN)
    return _principal(repo.find_token(hash_token(secret)))


NO_TOKEN = "send a token: 'Authorization: Bearer TOKEN'"


def _principal(info: TokenInfo | None) -> Principal:
    if info is None or info.revoked_at is not None:
        raise AuthenticationError("the token is unknown or revoked")
    return Principal(info.id, info.name, info.role)  # type: ignore[arg-type]


TOKEN_TTL_S = 1.0
"""Longest a token's lookup is reused: a token revoked (through any replica) stops working
within this many seconds everywhere."""

RENEW_AFTER_S = 0.8
"""A token in use whose lookup is this old is looked up again in the background, so that
under steady use its lookup never expires: requests never wait for the store together."""


def _in_background() -> Callable[[Callable[[], None]], None]:
    """Runs renewals one at a time on a thread of their own."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="token-renewal")

    def run(work: Callable[[], None]) -> None:
        pool.submit(work)

    return run


class TokenCache:
    """Tokens checked against the store at most once per :data:`TOKEN_TTL_S` each.

    Every request is still checked: a token looked up less than ``ttl_s`` ago (timed from
    *before* the lookup started, so a revocation committed while it ran counts) is taken
    from memory, any other is looked up in the store. Unknown and revoked tokens are not
    kept: a token just created works at once, a refused one is asked about again.

    A token in use is looked up again once its lookup is :data:`RENEW_AFTER_S` old, by
    ``renew`` (a background thread): under steady use its lookup never expires, so the
    requests arriving as it would have expired do not all wait for the store at once (they
    did, once a second: the tail of the routes' latency, docs/benchmarks.md).
    ``clock`` (seconds, monotonic) and ``renew`` (how a renewal is run) are for tests.
    """

    MAX_ENTRIES = 10_000

    def __init__(
        self,
        lookup: Callable[[str], TokenInfo | None],
        ttl_s: float = TOKEN_TTL_S,
        clock: Callable[[], float] = time.monotonic,
        renew: Callable[[Callable[[], None]], None] | None = None,
    ) -> None:
        self._lookup = lookup
        self.ttl_s = ttl_s
        self.renew_after_s = min(RENEW_AFTER_S, ttl_s)
        self._clock = clock
        self._renew = renew or _in_background()
        self._kept: dict[str, tuple[float, Principal]] = {}
        self._renewing: set[str] = set()
        self._lock = threading.Lock()

    def fresh(self, secret: str) -> Principal | None:
        """The principal of ``secret`` if it was looked up less than ``ttl_s`` ago, else
        None (then :meth:`authenticate`, which reads the store)."""
        return self._fresh(hash_token(secret))

    def _fresh(self, digest: str) -> Principal | None:
        kept = self._kept.get(digest)
        if kept is None:
            return None
        age = self._clock() - kept[0]
        if age >= self.ttl_s:
            return None
        if age >= self.renew_after_s:
            self._renew_soon(digest)
        return kept[1]

    def forget(self, token_id: str) -> None:
        """Look ``token_id`` up in the store next time (it was revoked through this process)."""
        with self._lock:
            self._kept = {k: v for k, v in self._kept.items() if v[1].token_id != token_id}

    def authenticate(self, secret: str | None) -> Principal:
        """The principal of ``secret``, from memory if fresh, else from the store."""
        if not secret:
            raise AuthenticationError(NO_TOKEN)
        digest = hash_token(secret)
        found = self._fresh(digest)
        if found is not None:
            return found
        return self._look_up(digest)

    def _look_up(self, digest: str) -> Principal:
        """The token's principal from the store, kept for ``ttl_s`` from now."""
        asked = self._clock()
        try:
            principal = _principal(self._lookup(digest))
        except AuthenticationError:
            with self._lock:
                self._kept.pop(digest, None)
            raise
        with self._lock:
            if len(self._kept) >= self.MAX_ENTRIES:
                now = self._clock()
                self._kept = {k: v for k, v in self._kept.items() if now - v[0] < self.ttl_s}
                if len(self._kept) >= self.MAX_ENTRIES:
                    self._kept.clear()
            self._kept[digest] = (asked, principal)
        return principal

    def _renew_soon(self, digest: str) -> None:
        """Look the token up again in the background (once at a time per token)."""
        with self._lock:
            if digest in self._renewing:
                return
            self._renewing.add(digest)

        def renew() -> None:
            try:
                self._look_up(digest)
            except AuthenticationError:
                pass  # revoked: dropped from memory, the next request is refused
            except Exception:  # the store failed: the next request past the TTL asks it
                log.warning("renewing a token's lookup failed", exc_info=True)
            finally:
                with self._lock:
                    self._renewing.discard(digest)

        self._renew(renew)


def require(principal: Principal, role: Role) -> Principal:
    if _RANK[principal.role] < _RANK[role]:
        raise PermissionDeniedError(f"this needs the {role} role; the token has {principal.role}")
    return principal
