"""The domain imports no web framework or database driver (checked in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BLOCKED = ("fastapi", "starlette", "sqlalchemy", "uvicorn", "psycopg", "alembic")

BLOCKER = textwrap.dedent(
    f"""
    import importlib, importlib.abc, json, pkgutil, sys

    BLOCKED = {BLOCKED!r}

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{{name}} must not be imported here")
            return None

    sys.meta_path.insert(0, Blocker())
    """
)


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKER + textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_every_domain_module_imports_without_web_or_database_packages() -> None:
    result = run(
        """
        import app.domain
        names = sorted(
            m.name for m in pkgutil.walk_packages(app.domain.__path__, "app.domain.")
        )
        for name in names:
            importlib.import_module(name)
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
        print(json.dumps({"modules": names, "loaded": loaded}))
        """
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    expected = sorted(
        f"app.domain.{p.stem}"
        for p in (ROOT / "app" / "domain").glob("*.py")
        if p.stem != "__init__"
    )
    assert set(expected) <= set(report["modules"])
    for core in ("document", "errors", "network", "risk", "routing", "scenario", "validation"):
        assert f"app.domain.{core}" in report["modules"]
    assert report["loaded"] == []


def test_the_blocker_does_refuse_the_packages() -> None:
    # Without this, a blocker that never fires would let the test above pass vacuously.
    for name in ("fastapi", "sqlalchemy.orm"):
        result = run(f"import {name}")
        assert result.returncode != 0
        assert "ImportError" in result.stderr and "must not be imported here" in result.stderr
