"""``If-Match`` (RFC 9110 §13.1.1): which stored version a writer read."""

from __future__ import annotations

from app.services.errors import PreconditionFailedError, PreconditionRequiredError
from app.services.requests import MAX_STORED_INT


def expected_version(header: str | None, *, required: bool) -> int | None:
    """The version named by an ``If-Match`` header; ``None`` for ``*`` or, when the header
    is optional, for no header.

    Raises :class:`PreconditionRequiredError` (428) when a required header is absent and
    :class:`PreconditionFailedError` (412) when it names no version.
    """
    if header is None or not header.strip():
        if not required:
            return None
        raise PreconditionRequiredError(
            "send 'If-Match' with the ETag of the version you read, e.g. If-Match: \"3\""
        )
    value = header.split(",")[0].strip()
    if value == "*":
        return None
    value = value.removeprefix("W/").strip('"')
    if not (value.isascii() and value.isdigit()) or int(value) >= MAX_STORED_INT:
        raise PreconditionFailedError(f"If-Match {header!r} is not a version ETag", None)
    return int(value)
