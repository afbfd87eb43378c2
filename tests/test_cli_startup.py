"""The command line starts without loading what the command does not use.

`safe-passage --help` and every command import the whole ``app.cli`` package; a module-level
import of the services, the storage or the domain there costs every command its start-up
time (about a second, see docs/benchmarks.md). These tests run the command line in a fresh
interpreter and look at ``sys.modules`` afterwards: deterministic, unlike a timing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, sys
out, args = sys.argv[1], sys.argv[2:]
sys.argv = ["safe-passage", *args]
import app.cli
try:
    app.cli.main()
    code = 0
except SystemExit as exc:
    code = exc.code or 0
with open(out, "w") as f:
    json.dump({"exit": code, "modules": sorted(sys.modules)}, f)
"""

STORAGE_AND_WEB = (
    "sqlalchemy",
    "alembic",
    "fastapi",
    "starlette",
    "uvicorn",
    "app.storage",
    "app.api",
)
HEAVY = (
    *STORAGE_AND_WEB,
    "scipy",
    "numpy",
    "pydantic",
    "pydantic_settings",
    "yaml",
    "app.services.catalog",
)


def run_cli(tmp_path: Path, *args: str) -> tuple[int, set[str], str]:
    """Exit code, modules loaded and stdout of ``safe-passage ARGS`` in a new interpreter."""
    report = tmp_path / "modules.json"
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(report), *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert report.exists(), proc.stderr
    result = json.loads(report.read_text())
    return result["exit"], set(result["modules"]), proc.stdout


def loaded(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(p for p in packages if any(m == p or m.startswith(p + ".") for m in modules))


def test_help_loads_no_storage_web_domain_or_settings(tmp_path: Path) -> None:
    code, modules, stdout = run_cli(tmp_path, "--help")
    assert code == 0
    for command in ("route", "plan", "brief", "serve", "token", "db"):
        assert command in stdout
    assert loaded(modules, HEAVY) == []


@pytest.mark.parametrize("command", ["route", "plan", "serve", "incidents", "token"])
def test_a_commands_help_loads_what_the_help_does(tmp_path: Path, command: str) -> None:
    code, modules, stdout = run_cli(tmp_path, command, "--help")
    assert code == 0 and "Usage" in stdout
    # Typer reads a command's parameters with pydantic (typer._adapters): that one is its own.
    assert loaded(modules, tuple(p for p in HEAVY if p != "pydantic")) == []


def test_route_loads_the_domain_but_no_storage_or_web(tmp_path: Path) -> None:
    code, modules, stdout = run_cli(
        tmp_path, "route", "graphs/aleppo-2016-12.json", "--from", "as-sukkari",
        "--to", "al-rashideen", "--json",
    )  # fmt: skip
    assert code == 0
    route = json.loads(stdout)["routes"][0]
    assert route["nodes"][0] == "as-sukkari" and route["nodes"][-1] == "al-rashideen"
    assert loaded(modules, STORAGE_AND_WEB) == []
    assert loaded(modules, ("scipy", "numpy", "pydantic")) == ["numpy", "pydantic"]
    # The compiled search answers a small network's route: no sparse matrix, no scipy; the
    # packages load their modules lazily (no edit models, negotiation tools, plans or brief).
    assert loaded(modules, ("ortools", "app.domain.plans", "app.domain.formats.brief")) == []
    for module in ("edits", "alternatives", "disjoint", "pareto"):
        assert not any(m.endswith(f".{module}") for m in modules), module


def test_validate_loads_no_routing_storage_or_web(tmp_path: Path) -> None:
    code, modules, stdout = run_cli(tmp_path, "validate", "graphs/teaching.json", "--json")
    assert code == 0 and json.loads(stdout)["valid"] is True
    assert loaded(modules, (*STORAGE_AND_WEB, "scipy", "app.domain.routes")) == []


def test_the_probe_sees_a_module_loaded_at_the_top_of_the_package(tmp_path: Path) -> None:
    """The check can fail: importing the storage layer before the CLI shows up in it."""
    report = tmp_path / "modules.json"
    subprocess.run(
        [sys.executable, "-c", "import app.storage.repository\n" + PROBE, str(report), "--help"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=120,
        check=True,
    )
    modules = set(json.loads(report.read_text())["modules"])
    assert {"app.storage", "sqlalchemy"} <= set(loaded(modules, HEAVY))


def test_the_scenario_packages_names_are_its_modules_objects() -> None:
    """Loaded on first use, ``app.domain.scenario.X`` is still the object its module defines."""
    import importlib

    import app.domain.scenario as package

    for name in package.__all__:
        value = getattr(package, name)
        assert value is getattr(importlib.import_module(value.__module__), name), name
        assert value.__module__.startswith("app.domain.scenario."), name
    with pytest.raises(AttributeError):
        package.not_there  # noqa: B018
