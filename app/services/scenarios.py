"""Loading scenario documents from files and bytes."""

from __future__ import annotations

from pathlib import Path

from app.domain.compact import CompactScenario
from app.domain.document import DEFAULT_MAX_BYTES, parse_document
from app.domain.errors import DocumentTooLargeError, InvalidRequestError, Problem
from app.domain.large_document import read_large_scenario, validate_scenario
from app.services import large_scenarios as large


def load_scenario_bytes(raw: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> CompactScenario:
    """Parse and validate a document (JSON or YAML)."""
    return validate_scenario(parse_document(raw, max_bytes=max_bytes))


LARGE_FILE_BYTES = 8 * 1024 * 1024
"""JSON files at least this big are read item by item into columns (see large_scenarios)."""

MAX_LARGE_FILE_BYTES = 4 * 1024 * 1024 * 1024
"""Largest JSON file read as columns (bytes)."""


def load_scenario_file(
    path: str | Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    large_bytes: int = LARGE_FILE_BYTES,
    max_large_bytes: int = MAX_LARGE_FILE_BYTES,
) -> CompactScenario:
    """Read, parse and validate a scenario file (``.json``, ``.yaml``/``.yml`` or guessed).

    JSON files of ``large_bytes`` or more (up to ``max_large_bytes``) are read item
    by item from the file; others are read whole, up to ``max_bytes``. Either way
    the scenario comes back as columns.
    """
    p = Path(path)
    fmt = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}.get(p.suffix.lower())
    try:
        size = p.stat().st_size
        if size >= large_bytes and fmt != "yaml":
            if size > max_large_bytes:
                raise _too_large(size, max_large_bytes)
            with p.open("rb") as f:
                if large.looks_like_json(f):
                    return read_large_scenario(large.file_chunks(f))
        if size > max_bytes:
            raise _too_large(size, max_bytes)
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InvalidRequestError([Problem("", f"no such file: {p}")]) from None
    except IsADirectoryError:
        raise InvalidRequestError([Problem("", f"{p} is a directory, not a file")]) from None
    except PermissionError:
        raise InvalidRequestError([Problem("", f"cannot read {p}: permission denied")]) from None
    return validate_scenario(parse_document(raw, max_bytes=max_bytes, fmt=fmt))


def _too_large(size: int, limit: int) -> DocumentTooLargeError:
    return DocumentTooLargeError(
        [Problem("", f"the document is {size} bytes; the limit is {limit} bytes")],
        detail=f"document larger than {limit} bytes",
    )
