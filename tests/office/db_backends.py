"""Database URLs for tests that must pass on both backends: SQLite always, PostgreSQL when it can run.

The PostgreSQL server is the throw-away one from ``scripts/postgres_test_server.py``, started
once per test session (or taken from ``WATCHHOUSE_TEST_PG_URL``); each test gets its own fresh
database on it. Set ``WATCHHOUSE_TEST_POSTGRES=skip`` to leave PostgreSQL out.
"""

from __future__ import annotations

import atexit
import importlib.util
import itertools
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parents[2]
_MODULE = "watchhouse_postgres_test_server"
_state: dict[str, Any] = {}
_names = itertools.count()


def _server_module() -> ModuleType:
    if _MODULE not in sys.modules:
        spec = importlib.util.spec_from_file_location(_MODULE, REPO / "scripts" / "postgres_test_server.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[_MODULE] = module
        spec.loader.exec_module(module)
    return sys.modules[_MODULE]


def postgres_admin_url() -> str:
    """The server's admin URL, starting the server on first call; skips when it cannot run."""
    if os.environ.get("WATCHHOUSE_TEST_POSTGRES") == "skip":
        pytest.skip("PostgreSQL left out: WATCHHOUSE_TEST_POSTGRES=skip")
    given = os.environ.get("WATCHHOUSE_TEST_PG_URL")
    if given:
        return given
    if "error" in _state:
        pytest.skip(f"PostgreSQL unavailable: {_state['error']}")
    if "server" not in _state:
        module = _server_module()
        try:
            server = module.start()
        except module.PostgresUnavailableError as exc:
            _state["error"] = str(exc)
            pytest.skip(f"PostgreSQL unavailable: {exc}")
        _state["server"] = server
        atexit.register(server.stop)
    return str(_state["server"].url)


def fresh_postgres_database() -> Iterator[str]:
    admin_url = postgres_admin_url()
    name = f"wh_test_{os.getpid()}_{next(_names)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield admin_url.rsplit("/", 1)[0] + "/" + name
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty office database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'office.db'}"
    else:
        yield from fresh_postgres_database()
