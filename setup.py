"""Build hook for the optional compiled kernels (``src/watchhouse/_native/*.pyx``).

Everything else about the package is declared in ``pyproject.toml``; this file only adds the Cython
extensions. They are optional: where Cython or a C compiler is missing, or the build fails, the
install still succeeds, one line says so, and the pure-Python reference runs (see
``watchhouse._native``). ``WATCHHOUSE_PURE_PYTHON=1`` at build time skips them.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

_KERNELS = [
    "watchhouse._native._weblex",
    "watchhouse._native._syslog",
    "watchhouse._native._jsonl",
    "watchhouse._native._accesslog",
    "watchhouse._native._weblines",
    "watchhouse._native._webdecode",
]


def _say_pure(reason: str) -> None:
    print(f"watchhouse: compiled kernels not built ({reason}); the pure-Python code will be used", file=sys.stderr)


def _extensions() -> tuple[list[Extension], str]:
    """The kernels to build, or the (.pyx) declarations and why they cannot be built."""
    declared = [
        Extension(name, [str(Path("src", *name.split(".")).with_suffix(".pyx"))], optional=True) for name in _KERNELS
    ]
    if os.environ.get("WATCHHOUSE_PURE_PYTHON", "") not in ("", "0"):
        return declared, "WATCHHOUSE_PURE_PYTHON is set"
    try:
        from Cython.Build import cythonize
    except ImportError:
        return declared, "Cython is not installed"
    try:
        # each kernel records the hash of its source (watchhouse._native refuses a stale build)
        built = [cythonize([e], language_level=3, quiet=True, compile_time_env=_built_from(e))[0] for e in declared]
        return built, ""
    except Exception as exc:  # a Cython error must not fail the install: the reference runs
        return declared, f"Cython failed: {exc}"


def _built_from(ext: Extension) -> dict[str, str]:
    """The kernel's source hash: its ``.pyx`` and the shared ``.pxd`` declarations it may cimport
    (``watchhouse._native.source_sha256`` computes the same; this build hook cannot import the
    package it builds)."""
    source = Path(ext.sources[0])
    digest = hashlib.sha256(source.read_bytes())
    for shared in sorted(source.parent.glob("*.pxd")):
        digest.update(shared.read_bytes())
    return {"BUILT_FROM_SHA256": digest.hexdigest()}


_EXTENSIONS, _WHY_NOT = _extensions()


class _OptionalBuildExt(build_ext):
    """``build_ext`` that reports a kernel it cannot build in one line and carries on (pure Python then)."""

    def run(self) -> None:
        if _WHY_NOT:
            _say_pure(_WHY_NOT)
            return
        self._failed: set[str] = set()
        try:
            super().run()
        except Exception as exc:  # no usable compiler at all: setuptools raises before building anything
            _say_pure(f"{type(exc).__name__}: {exc}")

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._failed.add(ext.name)
            _say_pure(f"{ext.name}: {type(exc).__name__}: {exc}")

    def copy_extensions_to_source(self) -> None:
        """Editable installs copy built kernels beside their sources: not the ones that failed."""
        self.extensions = [ext for ext in self.extensions if ext.name not in self._failed]
        super().copy_extensions_to_source()


setup(ext_modules=_EXTENSIONS, cmdclass={"build_ext": _OptionalBuildExt})
