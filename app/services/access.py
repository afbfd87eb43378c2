"""Tokens and roles. A token is shown once; only its SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from app.services.errors import AuthenticationError, PermissionDeniedError
from app.storage.repository import Repository, TokenInfo

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


class TokenCache:
    """Tokens checked against the store at most once per :data:`TOKEN_TTL_S` each.

    Every request is still checked: a token looked up less than ``ttl_s`` ago (timed from
    *before* the lookup started, so a revocation committed while it ran counts) is taken
    from memory, any other is looked up in the store. Unknown and revoked tokens are not
    kept: a token just created works at once, a refused one is asked about again.
    ``clock`` (seconds, monotonic) is for tests.
    """

    MAX_ENTRIES = 10_000

    def __init__(
        self,
        lookup: Callable[[str], TokenInfo | None],
        ttl_s: float = TOKEN_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lookup = lookup
        self.ttl_s = ttl_s
        self._clock = clock
        self._kept: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def fresh(self, secret: str) -> Principal | None:
        """The principal of ``secret`` if it was looked up less than ``ttl_s`` ago, else
        None (then :meth:`authenticate`, which reads the store)."""
        kept = self._kept.get(hash_token(secret))
        if kept is not None and self._clock() - kept[0] < self.ttl_s:
            return kept[1]
        return None

    def forget(self, token_id: str) -> None:
        """Look ``token_id`` up in the store next time (it was revoked through this process)."""
        with self._lock:
            self._kept = {k: v for k, v in self._kept.items() if v[1].token_id != token_id}

    def authenticate(self, secret: str | None) -> Principal:
        """The principal of ``secret``, from memory if fresh, else from the store."""
        if not secret:
            raise AuthenticationError(NO_TOKEN)
        found = self.fresh(secret)
        if found is not None:
            return found
        digest = hash_token(secret)
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


def require(principal: Principal, role: Role) -> Principal:
    if _RANK[principal.role] < _RANK[role]:
        raise PermissionDeniedError(f"this needs the {role} role; the token has {principal.role}")
    return principal
