"""Small helpers the account detectors share to word findings: times, spans, samples, evidence.

Why shared: an analyst reading alerts from several account detectors should see times, spans
and counts written the same way, and every detector should cite evidence in stream order.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from watchhouse.core.findings import EventRef

US = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: how many sample accounts or sources a finding's details list
SAMPLE_CAP = 20


def at(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def iso(us: int) -> str:
    return at(us).isoformat()


def span(us: int) -> str:
    seconds = us // US
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def sample(values: list[str], shown: int = 5) -> str:
    return ", ".join(values[:shown]) + (", ..." if len(values) > shown else "")


def evidence(rows: pl.DataFrame, cap: int | None = None) -> tuple[EventRef, ...]:
    """References of ``rows`` (needing ts, seq, path, line, offset) in stream order, optionally capped."""
    ordered = rows.sort("ts", "seq")
    if cap is not None:
        ordered = ordered.head(cap)
    return tuple(
        EventRef(path=p, line=ln, offset=o) for p, ln, o in ordered.select("path", "line", "offset").iter_rows()
    )


def anchor(rows: pl.DataFrame) -> str:
    """A stable name for the first row of a finding (file and line, or byte offset)."""
    first = rows.sort("ts", "seq").row(0, named=True)
    where = first["line"] if first["line"] is not None else f"@{first['offset']}"
    return f"{first['path']}:{where}"
