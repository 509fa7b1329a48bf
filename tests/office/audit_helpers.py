"""Building an audit log over a fresh database, and editing its rows behind its back."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from watchhouse.office.audit.log import AuditLog
from watchhouse.office.audit.signing import Signer, load_or_create_private_key
from watchhouse.storage.engine import open_engine
from watchhouse.storage.migrate import upgrade

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def ticking_clock() -> Callable[[], datetime]:
    ticks = itertools.count()
    return lambda: T0 + timedelta(seconds=next(ticks))


def make_log(url: str, key_path: Path) -> tuple[Engine, AuditLog]:
    engine = open_engine(url)
    upgrade(engine)
    return engine, AuditLog(engine, Signer(load_or_create_private_key(key_path)), ticking_clock())


def fill(log: AuditLog, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        log.append(f"analyst-{i % 3}", "read", "alert", f"wh-{i:04d}", "triage", {"i": i})


def sql(engine: Engine, statement: str, **params: Any) -> None:
    with engine.begin() as conn:
        conn.execute(text(statement), params)
