"""Liveness and storage status (no token needed)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app import __version__
from app.api.deps import CatalogDep
from app.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get(
    "/v1/health",
    response_model=Health,
    operation_id="get_health",
    summary="Service and storage status",
    responses={503: {"model": Health, "description": "Storage unreachable (status degraded)"}},
)
def health(catalog: CatalogDep) -> JSONResponse:
    backend = catalog.repo.engine.dialect.name
    try:
        ok = catalog.repo.ping()
    except Exception as exc:  # a health check reports, it does not fail
        body = {
            "status": "degraded",
            "version": __version__,
            "storage": {"backend": backend, "ok": False, "error": type(exc).__name__},
        }
        return JSONResponse(body, status_code=503)
    body = {
        "status": "ok" if ok else "degraded",
        "version": __version__,
        "storage": {"backend": backend, "ok": ok, "cached_versions": len(catalog.networks)},
    }
    return JSONResponse(body, status_code=200 if ok else 503)
