"""Tokens and roles. A token is shown once; only its SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
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
        raise AuthenticationError("send a token: 'Authorization: Bearer TOKEN'")
    info = repo.find_token(hash_token(secret))
    if info is None or info.revoked_at is not None:
        raise AuthenticationError("the token is unknown or revoked")
    return Principal(info.id, info.name, info.role)  # type: ignore[arg-type]


def require(principal: Principal, role: Role) -> Principal:
    if _RANK[principal.role] < _RANK[role]:
        raise PermissionDeniedError(f"this needs the {role} role; the token has {principal.role}")
    return principal
