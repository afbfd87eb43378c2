"""Dependencies shared by the routers: the catalog, the caller and their role.

They are ``async``: each is a few attribute reads, which FastAPI would otherwise run in
the thread pool, one hop per dependency per request. A token is looked up in the store
(in the thread pool) only when it was not looked up within the last second
(:class:`~app.services.access.TokenCache`).
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import IO, Annotated, TypeVar

import anyio
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State

from app.config import Settings
from app.services.access import Principal, TokenCache, require
from app.services.catalog import Catalog
from app.services.plan_workers import PlanWorkers

bearer = HTTPBearer(auto_error=False, description="A token from `safe-passage token create`.")


async def get_catalog(request: Request) -> Catalog:
    catalog: Catalog = request.app.state.catalog
    return catalog


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_plan_workers(request: Request) -> PlanWorkers:
    workers: PlanWorkers = request.app.state.plan_workers
    return workers


async def get_tokens(request: Request) -> TokenCache:
    tokens: TokenCache = request.app.state.tokens
    return tokens


T = TypeVar("T")


def store_readers(pool_size: int) -> anyio.CapacityLimiter:
    """How many requests may read the store from the thread pool at once on the hot path:
    one connection fewer than the pool keeps (one is left for the audit writer and token
    look-ups). More would open and close a connection per request beyond the pool."""
    return anyio.CapacityLimiter(max(1, pool_size - 1))


async def read_store(state: State, read: Callable[..., T], *args: object) -> T:
    """``read(*args)`` in the thread pool, at most :func:`store_readers` at a time
    (``state``: the application's)."""
    limiter: anyio.CapacityLimiter = state.store_readers
    return await anyio.to_thread.run_sync(read, *args, limiter=limiter)


CatalogDep = Annotated[Catalog, Depends(get_catalog)]
TokensDep = Annotated[TokenCache, Depends(get_tokens)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
PlanWorkersDep = Annotated[PlanWorkers, Depends(get_plan_workers)]


async def principal_of(request: Request, secret: str | None) -> Principal:
    """Who sends ``secret``: from memory if its token was looked up within the last second,
    else from the store (in the thread pool)."""
    tokens = await get_tokens(request)
    if secret:
        fresh = tokens.fresh(secret)
        if fresh is not None:
            return fresh
    return await run_in_threadpool(tokens.authenticate, secret)


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _secret(credentials: HTTPAuthorizationCredentials | None) -> str | None:
    return credentials.credentials if credentials else None


# One dependency per role, straight on the bearer scheme: FastAPI solves each level of
# dependencies on every request, at a cost comparable to a route on a small scenario.
async def viewer(request: Request, credentials: Credentials) -> Principal:
    return require(await principal_of(request, _secret(credentials)), "viewer")


async def planner(request: Request, credentials: Credentials) -> Principal:
    return require(await principal_of(request, _secret(credentials)), "planner")


async def admin(request: Request, credentials: Credentials) -> Principal:
    return require(await principal_of(request, _secret(credentials)), "admin")


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
