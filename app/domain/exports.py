"""A package's public names, each imported from its module when first used (PEP 562).

Importing one module of a package then does not import the others: a safest route does not
load the negotiation tools (nor scipy's sparse graphs), answers do not load the brief, and
the command line starts faster (docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(
    package: str, homes: Mapping[str, tuple[str, ...]]
) -> tuple[list[str], Callable[[str], Any]]:
    """``__all__`` and the module ``__getattr__`` of ``package``, whose names live in the
    modules ``homes`` maps them from (module name → names)."""
    module_of = {name: module for module, names in homes.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = module_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(f"{package}.{module}"), name)

    return sorted(module_of), __getattr__
