"""Key kinds and tracked-row layout shared by the burst tracker and its pending buffer."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

IP_KIND = "ip"
ACCOUNT_KIND = "account"
#: joins service and account name in an account key; cannot occur in either
KEY_SEP = "\x1f"

#: columns of the tracked rows (failures and successes), one row per (key kind, event)
ROW_SCHEMA: dict[str, pl.DataType] = {
    "kind": pl.String(),
    "key": pl.String(),
    "ts": pl.Int64(),
    "seq": pl.Int64(),
    "path": pl.String(),
    "line": pl.Int64(),
    "offset": pl.Int64(),
    "ip": pl.String(),
    "user": pl.String(),
    "service": pl.String(),
}
ROW_COLUMNS = list(ROW_SCHEMA)


def file_watermark(watermarks: Mapping[str, int]) -> pl.Expr:
    """Each row's file watermark (microseconds); null for a file not seen yet."""
    if not watermarks:
        return pl.lit(None, dtype=pl.Int64)
    if len(watermarks) == 1:  # the usual case: a comparison costs a fraction of a mapping's lookup
        ((path, mark),) = watermarks.items()
        return pl.when(pl.col("path").fill_null("") == path).then(pl.lit(mark, dtype=pl.Int64))
    return pl.col("path").fill_null("").replace_strict(dict(watermarks), default=None, return_dtype=pl.Int64)


def empty_rows() -> pl.DataFrame:
    return pl.DataFrame(schema=ROW_SCHEMA)


def warm_level(threshold: int) -> int:
    """Failures within one window that make a chain *warm*: half the threshold, at least two.

    A reported burst starts one window before its chain first got warm; a chain that never gets
    warm (a key failing now and then, like each of millions of addresses in a flood) can never be
    reported, so its older failures need not be held."""
    return max(2, (threshold + 1) // 2)


def keyed(rows: pl.DataFrame, kinds: tuple[str, ...] = (IP_KIND, ACCOUNT_KIND)) -> pl.DataFrame:
    """One row per key an event counts for: its source address and its (service, account).

    Each kind's rows are put together from series (a filter first only where a name is missing),
    not made by a ``select``: this runs on every batch's failures and successes, and each Polars
    query costs a fixed tenth of a millisecond or so however few the rows."""
    parts = []
    for kind in kinds:
        names = rows.get_column("ip" if kind == IP_KIND else "user")
        present = rows if names.null_count() == 0 else rows.filter(names.is_not_null())
        kinds_column = pl.Series("kind", [kind], dtype=pl.String).new_from_index(0, present.height)
        rest = [present.get_column(name) for name in ROW_COLUMNS[2:]]
        parts.append(pl.DataFrame([kinds_column, _key(kind, present), *rest]))
    return pl.concat(parts)


def _key(kind: str, rows: pl.DataFrame) -> pl.Series:
    """The ``key`` column of ``rows`` as keys of ``kind`` (every row has the name it needs)."""
    if kind == IP_KIND:
        return rows.get_column("ip").alias("key")
    service = rows.get_column("service")
    if service.null_count():
        service = service.fill_null("")
    return (service + KEY_SEP + rows.get_column("user")).alias("key")
