#!/usr/bin/env python3
"""JSON log lines per second: the service's formatter against the libraries it could use.

Usage (from the repository root)::

    PYTHONPATH=. python3 benchmarks/log_formatting.py            # the table
    PYTHONPATH=. python3 benchmarks/log_formatting.py --json     # one JSON document

Each formatter turns the same ``--records`` access records into lines (what
``safe_passage.access`` writes once per request: a message and six fields,
request id, method, path, route template, status, duration); only the
formatting is timed (CPU time of this process, so that other processes on a
shared machine count less), not creating the records or writing the lines.
Candidates:

* ``hand-written``: the formatter the service had before it used a library
  (``json.dumps`` of a dict), kept here as the baseline;
* ``python-json-logger``: ``JsonFormatter`` (standard ``json``) and
  ``OrjsonFormatter`` (orjson, already a dependency of the service);
* ``structlog``: ``ProcessorFormatter`` over standard-library records, with its
  ``JSONRenderer`` using ``json.dumps`` or ``orjson.dumps``;
* ``service``: :func:`app.api.logs.json_formatter`, the one the service uses
  (python-json-logger's ``OrjsonFormatter`` that also names uvicorn's access fields).

structlog is not a dependency of the service: ``pip install structlog`` for its rows.

All produce the same fields. Reported: lines per second (median of
``--repeat`` rounds) and one sample line each.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402
from pythonjsonlogger.core import RESERVED_ATTRS  # noqa: E402
from pythonjsonlogger.json import JsonFormatter  # noqa: E402
from pythonjsonlogger.orjson import OrjsonFormatter  # noqa: E402

from app.api.logs import json_formatter  # noqa: E402

FIELDS = ("request_id", "method", "path", "route", "status", "duration_ms")
DATEFMT = "%Y-%m-%dT%H:%M:%S%z"


class HandWritten(logging.Formatter):
    """The service's formatter before python-json-logger (baseline)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, DATEFMT),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in FIELDS:
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def pjl(cls: type[JsonFormatter] | type[OrjsonFormatter]) -> logging.Formatter:
    class Lowercase(cls):  # type: ignore[valid-type, misc]
        def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
            log_data["level"] = log_data["level"].lower()
            return log_data

    formatter: logging.Formatter = Lowercase(
        ["asctime", "levelname", "name", "message"],
        datefmt=DATEFMT,
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        reserved_attrs=[*RESERVED_ATTRS, "color_message"],
    )
    return formatter


def structlog_formatter(serializer: Any) -> logging.Formatter:
    import structlog

    def names(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
        record: logging.LogRecord = event["_record"]
        return {
            "time": event["time"],
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": event.pop("event"),
            **{k: v for k, v in event.items() if k in FIELDS},
        }

    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.processors.TimeStamper(fmt=DATEFMT, utc=False, key="time"),
            structlog.stdlib.ExtraAdder(allow=FIELDS),
        ],
        processors=[names, structlog.processors.JSONRenderer(serializer=serializer)],
    )


def orjson_text(value: Any, **_: Any) -> str:
    return orjson.dumps(value).decode()


def records(count: int) -> list[logging.LogRecord]:
    made = []
    for i in range(count):
        record = logging.LogRecord(
            "safe_passage.access", logging.INFO, __file__, 1, "request", None, None
        )
        record.__dict__.update(
            request_id=f"{i:032x}",
            method="POST",
            path="/v1/scenarios/aleppo-2016-12/routes",
            route="/v1/scenarios/{scenario_id}/routes",
            status=200,
            duration_ms=3.14,
        )
        made.append(record)
    return made


def measure(count: int, repeat: int) -> dict[str, dict[str, Any]]:
    candidates: dict[str, logging.Formatter] = {
        "hand-written (json)": HandWritten(),
        "python-json-logger JsonFormatter": pjl(JsonFormatter),
        "python-json-logger OrjsonFormatter": pjl(OrjsonFormatter),
        "service: app.api.logs.json_formatter()": json_formatter(),
    }
    if importlib.util.find_spec("structlog"):  # not a dependency of the service
        candidates["structlog ProcessorFormatter (json)"] = structlog_formatter(json.dumps)
        candidates["structlog ProcessorFormatter (orjson)"] = structlog_formatter(orjson_text)
    else:
        print("structlog is not installed (pip install structlog): its rows are left out")
    rounds: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeat):  # candidates take turns, so a busy moment hurts them alike
        for name, formatter in candidates.items():
            batch = records(count)
            started = time.process_time()
            for record in batch:
                formatter.format(record)
            rounds[name].append(count / (time.process_time() - started))
    results: dict[str, dict[str, Any]] = {}
    for name, formatter in candidates.items():
        line = formatter.format(records(1)[0])
        assert set(json.loads(line)) == {"time", "level", "logger", "message", *FIELDS}, line
        results[name] = {"lines_per_s": statistics.median(rounds[name]), "sample": line}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=20_000, help="records per round")
    parser.add_argument("--repeat", type=int, default=5, help="rounds; the median is shown")
    parser.add_argument("--json", action="store_true", help="one JSON document")
    args = parser.parse_args()
    results = measure(args.records, args.repeat)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(
        f"access records formatted per CPU second; median of {args.repeat} rounds "
        f"of {args.records:,}"
    )
    for name, result in results.items():
        print(f"{name:42} {result['lines_per_s']:>10,.0f} lines/s")
    print()
    for name, result in results.items():
        print(f"{name}:\n  {result['sample']}")


if __name__ == "__main__":
    main()
