"""Warming the triage queue's database paths before a server answers its first request.

A fresh server process meets its first queue pages cold: the connection pool is empty (each new
SQLite connection runs its pragmas and parses the schema on first use), SQLAlchemy compiles each
filter shape's statement the first time it is seen, and SQLite prepares it. Under load those
costs land on the first requests together, behind the GIL, as a latency spike. Paying them once
at start-up, before the server accepts connections, keeps them off every request.

Nothing here reads an alert's content: pages run with ``LIMIT 0`` (compiled and prepared, no row
returned) and counts return a number, so warming is not a read that the audit log must record.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine

from watchhouse.core.findings import Severity
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.storage.alert_store import AlertFilter, QueueCursor, count_capped, queue_page

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HIGH = Severity.HIGH

QUEUE_SHAPES: tuple[AlertFilter, ...] = (
    AlertFilter(),
    AlertFilter(min_severity=_HIGH),
    AlertFilter(crime_code=CrimeCode.COMPUTER_FRAUD),
    AlertFilter(crime_code=CrimeCode.COMPUTER_FRAUD, min_severity=_HIGH),
    AlertFilter(status="new"),
    AlertFilter(status="new", min_severity=_HIGH),
    AlertFilter(detector="-"),
    AlertFilter(subject="-"),
    AlertFilter(assignee="-"),
    AlertFilter(since=_EPOCH),
    AlertFilter(since=_EPOCH, min_severity=_HIGH),
    AlertFilter(since=_EPOCH, until=_EPOCH),
)
"""One filter per statement shape the queue's usual filters produce (the values do not matter:
SQLAlchemy and SQLite cache a statement by its shape, with the values as parameters)."""


def warm_queue(engine: Engine, connections: int = 4) -> int:
    """Open ``connections`` pooled connections at once and run every queue shape on each.

    They are held open together so that the pool really keeps that many (a pool reuses one idle
    connection for sequential work). Returns the number of statements run.
    """
    run = 0
    with ExitStack() as stack:
        conns = [stack.enter_context(engine.connect()) for _ in range(max(1, connections))]
        for conn in conns:
            with conn.begin():
                run += _warm_one(conn)
    return run


def _warm_one(conn: Connection) -> int:
    run = 0
    for shape in QUEUE_SHAPES:
        for flt in (shape, replace(shape, after=QueueCursor(int(Severity.CRITICAL), _EPOCH, "~"))):
            conn.execute(queue_page(replace(flt, limit=0))).all()
            run += 1
        count_capped(conn, shape)
        run += 1
    return run
