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
    """One row per key an event counts for: its source address and its (service, account)."""
    parts = []
    if IP_KIND in kinds:
        by_ip = rows.filter(pl.col("ip").is_not_null()).with_columns(kind=pl.lit(IP_KIND), key=pl.col("ip"))
        parts.append(by_ip.select(ROW_COLUMNS))
    if ACCOUNT_KIND in kinds:
        by_account = rows.filter(pl.col("user").is_not_null()).with_columns(
            kind=pl.lit(ACCOUNT_KIND),
            key=pl.concat_str([pl.col("service").fill_null(""), pl.lit(KEY_SEP), pl.col("user")]),
        )
        parts.append(by_account.select(ROW_COLUMNS))
    return pl.concat(parts)
