"""``GET /metrics`` in the Prometheus text format, and the in-flight request count.

No token: like ``/v1/health`` it is for the load balancer and the monitoring
system, and it holds counts and timings only (route templates, never scenario
ids or documents). Do not route it to the public side of a load balancer.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.services.metrics import CONTENT_TYPE, ServiceMetrics

router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    operation_id="get_metrics",
    summary="Request, compute and cache metrics (Prometheus text format)",
    response_class=Response,
    responses={
        200: {
            "content": {CONTENT_TYPE: {"schema": {"type": "string"}}},
            "description": "Prometheus exposition",
        }
    },
)
def metrics(request: Request) -> Response:
    service_metrics: ServiceMetrics = request.app.state.metrics
    return Response(service_metrics.render(), media_type=CONTENT_TYPE)


class InFlight:
    """Counts HTTP requests from their headers to the end of their response.

    Graceful shutdown waits for exactly these; operators see them drain.
    """

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.in_flight = metrics.in_flight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.in_flight.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight.dec()
