"""GET /v1/config: what the map page reads before it has a token (no browser needed)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from app.api.app import create_app
from app.config import Settings
from app.domain.scenario.profiles import BUILTIN_PROFILES


def client(tmp_path: Path, tile_url: str | None = None) -> TestClient:
    return TestClient(create_app(Settings(data_dir=tmp_path, tile_url=tile_url)))


def test_config_needs_no_token_and_names_no_tile_server_by_default(tmp_path: Path) -> None:
    with client(tmp_path) as http:
        response = http.get("/v1/config")
        page = http.get("/")
    assert response.status_code == 200
    body = response.json()
    assert body["tile_url"] is None
    assert body["default_profile"] == "general"
    assert [p["id"] for p in body["profiles"]] == list(BUILTIN_PROFILES)
    csp = page.headers["content-security-policy"]
    assert "img-src 'self' data: ;" in csp  # no tile origin allowed
    assert "script-src 'self';" in csp


def test_config_passes_the_tile_url_and_the_page_may_load_its_tiles(tmp_path: Path) -> None:
    url = "http://127.0.0.1:8081/tiles/{z}/{x}/{y}.png"
    with client(tmp_path, tile_url=url) as http:
        body = http.get("/v1/config").json()
        page = http.get("/")
    assert body["tile_url"] == url
    assert "img-src 'self' data: http://127.0.0.1:8081;" in page.headers["content-security-policy"]


def test_map_page_and_its_assets_are_served_without_a_token(tmp_path: Path) -> None:
    with client(tmp_path) as http:
        for path in (
            "/",
            "/static/app.js",
            "/static/geo.js",
            "/static/app.css",
            "/static/vendor/leaflet/leaflet.js",
            "/static/vendor/leaflet/leaflet.css",
            "/static/vendor/leaflet/LICENSE",
        ):
            assert http.get(path).status_code == 200, path
        html = http.get("/").text
    # CSP forbids inline scripts: every script of the page is a file of this service.
    assert "<script>" not in html
    assert '<script src="/static/app.js"></script>' in html
