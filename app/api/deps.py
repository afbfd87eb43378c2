"""Dependencies shared by the routers: the catalog, the caller and their role."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.config import Settings
from app.services.access import Principal, authenticate, require
from app.services.catalog import Catalog

bearer = HTTPBearer(auto_error=False, description="A token from `safe-passage token create`.")


def get_catalog(request: Request) -> Catalog:
    catalog: Catalog = request.app.state.catalog
    return catalog


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


CatalogDep = Annotated[Catalog, Depends(get_catalog)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def get_principal(
    catalog: CatalogDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    return authenticate(catalog.repo, credentials.credentials if credentials else None)


def viewer(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    return require(principal, "viewer")


def planner(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    return require(principal, "planner")


def admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    return require(principal, "admin")


ViewerDep = Annotated[Principal, Depends(viewer)]
PlannerDep = Annotated[Principal, Depends(planner)]
AdminDep = Annotated[Principal, Depends(admin)]


async def raw_body(request: Request) -> bytes:
    """The request body as bytes (read in the event loop; limited by the body-size middleware)."""
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]
