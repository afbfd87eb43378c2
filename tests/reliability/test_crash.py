"""kill -9 in the middle of a burst of writes loses no acknowledged write and half-writes nothing.

A real ``safe-passage serve`` (SQLite file, or PostgreSQL on a fresh schema) takes
writes from eight threads at once: new scenarios, replacements with If-Match and
incident reports. Once enough have been acknowledged, and while more are in
flight, the process gets SIGKILL (no shutdown, no flush). A new process on the
same database must then show:

- every write answered 2xx, with exactly the document sent (by version);
- for every scenario, versions 1…current with no gap, the current version
  pointing at a stored row;
- every stored version complete: its compressed text decodes to JSON whose
  SHA-256 and size are the ones recorded with it;
- on SQLite, ``PRAGMA integrity_check`` ok.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import signal
import threading
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from app.storage.db import make_engine
from tests.deploy import bearer, create_token, fresh_schema, load_teaching, running, service_env

THREADS = 8
KILL_AFTER = 60
"""Acknowledged writes before the kill (the threads keep writing until it lands)."""


@dataclass
class Acked:
    """A write the server answered 2xx: the scenario, the version it made, what it holds."""

    scenario_id: str
    version: int
    document: dict[str, Any] | None = None
    incident_id: str | None = None


@dataclass
class Burst:
    acked: list[Acked] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    enough: threading.Event = field(default_factory=threading.Event)
    counter: Iterator[int] = field(default_factory=itertools.count)

    def record(self, write: Acked) -> None:
        with self.lock:
            self.acked.append(write)
            if len(self.acked) >= KILL_AFTER:
                self.enough.set()


def writer(url: str, token: dict[str, str], burst: Burst, worker: int) -> None:
    """Write until the server is gone: create, then replace and report in turn."""
    base = load_teaching()
    try:
        with httpx.Client(base_url=url, timeout=30, headers=token) as client:
            while True:
                n = next(burst.counter)
                created = {**base, "name": f"crash {worker}-{n}"}
                r = client.post("/v1/scenarios", json=created)
                if r.status_code != 201:
                    raise AssertionError(r.text)
                sid, version = r.json()["id"], r.json()["version"]
                burst.record(Acked(sid, version, document=created))
                for step in range(4):
                    if step % 2 == 0:
                        replaced = {**base, "name": f"crash {worker}-{n} v{version + 1}"}
                        r = client.put(
                            f"/v1/scenarios/{sid}",
                            json=replaced,
                            headers={"If-Match": f'"{version}"'},
                        )
                        if r.status_code != 200:
                            raise AssertionError(r.text)
                        version = r.json()["version"]
                        burst.record(Acked(sid, version, document=replaced))
                    else:
                        report = {
                            "id": f"r-{worker}-{n}-{step}",
                            "kind": "shelling",
                            "edges": ["ford--mill"],
                            "severity": 0.05,
                            "observed_at": "2025-03-01T09:00:00+00:00",
                        }
                        r = client.post(
                            f"/v1/scenarios/{sid}/incidents", json={"incidents": [report]}
                        )
                        if r.status_code != 201:
                            raise AssertionError(r.text)
                        version = r.json()["version"]
                        burst.record(Acked(sid, version, incident_id=report["id"]))
    except httpx.TransportError:
        return  # the server was killed: this write was never acknowledged


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_kill_9_mid_burst_keeps_every_acknowledged_write_whole(
    backend: str, tmp_path: Path
) -> None:
    with ExitStack() as stack:
        url = None
        if backend == "postgres":
            url, _, _ = stack.enter_context(fresh_schema())
        env = service_env(tmp_path, url)
        token = bearer(create_token(env, "planner"))
        burst = Burst()

        with running(env, tmp_path) as (service,), ThreadPoolExecutor(THREADS) as pool:
            done = [pool.submit(writer, service.url, token, burst, k) for k in range(THREADS)]
            assert burst.enough.wait(timeout=120), f"only {len(burst.acked)} writes answered"
            service.process.send_signal(signal.SIGKILL)
            service.process.wait(timeout=30)
            for future in done:
                future.result(timeout=60)  # a writer's AssertionError fails the test here
        assert service.process.returncode == -signal.SIGKILL
        acked = list(burst.acked)
        assert len(acked) >= KILL_AFTER

        with running(env, tmp_path) as (restarted,):
            check_acknowledged(restarted.client, token, acked)
            scenario_ids = {a.scenario_id for a in acked}
            check_history(restarted.client, token, scenario_ids)
        engine = make_engine(url or f"sqlite:///{tmp_path / 'safe-passage.sqlite3'}")
        stack.callback(engine.dispose)
        check_rows(engine)


def check_acknowledged(client: httpx.Client, token: dict[str, str], acked: list[Acked]) -> None:
    for write in acked:
        r = client.get(f"/v1/scenarios/{write.scenario_id}/versions/{write.version}", headers=token)
        assert r.status_code == 200, (write, r.text)
        if write.document is not None:
            assert r.json() == write.document, write
        else:
            assert write.incident_id in {i["id"] for i in r.json()["incidents"]}, write


def check_history(client: httpx.Client, token: dict[str, str], scenario_ids: set[str]) -> None:
    listed = client.get("/v1/scenarios?limit=200", headers=token).json()
    current = {item["id"]: item["version"] for item in listed["items"]}
    assert scenario_ids <= set(current)
    for sid in current:
        history = client.get(f"/v1/scenarios/{sid}/versions", headers=token).json()["versions"]
        assert [v["version"] for v in history] == list(range(1, current[sid] + 1)), sid
        texts = {}
        for v in history:
            r = client.get(f"/v1/scenarios/{sid}/versions/{v['version']}", headers=token)
            assert r.status_code == 200, (sid, v, r.text)
            texts[v["version"]] = r.content
        # Versions stored as edits have their digest from their first read (just above);
        # every version reads back as the bytes its digest names, replayed edits included.
        history = client.get(f"/v1/scenarios/{sid}/versions", headers=token).json()["versions"]
        for v in history:
            assert hashlib.sha256(texts[v["version"]]).hexdigest() == v["sha256"], (sid, v)
            again = client.get(f"/v1/scenarios/{sid}/versions/{v['version']}", headers=token)
            assert again.content == texts[v["version"]], (sid, v)


def check_rows(engine: Engine) -> None:
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        heads = conn.execute(text("SELECT id, current_version FROM scenarios")).all()
        rows = conn.execute(
            text(
                "SELECT scenario_id, version, document, sha256, size_bytes, base_version, edits "
                "FROM scenario_versions"
            )
        ).all()
    stored = {(r.scenario_id, r.version) for r in rows}
    for head in heads:
        assert {(head.id, v) for v in range(1, head.current_version + 1)} <= stored, head.id
    for row in rows:
        if row.document is None:  # a version stored as its edits: check_history reads it
            assert row.base_version is not None and row.edits is not None, row
            continue
        raw = zlib.decompress(row.document)
        assert len(raw) == row.size_bytes, (row.scenario_id, row.version)
        assert hashlib.sha256(raw).hexdigest() == row.sha256, (row.scenario_id, row.version)
        assert json.loads(raw)["schema"] == "safe-passage/scenario@1"
