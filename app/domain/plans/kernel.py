"""The compiled loops of the planners (``_fast_kernel.pyx``), built when the package is
installed. They are required: without them the package does not import.

Each one's method is stated in plain Python in ``tests/domain/kernel_statements.py``,
and the tests check the compiled loops against those statements on random inputs.
"""

from __future__ import annotations

try:
    from app.domain.plans import _fast_kernel as kernel
except ImportError as error:  # a source tree without the built module
    raise ImportError(
        "safe-passage's compiled planner loops (app/domain/plans/_fast_kernel.pyx) are not built: "
        "reinstall the package where a C compiler is available (pip install .), or build "
        "them in place with: python setup.py build_ext --inplace"
    ) from error

__all__ = ["kernel"]
