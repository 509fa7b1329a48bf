"""Syslog timestamps: building UTC instants from the stamp groups the head readers capture.

Why its own module: every path of :mod:`watchhouse.ingest.syslog` (the byte head reader, the two
regex fast paths and the general one) must turn a stamp into exactly the same instant, so the
rules for that (how an offset is resolved, what a fraction keeps, how a yearless BSD stamp reads
in the year the parser counted for it) live once, here, apart from the code that finds the stamp
in a line.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from watchhouse.core.events import TIMESTAMP_FIELD

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ISO_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%z"
_NAIVE_SECOND_FORMAT = "%Y-%m-%dT%H:%M:%S"


def _fast_stamps(fast: pl.DataFrame) -> pl.Series:
    """``sec`` + ``frac`` + ``off`` (the fast head's groups) as UTC instants.

    Why not parse the whole stamp: a date parser that handles a ``%z`` offset costs about ten
    times one that reads a naive second, and that was the dearest step per line. A log uses one
    or two offsets, so each distinct offset is resolved once (by the full-stamp parser itself, on
    a reference date) and subtracted; the fraction's first six digits are the microseconds, which
    is what the full-stamp parse keeps. Where the sum could differ from the full parse, a leap
    second (``:60``) or an instant before 1970, the stamp is parsed whole as before.
    """
    sec, frac, off = fast.get_column("sec"), fast.get_column("frac"), fast.get_column("off")
    naive = sec.str.to_datetime(_NAIVE_SECOND_FORMAT, strict=False, time_unit="us", cache=False).dt.epoch("us")
    shift = off.replace_strict(_offsets(off.unique().to_list()), default=None, return_dtype=pl.Int64)
    if (frac.str.len_bytes() == 6).all():  # the usual high-precision stamp: already microseconds
        micros = frac.cast(pl.Int64).fill_null(0)
    else:
        micros = frac.str.slice(0, 6).str.pad_end(6, "0").cast(pl.Int64).fill_null(0)
    stamps = (naive - shift + micros).cast(pl.Datetime("us", "UTC")).alias(TIMESTAMP_FIELD)
    odd = sec.str.ends_with(":60") | (stamps.dt.epoch("us") < 0).fill_null(False)
    if odd.any():
        whole = (
            (sec + "." + frac.fill_null("0") + off)
            .str.to_datetime(_ISO_FORMAT, strict=False, time_unit="us")
            .dt.convert_time_zone("UTC")
        )
        stamps = stamps.zip_with(~odd, whole)
    return stamps


def _offsets(offsets: list[str]) -> dict[str, int | None]:
    """Microseconds east of UTC for each ``[+-]HH[:]MM`` offset; None where the stamp parser rejects it."""
    reference = "2000-01-01T00:00:00"
    parsed = (
        pl.Series([reference + o for o in offsets], dtype=pl.String)
        .str.to_datetime(_ISO_FORMAT, strict=False, time_unit="us")
        .dt.convert_time_zone("UTC")
        .dt.epoch("us")
    )
    local = dt.datetime(2000, 1, 1, tzinfo=dt.UTC).timestamp() * 1_000_000
    return {o: None if p is None else int(local) - p for o, p in zip(offsets, parsed.to_list(), strict=True)}


def _month_numbers(names: pl.Series) -> pl.Series:
    return names.replace_strict({m: i + 1 for i, m in enumerate(_MONTHS)}, default=None, return_dtype=pl.Int32)


def _traditional_stamp(years: pl.Series) -> pl.Expr:
    """The instant of a traditional stamp (columns ``mon``, ``day``, ``clock``) in the year ``years``
    gives its row; the parser caches each distinct stamp, so a second is parsed once however many
    lines share it."""
    return (
        pl.concat_str(
            [
                pl.lit(years.cast(pl.String)),
                pl.lit(" "),
                pl.col("mon"),
                pl.lit(" "),
                pl.col("day"),
                pl.lit(" "),
                pl.col("clock"),
            ]
        )
        .str.to_datetime("%Y %b %d %H:%M:%S", strict=False, time_unit="us")
        .dt.replace_time_zone("UTC")
    )
