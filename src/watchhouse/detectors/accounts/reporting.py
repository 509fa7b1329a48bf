"""Small helpers the account detectors share to word findings: times, spans, samples, evidence.

Why shared: an analyst reading alerts from several account detectors should see times, spans
and counts written the same way, and every detector should cite evidence in stream order.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

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


def sample(values: list[str], shown: int = 5, total: int | None = None) -> str:
    """The first ``shown`` of ``values``, with "..." when there are more (``total`` of them, when
    ``values`` is itself only the head of a longer list)."""
    more = (len(values) if total is None else total) > shown
    return ", ".join(values[:shown]) + (", ..." if more else "")


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


def grouped_evidence(
    rows: pl.DataFrame, by: list[str], cap: int | None = None
) -> dict[tuple[Any, ...], tuple[EventRef, ...]]:
    """:func:`evidence` for many findings at once: references per group of ``by``.

    Why: building one finding costs a few Python calls, but a dozen Polars calls per finding
    cost milliseconds; grouping once and slicing Python lists keeps wording cheap.
    """
    ordered = rows.sort([*by, "ts", "seq"])
    if cap is not None:
        ordered = ordered.filter(pl.int_range(pl.len()).over(by) < cap)
    # one str object per distinct path: Polars hands out a new one per row, and a flood's
    # thousands of findings citing hundreds of lines each kept ~100 bytes per line for it
    interned: dict[str, str] = {}
    paths: list[Any] = [p if p is None else interned.setdefault(p, p) for p in ordered["path"].to_list()]
    refs = [
        EventRef(path=p, line=ln, offset=o)
        for p, ln, o in zip(paths, ordered["line"].to_list(), ordered["offset"].to_list(), strict=True)
    ]
    del paths
    counts = ordered.group_by(by, maintain_order=True).len()
    out: dict[tuple[Any, ...], tuple[EventRef, ...]] = {}
    begin = 0
    for row in counts.iter_rows():
        end = begin + int(row[-1])
        out[tuple(row[:-1])] = tuple(refs[begin:end])
        begin = end
    return out


def first_refs(rows: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Per group of ``by``, the stream-first row's ``anchor`` text (see :func:`anchor`)."""
    return (
        rows.sort([*by, "ts", "seq"])
        .group_by(by, maintain_order=True)
        .agg(pl.col("path").first(), pl.col("line").first(), pl.col("offset").first())
        .with_columns(
            anchor=pl.concat_str(
                [
                    pl.col("path"),
                    pl.lit(":"),
                    pl.coalesce(
                        pl.col("line").cast(pl.String), pl.lit("@") + pl.col("offset").cast(pl.String).fill_null("None")
                    ),
                ]
            )
        )
        .select(*by, "anchor")
    )


def head_and_tail(rows: pl.DataFrame, by: list[str], head: int | pl.Expr, tail: int | pl.Expr) -> pl.DataFrame:
    """Per group of ``by``, the rows that carry a reference (``seq`` set), only the first ``head``
    and last ``tail`` in stream order (numbers, or expressions over the rows): the evidence a
    finding cites when its failures run to thousands (its counts still cover all of them)."""
    ordered = rows.filter(pl.col("seq").is_not_null()).sort([*by, "ts", "seq"])
    place = pl.int_range(pl.len()).over(by)
    return ordered.filter((place < head) | (place >= pl.len().over(by) - tail))


def capped_note(listed: int, total: int, head: int, tail: int) -> str:
    """The sentence that tells an analyst the evidence is a sample (empty when it is not)."""
    if listed >= total:
        return ""
    return (
        f" Evidence capped: it lists {listed} of the {total} failed logins (the first {head} and the last "
        f"{tail}); the counts above cover all {total}."
    )
