"""Loading scenario documents from files and bytes, within the limits of the settings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from app.domain.errors import DocumentTooLargeError, InvalidRequestError, Problem
from app.domain.scenario.document import parse_document
from app.domain.scenario.reading import validate_scenario

if TYPE_CHECKING:
    from app.config import Settings
    from app.domain.scenario.columns import CompactScenario


def load_scenario_bytes(raw: bytes, settings: Settings) -> CompactScenario:
    """Parse and validate a document (JSON or YAML), as the service reads a request body."""
    return validate_scenario(
        parse_document(raw, max_bytes=settings.max_body_bytes),
        max_nodes=settings.max_nodes,
        max_edges=settings.max_edges,
    )


def load_scenario_file(path: str | Path, settings: Settings) -> CompactScenario:
    """Read, parse and validate a scenario file (``.json``, ``.yaml``/``.yml`` or guessed).

    The limits are the service's (:class:`Settings`): JSON files of
    ``large_scenario_bytes`` or more (up to ``max_scenario_bytes``) are read item
    by item from the file; others are read whole, up to ``max_body_bytes``; at most
    ``max_nodes`` places and ``max_edges`` roads. Either way the scenario comes back as
    columns.
    """
    p = Path(path)
    fmt = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}.get(p.suffix.lower())
    try:
        size = p.stat().st_size
        if size >= settings.large_scenario_bytes and fmt != "yaml":
            if size > settings.max_scenario_bytes:
                raise _too_large(size, settings.max_scenario_bytes)
            # Only large files need the streaming reader and its storage encoding: the
            # command line answers small ones without loading SQLAlchemy.
            from app.services import large_scenarios as large

            with p.open("rb") as f:
                if large.looks_like_json(f):
                    return large.read_upload(f, settings)
        if size > settings.max_body_bytes:
            raise _too_large(size, settings.max_body_bytes)
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InvalidRequestError([Problem("", f"no such file: {p}")]) from None
    except IsADirectoryError:
        raise InvalidRequestError([Problem("", f"{p} is a directory, not a file")]) from None
    except PermissionError:
        raise InvalidRequestError([Problem("", f"cannot read {p}: permission denied")]) from None
    return validate_scenario(
        parse_document(raw, max_bytes=settings.max_body_bytes, fmt=fmt),
        max_nodes=settings.max_nodes,
        max_edges=settings.max_edges,
    )


def _too_large(size: int, limit: int) -> DocumentTooLargeError:
    return DocumentTooLargeError(
        [Problem("", f"the document is {size} bytes; the limit is {limit} bytes")],
        detail=f"document larger than {limit} bytes",
    )
