"""Builds the compiled modules (the fast plan's reservation loop, the goal-directed route
search); the rest is in pyproject.toml."""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [
            Extension("app.domain.plans._fast_kernel", ["app/domain/plans/_fast_kernel.pyx"]),
            Extension("app.domain.routes._search", ["app/domain/routes/_search.pyx"]),
        ],
        compiler_directives={"language_level": "3"},
    )
)
