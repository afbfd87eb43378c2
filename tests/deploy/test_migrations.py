"""``safe-passage db upgrade`` run by every replica at once leaves one correct schema.

The test holds the migration lock itself while the replicas start, so all of
them are waiting at the same moment; then it lets them go. Without the lock
they would not wait (and would race to create the same tables).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from app.storage.db import _LOCK_ID, MIGRATIONS, current_revision, make_engine, upgrade
from app.storage.models import Base
from tests.deploy import REPO, fresh_schema, service_env

pytestmark = pytest.mark.postgres

REPLICAS = 3


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def test_concurrent_upgrades_from_every_replica_leave_one_schema_at_head(tmp_path: Path) -> None:
    head = head_revision()
    with fresh_schema() as (url, schema, conn):

        def tables() -> set[str]:
            rows = conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (schema,),
            )
            return {row[0] for row in rows}

        def waiting() -> int:
            row = conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ).fetchone()
            return int(row[0])

        env = service_env(tmp_path, url)
        command = [sys.executable, "-m", "app.cli", "db", "upgrade", "--json"]
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
        try:
            processes = [
                subprocess.Popen(
                    command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
                )
                for _ in range(REPLICAS)
            ]
            deadline = time.monotonic() + 120
            while waiting() < REPLICAS:
                exited = [p for p in processes if p.poll() is not None]
                assert not exited, "an upgrade did not wait for the migration lock"
                assert time.monotonic() < deadline, f"only {waiting()} upgrades are waiting"
                time.sleep(0.1)
            assert tables() == set(), "a replica changed the schema while another held the lock"
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))

        for process in processes:
            stdout, stderr = process.communicate(timeout=120)
            assert process.returncode == 0, stderr.decode()
            assert json.loads(stdout)["to"] == head

        assert tables() == set(Base.metadata.tables) | {"alembic_version"}
        versions = conn.execute(f'SELECT version_num FROM "{schema}".alembic_version').fetchall()
        assert versions == [(head,)]

        # Once more, as at the next restart: nothing to do, still at head.
        engine = make_engine(url)
        try:
            upgrade(engine)
            assert current_revision(engine) == head
        finally:
            engine.dispose()
