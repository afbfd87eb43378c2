"""Errors of the use cases (stored scenarios, versions, access), beside the domain's."""

from __future__ import annotations

from typing import Any

from app.domain.errors import InvalidRequestError, NotFoundError, ScenarioError


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
