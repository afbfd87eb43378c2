"""How a brief is handed over (a light module: the command line reads it to parse options)."""

from __future__ import annotations

from enum import StrEnum


class BriefFormat(StrEnum):
    """How a brief is handed over: JSON (with the Markdown under ``markdown``), Markdown, or a
    printable self-contained HTML page."""

    json = "json"
    markdown = "markdown"
    html = "html"
