"""The compiled loops of the planners (``_fast_kernel.pyx``, built when the package is
installed), or ``None`` where they are not built.

Every function in it has a plain Python statement beside its caller, which the tests
check it against; without it plans give the same answers, several times slower.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # typed by _fast_kernel.pyi
    from app.domain import _fast_kernel as kernel
else:
    try:
        from app.domain import _fast_kernel as kernel
    except ImportError:  # pragma: no cover - the package is built with it
        kernel = None

__all__ = ["kernel"]
