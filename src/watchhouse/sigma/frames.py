"""Building the Polars frame Sigma rules read, from a Watchhouse batch.

Rules name fields the way their log source does (``Image``, ``EventID``, ``cs-method``), not our
ECS column names, and Windows records keep their open-ended EventData as JSON text. Per batch we
project exactly the fields the loaded rules reference (one vectorised ``json_decode`` into a
struct of those keys), rename the fixed columns to their Sigma names, and add lower-cased copies
of the columns compared case-insensitively. Fields a batch lacks become null columns, which is
how Sigma's "missing field" reaches the predicates.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from types import MappingProxyType

import polars as pl

from watchhouse.core.events import Dataset, EventBatch
from watchhouse.sigma.compiler import KEYWORD_COLUMN, lower_column

ROW_COLUMN = "\x1frow"

# Sigma field name -> winlog column (the System part of a record).
WINLOG_SYSTEM: Mapping[str, str] = MappingProxyType(
    {
        "EventID": "winlog.event_id",
        "Channel": "winlog.channel",
        "Provider_Name": "winlog.provider_name",
        "Computer": "host.name",
        "EventRecordID": "winlog.record_id",
        "Security_UserID": "winlog.user.identifier",
    }
)
WINLOG_NUMERIC = frozenset({"EventID", "EventRecordID"})

# Sigma's generic web server fields (W3C extended log names) -> http columns.
HTTP_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "c-ip": "source.ip",
        "cs-method": "http.request.method",
        "c-uri": "url.original",
        "cs-uri": "url.original",
        "sc-status": "http.response.status_code",
        "c-useragent": "user_agent.original",
        "cs-user-agent": "user_agent.original",
        "cs-referer": "http.request.referrer",
        "cs-host": "url.domain",
        "cs-version": "http.version",
        "sc-bytes": "http.response.body.bytes",
        "cs-username": "user.name",
    }
)
HTTP_NUMERIC = frozenset({"sc-status", "sc-bytes"})

NUMERIC: Mapping[Dataset, frozenset[str]] = MappingProxyType(
    {Dataset.WINLOG: WINLOG_NUMERIC, Dataset.HTTP: HTTP_NUMERIC}
)


def _winlog(frame: pl.DataFrame, fields: Collection[str]) -> list[pl.Expr]:
    exprs: list[pl.Expr] = [pl.col(column).alias(name) for name, column in WINLOG_SYSTEM.items() if name in fields]
    data_fields = sorted(f for f in fields if f not in WINLOG_SYSTEM and f != KEYWORD_COLUMN)
    if data_fields:
        struct = pl.col("winlog.event_data").str.json_decode(dtype=pl.Struct(dict.fromkeys(data_fields, pl.String)))
        exprs.extend(struct.struct.field(f).alias(f) for f in data_fields)
    if KEYWORD_COLUMN in fields:
        # full-text search reads every value: the EventData text with JSON escapes undone
        text = (
            pl.col("winlog.event_data")
            .str.replace_all(r"\\", "\\", literal=True)
            .str.replace_all('\\"', '"', literal=True)
        )
        exprs.append(
            pl.concat_str([pl.col("winlog.channel"), text], separator="\n", ignore_nulls=True).alias(KEYWORD_COLUMN)
        )
    return exprs


def _http(frame: pl.DataFrame, fields: Collection[str]) -> list[pl.Expr]:
    exprs: list[pl.Expr] = []
    for name in fields:
        if name in HTTP_FIELDS:
            exprs.append(pl.col(HTTP_FIELDS[name]).alias(name))
        elif name == "cs-uri-stem":
            exprs.append(pl.col("url.original").str.split_exact("?", 1).struct.field("field_0").alias(name))
        elif name == "cs-uri-query":
            exprs.append(pl.col("url.original").str.split_exact("?", 1).struct.field("field_1").alias(name))
        elif name == KEYWORD_COLUMN:
            exprs.append(
                pl.concat_str(
                    [pl.col("url.original"), pl.col("user_agent.original"), pl.col("http.request.referrer")],
                    separator="\n",
                    ignore_nulls=True,
                ).alias(name)
            )
        elif name in frame.columns:
            exprs.append(pl.col(name))
    return exprs


def sigma_frame(batch: EventBatch, fields: Collection[str], lowered: Collection[str]) -> pl.DataFrame:
    """Columns named as rules name them: every field in ``fields`` (null when absent)."""
    frame = batch.to_polars()
    if batch.dataset is Dataset.WINLOG:
        exprs = _winlog(frame, fields)
    elif batch.dataset is Dataset.HTTP:
        exprs = _http(frame, fields)
    else:
        exprs = [pl.col(f) for f in fields if f in frame.columns]
    out = frame.select([pl.int_range(pl.len(), dtype=pl.Int64).alias(ROW_COLUMN), *exprs])
    missing = [f for f in fields if f not in out.columns]
    if missing:
        out = out.with_columns(pl.lit(None, dtype=pl.String).alias(f) for f in missing)
    if lowered:
        out = out.with_columns(pl.col(c).cast(pl.String).str.to_lowercase().alias(lower_column(c)) for c in lowered)
    return out


def records_frame(records: list[dict[str, object]], fields: Collection[str], lowered: Collection[str]) -> pl.DataFrame:
    """A frame from plain records (any log source), every value as text; for generic evaluation."""
    columns = {f: [None if r.get(f) is None else str(r.get(f)) for r in records] for f in fields if f != KEYWORD_COLUMN}
    frame = pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String)) if columns else pl.DataFrame()
    frame = (
        frame.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias(ROW_COLUMN))
        if columns
        else pl.DataFrame({ROW_COLUMN: list(range(len(records)))}, schema={ROW_COLUMN: pl.Int64})
    )
    if KEYWORD_COLUMN in fields:
        text = ["\n".join(str(v) for v in r.values() if v is not None) for r in records]
        frame = frame.with_columns(pl.Series(KEYWORD_COLUMN, text, dtype=pl.String))
    if lowered:
        frame = frame.with_columns(pl.col(c).str.to_lowercase().alias(lower_column(c)) for c in lowered)
    return frame
