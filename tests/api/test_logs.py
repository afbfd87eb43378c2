"""JSON log lines: the service's fields, and uvicorn's own lines in the same shape."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from app.api.logs import UVICORN_LOGGERS, json_formatter, uvicorn_log_config
from app.config import Settings

ACCESS_FIELDS = ("request_id", "method", "path", "route", "status", "duration_ms")


def record(name: str, message: str, *args: object, **extra: Any) -> logging.LogRecord:
    made = logging.LogRecord(name, logging.INFO, __file__, 1, message, args or None, None)
    made.__dict__.update(extra)
    return made


def test_an_access_line_keeps_the_services_field_names() -> None:
    fields = {
        "request_id": "abc123",
        "method": "POST",
        "path": "/v1/scenarios/teaching/routes",
        "route": "/v1/scenarios/{scenario_id}/routes",
        "status": 200,
        "duration_ms": 3.25,
    }
    line = json_formatter().format(record("safe_passage.access", "request", **fields))
    entry = json.loads(line)
    assert list(entry) == ["time", "level", "logger", "message", *ACCESS_FIELDS]
    assert entry == {
        "time": entry["time"],
        "level": "info",
        "logger": "safe_passage.access",
        "message": "request",
        **fields,
    }
    # local time to the second with its UTC offset, as before: 2026-01-31T12:00:00+0000
    assert time.strptime(entry["time"], "%Y-%m-%dT%H:%M:%S%z")
    assert "\n" not in line


def test_an_error_line_carries_the_traceback_in_error() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        failed = logging.LogRecord(
            "safe_passage.api",
            logging.ERROR,
            __file__,
            1,
            "unexpected error on %s %s",
            ("GET", "/v1/x"),
            sys.exc_info(),
        )
    entry = json.loads(json_formatter().format(failed))
    assert entry["level"] == "error"
    assert entry["message"] == "unexpected error on GET /v1/x"
    assert entry["error"].startswith("Traceback (most recent call last):")
    assert entry["error"].endswith("ValueError: boom")


@pytest.fixture
def restored_loggers() -> Iterator[None]:
    """uvicorn applies its log_config to the process's loggers: put them back afterwards."""
    names = ("safe_passage", *UVICORN_LOGGERS)
    saved = {}
    for name in names:
        logger = logging.getLogger(name)
        saved[name] = (list(logger.handlers), logger.level, logger.propagate, logger.disabled)
    yield
    for name, (handlers, level, propagate, disabled) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate, logger.disabled = propagate, disabled


async def ping(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": f"{message['type']}.complete"})  # startup, then shutdown
            if message["type"] == "lifespan.shutdown":
                return
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def run_uvicorn(log_config: dict[str, Any]) -> list[str]:
    """Serve :func:`ping` on 127.0.0.1 with uvicorn's access log on, ask once, stop."""
    config = uvicorn.Config(
        ping, host="127.0.0.1", port=0, log_config=log_config, access_log=True, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        assert httpx.get(f"http://127.0.0.1:{port}/ping?x=1", timeout=10).status_code == 204
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    stream = log_config["handlers"]["uvicorn"]["stream"]
    return [line for line in stream.getvalue().splitlines() if line]


def test_uvicorns_start_and_access_lines_are_json(restored_loggers: None) -> None:
    log_config = uvicorn_log_config(Settings(log_json=True))
    log_config["handlers"]["uvicorn"]["stream"] = io.StringIO()
    entries = [json.loads(line) for line in run_uvicorn(log_config)]  # every line is JSON
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    assert all("color_message" not in e for e in entries)
    running = [e for e in entries if e["message"].startswith("Uvicorn running on http://127.0.0.1")]
    assert [(e["logger"], e["level"]) for e in running] == [("uvicorn.error", "info")]
    (access,) = [e for e in entries if e["logger"] == "uvicorn.access"]
    assert access["method"] == "GET"
    assert access["path"] == "/ping?x=1"
    assert access["status"] == 204
    assert access["http_version"] == "1.1"
    assert access["client"].startswith("127.0.0.1:")
    assert any(e["message"] == "Application shutdown complete." for e in entries)


def test_without_json_uvicorn_writes_its_usual_lines(restored_loggers: None) -> None:
    log_config = uvicorn_log_config(Settings(log_json=False))
    log_config["handlers"]["uvicorn"]["stream"] = io.StringIO()
    lines = run_uvicorn(log_config)
    assert any(line.startswith("INFO:") and "Uvicorn running on" in line for line in lines)
    assert not any(line.startswith("{") for line in lines)
