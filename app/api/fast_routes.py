"""Route questions answered before FastAPI's routing and dependencies, when nothing is unusual.

``POST /v1/scenarios/{id}/routes`` is the service's most frequent request, and on a small
scenario its answer takes less time than FastAPI takes to find the operation among the
others and solve its dependencies (about 150 µs of 300 µs on the project machine). This
middleware answers it directly when the request is plain:

- no query string (no ``version``);
- ``Content-Type: application/json`` and a ``Content-Length`` of at most 64 KiB;
- a bearer token looked up within the last second (:class:`~app.services.access.TokenCache`)
  whose role is planner or admin;
- a body that reads as JSON and validates as a :class:`~app.services.requests.RouteRequest`
  as FastAPI reads and validates it (``json.loads``, then the model in Python mode);
- the scenario and version exist (else the error is FastAPI's to render).

The answer is :func:`~app.api.routers.compute.answer_route`'s, the function the operation
itself calls: the same bytes, the same audit record. Anything else — a missing or stale
token, another role, an invalid body, a query, an error while answering — goes on to
FastAPI untouched (the body already read is handed on as it came), which answers it as
always, problem documents included. The outer middlewares (request id, access log,
metrics, security headers, body limit) see both paths alike.

At start the operation's parameters are checked against those this path knows; if they
differ (someone added a parameter), this path stays off and logs why, rather than answer
without the new parameter.
"""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.routers import compute
from app.api.routers.compute import answer_route, routes
from app.domain.errors import ScenarioError
from app.services.access import Principal, TokenCache, require
from app.services.requests import RouteRequest

log = logging.getLogger("safe_passage.api")

MAX_BODY = 64 * 1024
"""Larger route questions go the usual way."""

KNOWN_PARAMETERS = {"scenario_id", "body", "request", "principal", "version"}
"""The parameters of :func:`~app.api.routers.compute.routes` this path answers for."""


def _operation() -> APIRoute | None:
    """The routes operation, if its parameters are those this path knows (its path is
    matched as the router declares it: were the router included under a prefix, no request
    would match, and every one would take the usual path)."""
    found = [r for r in compute.router.routes if isinstance(r, APIRoute) and r.endpoint is routes]
    if len(found) != 1:
        return None
    route = found[0]
    dependant = route.dependant
    names = {p.name for p in dependant.path_params + dependant.query_params}
    names |= {p.name for p in dependant.body_params + dependant.header_params}
    names |= {p.name for p in dependant.cookie_params}
    names |= {d.name for d in dependant.dependencies if d.name}
    if dependant.request_param_name:
        names.add(dependant.request_param_name)
    if not names <= KNOWN_PARAMETERS or "POST" not in (route.methods or ()):
        log.warning("route questions take the usual path: the operation's parameters changed")
        return None
    return route


class FastRoutes:
    """ASGI middleware: plain route questions answered directly (see the module docstring).

    Innermost of the service's middlewares, so that every other one applies to both paths.
    """

    def __init__(self, app: ASGIApp, service: FastAPI) -> None:
        self.app = app
        self.service = service
        self._route: APIRoute | None = None
        self._checked = False

    def _target(self) -> APIRoute | None:
        if not self._checked:  # the operations are all added once the first request comes
            self._route = _operation()
            self._checked = True
        return self._route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["query_string"]
            or not scope["path"].endswith("/routes")
        ):
            await self.app(scope, receive, send)
            return
        route = self._target()
        matched = route.path_regex.match(scope["path"]) if route is not None else None
        principal = self._principal(scope) if matched is not None else None
        if route is None or matched is None or principal is None:
            await self.app(scope, receive, send)
            return
        body, messages = await _read_body(receive)
        answer = None
        if body is not None:
            question = _question(body)
            if question is not None:
                try:
                    answer = await answer_route(
                        self.service.state,
                        scope["path"],
                        matched.group("scenario_id"),
                        question,
                        principal,
                        None,
                    )
                except ScenarioError:
                    answer = None  # the scenario or version: FastAPI's to render
        if answer is None:
            await self.app(scope, _replay(messages, receive), send)
            return
        scope["route"] = route  # what the access log and the metrics name the request by
        scope["endpoint"] = route.endpoint
        scope["path_params"] = {"scenario_id": matched.group("scenario_id")}
        await send(
            {"type": "http.response.start", "status": answer.status, "headers": answer.headers}
        )
        await send({"type": "http.response.body", "body": answer.body})

    def _principal(self, scope: Scope) -> Principal | None:
        """The planner (or admin) sending a token looked up within the last second, or None."""
        authorization = content_type = length = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"content-type":
                content_type = value
            elif name == b"content-length":
                length = value
        if content_type != b"application/json" or authorization is None or length is None:
            return None
        if not length.isdigit() or int(length) > MAX_BODY:
            return None
        scheme, _, secret = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not secret:
            return None
        tokens: TokenCache = self.service.state.tokens
        principal = tokens.fresh(secret)
        if principal is None:
            return None
        try:
            return require(principal, "planner")
        except ScenarioError:
            return None


async def _read_body(receive: Receive) -> tuple[bytes | None, list[Message]]:
    """The whole body, and the messages it came in (None: the client went away)."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return None, messages
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), messages


def _question(body: bytes) -> RouteRequest | None:
    """The body as FastAPI reads a JSON body into the operation's model, or None if that
    would fail (FastAPI then says why)."""
    try:
        return RouteRequest.model_validate(json.loads(body))
    except Exception:
        return None


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """``receive`` that first gives back the messages already read."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
