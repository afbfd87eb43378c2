"""The optional tile layer (SAFE_PASSAGE_TILE_URL): used when set, allowed by the page's CSP."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import uvicorn

from app.api.app import create_app
from app.config import Settings
from tests.browser.conftest import watched_page

if TYPE_CHECKING:
    from playwright.sync_api import Browser


# A 1×1 grey PNG: what the stand-in tile server answers for every tile.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGP4DwABAQEAWk1v8QAAAABJRU5ErkJggg=="
)


class TileServer(ThreadingHTTPServer):
    requested: list[str]


class Tiles(BaseHTTPRequestHandler):
    server: TileServer

    def do_GET(self) -> None:
        self.server.requested.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(PNG)))
        self.end_headers()
        self.wfile.write(PNG)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def tile_server() -> Iterator[TileServer]:
    server = TileServer(("127.0.0.1", 0), Tiles)
    server.requested = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def service_with_tiles(tmp_path: Path, tile_server: TileServer) -> Iterator[str]:
    """The service (uvicorn in a thread) configured with the stand-in tile server."""
    tile_port = tile_server.server_address[1]
    settings = Settings(
        data_dir=tmp_path, tile_url=f"http://127.0.0.1:{tile_port}/tiles/{{z}}/{{x}}/{{y}}.png"
    )
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=0, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the service did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_page_draws_tiles_from_the_configured_server_only(
    chromium: Browser, service_with_tiles: str, tile_server: TileServer
) -> None:
    page, watch = watched_page(chromium, service_with_tiles, "/")
    page.locator("#token-panel").wait_for(state="visible")
    page.locator(".leaflet-tile-loaded").first.wait_for()
    assert tile_server.requested
    assert all(p.startswith("/tiles/12/") and p.endswith(".png") for p in tile_server.requested)
    tile_origin = f"http://127.0.0.1:{tile_server.server_address[1]}/"
    assert [u for u in watch.outside_requests() if not u.startswith(tile_origin)] == []
    assert "127.0.0.1" in page.inner_text(".leaflet-control-attribution")
    assert watch.console_errors == []  # in particular, no CSP violation
    assert watch.page_errors == []
