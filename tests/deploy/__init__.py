"""Deployment tests: real ``safe-passage`` processes, PostgreSQL replicas, shutdown, metrics.

Helpers shared by these tests: a fresh PostgreSQL schema per test, free ports,
and service processes started exactly as an operator starts them.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.external import PG_DB, PG_HOST, PG_PORT, pg_connect

REPO = Path(__file__).resolve().parents[2]
GRAPHS = REPO / "graphs"
TEACHING = GRAPHS / "teaching.json"

SERVE = [sys.executable, "-m", "app.cli", "serve"]

#: How long a service process may take to import and migrate before it must answer (s).
START_TIMEOUT_S = 60.0


@contextmanager
def fresh_schema() -> Iterator[tuple[str, str, Any]]:
    """``(database_url, schema, connection)`` for a new schema, dropped afterwards."""
    from psycopg import sql

    conn, user = pg_connect()
    schema = "sp_deploy_" + secrets.token_hex(6)
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    url = (
        f"postgresql+psycopg://{user}@{PG_HOST}:{PG_PORT}/{PG_DB}?options=-csearch_path%3D{schema}"
    )
    try:
        yield url, schema, conn
    finally:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def service_env(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    """The environment of a service process: only SAFE_PASSAGE_* settings of this test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFE_PASSAGE_")}
    env["SAFE_PASSAGE_DATA_DIR"] = str(data_dir)
    env["SAFE_PASSAGE_DEMO_DIR"] = str(GRAPHS)
    env["SAFE_PASSAGE_LOG_JSON"] = "true"
    if database_url:
        env["SAFE_PASSAGE_DATABASE_URL"] = database_url
    return env


def create_token(env: dict[str, str], role: str) -> str:
    """A new token in the database of ``env`` (in this process: a CLI start costs seconds)."""
    from app.config import Settings
    from app.services.access import create_token as create
    from app.storage.db import make_engine, upgrade
    from app.storage.repository import Repository

    settings = Settings(
        data_dir=Path(env["SAFE_PASSAGE_DATA_DIR"]),
        database_url=env.get("SAFE_PASSAGE_DATABASE_URL"),
    )
    engine = make_engine(settings.resolved_database_url())
    try:
        upgrade(engine)
        _, secret = create(Repository(engine), role, f"deploy-test-{role}")
    finally:
        engine.dispose()
    return secret


@dataclass
class Service:
    """A running ``safe-passage serve`` process on 127.0.0.1."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, timeout=30)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = "\n".join(self.log_lines()[-30:])
                pytest.fail(f"the service exited with {self.process.returncode}:\n{tail}")
            try:
                if self.client.get("/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        pytest.fail(f"the service on port {self.port} did not answer /v1/health in time")

    def stop(self, timeout: float = 40) -> int:
        """SIGTERM, then wait for the graceful shutdown; return the exit status."""
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


def start_service(env: dict[str, str], log_dir: Path, *extra: str) -> Service:
    """Start ``safe-passage serve`` on a free port (not yet waited for)."""
    port = free_port()
    log_path = log_dir / f"serve-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*SERVE, "--host", "127.0.0.1", "--port", str(port), *extra],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Service(process, port, log_path)


@contextmanager
def running(env: dict[str, str], log_dir: Path, count: int = 1) -> Iterator[list[Service]]:
    """``count`` service processes started together, ready, and stopped afterwards."""
    services: list[Service] = []
    try:
        for _ in range(count):
            services.append(start_service(env, log_dir))
        for service in services:
            service.wait_ready()
        yield services
    finally:
        for service in services:
            if service.process.poll() is None:
                service.process.send_signal(signal.SIGTERM)
        for service in services:
            with suppress(subprocess.TimeoutExpired):
                service.stop()


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def load_teaching() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(TEACHING.read_text(encoding="utf-8"))
    return document
