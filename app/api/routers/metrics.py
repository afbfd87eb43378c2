"""``GET /metrics`` in the Prometheus text format, and the in-flight request count.

No token: like ``/v1/health`` it is for the load balancer and the monitoring
system, and it holds counts and timings only (route templates, never scenario
ids or documents). Do not route it to the public side of a load balancer.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.deps import CatalogDep
from app.services.metrics import CONTENT_TYPE, METRICS, CacheStats

router = APIRouter(tags=["health"])

#: The hook for :class:`app.api.middleware.RequestLog` (``observe=``).
observe = METRICS.observe_request
#: The hook the compute routers call as ``app.state.observe_compute(kind, seconds)``.
observe_compute = METRICS.observe_compute


@router.get(
    "/metrics",
    summary="Request, compute and cache metrics (Prometheus text format)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus exposition"}},
)
def metrics(catalog: CatalogDep) -> Response:
    cache = catalog.networks
    stats = CacheStats(hits=cache.hits, misses=cache.misses, entries_held=len(cache))
    return Response(METRICS.render(stats), media_type=CONTENT_TYPE)


class InFlight:
    """Counts HTTP requests from their headers to the end of their response.

    Graceful shutdown waits for exactly these; operators see them drain.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        METRICS.in_flight.add(1)
        try:
            await self.app(scope, receive, send)
        finally:
            METRICS.in_flight.add(-1)
