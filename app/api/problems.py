"""Every error as an RFC 9457 problem document, rendered in one place.

Domain and service errors map to statuses here; FastAPI's own validation
errors, 404, 405 and 413 are rewritten into the same shape. Nothing else
reaches the client: an unexpected error is a 500 problem without a trace.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.domain.errors import (
    DocumentTooLargeError,
    InvalidRequestError,
    NoAnswerError,
    NotFoundError,
    ScenarioError,
    ValidationError,
    pointer,
    problem_type,
)
from app.services.errors import (
    AuthenticationError,
    ConflictError,
    PermissionDeniedError,
    PreconditionFailedError,
    PreconditionRequiredError,
    UnsupportedMediaTypeError,
)

log = logging.getLogger("safe_passage.api")

PROBLEM_JSON = "application/problem+json"

STATUS_BY_ERROR: list[tuple[type[ScenarioError], int]] = [
    (DocumentTooLargeError, 413),
    (UnsupportedMediaTypeError, 415),
    (InvalidRequestError, 422),
    (ValidationError, 422),
    (NoAnswerError, 422),
    (NotFoundError, 404),
    (AuthenticationError, 401),
    (PermissionDeniedError, 403),
    (PreconditionRequiredError, 428),
    (PreconditionFailedError, 412),
    (ConflictError, 409),
]

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    412: "Precondition failed",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    428: "Precondition required",
    500: "Internal server error",
}

SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    412: "precondition-failed",
    413: "too-large",
    415: "unsupported-media-type",
    422: "invalid-request",
    428: "precondition-required",
    500: "internal-error",
}


def status_of(exc: ScenarioError) -> int:
    for cls, status in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status
    return 400


def problem(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem_type(slug or SLUGS.get(status, "error")),
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def from_error(exc: ScenarioError, instance: str | None = None) -> JSONResponse:
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return problem(
        status,
        exc.detail,
        slug=exc.slug,
        title=exc.title,
        instance=instance,
        headers=headers,
        **exc.extra(),
    )


def request_validation_problems(exc: RequestValidationError) -> list[dict[str, str]]:
    """FastAPI's error list as ``{pointer, detail}`` with pointers into the request body."""
    out = []
    for err in exc.errors():
        loc = list(err.get("loc", ()))
        where = loc[0] if loc else "body"
        rest = [p for p in loc[1:] if not (isinstance(p, str) and "[" in p)]
        # In the body the pointer is into the JSON; elsewhere it names the parameter.
        ptr = pointer(*rest) if where == "body" else pointer(str(where), *rest)
        msg = str(err.get("msg", "invalid"))
        if err.get("type") == "extra_forbidden" and rest:
            msg = f"unknown field {rest[-1]!r}"
        elif err.get("type") == "missing" and rest:
            msg = f"{rest[-1]!r} is required"
        elif err.get("type") == "json_invalid":
            ptr = ""
            msg = "the body is not valid JSON"
        out.append({"pointer": ptr, "detail": msg})
    return out


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem document."""

    @app.exception_handler(ScenarioError)
    async def scenario_error(request: Request, exc: ScenarioError) -> JSONResponse:
        return from_error(exc, instance=request.url.path)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = request_validation_problems(exc)
        n = len(errors)
        return problem(
            422,
            f"{n} problem{'s' if n != 1 else ''} in the request",
            slug="invalid-request",
            title="Invalid request",
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "")
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"nothing at {request.url.path}"
        if exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
        return problem(
            exc.status_code,
            detail,
            instance=request.url.path,
            headers=dict(exc.headers) if exc.headers else None,
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(
            500,
            "the service failed to answer; the error was logged",
            instance=request.url.path,
        )
