"""Small helpers the account detectors share to word findings: times, spans, samples, evidence.

Why shared: an analyst reading alerts from several account detectors should see times, spans
and counts written the same way, and every detector should cite evidence in stream order.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from itertools import repeat
from typing import Any

import polars as pl

from watchhouse.core.findings import EventRef

US = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: how many sample accounts or sources a finding's details list
SAMPLE_CAP = 20


def at(us: int) -> datetime:
    # positional (days, seconds, microseconds): half the cost of the keyword form, same value;
    # a scan's findings call this several times each
    return _EPOCH + timedelta(0, 0, us)


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


def sample(values: list[str], shown: int = 5, total: int | None = None) -> str:
    """The first ``shown`` of ``values``, with "..." when there are more (``total`` of them, when
    ``values`` is itself only the head of a longer list)."""
    more = (len(values) if total is None else total) > shown
    return ", ".join(values[:shown]) + (", ..." if more else "")


def event_refs(rows: pl.DataFrame) -> list[EventRef]:
    """One :class:`EventRef` per row of ``rows`` (columns ``path``, ``line``, ``offset``), in row order.

    Why a helper: detectors cite hundreds of thousands of rows of an sshd log, so the references
    are built in bulk (:meth:`EventRef.many`, no Python call per row), and references into one
    file share one path string: Polars hands out a new ``str`` per row, and a flood's thousands
    of findings citing hundreds of lines each kept ~100 bytes per line for it.
    """
    if rows.height == 0:
        return []
    return EventRef.many(
        _shared(rows.get_column("path")), _values(rows.get_column("line")), _values(rows.get_column("offset"))
    )


def _shared(paths: pl.Series) -> Iterable[Any]:
    """The values of ``paths`` with one ``str`` object per distinct value (a log is one file or a few)."""
    first = paths[0]
    if paths.null_count() == 0 and (paths == first).all():
        return repeat(first, paths.len())
    interned: dict[str, str] = {}
    return [p if p is None else interned.setdefault(p, p) for p in paths.to_list()]


def _values(column: pl.Series) -> Iterable[Any]:
    """The Python values of ``column``; a column of nulls (offsets of a file read by line) costs nothing."""
    return repeat(None, column.len()) if column.null_count() == column.len() else column.to_list()


def evidence(rows: pl.DataFrame, cap: int | None = None) -> tuple[EventRef, ...]:
    """References of ``rows`` (needing ts, seq, path, line, offset) in stream order, optionally capped."""
    ordered = rows.select("ts", "seq", "path", "line", "offset").sort("ts", "seq")
    if cap is not None:
        ordered = ordered.head(cap)
    return tuple(event_refs(ordered))


def anchor(rows: pl.DataFrame) -> str:
    """A stable name for the first row of a finding (file and line, or byte offset)."""
    first = rows.sort("ts", "seq").row(0, named=True)
    where = first["line"] if first["line"] is not None else f"@{first['offset']}"
    return f"{first['path']}:{where}"


def capped_note(listed: int, total: int, head: int, tail: int) -> str:
    """The sentence that tells an analyst the evidence is a sample (empty when it is not)."""
    if listed >= total:
        return ""
    return (
        f" Evidence capped: it lists {listed} of the {total} failed logins (the first {head} and the last "
        f"{tail}); the counts above cover all {total}."
    )
