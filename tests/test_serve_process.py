"""`safe-passage serve --demo` as a real process on 127.0.0.1, spoken to over a socket.

It prints a planner token and the map address once, answers on /v1, serves its
docs without any CDN, and stops cleanly on SIGTERM.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.api import REPO, SPEC_PATHS, assert_problem, load, template

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str
    token: str
    map_address: str
    stdout: Path
    stderr: Path
    data_dir: Path

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base, headers=headers, timeout=30)


def _wait_for_banner(process: subprocess.Popen[bytes], stdout: Path, stderr: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        text = stdout.read_text(encoding="utf-8", errors="replace")
        if "Map:" in text and text.endswith("\n"):
            return text
        if process.poll() is not None:
            pytest.fail(f"serve exited with {process.returncode}:\n{stderr.read_text()}")
        time.sleep(0.1)
    pytest.fail(f"no 'Map:' line within {START_TIMEOUT_S} s; stdout: {stdout.read_text()!r}")


def _wait_for_health(process: subprocess.Popen[bytes], base: str, stderr: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    last = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"serve exited with {process.returncode}:\n{stderr.read_text()}")
        try:
            response = httpx.get(f"{base}/v1/health", timeout=2)
            if response.status_code == 200 and response.json()["status"] == "ok":
                return
            last = response.text
        except httpx.TransportError as exc:
            last = repr(exc)
        time.sleep(0.1)
    pytest.fail(f"/v1/health not ok within {START_TIMEOUT_S} s: {last}")


@contextmanager
def serve_demo(tmp: Path) -> Iterator[Server]:
    """``safe-passage serve --demo`` as a process of its own on a free port, with its data
    under ``tmp``; stopped (terminated, killed if it lingers) when the block ends."""
    data_dir = tmp / "data"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFE_PASSAGE_")}
    env["SAFE_PASSAGE_DATA_DIR"] = str(data_dir)
    stdout, stderr = tmp / "stdout.txt", tmp / "stderr.txt"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--demo", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=err,
        )
    try:
        banner = _wait_for_banner(process, stdout, stderr)
        token = re.search(r"^Token: (\S+)$", banner, re.MULTILINE)
        address = re.search(r"^Map: (\S+)$", banner, re.MULTILINE)
        assert token and address, banner
        base = f"http://127.0.0.1:{port}"
        _wait_for_health(process, base, stderr)
        yield Server(process, base, token[1], address[1], stdout, stderr, data_dir)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve_demo(tmp_path_factory.mktemp("serve")) as served:
        yield served


def test_the_banner_prints_the_token_once_and_the_map_address_with_it(server: Server) -> None:
    assert server.map_address == f"{server.base}/#token={server.token}"
    assert server.stdout.read_text().count(server.token) == 2  # "Token:" and "Map:" lines
    assert server.token not in server.stderr.read_text()
    assert list(server.data_dir.glob("*.sqlite3")), "the database is not in SAFE_PASSAGE_DATA_DIR"


def test_a_route_over_the_socket(server: Server) -> None:
    with server.client(server.token) as client:
        listed = client.get("/v1/scenarios").json()
        assert {i["id"] for i in listed["items"]} >= {"teaching", "aleppo-2016-12"}
        response = client.post(
            "/v1/scenarios/teaching/routes",
            json={"from": "hilltop", "to": "camp", "at": "2025-03-01T08:00:00+00:00"},
        )
        assert response.status_code == 200, response.text
        (route,) = response.json()["routes"]
        # graphs/README.md worked example: route B.
        assert route["nodes"] == ["hilltop", "mill", "ford", "camp"]
        assert route["survival_probability"] == pytest.approx(0.98 * 0.97 * 0.99, rel=1e-12)
        aleppo = client.post(
            "/v1/scenarios/aleppo-2016-12/routes",
            json={"from": "al-ansari-mashhad", "to": "al-rashideen"},
        )
        assert aleppo.json()["routes"][0]["nodes"][-1] == "al-rashideen"
        # The demo token is a planner's: it may not manage tokens.
        assert_problem(client.get("/v1/tokens"), 403, "forbidden")
    with server.client() as anonymous:
        assert_problem(anonymous.get("/v1/scenarios"), 401, "unauthorized")


def test_racing_puts_over_the_socket_have_one_winner(server: Server) -> None:
    with server.client(server.token) as client:
        created = client.post("/v1/scenarios", json=load(REPO / "graphs" / "teaching.json"))
        assert created.status_code == 201
        url, etag = created.headers["Location"], created.headers["ETag"]
        document = client.get(url).json()
    writers = 8
    barrier = threading.Barrier(writers)
    statuses: list[int] = []

    def put(k: int) -> None:
        with server.client(server.token) as own:
            barrier.wait(timeout=30)
            response = own.put(url, json={**document, "name": f"v{k}"}, headers={"If-Match": etag})
            statuses.append(response.status_code)

    threads = [threading.Thread(target=put, args=(k,)) for k in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert Counter(statuses) == {200: 1, 412: writers - 1}
    with server.client(server.token) as client:
        assert len(client.get(f"{url}/versions").json()["versions"]) == 2


def test_the_docs_use_no_cdn_and_openapi_lists_the_spec(server: Server) -> None:
    with server.client() as client:
        docs = client.get("/docs")
        assert docs.status_code == 200
        assert not re.search(r"https?://", docs.text), "the docs page loads something remote"
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", docs.text)
        assert assets and all(a.startswith("/static/") for a in assets), assets
        for asset in assets:
            assert client.get(asset).status_code == 200, asset
        paths = client.get("/openapi.json").json()["paths"]
        offered = {(m.upper(), template(p)) for p, item in paths.items() for m in item}
        assert set(SPEC_PATHS) - offered == set()
        assert client.get("/").status_code == 200


def json_lines(path: Path) -> list[dict[str, object]]:
    """Every line of a log file, each of which must be one JSON object."""
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def test_its_log_lines_and_uvicorns_are_json(server: Server) -> None:
    with server.client() as client:
        answered = client.get("/v1/health", headers={"X-Request-ID": "log-line-test"})
        assert answered.status_code == 200
    entries = json_lines(server.stderr)
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    running = [e for e in entries if str(e["message"]).startswith("Uvicorn running on")]
    assert [(e["logger"], e["level"]) for e in running] == [("uvicorn.error", "info")]
    assert running[0]["message"] == f"Uvicorn running on {server.base} (Press CTRL+C to quit)"
    (access,) = [e for e in entries if e.get("request_id") == "log-line-test"]
    assert access["logger"] == "safe_passage.access"
    assert (access["method"], access["path"], access["route"], access["status"]) == (
        "GET",
        "/v1/health",
        "/v1/health",
        200,
    )
    assert isinstance(access["duration_ms"], float)
    # the service writes the access line; uvicorn's own is off (one line per request)
    assert not [e for e in entries if e["logger"] == "uvicorn.access"]


def test_sigterm_stops_it_cleanly(server: Server) -> None:
    """Last in this module: it stops the shared server.

    uvicorn shuts down gracefully and then re-raises the signal, so the exit
    status is that of SIGTERM (shells: 143), or 0. The service's lifespan closes
    the database: SQLite then folds its write-ahead log back into the main file
    and removes it, which a killed process leaves behind.
    """
    server.process.send_signal(signal.SIGTERM)
    try:
        code = server.process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"serve still running {STOP_TIMEOUT_S} s after SIGTERM")
    log = server.stderr.read_text()
    assert code in (0, -signal.SIGTERM), log
    assert "Traceback" not in log
    assert [e for e in json_lines(server.stderr) if e["level"] == "error"] == []
    assert any(e["message"] == "Application shutdown complete." for e in json_lines(server.stderr))
    assert list(server.data_dir.glob("*.sqlite3"))
    assert not list(server.data_dir.glob("*.sqlite3-wal")), "the database was not closed"
