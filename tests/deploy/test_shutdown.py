"""SIGTERM (``docker stop``, a rolling update) lets requests in flight finish.

The request in flight is a scenario upload whose body is still arriving when
the signal comes; it must be stored and answered 201, and the process must
then exit. New connections are refused as soon as the shutdown starts.
"""

from __future__ import annotations

import json
import signal
import socket
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import httpx

from app.storage.db import make_engine
from app.storage.repository import Repository
from tests.deploy import (
    Service,
    bearer,
    create_token,
    load_teaching,
    running,
    service_env,
)


def in_flight(service: Service) -> float:
    """Requests in flight on the service, not counting the scrape that asks."""
    text = httpx.get(f"{service.url}/metrics", timeout=10).text
    line = next(
        x for x in text.splitlines() if x.startswith("safe_passage_http_requests_in_flight ")
    )
    return float(line.split()[1]) - 1


def wait_until(condition: str, check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting until {condition}"
        time.sleep(0.05)


def refuses_connections(service: Service) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", service.port), timeout=2):
            return False
    except OSError:
        return True


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    sock.settimeout(60)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers["content-length"])
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed in the middle of the response body"
        body += chunk
    return int(status_line.split()[1]), headers, body


def test_a_request_in_flight_completes_after_sigterm(tmp_path: Path) -> None:
    env = service_env(tmp_path)
    token = create_token(env, "planner")
    body = json.dumps(load_teaching()).encode()
    half = len(body) // 2
    with running(env, tmp_path) as (service,):
        sock = socket.create_connection(("127.0.0.1", service.port), timeout=30)
        with sock:
            head = (
                "POST /v1/scenarios HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{service.port}\r\n"
                f"Authorization: {bearer(token)['Authorization']}\r\n"
                "Content-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            )
            sock.sendall(head.encode() + body[:half])
            wait_until("the upload is in flight", lambda: in_flight(service) == 1)

            service.process.send_signal(signal.SIGTERM)
            wait_until("the service stops accepting", lambda: refuses_connections(service))
            assert service.process.poll() is None, "the service quit with a request in flight"

            sock.sendall(body[half:])
            status, headers, answer = read_response(sock)

        assert status == 201, answer
        assert headers["etag"] == '"1"'
        scenario_id = json.loads(answer)["id"]
        # uvicorn re-raises the signal once it has finished, so the exit is "terminated by
        # SIGTERM" (143 in a container) rather than 0; a crash would be another status.
        assert service.process.wait(timeout=60) in (0, -signal.SIGTERM)

    engine = make_engine(f"sqlite:///{tmp_path / 'safe-passage.sqlite3'}")
    try:
        _, blob = Repository(engine).document_blob(scenario_id)
    finally:
        engine.dispose()
    assert blob is not None and json.loads(zlib.decompress(blob)) == load_teaching()
