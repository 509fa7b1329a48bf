"""Backends for the portal tests: the office tests' SQLite + PostgreSQL fixture (``tests/office/db_backends.py``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def _load_backends() -> object:
    name = "watchhouse_test_db_backends"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).parents[1] / "office" / "db_backends.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


db_url = _load_backends().db_url  # type: ignore[attr-defined]
