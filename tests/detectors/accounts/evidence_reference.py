"""The per-question Polars way of choosing cited rows, kept as the reference the detectors' one-pass
evidence (``window_evidence.cite``) and the bounded-window tests are held to."""

from __future__ import annotations

from typing import Any

import polars as pl

from watchhouse.core.findings import EventRef
from watchhouse.detectors.accounts.reporting import event_refs


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


def grouped_evidence(
    rows: pl.DataFrame, by: list[str], cap: int | None = None
) -> dict[tuple[Any, ...], tuple[EventRef, ...]]:
    """``reporting.evidence`` for many findings at once: references per group of ``by``, at most
    ``cap`` each (what ``window_evidence.cite`` hands its judges, worked out group by group)."""
    # only the columns a reference or its group needs are sorted, and only cited rows become objects
    needed = list(dict.fromkeys([*by, "ts", "seq", "path", "line", "offset"]))
    ordered = rows.select(needed).sort([*by, "ts", "seq"])
    if cap is not None:
        ordered = ordered.filter(pl.int_range(pl.len()).over(by) < cap)
    refs = event_refs(ordered)
    # sorted by the group columns, each group is one run of rows: run lengths need no hash grouping
    runs = ordered.select(_run=pl.struct(by).rle()).unnest("_run")
    out: dict[tuple[Any, ...], tuple[EventRef, ...]] = {}
    begin = 0
    for length, key in zip(
        runs.get_column("len").to_list(), runs.get_column("value").struct.unnest().iter_rows(), strict=True
    ):
        end = begin + length
        out[key] = tuple(refs[begin:end])
        begin = end
    return out
