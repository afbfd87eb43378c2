"""Without PostgreSQL and Chromium the suite passes, their tests skipped; in CI they fail.

Runs pytest on one PostgreSQL test and one browser test, with the tests pointed at a closed
port and at a Chromium that does not exist: once as a user would (skipped, with the reason,
exit 0) and once with ``SAFE_PASSAGE_REQUIRE_SERVICES=1`` as ``.ci/run`` sets it (exit 1).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NEEDING_SERVICES = ["tests/deploy/test_migrations.py", "tests/browser/test_tiles.py"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # nothing listens on it once the socket is closed


def _pytest(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SAFE_PASSAGE_REQUIRE_SERVICES", "PYTEST_ADDOPTS")
    }
    environment.update(
        SAFE_PASSAGE_TEST_POSTGRES=f"127.0.0.1:{_closed_port()}/test",
        SAFE_PASSAGE_CHROMIUM=str(tmp_path / "no-such-chromium"),
        **env,
    )
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs"]
    return subprocess.run(
        [*command, *NEEDING_SERVICES],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_missing_services_skip_their_tests_with_a_one_line_reason(tmp_path: Path) -> None:
    done = _pytest(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    skipped = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skipped) == 2, done.stdout
    assert any("PostgreSQL is not reachable at 127.0.0.1:" in line for line in skipped)
    assert any(
        "Chromium not found at" in line and "scripts/install-browser" in line for line in skipped
    )
    assert "2 skipped" in done.stdout


def test_ci_switch_turns_those_skips_into_failures(tmp_path: Path) -> None:
    done = _pytest(tmp_path, SAFE_PASSAGE_REQUIRE_SERVICES="1")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "skipped" not in done.stdout.splitlines()[-1]
    assert "2 errors" in done.stdout.splitlines()[-1]
    assert done.stdout.count("SAFE_PASSAGE_REQUIRE_SERVICES is set: this test must run") == 2
