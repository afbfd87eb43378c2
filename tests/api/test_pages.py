"""Health, the OpenAPI document, the docs page and the map page (no token needed for these)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.api import SPEC_PATHS, template

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])  # pages do not touch storage

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


def test_health_needs_no_token_and_names_the_storage(app_client: TestClient, backend: str) -> None:
    response = app_client.get("/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["storage"]["ok"] is True
    assert body["storage"]["backend"] == {"sqlite": "sqlite", "postgres": "postgresql"}[backend]


def openapi_operations(client: TestClient) -> set[tuple[str, str]]:
    paths = client.get("/openapi.json").json()["paths"]
    return {(method.upper(), template(path)) for path, item in paths.items() for method in item}


@sqlite_only
def test_openapi_lists_every_spec_operation(app_client: TestClient) -> None:
    assert set(SPEC_PATHS) - openapi_operations(app_client) == set()


@sqlite_only
def test_openapi_declares_bearer_auth_and_problem_types(app_client: TestClient) -> None:
    document = app_client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert any(s.get("scheme", "").lower() == "bearer" for s in schemes.values())
    put = document["paths"]["/v1/scenarios/{scenario_id}"]["put"]
    assert {"412", "428"} <= set(put["responses"])


@sqlite_only
def test_the_docs_page_loads_only_its_own_assets(app_client: TestClient) -> None:
    page = app_client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert not EXTERNAL.search(page.text), EXTERNAL.search(page.text)
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert assets
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert app_client.get(asset).status_code == 200, asset
    assert "/openapi.json" in page.text


@sqlite_only
def test_the_map_page_needs_no_token_and_loads_only_its_own_assets(
    app_client: TestClient,
) -> None:
    page = app_client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert not EXTERNAL.search(page.text), EXTERNAL.search(page.text)
    for asset in re.findall(r"""(?:src|href)=["']([^"'#]+)["']""", page.text):
        if asset.startswith(("data:", "mailto:")):
            continue
        assert app_client.get(asset).status_code == 200, asset
    assert "default-src 'self'" in page.headers["content-security-policy"]
