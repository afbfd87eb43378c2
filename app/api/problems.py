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
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.api import schemas
from app.domain.errors import (
    DocumentTooLargeError,
    InvalidRequestError,
    NoAnswerError,
    NotFoundError,
    QuestionError,
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
    UnavailableError,
    UnsupportedMediaTypeError,
    request_error,
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
    (UnavailableError, 503),
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
    503: "Service unavailable",
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
    503: "unavailable",
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


def problem_body(exc: ScenarioError) -> dict[str, Any]:
    """The problem document of an error, as a comparison embeds it for one side."""
    if isinstance(exc, QuestionError):
        exc = request_error(exc)
    status = status_of(exc)
    return {
        "type": problem_type(exc.slug or SLUGS.get(status, "error")),
        "title": exc.title or TITLES.get(status, "Error"),
        "status": status,
        "detail": exc.detail,
        **exc.extra(),
    }


def from_error(exc: ScenarioError, instance: str | None = None) -> JSONResponse:
    if isinstance(exc, QuestionError):  # asked outside a use case: the usual request fields
        exc = request_error(exc)
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, UnavailableError):
        headers = {"Retry-After": str(exc.retry_after_s)}
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


PROBLEM_TYPES = {
    "invalid-document": "The scenario document is invalid; `errors` lists every problem.",
    "invalid-request": "The request is invalid; `errors` lists each problem with a pointer.",
    "too-large": "The body is larger than the configured limit (SAFE_PASSAGE_MAX_BODY_BYTES).",
    "unsupported-media-type": "Send scenarios as application/json or application/yaml.",
    "no-route": "No usable route joins the two places; `cut` names the closures separating "
    "them (`places`: the origin or destination itself held by an avoided or non-consenting "
    "party), or says they are not connected at all.",
    "risk-limit": "Routes exist but none within `max_risk`; `best_risk` is the best possible.",
    "no-disjoint-pair": "No two routes share no road; `shared_roads` names the roads every "
    "route must use, and `route` is the safest route.",
    "nothing-to-evacuate": "Nobody can be evacuated: no people, no safe zone, or no usable "
    "way between them.",
    "no-answer": "The question is valid but has no answer.",
    "not-found": "No such scenario, version or resource.",
    "precondition-required": "Send If-Match with the ETag of the version you read.",
    "precondition-failed": "The scenario changed since the version you sent; read it again "
    "(`current_version` is the version now).",
    "conflict": "The resource exists or kept changing, or the job has no answer (yet): "
    "`state` says why.",
    "unauthorized": "Send a valid token: Authorization: Bearer TOKEN.",
    "forbidden": "The token's role does not allow this.",
    "bad-request": "The request could not be read.",
    "method-not-allowed": "That method is not allowed on that address.",
    "not-acceptable": "The service cannot answer in a format the request accepts.",
    "internal-error": "The service failed; the error was logged without details to the client.",
    "unavailable": "All plan workers are busy and the queue is full (SAFE_PASSAGE_PLAN_QUEUE), "
    "the worker computing the plan stopped, or the job queue could not take a job (broker "
    "unreachable): ask again after Retry-After seconds.",
}
"""Every problem ``type`` the service sends (``/problems/<slug>``), described at its address."""

PROBLEM_KINDS: dict[str, type[schemas.PlainProblem]] = {
    "invalid-document": schemas.InvalidProblem,
    "invalid-request": schemas.InvalidProblem,
    "too-large": schemas.InvalidProblem,
    "unsupported-media-type": schemas.InvalidProblem,
    "no-route": schemas.NoRouteProblem,
    "risk-limit": schemas.RiskLimitProblem,
    "no-disjoint-pair": schemas.NoDisjointPairProblem,
    "precondition-failed": schemas.PreconditionFailedProblem,
    "conflict": schemas.ConflictProblem,
}
"""The schema of each problem type with members of its own; the others are PlainProblem."""

PROBLEM_REF = {"$ref": schemas.PROBLEM_REF}

DESCRIPTIONS = {
    401: "No token, or an unknown or revoked one.",
    403: "The token's role does not allow this.",
    404: "No such scenario, version, token or place.",
    409: "The resource exists or kept changing.",
    412: "The scenario changed since that version.",
    413: "The body is larger than the configured limit.",
    415: "Unsupported media type.",
    422: "Invalid request; `errors` lists each problem with a pointer.",
    428: "If-Match is missing.",
    503: "Busy, or a worker stopped: ask again after Retry-After seconds.",
}

IF_MATCH_REQUIRED = "x-if-match-required"
"""Set in an operation's ``openapi_extra``: its If-Match header is required (428 without)."""


def problem_statuses(method: str, path: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses an operation can answer with, from what it takes."""
    statuses: set[int] = set()
    if operation.get("security"):
        statuses |= {401, 403}
    if "{" in path:
        statuses.add(404)
    if operation.get("parameters") or "requestBody" in operation:
        statuses.add(422)
    if "requestBody" in operation:
        statuses.add(413)
        if path in ("/v1/scenarios", "/v1/scenarios/{scenario_id}"):
            statuses.add(415)  # scenario documents: JSON or YAML only
    if_match = [
        p for p in operation.get("parameters", []) if p.get("name", "").lower() == "if-match"
    ]
    if if_match:
        statuses.add(412)
    if any(p.get("required") for p in if_match):
        statuses.add(428)
    if method == "post" and (path == "/v1/scenarios" or path.endswith("/incidents")):
        statuses.add(409)  # no free id, or incidents that kept racing
    return statuses


def add_components(components: dict[str, Any], *models: type[BaseModel]) -> None:
    """Each model's schema (and those it refers to) as named components."""
    for model in models:
        schema = model.model_json_schema(
            by_alias=True, ref_template="#/components/schemas/{model}", mode="serialization"
        )
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema


def problem_components(components: dict[str, Any]) -> None:
    """A component per kind of problem, ``type`` enumerated in each, and ``Problem``: one of
    them, told apart by ``type``."""
    kinds: list[type[schemas.PlainProblem]] = [
        schemas.PlainProblem,
        *dict.fromkeys(PROBLEM_KINDS.values()),
    ]
    add_components(components, *kinds)
    mapping: dict[str, str] = {}
    for kind in kinds:
        slugs = [s for s in PROBLEM_TYPES if PROBLEM_KINDS.get(s, schemas.PlainProblem) is kind]
        types = [problem_type(s) for s in slugs]
        components[kind.__name__]["properties"]["type"]["enum"] = types
        mapping.update(dict.fromkeys(types, f"#/components/schemas/{kind.__name__}"))
    components["Problem"] = {
        "title": "Problem",
        "description": "RFC 9457 problem document (application/problem+json); every error "
        "is one. `type` (`/problems/<slug>`, described at that address) tells its kind.",
        "oneOf": [{"$ref": f"#/components/schemas/{kind.__name__}"} for kind in kinds],
        "discriminator": {"propertyName": "type", "mapping": mapping},
    }


def require_if_match(operation: dict[str, Any]) -> None:
    """Mark the If-Match header of an operation that answers 428 without it as required."""
    if operation.pop(IF_MATCH_REQUIRED, False):
        for parameter in operation.get("parameters", []):
            if parameter.get("name", "").lower() == "if-match":
                parameter["required"] = True
                parameter["schema"] = {"type": "string"}


RETRY_AFTER = {
    "description": "Seconds to wait before asking again.",
    "required": True,
    "schema": {"type": "integer", "minimum": 0},
}
WWW_AUTHENTICATE = {"description": "Bearer.", "required": True, "schema": {"type": "string"}}


def document_problem_responses(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare each operation's problem responses as ``application/problem+json``.

    FastAPI would document a 422 of its own shape (``HTTPValidationError``) that
    the service never sends; every error is a :data:`Problem <PROBLEM_REF>`.
    """
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    problem_components(components)
    add_components(components, *schemas.REFERENCED)
    components.update(schemas.WRITTEN_OUT)
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            require_if_match(operation)
            responses = operation.setdefault("responses", {})
            for entry in responses.values():
                for spec in entry.get("content", {}).values():
                    if "schema" in spec:  # the route's own schema: no OpenAPI 3.2 itemSchema
                        spec.pop("itemSchema", None)
            wanted = {int(s) for s in responses if s.isdigit() and int(s) >= 400}
            wanted |= problem_statuses(method, path, operation)
            for status in sorted(wanted):
                if status == 503 and path == "/v1/health":
                    continue  # its own document, not a problem
                entry = responses.setdefault(str(status), {})
                entry.setdefault("description", DESCRIPTIONS.get(status, TITLES.get(status, "")))
                entry["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
                if status == 503:
                    entry["headers"] = {"Retry-After": RETRY_AFTER}
                if status == 401:
                    entry["headers"] = {"WWW-Authenticate": WWW_AUTHENTICATE}
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the application fully matches at the request's path."""
    allowed = []
    for method in METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


def install(app: FastAPI, components: tuple[type[BaseModel], ...] = ()) -> None:
    """Register the handlers that turn every error into a problem document; the OpenAPI
    document gets the problem schemas and ``components`` (request bodies FastAPI does not
    read itself, referred to by name)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = document_problem_responses(generate())
            add_components(document["components"]["schemas"], *components)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

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
        headers = dict(exc.headers) if exc.headers else {}
        if exc.status_code == 400 and exc.__cause__ is not None:
            # FastAPI's "error parsing the body": say what is wrong, as for invalid JSON.
            cause = exc.__cause__
            if isinstance(cause, UnicodeDecodeError):
                where = f"the body is not valid UTF-8 (byte {cause.start})"
            elif isinstance(cause, RecursionError):
                where = "the body is not valid JSON: it is nested too deeply"
            else:
                where = "the body could not be read as JSON"
            return problem(
                422,
                where,
                slug="invalid-request",
                title="Invalid request",
                instance=request.url.path,
                errors=[{"pointer": "", "detail": where}],
            )
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"nothing at {request.url.path}"
        if exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
            # Starlette names only the first route's methods; a path has one route per method.
            headers["Allow"] = ", ".join(allowed_methods(request))
        return problem(
            exc.status_code,
            detail,
            instance=request.url.path,
            headers=headers or None,
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(
            500,
            "the service failed to answer; the error was logged",
            instance=request.url.path,
        )
