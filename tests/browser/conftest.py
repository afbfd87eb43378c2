"""Browser tests: a real ``safe-passage serve --demo`` on 127.0.0.1, driven by Debian's Chromium.

Chromium comes from Debian (``scripts/install-browser``; another binary:
``SAFE_PASSAGE_CHROMIUM``), never from ``playwright install``. Without it these tests are
skipped, or fail under ``SAFE_PASSAGE_REQUIRE_SERVICES=1`` (tests/conftest.py).
Screenshots go to ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.external import CHROMIUM

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT_S = 60.0


@dataclass
class Service:
    """A running service: its address, the planner token ``--demo`` printed, its environment."""

    base_url: str
    token: str
    env: dict[str, str]
    process: subprocess.Popen[str]

    def create_token(self, role: str, name: str | None = None) -> str:
        named = ["--name", name] if name else []
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", "token", "create", "--role", role, *named],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout.strip()

    def api(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """The service's own answer, to compare the page with."""
        sent = {"Authorization": f"Bearer {token or self.token}", **(headers or {})}
        response = httpx.request(method, self.base_url + path, json=body, headers=sent)
        return response


@dataclass
class Watch:
    """Everything a page asked for and complained about."""

    base_url: str
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def outside_requests(self) -> list[str]:
        """Requests to anything but this service (data: and blob: stay in the browser)."""
        return [
            url
            for url in self.requests
            if not (url.startswith(self.base_url + "/") or url.startswith(("data:", "blob:")))
        ]


BROWSER_TESTS = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)  # before tests/conftest.py reads the markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this directory drives Chromium: it is marked ``browser`` by where it
    lives, so that a new file cannot leave the mark out (one that did failed at setup on a
    machine without Chromium, where it must be skipped with the reason)."""
    for item in items:
        if BROWSER_TESTS in item.path.resolve().parents:
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _read_lines(stream: Any, into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """``python -m app.cli serve --demo`` on a free 127.0.0.1 port, data in a temporary folder."""
    data_dir = tmp_path_factory.mktemp("service-data")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFE_PASSAGE_")}
    env.update(
        {
            "SAFE_PASSAGE_DATA_DIR": str(data_dir),
            "SAFE_PASSAGE_LOG_JSON": "true",
            "COLUMNS": "250",  # the banner lines must not wrap
            "PYTHONUNBUFFERED": "1",
        }
    )
    log = (data_dir / "server.log").open("w")
    command = [sys.executable, "-m", "app.cli", "serve", "--demo", "--host", "127.0.0.1"]
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True).start()
    base_url = f"http://127.0.0.1:{port}"
    token = None
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while time.monotonic() < deadline and token is None:
            if process.poll() is not None:
                break
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            found = re.search(r"#token=(\S+)", line)
            if found:
                token = found.group(1)
        while token and time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(base_url + "/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        else:
            log.flush()
            pytest.fail(
                "safe-passage serve --demo did not start: "
                + (data_dir / "server.log").read_text()[-2000:],
                pytrace=False,
            )
        assert token is not None
        yield Service(base_url, token, env, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium under Playwright (one per session).

    tests/conftest.py has checked that the binary and Playwright are there.
    """
    from playwright.sync_api import sync_playwright

    manager = sync_playwright()
    playwright: Playwright = manager.start()
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    try:
        yield browser
    finally:
        browser.close()
        manager.__exit__(None, None, None)


OpenPage = Callable[..., tuple["Page", Watch]]


def watched_page(
    browser: Browser, base_url: str, path: str, width: int = 1500, height: int = 950
) -> tuple[Page, Watch]:
    """A page in a fresh browser context, recording requests, console errors and page errors."""
    context = browser.new_context(
        viewport={"width": width, "height": height}, accept_downloads=True
    )
    page = context.new_page()
    watch = Watch(base_url)
    page.on("request", lambda r: watch.requests.append(r.url))
    page.on(
        "console",
        lambda m: watch.console_errors.append(m.text) if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: watch.page_errors.append(str(e)))
    page.set_default_timeout(15_000)
    page.goto(base_url + path)
    return page, watch


@pytest.fixture
def open_page(chromium: Browser, service: Service) -> Iterator[OpenPage]:
    """Open a page of the service in a fresh browser context and watch what it does."""
    pages: list[Page] = []

    def opener(path: str = "/", width: int = 1500, height: int = 950) -> tuple[Page, Watch]:
        page, watch = watched_page(chromium, service.base_url, path, width, height)
        pages.append(page)
        return page, watch

    yield opener
    for page in pages:
        page.context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
