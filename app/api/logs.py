"""Log lines of the service and of uvicorn, one JSON object per line (``SAFE_PASSAGE_LOG_JSON``).

Every line has ``time`` (local time with its UTC offset), ``level`` (lower case),
``logger`` and ``message``; then the record's own fields: the access line of
each request (logger ``safe_passage.access``) adds ``request_id``, ``method``,
``path``, ``route``, ``status`` and ``duration_ms``; an error adds ``error``,
its traceback. Formatting is python-json-logger's (see docs/observability.md for
why it and not structlog), with orjson as its encoder.

uvicorn's loggers (``uvicorn.error``: start, stop and errors; ``uvicorn.access``)
write the same kind of line: :func:`uvicorn_log_config` is the ``log_config``
``safe-passage serve`` gives uvicorn, so every worker process applies it.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.orjson import OrjsonFormatter

from app.config import Settings

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
#: Record attributes written under the service's names (python-json-logger's → ours).
RENAMED = {"asctime": "time", "levelname": "level", "name": "logger", "exc_info": "error"}
#: The loggers the service writes to.
SERVICE_LOGGER = "safe_passage"
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


class JsonLines(OrjsonFormatter):
    """A log record as one JSON object: the fields in the module docstring."""

    def __init__(self) -> None:
        super().__init__(
            ["asctime", "levelname", "name", "message"],
            datefmt=TIME_FORMAT,
            rename_fields=RENAMED,
            # uvicorn adds a copy of its message with terminal colours: not for a log store
            reserved_attrs=[*RESERVED_ATTRS, "color_message"],
        )

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        # uvicorn's access line passes its parts as arguments: give them the names the
        # service's own access line uses
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            client, method, path, http_version, status = args
            log_data.update(
                client=client, method=method, path=path, http_version=http_version, status=status
            )

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        log_data["level"] = str(log_data["level"]).lower()
        return log_data


def json_formatter() -> logging.Formatter:
    """The formatter of every JSON log line."""
    return JsonLines()


def configure_logging(settings: Settings) -> None:
    """Give the service's loggers a handler on stderr (once per process)."""
    root = logging.getLogger(SERVICE_LOGGER)
    if root.handlers:
        return  # configured already, e.g. by uvicorn_log_config in `safe-passage serve`
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_json:
        handler.setFormatter(json_formatter())
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False


def uvicorn_log_config(settings: Settings) -> dict[str, Any]:
    """The ``log_config`` for uvicorn: its loggers and the service's, on stderr.

    uvicorn's start and stop lines are written at ``info``; its access log is
    formatted too but ``safe-passage serve`` leaves it off, since the service
    writes a richer access line itself (request id, route template, duration).
    """
    if settings.log_json:
        formatter: dict[str, Any] = {"()": f"{__name__}.json_formatter"}
        uvicorn_formatter = formatter
    else:
        formatter = {"format": "%(message)s"}
        uvicorn_formatter = {
            "()": "uvicorn.logging.DefaultFormatter",
            "fmt": "%(levelprefix)s %(message)s",
        }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"service": formatter, "uvicorn": uvicorn_formatter},
        "handlers": {
            "service": {
                "class": "logging.StreamHandler",
                "formatter": "service",
                "stream": "ext://sys.stderr",
            },
            "uvicorn": {
                "class": "logging.StreamHandler",
                "formatter": "uvicorn",
                "stream": "ext://sys.stderr",
            },
        },
        "loggers": {
            SERVICE_LOGGER: {"handlers": ["service"], "level": "INFO", "propagate": False},
            "uvicorn": {"handlers": ["uvicorn"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": ["uvicorn"], "level": "INFO", "propagate": False},
        },
    }
