"""Dependencies shared by the routers: the catalog, the caller and their role."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import IO, Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.config import Settings
from app.services.access import Principal, authenticate, require
from app.services.catalog import Catalog
from app.services.plan_workers import PlanWorkers

bearer = HTTPBearer(auto_error=False, description="A token from `safe-passage token create`.")


def get_catalog(request: Request) -> Catalog:
    catalog: Catalog = request.app.state.catalog
    return catalog


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_plan_workers(request: Request) -> PlanWorkers:
    workers: PlanWorkers = request.app.state.plan_workers
    return workers


CatalogDep = Annotated[Catalog, Depends(get_catalog)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
PlanWorkersDep = Annotated[PlanWorkers, Depends(get_plan_workers)]


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

SPOOL_IN_MEMORY = 8 * 1024 * 1024
"""Uploads up to this size stay in memory; larger ones go to a temporary file."""


@dataclass
class Upload:
    """A request body spooled to a temporary file as it arrives."""

    file: IO[bytes]
    size: int


async def upload_body(request: Request) -> AsyncIterator[Upload]:
    """The body in a temporary file (scenario uploads may be hundreds of megabytes)."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        size = 0
        async for chunk in request.stream():
            spool.write(chunk)
            size += len(chunk)
        spool.seek(0)
        yield Upload(spool, size)


UploadBody = Annotated[Upload, Depends(upload_body)]
