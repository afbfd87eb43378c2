"""Each domain package states its public API in ``__all__``, and keeps it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import app.domain

PACKAGES = ["app.domain", *(
    m.name for m in pkgutil.iter_modules(app.domain.__path__, "app.domain.") if m.ispkg
)]  # fmt: skip


def test_the_domain_is_organised_by_feature() -> None:
    assert sorted(PACKAGES[1:]) == [
        "app.domain.fleets",
        "app.domain.formats",
        "app.domain.network",
        "app.domain.plans",
        "app.domain.routes",
        "app.domain.scenario",
    ]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_name_a_package_exports_exists_and_is_sorted(name: str) -> None:
    package = importlib.import_module(name)
    exported = package.__all__
    assert exported == sorted(exported) and len(set(exported)) == len(exported)
    for item in exported:
        value = getattr(package, item, None)
        if value is None:  # a subpackage named in app.domain's list
            value = importlib.import_module(f"{name}.{item}")
        assert value is not None, f"{name}.{item}"


@pytest.mark.parametrize("name", PACKAGES[1:])
def test_what_a_package_exports_is_defined_in_it(name: str) -> None:
    package = importlib.import_module(name)
    for item in package.__all__:
        value = getattr(package, item)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert value.__module__.startswith(name + "."), f"{name}.{item}: {value.__module__}"
