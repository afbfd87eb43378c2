"""The domain imports no web framework or database driver (checked in a fresh interpreter),
reads no clock and leaves the garbage collector alone."""

from __future__ import annotations

import ast
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
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for p in (ROOT / "app" / "domain").rglob("*.py")
        if p.stem != "__init__"
    )
    assert set(expected) <= set(report["modules"])
    for core in ("scenario.reading", "errors", "network.graph", "routes.engine", "plans.fast"):
        assert f"app.domain.{core}" in report["modules"]
    assert report["loaded"] == []


def test_the_blocker_does_refuse_the_packages() -> None:
    # Without this, a blocker that never fires would let the test above pass vacuously.
    for name in ("fastapi", "sqlalchemy.orm"):
        result = run(f"import {name}")
        assert result.returncode != 0
        assert "ImportError" in result.stderr and "must not be imported here" in result.stderr


CLOCKS = {"time", "gc"}
"""Modules the domain may not import: time budgets are passed in (``app.domain.plans.budget``),
and the garbage collector is the process's business (``app.services.plans``)."""
CLOCK_CALLS = {"now", "utcnow", "today"}
"""``datetime.now()`` and the like read the clock too."""


def process_state_uses(source: str) -> list[str]:
    """Imports of :data:`CLOCKS` and calls of :data:`CLOCK_CALLS` in Python ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in CLOCKS]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in CLOCKS:
            found.append(node.module or "")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in CLOCK_CALLS
        ):
            found.append(f"{ast.unparse(node.func)}()")
    return found


def test_the_domain_reads_no_clock_and_leaves_the_garbage_collector_alone() -> None:
    used = {
        str(path.relative_to(ROOT)): process_state_uses(path.read_text())
        for path in (ROOT / "app" / "domain").rglob("*.py")
    }
    assert len(used) > 10
    assert {path: found for path, found in used.items() if found} == {}


def test_the_clock_scan_finds_what_it_looks_for() -> None:
    source = "import gc\nfrom time import monotonic\nimport datetime\nx = datetime.datetime.now()\n"
    assert process_state_uses(source) == ["gc", "time", "datetime.datetime.now()"]


def test_the_product_answers_without_networkx() -> None:
    # networkx is in the test extra only: the service, the CLI and every module but the
    # test oracle tests.domain.reference import and compute without it.
    without_networkx = BLOCKER.replace(repr(BLOCKED), repr(("networkx",)))
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            without_networkx
            + textwrap.dedent(
                """
                import app.api.app, app.cli, app.domain, app.services, json
                for package in (app.domain, app.services):
                    for m in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
                        if m.name != "tests.domain.reference":
                            importlib.import_module(m.name)
                from app.domain.network.graph import Network
                from app.services.plans import PlanRequest, compute_plan
                from app.services.requests import RouteRequest
                from app.services.routes import compute_routes
                from app.config import Settings
                from app.services.scenarios import load_scenario_file
                net = Network(load_scenario_file("graphs/teaching.json", Settings()))
                route = compute_routes(net, RouteRequest.model_validate(
                    {"from": "hilltop", "to": "camp", "alternatives": 2}))
                plan = compute_plan(
                    net,
                    PlanRequest.model_validate({"rank_openings": True}),
                    max_expanded_arcs=Settings().max_expanded_arcs,
                )
                assert "networkx" not in sys.modules
                print(json.dumps([route["routes"][0]["nodes"], plan["evacuated"]]))
                """
            ),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    # Asked at the newest report (10:00, the ford shelled): route C of the worked example.
    assert json.loads(result.stdout) == [["hilltop", "mill", "square", "camp"], 1800]
    # The blocker does fire: the oracle itself needs networkx.
    oracle = subprocess.run(
        [sys.executable, "-c", without_networkx + "import tests.domain.reference"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert oracle.returncode != 0 and "networkx must not be imported here" in oracle.stderr
