"""Opening the office database the same way everywhere: SQLite embedded, PostgreSQL at scale.

pysqlite's own transaction handling begins transactions lazily and never with ``IMMEDIATE``, so
two writers can both read the audit head and then collide. We take transaction control back
(``isolation_level=None``) and emit ``BEGIN`` ourselves: ``BEGIN IMMEDIATE`` when a caller asks
for :data:`WRITE_LOCK` so the write lock is held from the first statement.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from watchhouse.core.errors import InputError, UsageError

WRITE_LOCK = {"watchhouse_write_lock": True}
"""Execution options for a connection whose transaction must hold the database's write lock."""

_BUSY_TIMEOUT_MS = 30_000


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def open_engine(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UsageError(f"not a database URL: {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            try:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise InputError(f"cannot create the database folder: {exc.strerror}", path=parsed.database) from exc
        engine = create_engine(parsed, connect_args={"timeout": _BUSY_TIMEOUT_MS / 1000}, json_serializer=json_text)
        _take_sqlite_transaction_control(engine)
        return engine
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            return create_engine(parsed, pool_pre_ping=True, json_serializer=json_text)
        except SQLAlchemyError as exc:
            raise InputError(f"cannot open the office database: {exc}") from exc
    raise UsageError(f"unsupported database {backend!r}: use sqlite or postgresql")


#: what orjson hands to ``default`` rather than writing itself: the kinds the standard library
#: refuses (times, dataclasses) or writes its own way (subclasses of str, int, dict, list)
_ORJSON_PASSTHROUGH = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def json_text(value: Any) -> str:
    """The JSON text a JSON column stores for ``value``.

    Why not SQLAlchemy's default (``json.dumps``): every alert stored writes three JSON columns,
    and the standard library's encoder, written in Python for dicts holding lists of dicts, was a
    fifth of the cost of storing an alert. orjson writes the same values (compact, and UTF-8 where
    the standard library escapes non-ASCII: the text differs, what it reads back as does not).
    Whatever orjson would write otherwise than the standard library, or refuses (an integer past
    64 bits, a key that is not a string, a subclass of a built-in type), goes to ``json.dumps``,
    which writes or refuses it as before. One difference remains on purpose: a NaN or infinite
    float is stored as JSON's ``null``, where the standard library wrote a ``NaN`` token that is
    not JSON at all (PostgreSQL refuses it, and with it the whole insert).
    """
    try:
        return orjson.dumps(value, default=_refuse, option=_ORJSON_PASSTHROUGH).decode()
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value)


def _refuse(value: Any) -> Any:
    raise TypeError(f"left to the standard library: {type(value).__name__}")


def _take_sqlite_transaction_control(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        # Write-ahead log: readers (the console, `alerts list`) never block the scan or the portal
        # writing, and a commit costs one sync of the log instead of journal + database. FULL
        # keeps every acknowledged commit (an accepted report, an audit entry) across power loss.
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("watchhouse_write_lock", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
