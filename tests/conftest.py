"""Tests that need PostgreSQL or Chromium: skipped where they are missing, required in CI.

Each outside service is probed once per run, and only when a selected test carries its
marker (``postgres``, ``browser``; see ``tests/external.py`` for where they are looked for).
When one is missing, its tests are skipped with a one-line reason that ``-ra`` shows in the
summary, so ``python3 -m pytest -q`` passes on a machine with neither. With
``SAFE_PASSAGE_REQUIRE_SERVICES=1`` (``.ci/run`` sets it) the same tests fail instead, and
so does any such test skipped for another reason: CI never skips them silently.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from tests.external import PROBES, REQUIRE_ENV, services_required

_MISSING = pytest.StashKey[str]()


def _service_markers(item: pytest.Item) -> list[str]:
    return [name for name in PROBES if item.get_closest_marker(name) is not None]


@pytest.hookimpl(trylast=True)  # after -m/-k have deselected what will not run
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    needed = {name for item in items for name in _service_markers(item)}
    missing = {name: PROBES[name]() for name in sorted(needed)}
    for item in items:
        for name in _service_markers(item):
            reason = missing[name]
            if reason is not None:
                item.stash[_MISSING] = reason
                break


@pytest.hookimpl(tryfirst=True)  # before any fixture starts a server or a browser
def pytest_runtest_setup(item: pytest.Item) -> None:
    reason = item.stash.get(_MISSING, None)
    if reason is None:
        return
    if services_required():
        pytest.fail(f"{reason} ({REQUIRE_ENV} is set: this test must run)", pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.skipped and services_required() and _service_markers(item):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped, but {REQUIRE_ENV} is set: this test must run ({reason})"
    return report
