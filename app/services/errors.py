"""Errors of the use cases (stored scenarios, versions, access), beside the domain's."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from app.domain.errors import (
    InvalidRequestError,
    NotFoundError,
    Problem,
    QuestionError,
    ScenarioError,
    ValidationError,
    escape_pointer_token,
)

REQUEST_FIELDS: dict[str, str] = {
    "origin": "/from",
    "destination": "/to",
    "avoided_parties": "/avoid_parties",
    "profile": "/profile",
    "alternatives": "/alternatives",
    "max_overlap": "/max_overlap",
    "pareto_cap": "/pareto_cap",
    "method": "/method",
    "horizon": "/end",
    "fleet": "/fleet",
    "vehicles": "/vehicles",
}
"""Where each part of a question is in a request (HTTP body, or the CLI's flags under the
same names). A plan's horizon is ``/end``, or ``/window`` when the request names one."""


def request_error(
    error: QuestionError, fields: Mapping[str, str] | None = None
) -> InvalidRequestError:
    """``error`` with JSON pointers into the request: :data:`REQUEST_FIELDS`, updated with
    ``fields``. The one place where the domain's words become the request's."""
    where = {**REQUEST_FIELDS, **(fields or {})}
    problems = [
        Problem(
            where[f.subject] + ("" if f.item is None else "/" + escape_pointer_token(f.item)),
            f.detail,
        )
        for f in error.faults
    ]
    return InvalidRequestError(problems, detail=error.detail)


@contextmanager
def in_request_terms(**fields: str) -> Iterator[None]:
    """Raise :func:`request_error` of any :class:`QuestionError` raised inside."""
    try:
        yield
    except QuestionError as error:
        raise request_error(error, fields) from error


class ScenarioNotFoundError(NotFoundError):
    title = "Scenario not found"
    slug = "not-found"


class PreconditionRequiredError(ScenarioError):
    title = "Precondition required"
    slug = "precondition-required"


class PreconditionFailedError(ScenarioError):
    title = "Precondition failed"
    slug = "precondition-failed"

    def __init__(self, detail: str, current_version: int | None) -> None:
        super().__init__(detail)
        self.current_version = current_version

    def extra(self) -> dict[str, Any]:
        return {"current_version": self.current_version}


class ConflictError(ScenarioError):
    title = "Conflict"
    slug = "conflict"


class AuthenticationError(ScenarioError):
    title = "Unauthorized"
    slug = "unauthorized"


class PermissionDeniedError(ScenarioError):
    title = "Forbidden"
    slug = "forbidden"


class UnsupportedMediaTypeError(InvalidRequestError):
    title = "Unsupported media type"
    slug = "unsupported-media-type"


class UnavailableError(ScenarioError):
    """The service cannot take the question now (busy, or a worker stopped); ask again later."""

    title = "Service unavailable"
    slug = "unavailable"

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


def under(prefix: str, exc: ValidationError) -> ValidationError:
    """The same problems with their pointers under ``prefix`` (the edit list's place in the
    request)."""
    return ValidationError([Problem(prefix + p.pointer, p.detail) for p in exc.problems])
