"""Tokens and the audit log (admin role); who the caller is (any role)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import AdminDep, CatalogDep, TokensDep, ViewerDep
from app.api.schemas import DateTime
from app.services.access import Role, create_token
from app.services.errors import ScenarioNotFoundError
from app.services.requests import MAX_STORED_INT
from app.storage.repository import TokenInfo

router = APIRouter(prefix="/v1", tags=["administration"])


class TokenOut(BaseModel):
    id: str
    name: str | None
    role: Role
    created_at: DateTime
    revoked_at: DateTime | None


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    name: str | None = Field(default=None, max_length=200)


class CreatedToken(TokenOut):
    token: str = Field(description="The secret, shown this once; only its hash is stored.")


class Me(BaseModel):
    name: str | None = Field(description="The token's name (the author of versions it makes).")
    role: Role


class AuditEntry(BaseModel):
    """Who did what, when, to which scenario version (newest first)."""

    id: int
    at: str = Field(description="When, ISO 8601 in UTC (without its offset on the SQLite backend).")
    token_id: str | None
    actor: str | None = Field(description="The token's name.")
    role: str | None
    action: str = Field(description="E.g. scenario.create, route.compute, token.revoke.")
    scenario_id: str | None
    version: int | None
    detail: dict[str, Any] | None = Field(description="What the action was asked; by action.")


class AuditPage(BaseModel):
    items: list[AuditEntry]
    total: int
    limit: int
    offset: int


def _out(t: TokenInfo) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "role": t.role,
        "created_at": t.created_at.isoformat(),
        "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
    }


@router.get("/whoami", response_model=Me, summary="The calling token's name and role (any role)")
def whoami(principal: ViewerDep) -> Me:
    return Me(name=principal.name, role=principal.role)


@router.get("/tokens", response_model=list[TokenOut], summary="List tokens (never the secrets)")
def list_tokens(catalog: CatalogDep, _: AdminDep) -> list[dict[str, Any]]:
    return [_out(t) for t in catalog.repo.list_tokens()]


@router.post(
    "/tokens",
    status_code=201,
    response_model=CreatedToken,
    operation_id="create_token",
    summary="Create a token",
)
def new_token(body: NewToken, catalog: CatalogDep, _: AdminDep) -> dict[str, Any]:
    info, secret = create_token(catalog.repo, body.role, body.name)
    return {**_out(info), "token": secret}


@router.delete("/tokens/{token_id}", response_model=TokenOut, summary="Revoke a token")
def revoke_token(
    token_id: str, catalog: CatalogDep, principal: AdminDep, tokens: TokensDep
) -> dict[str, Any]:
    info = catalog.repo.revoke_token(
        token_id,
        {"action": "token.revoke", **principal.audit(), "detail": {"token": token_id}},
    )
    tokens.forget(token_id)  # at once here; within TOKEN_TTL_S on every other replica
    if info is None:
        raise ScenarioNotFoundError(f"no token {token_id!r}")
    return _out(info)


@router.get(
    "/audit",
    response_model=AuditPage,
    operation_id="list_audit_entries",
    summary="Who created, changed, computed what",
)
def audit_log(
    catalog: CatalogDep,
    _: AdminDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_STORED_INT)] = 0,
    scenario_id: str | None = None,
) -> AuditPage:
    items, total = catalog.repo.audit_entries(limit, offset, scenario_id)
    return AuditPage.model_validate(
        {"items": items, "total": total, "limit": limit, "offset": offset}
    )
