"""ASGI middleware: request body limit, security headers, request ids and access logs."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("safe_passage.access")

MAP_CSP = (
    "default-src 'self'; img-src 'self' data: {tiles}; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'"
)
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'"
)


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit} bytes")


SCENARIO_UPLOAD = re.compile(r"^/v1/scenarios(/[^/]+)?/?$")
"""POST /v1/scenarios and PUT /v1/scenarios/{id}: scenario documents, which may be large."""


class BodyLimit:
    """Refuse bodies over ``limit`` bytes: at once by Content-Length, else while streaming.

    Scenario uploads (:data:`SCENARIO_UPLOAD`) may be up to ``scenario_limit`` bytes.
    """

    def __init__(self, app: ASGIApp, limit: int, scenario_limit: int | None = None) -> None:
        self.app = app
        self.default_limit = limit
        self.scenario_limit = max(limit, scenario_limit or limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope.get("method") in ("POST", "PUT") and bool(
            SCENARIO_UPLOAD.match(scope.get("path", ""))
        )
        limit = self.scenario_limit if upload else self.default_limit
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await _send_problem(send, 413, limit, scope)
                    return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited, send)


async def _send_problem(send: Send, status: int, limit: int, scope: Scope) -> None:
    body = json.dumps(
        {
            "type": "/problems/too-large",
            "title": "Content too large",
            "status": status,
            "detail": f"the request body is larger than the limit of {limit} bytes",
            "instance": scope.get("path", ""),
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """Headers for every response; a strict Content-Security-Policy on pages."""

    def __init__(self, app: ASGIApp, tile_origin: str = "") -> None:
        self.app = app
        self.map_csp = MAP_CSP.format(tiles=tile_origin).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                if path.startswith("/docs") or path.startswith("/redoc"):
                    headers.append((b"content-security-policy", DOCS_CSP.encode()))
                elif not path.startswith("/v1/"):
                    headers.append((b"content-security-policy", self.map_csp))
                if path.startswith("/v1/"):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class RequestLog:
    """A request id on every response (``X-Request-ID``) and one JSON log line per request."""

    def __init__(self, app: ASGIApp, observe: Any = None) -> None:
        self.app = app
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming[:64] if incoming.isprintable() and incoming else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def tagged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, tagged)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            if self.observe is not None:
                self.observe(scope["method"], template, status, elapsed)
            log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope.get("path"),
                    "route": template,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
