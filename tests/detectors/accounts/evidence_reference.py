"""The per-question Polars way of choosing cited rows, kept as the reference the detectors' one-pass
evidence (``window_evidence.cite``) and the bounded-window tests are held to."""

from __future__ import annotations

import polars as pl


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
