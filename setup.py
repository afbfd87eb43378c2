"""Builds the one compiled module (the fast plan's reservation loop); the rest is in
pyproject.toml."""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [Extension("app.domain.plans._fast_kernel", ["app/domain/plans/_fast_kernel.pyx"])],
        compiler_directives={"language_level": "3"},
    )
)
