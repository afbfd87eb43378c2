"""Loading scenario documents from files and bytes."""

from __future__ import annotations

from pathlib import Path

from app.domain.document import DEFAULT_MAX_BYTES, parse_document
from app.domain.errors import DocumentTooLargeError, InvalidRequestError, Problem
from app.domain.scenario import Scenario
from app.domain.validation import validate_scenario


def load_scenario_bytes(raw: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Scenario:
    """Parse and validate a document (JSON or YAML)."""
    return validate_scenario(parse_document(raw, max_bytes=max_bytes))


def load_scenario_file(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Scenario:
    """Read, parse and validate a scenario file (``.json``, ``.yaml``/``.yml`` or guessed)."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > max_bytes:
            raise DocumentTooLargeError(
                [Problem("", f"the document is {size} bytes; the limit is {max_bytes} bytes")],
                detail=f"document larger than {max_bytes} bytes",
            )
        raw = p.read_bytes()
    except FileNotFoundError:
        raise _unreadable(f"no such file: {p}") from None
    except IsADirectoryError:
        raise _unreadable(f"{p} is a directory, not a file") from None
    except PermissionError:
        raise _unreadable(f"cannot read {p}: permission denied") from None
    fmt = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}.get(p.suffix.lower())
    return validate_scenario(parse_document(raw, max_bytes=max_bytes, fmt=fmt))


def _unreadable(detail: str) -> InvalidRequestError:
    return InvalidRequestError([Problem("", detail)], detail=detail)
