"""Syslog text (traditional BSD, RFC 3339 stamped, RFC 5424, ``journalctl`` short output).

sshd authentication messages become ``auth`` events (rules in :mod:`watchhouse.ingest.sshd`);
every other well-formed syslog line becomes a ``host`` event, because a cron, sudo or systemd
line is context an investigator wants next to the failed logins. Only lines that are not
syslog at all are quarantined. All matching is vectorised over the chunk with Polars regexes.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from watchhouse.core.events import TIMESTAMP_FIELD, Dataset
from watchhouse.ingest.base import ParseResult, ensure_utf8, frame_with_provenance, normalise_newlines
from watchhouse.ingest.source import LineChunk
from watchhouse.ingest.sshd import SSHD_PROGRAMS, Connections, classify

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_PRI = r"(?:<[0-9]{1,3}>)?"
_TRADITIONAL = (
    "^" + _PRI + r"(?P<mon>" + "|".join(_MONTHS) + r") {1,2}(?P<day>[0-9]{1,2}) "
    r"(?P<clock>[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.[0-9]+)? (?P<rest>.*)$"
)
_ISO = (
    "^" + _PRI + r"(?P<iso>[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
    r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?) (?P<rest>.*)$"
)
_RFC5424 = (
    r"^<[0-9]{1,3}>1 (?P<iso>\S+) (?P<host>\S+) (?P<prog>\S+) (?P<pid>\S+) \S+ "
    r"(?:-|(?:\[(?:[^\]\"]|\"(?:[^\"\\]|\\.)*\")*\])+) ?(?P<message>.*)$"
)
# Tag shapes after the timestamp, most specific first: "host prog[pid]:", "[prog]:", "host prog:",
# then an untagged "host message" and finally a bare message.
_TAGS = (
    r"^(?:(?P<host>[^\s\[\]:]+) )?(?P<prog>[^\s\[\]:]+)\[(?P<pid>[0-9]+)\]:? (?P<message>.*)$",
    r"^(?:(?P<host>\S+) )?\[(?P<prog>[^\s\[\]:]+)\]:? (?P<message>.*)$",
    r"^(?:(?P<host>\S+) )?(?P<prog>[^\s\[\]:]+): (?P<message>.*)$",
    r"^(?P<host>\S+) (?P<message>.*)$",
    r"^(?P<message>.*)$",
)
_ISO_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%z"
# The common shape, "2026-03-02T00:00:00.016068+00:00 host prog[pid]: message": no PRI, a "T" and an
# explicit offset, so the stamp needs no rewriting before it is parsed with _ISO_FORMAT.
_FAST = (
    r"^(?P<iso>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?[+-][0-9]{2}:?[0-9]{2}) "
    r"(?P<host>[^\s\[\]:]+) (?P<prog>[^\s\[\]:]+)\[(?P<pid>[0-9]+)\]: (?P<message>.*)$"
)
_STR = pl.String


class SyslogParser:
    def __init__(self, year: int | None) -> None:
        self._year = year if year is not None else dt.datetime.now(dt.UTC).year
        self._last_month: int | None = None
        self._wraps = 0
        # sshd connections carry across chunks: a failure may name its address lines (or chunks) earlier
        self._connections = Connections()

    def parse(self, chunk: LineChunk) -> ParseResult:
        result = ParseResult()
        if chunk.n_lines == 0:
            return result
        data = normalise_newlines(chunk.data)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = ensure_utf8(data).decode("utf-8")
        lines = text.split("\n")
        if text.endswith("\n"):
            lines.pop()
        frame = pl.DataFrame({"line": lines}, schema={"line": _STR}).with_row_index("_row")
        frame = frame.with_columns(pl.col("_row").cast(pl.Int64))
        # Fast path: one capture per line for the common "ISO stamp host prog[pid]: message" shape.
        # It parses exactly as the general path would (ISO stamp with offset, first tag shape with host).
        fast = frame.select("_row", pl.col("line").str.extract_groups(_FAST).alias("_m")).unnest("_m")
        matched = fast.get_column("iso").is_not_null()
        fast = fast.filter(matched) if not matched.all() else fast
        fast_good = fast.select(
            "_row",
            pl.col("iso")
            .str.to_datetime(_ISO_FORMAT, strict=False, time_unit="us")
            .dt.convert_time_zone("UTC")
            .alias(TIMESTAMP_FIELD),
            pl.when(pl.col("host") == "-").then(None).otherwise(pl.col("host")).alias("host.name"),
            pl.when(pl.col("prog") == "-").then(None).otherwise(pl.col("prog")).alias("process.name"),
            pl.col("pid").cast(pl.Int64, strict=False).alias("process.pid"),
            "message",
        )
        stamped = fast_good.get_column(TIMESTAMP_FIELD).is_not_null()
        rejects: list[tuple[int, str]] = []
        if not stamped.all():
            rejects.extend((int(r), "invalid syslog timestamp") for r in fast_good.filter(~stamped).get_column("_row"))
            fast_good = fast_good.filter(stamped)
        if len(fast) == len(frame):
            good = fast_good
        else:
            slow_good = self._general(frame.filter(~matched), rejects, result)
            good = pl.concat([fast_good, slow_good]).sort("_row") if len(slow_good) else fast_good
        for row, reason in sorted(rejects):
            result.reject(chunk, row, reason)
        self._emit(chunk, good, result)
        return result

    def _general(self, frame: pl.DataFrame, rejects: list[tuple[int, str]], result: ParseResult) -> pl.DataFrame:
        """Every syslog shape: the rows the fast path did not take (columns ``_row`` and ``line``)."""
        blank = frame.get_column("line").str.strip_chars().str.len_bytes() == 0
        trad = pl.col("line").str.extract_groups(_TRADITIONAL)
        iso = pl.col("line").str.extract_groups(_ISO)
        rfc = pl.col("line").str.extract_groups(_RFC5424)
        heads = frame.select(
            "_row",
            trad.struct.field("mon").alias("mon"),
            trad.struct.field("day").alias("day"),
            trad.struct.field("clock").alias("clock"),
            pl.coalesce(trad.struct.field("rest"), iso.struct.field("rest")).alias("rest"),
            pl.coalesce(iso.struct.field("iso"), rfc.struct.field("iso")).alias("iso"),
            rfc.struct.field("host").alias("h5"),
            rfc.struct.field("prog").alias("p5"),
            rfc.struct.field("pid").alias("pid5"),
            rfc.struct.field("message").alias("m5"),
        )
        stamp = self._timestamps(heads)
        tags = [pl.col("rest").str.extract_groups(p) for p in _TAGS]
        shape = pl.lit(None, pl.Int32)
        for index in reversed(range(len(_TAGS))):
            shape = pl.when(pl.col("rest").str.contains(_TAGS[index])).then(pl.lit(index, pl.Int32)).otherwise(shape)

        def pick(name: str, rfc_col: str) -> pl.Expr:
            expr: pl.Expr = pl.col(rfc_col)
            for index in reversed(range(len(_TAGS))):
                if f"(?P<{name}>" in _TAGS[index]:
                    expr = pl.when(pl.col("_shape") == index).then(tags[index].struct.field(name)).otherwise(expr)
            return expr

        parsed = (
            heads.with_columns(stamp.alias(TIMESTAMP_FIELD), shape.alias("_shape"))
            .with_columns(
                pick("host", "h5").alias("host.name"),
                pick("prog", "p5").alias("process.name"),
                pick("pid", "pid5").cast(pl.Int64, strict=False).alias("process.pid"),
                pick("message", "m5").alias("message"),
            )
            .with_columns(
                pl.when(pl.col("host.name") == "-").then(None).otherwise(pl.col("host.name")).alias("host.name"),
                pl.when(pl.col("process.name") == "-")
                .then(None)
                .otherwise(pl.col("process.name"))
                .alias("process.name"),
            )
        )
        is_syslog = (parsed.get_column("rest").is_not_null() | parsed.get_column("m5").is_not_null()).to_numpy()
        stamped = parsed.get_column(TIMESTAMP_FIELD).is_not_null().to_numpy()
        blank_np = blank.to_numpy()
        rows = parsed.get_column("_row").to_numpy()
        for at in np.flatnonzero(~blank_np & ~(is_syslog & stamped)):
            reason = "invalid syslog timestamp" if is_syslog[at] else "not a syslog line"
            rejects.append((int(rows[at]), reason))
        result.blank += int(blank_np.sum())
        good = parsed.filter(pl.Series(~blank_np & is_syslog & stamped))
        return good.select("_row", TIMESTAMP_FIELD, "host.name", "process.name", "process.pid", "message")

    def _timestamps(self, heads: pl.DataFrame) -> pl.Expr:
        """Traditional stamps get a year: the given one, plus one per Dec->Jan style wrap-around."""
        month = pl.col("mon").replace_strict(
            {m: i + 1 for i, m in enumerate(_MONTHS)}, default=None, return_dtype=pl.Int32
        )
        months = heads.select(month).to_series()
        previous = months.forward_fill().shift(1)
        if self._last_month is not None:
            previous = previous.fill_null(self._last_month)
        wrapped = ((previous - months) > 6).fill_null(False)
        years = wrapped.cast(pl.Int32).cum_sum() + self._year + self._wraps
        self._wraps += int(wrapped.sum())
        last = months.drop_nulls()
        if len(last):
            self._last_month = int(last[-1])
        traditional = pl.concat_str(
            [
                pl.lit(years.cast(_STR)),
                pl.lit(" "),
                pl.col("mon"),
                pl.lit(" "),
                pl.col("day"),
                pl.lit(" "),
                pl.col("clock"),
            ]
        ).str.to_datetime("%Y %b %d %H:%M:%S", strict=False, time_unit="us")
        iso = pl.col("iso").str.replace(" ", "T").str.replace(r"[Zz]$", "+00:00")
        iso = pl.when(iso.str.contains(r"[+-][0-9]{2}:?[0-9]{2}$")).then(iso).otherwise(iso + "+00:00")
        return pl.coalesce(
            traditional.dt.replace_time_zone("UTC"),
            iso.str.to_datetime(_ISO_FORMAT, strict=False, time_unit="us").dt.convert_time_zone("UTC"),
        )

    def _emit(self, chunk: LineChunk, good: pl.DataFrame, result: ParseResult) -> None:
        sshd = good.filter(pl.col("process.name").is_in(SSHD_PROGRAMS))
        auth = classify(sshd) if len(sshd) else classify(sshd.clear())
        auth = self._connections.link(sshd, auth)
        auth_rows = auth.get_column("_row")
        if len(auth):
            joined = auth.join(
                good.select("_row", TIMESTAMP_FIELD, "host.name", "process.name", "process.pid"), on="_row"
            )
            joined = joined.sort("_row")
            table = joined.select(
                TIMESTAMP_FIELD,
                "source.ip",
                "user.name",
                "event.outcome",
                "event.action",
                "event.reason",
                pl.col("process.name").alias("service.name"),
                "host.name",
                "process.pid",
            )
            result.tables.append(
                (
                    Dataset.AUTH,
                    frame_with_provenance(table, chunk, joined.get_column("_row").to_numpy().astype(np.int64)),
                )
            )
        host = good.filter(~pl.col("_row").is_in(auth_rows.implode()))
        if len(host):
            table = host.select(TIMESTAMP_FIELD, "host.name", "process.name", "process.pid", "message")
            result.tables.append(
                (Dataset.HOST, frame_with_provenance(table, chunk, host.get_column("_row").to_numpy().astype(np.int64)))
            )
