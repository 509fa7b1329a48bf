"""Building the Polars frame Sigma rules read, from a Watchhouse batch.

Rules name fields the way their log source does (``Image``, ``EventID``, ``cs-method``), not our
ECS column names, and Windows records keep their open-ended EventData as JSON text. Per batch we
project exactly the fields the loaded rules reference (one vectorised ``json_decode`` into a
struct of those keys), rename the fixed columns to their Sigma names, and add lower-cased copies
of the columns compared case-insensitively. Fields a batch lacks become null columns, which is
how Sigma's "missing field" reaches the predicates. Linux host rows (auditd records, syslog lines)
are read the same way from ``host.event_data`` (ADR 0009).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from types import MappingProxyType

import numpy as np
import polars as pl

from watchhouse.core.events import Dataset, EventBatch
from watchhouse.sigma.compiler import KEYWORD_COLUMN, Literal, lower_column
from watchhouse.sigma.literals import holding
from watchhouse.sigma.logsources import MODULE_FIELD, PROGRAM_FIELD, SYSLOG

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


#: (lower-cased channel, event id) -> the fields rules for such events read
FieldsFor = Callable[[str | None, int | None], Collection[str]]
#: (lower-cased channel, event id) -> needles (:func:`keyword_needle`) of every keyword leaf that
#: rules for such events read, or None when one has none
NeedlesFor = Callable[[str | None, int | None], tuple[str, ...] | None]


def keyword_text(data: pl.Series, channel: pl.Series) -> pl.Series:
    """Full-text search reads every value: the channel and EventData text, JSON escapes undone."""
    text = data.str.replace_all(r"\\", "\\", literal=True).str.replace_all('\\"', '"', literal=True)
    both = pl.DataFrame([channel.alias("channel"), text.alias("text")])
    return both.select(pl.concat_str(["channel", "text"], separator="\n", ignore_nulls=True)).to_series()


_NOT_IN_NEEDLE = re.compile(r'[\\"\n]|[^\x00-\x7f]')
#: characters whose lower case is (or holds) an ASCII letter (Turkish dotted I, Kelvin sign): a
#: text holding one can match a lower-cased pattern where a caseless ASCII search cannot
LOWERS_TO_ASCII = ("\u0130", "\u212a")


def keyword_needle(literal: Literal | None) -> str:
    """Text that a row's EventData JSON or channel holds (ASCII case aside) whenever its keyword
    text (:func:`keyword_text`) matches ``literal``; empty when there is none to be had.

    Why this is exact: the keyword text is the channel, a newline and the JSON with ``\\\\`` and
    ``\\"`` undone, so every character other than a backslash or a quote is copied from the
    channel or the JSON next to the same neighbours. A run of the literal's needle free of
    backslashes, quotes and newlines therefore lies in one of them as it is. Non-ASCII characters
    are left out because the prefilter folds ASCII case only (and :data:`LOWERS_TO_ASCII`).
    """
    if literal is None or literal.search or not literal.needle:
        return ""
    return max(_NOT_IN_NEEDLE.split(literal.needle), key=len)


def _keywords(data: pl.Series, channel: pl.Series, needles: tuple[str, ...] | None) -> pl.Series:
    """The keyword text of the rows whose JSON or channel holds one of ``needles`` (all rows when
    None), null on the others: rows no keyword leaf of their rules can match (ADR 0011)."""
    if needles is None:
        return keyword_text(data, channel)
    patterns = (*needles, *LOWERS_TO_ASCII)
    rows = np.flatnonzero(holding(data, patterns) | holding(channel, patterns))
    empty = pl.Series(KEYWORD_COLUMN, [None] * len(data), dtype=pl.String)
    return empty.scatter(rows, keyword_text(data.gather(rows), channel.gather(rows))) if len(rows) else empty


def _decode(
    data: pl.Series, channel: pl.Series, need: tuple[str, ...], needles: tuple[str, ...] | None
) -> pl.DataFrame:
    names = [n for n in need if n != KEYWORD_COLUMN]
    out = (
        data.str.json_decode(dtype=pl.Struct(dict.fromkeys(names, pl.String))).struct.unnest()
        if names
        else pl.DataFrame(height=len(data))
    )
    if KEYWORD_COLUMN in need:
        out = out.with_columns(_keywords(data, channel, needles).alias(KEYWORD_COLUMN))
    return out


def _winlog(
    frame: pl.DataFrame, fields: Collection[str], fields_for: FieldsFor | None, needles_for: NeedlesFor | None
) -> pl.DataFrame:
    """System columns plus the EventData fields (and keyword text) the rules read.

    Why grouped by event kind: decoding JSON into a struct costs time per row *and* per schema
    field, and a process-creation event never needs the ~150 fields only registry, pipe or
    Defender rules read, nor the full text only keyword rules search. Rows are ordered by the
    fields their (channel, event id) needs and each run decoded with just those. The frame stays
    in that order; its ``ROW_COLUMN`` says which batch row each frame row is.
    """
    system = [pl.col(column).alias(name) for name, column in WINLOG_SYSTEM.items() if name in fields]
    data_fields = sorted(f for f in fields if f not in WINLOG_SYSTEM)
    if fields_for is None or not data_fields:
        out = frame.select([pl.int_range(pl.len(), dtype=pl.Int64).alias(ROW_COLUMN), *system])
        if data_fields:
            data, channel = frame.get_column("winlog.event_data"), frame.get_column("winlog.channel")
            out = out.hstack(_decode(data, channel, tuple(data_fields), None).get_columns())
        return out
    wanted = set(data_fields)
    kinds = (
        frame.select(
            pl.col("winlog.channel").str.to_lowercase().alias("channel"),
            pl.col("winlog.event_id").cast(pl.Int64).alias("event_id"),
        )
        .with_row_index("row")
        .group_by("channel", "event_id")
        .agg("row")
    )
    by_need: dict[tuple[tuple[str, ...], tuple[str, ...] | None], list[pl.Series]] = {}
    for kind_channel, event_id, rows in zip(
        *(kinds.get_column(c) for c in ("channel", "event_id", "row")), strict=True
    ):
        need = tuple(sorted(wanted.intersection(fields_for(kind_channel, event_id))))
        needles = needles_for(kind_channel, event_id) if needles_for and KEYWORD_COLUMN in need else None
        by_need.setdefault((need, needles), []).append(rows)
    runs = [(need, pl.concat(parts)) for need, parts in by_need.items()]
    order = pl.concat([rows for _, rows in runs]).cast(pl.Int64)
    ordered = frame.select([*system, "winlog.event_data", "winlog.channel"]).gather(order)
    ordered = ordered.insert_column(0, order.alias(ROW_COLUMN))
    data, channel = ordered.get_column("winlog.event_data"), ordered.get_column("winlog.channel")
    pieces, start = [], 0
    for (need, needles), rows in runs:
        pieces.append(_decode(data.slice(start, len(rows)), channel.slice(start, len(rows)), need, needles))
        start += len(rows)
    # fields no run decoded stay out here: sigma_frame adds every missing field as a null column
    decoded = pl.concat(pieces, how="diagonal", rechunk=False)
    return ordered.drop("winlog.event_data", "winlog.channel").hstack(decoded.get_columns())


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


def _host(frame: pl.DataFrame, fields: Collection[str]) -> pl.DataFrame:
    """Linux host rows: auditd fields from ``host.event_data``, the line text for keywords.

    Syslog rows (``event.module`` null) have no open-ended fields; their routing columns say
    which program wrote them, so ``service: sshd`` rules see only sshd's lines.
    """
    exprs: list[pl.Expr] = [pl.int_range(pl.len(), dtype=pl.Int64).alias(ROW_COLUMN)]
    data_fields = []
    for name in fields:
        if name == MODULE_FIELD:
            exprs.append(pl.col("event.module").fill_null(SYSLOG).alias(name))
        elif name == PROGRAM_FIELD:
            exprs.append(pl.col("process.name").alias(name))
        elif name == KEYWORD_COLUMN:
            exprs.append(pl.col("message").alias(name))
        else:
            data_fields.append(name)
    out = frame.select(exprs)
    if data_fields:
        decoded = (
            frame.get_column("host.event_data")
            .str.json_decode(dtype=pl.Struct(dict.fromkeys(data_fields, pl.String)))
            .struct.unnest()
        )
        out = out.hstack(decoded.get_columns())
    return out


def sigma_frame(
    batch: EventBatch,
    fields: Collection[str],
    lowered: Collection[str],
    fields_for: FieldsFor | None = None,
    needles_for: NeedlesFor | None = None,
) -> pl.DataFrame:
    """Columns named as rules name them: every field in ``fields`` (null when absent).

    ``fields_for``, when given, says which fields events of each (channel, event id) can need;
    fields no rule for an event reads stay null for it, and the frame's rows may be in another
    order than the batch's: ``ROW_COLUMN`` maps them back (see :func:`_winlog`). ``needles_for``
    likewise lets the keyword text stay null on rows no keyword of their rules can match.
    """
    frame = batch.to_polars()
    if batch.dataset is Dataset.WINLOG:
        out = _winlog(frame, fields, fields_for, needles_for)
    elif batch.dataset is Dataset.HOST:
        out = _host(frame, fields)
    else:
        exprs = (
            _http(frame, fields) if batch.dataset is Dataset.HTTP else [pl.col(f) for f in fields if f in frame.columns]
        )
        out = frame.select([pl.int_range(pl.len(), dtype=pl.Int64).alias(ROW_COLUMN), *exprs])
    missing = [f for f in fields if f not in out.columns]
    if missing:
        out = out.with_columns(pl.lit(None, dtype=pl.String).alias(f) for f in missing)
    if lowered:
        out = out.with_columns(pl.col(c).cast(pl.String).str.to_lowercase().alias(lower_column(c)) for c in lowered)
    return out


def records_frame(
    records: list[dict[str, object]],
    fields: Collection[str],
    lowered: Collection[str],
    numeric: Collection[str] = (),
) -> pl.DataFrame:
    """A frame from plain records (any log source), every value as text except ``numeric``
    fields (integers; text that is not one becomes null); for generic evaluation."""
    columns = {f: [None if r.get(f) is None else str(r.get(f)) for r in records] for f in fields if f != KEYWORD_COLUMN}
    frame = pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String)) if columns else pl.DataFrame()
    casts = [pl.col(f).cast(pl.Int64, strict=False) for f in numeric if f in columns]
    if casts:
        frame = frame.with_columns(casts)
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
