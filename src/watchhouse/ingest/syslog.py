"""Syslog text (traditional BSD, RFC 3339 stamped, RFC 5424, ``journalctl`` short output).

sshd authentication messages become ``auth`` events (rules in :mod:`watchhouse.ingest.sshd`);
every other well-formed syslog line becomes a ``host`` event, because a cron, sudo or systemd
line is context an investigator wants next to the failed logins. Only lines that are not
syslog at all are quarantined. All matching is vectorised over the chunk: the commonest head of
all ("2026-03-02T00:00:00.016068+00:00 host prog[pid]: ") is read straight from the chunk's bytes
(:mod:`watchhouse.ingest.syslog_heads`); the two common shapes (ISO-stamped and classic BSD lines
with "host prog[pid]: ") take a fast path of one Polars regex run per line, and only the other
lines go through the general one. Each shortcut takes only lines it reads exactly as the next path
would.

This module keeps the text shapes (the regexes) and :class:`SyslogParser`, which chooses a path per
line and emits events. Where the split lies, and why: turning a chunk into lines
(:mod:`~watchhouse.ingest.syslog_lines`), reading heads from bytes
(:mod:`~watchhouse.ingest.syslog_heads`) and building instants from stamp groups
(:mod:`~watchhouse.ingest.syslog_stamps`) each have rules of their own that every path must share,
and none of them needs to know which path a line takes.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from watchhouse.core.events import TIMESTAMP_FIELD, Dataset
from watchhouse.ingest.base import ParseResult, frame_with_provenance
from watchhouse.ingest.source import LineChunk
from watchhouse.ingest.sshd import SSHD_PROGRAMS, Connections, classify
from watchhouse.ingest.syslog_heads import _quick_heads
from watchhouse.ingest.syslog_lines import _split
from watchhouse.ingest.syslog_stamps import _ISO_FORMAT, _MONTHS, _fast_stamps, _month_numbers, _traditional_stamp

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
# The common shape, "2026-03-02T00:00:00.016068+00:00 host prog[pid]: message": no PRI, a "T" and an
# explicit offset. Only the head is captured: the message is the rest of the line (a line holds no
# newline, so the general path's "(?P<message>.*)$" always takes exactly that rest), and capturing a
# long message costs the regex engine more than everything else on the line.
_FAST_HEAD = (
    r"^(?P<sec>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.(?P<frac>[0-9]+))?"
    r"(?P<off>[+-][0-9]{2}:?[0-9]{2}) (?P<host>[^\s\[\]:]+) (?P<prog>[^\s\[\]:]+)\[(?P<pid>[0-9]+)\]: "
)
# Characters of the head outside its groups: "." (when there is a fraction), two spaces, "[" and "]: ".
_FAST_PUNCTUATION = 7
# The classic BSD shape, "Mar  1 12:00:01 host prog[pid]: message", which is the general path's
# traditional stamp (without a PRI) followed by its first tag shape with a host, so it parses
# exactly as there. The whole head is one group as well: the message is the line without it.
_TRADITIONAL_HEAD = (
    r"^(?P<head>(?P<mon>" + "|".join(_MONTHS) + r") {1,2}(?P<day>[0-9]{1,2}) "
    r"(?P<clock>[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.[0-9]+)? (?P<host>[^\s\[\]:]+) (?P<prog>[^\s\[\]:]+)"
    r"\[(?P<pid>[0-9]+)\]: )"
)


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
        lines, as_they_lie = _split(chunk)
        quick: pl.DataFrame | None = None
        if as_they_lie:
            quick, taken = _quick_heads(chunk, lines)
            if quick.height == len(lines):
                self._emit(chunk, quick, result)
                return result
        frame = pl.DataFrame([lines]).with_row_index("_row").with_columns(pl.col("_row").cast(pl.Int64))
        if quick is not None and quick.height:
            frame = frame.filter(pl.Series(~taken))
        # Fast path: the common "ISO stamp host prog[pid]: message" shape. It parses exactly as the
        # general path would (ISO stamp with offset, first tag shape with host).
        fast = frame.select("_row", "line", pl.col("line").str.extract_groups(_FAST_HEAD).alias("_m")).unnest("_m")
        matched = fast.get_column("sec").is_not_null()
        fast = fast.filter(matched) if not matched.all() else fast
        head_chars = pl.sum_horizontal(
            pl.col("sec", "off", "pid").str.len_bytes().cast(pl.Int64),
            pl.col("frac").str.len_bytes().cast(pl.Int64).fill_null(-1),  # no fraction, no "."
            pl.col("host", "prog").str.len_chars().cast(pl.Int64),
        ) + pl.lit(_FAST_PUNCTUATION, pl.Int64)
        fast_good = fast.select(
            "_row",
            _fast_stamps(fast).alias(TIMESTAMP_FIELD),
            pl.when(pl.col("host") == "-").then(None).otherwise(pl.col("host")).alias("host.name"),
            pl.when(pl.col("prog") == "-").then(None).otherwise(pl.col("prog")).alias("process.name"),
            pl.col("pid").cast(pl.Int64, strict=False).alias("process.pid"),
            pl.col("line").str.slice(head_chars).alias("message"),
        )
        stamped = fast_good.get_column(TIMESTAMP_FIELD).is_not_null()
        rejects: list[tuple[int, str]] = []
        if not stamped.all():
            rejects.extend((int(r), "invalid syslog timestamp") for r in fast_good.filter(~stamped).get_column("_row"))
            fast_good = fast_good.filter(stamped)
        if quick is not None and quick.height:
            fast_good = pl.concat([quick, fast_good]).sort("_row") if fast_good.height else quick
        good = fast_good if len(fast) == len(frame) else self._slow(frame.filter(~matched), fast_good, rejects, result)
        for row, reason in sorted(rejects):
            result.reject(chunk, row, reason)
        self._emit(chunk, good, result)
        return result

    def _slow(
        self, rest: pl.DataFrame, fast_good: pl.DataFrame, rejects: list[tuple[int, str]], result: ParseResult
    ) -> pl.DataFrame:
        """``fast_good`` plus the good rows of ``rest`` (``_row``, ``line``: the lines the ISO fast path
        did not take), in line order: classic BSD lines by their own fast path, the rest in general.

        Traditional stamps have no year, and a year is counted on at every Dec->Jan style wrap-around
        of the months in line order, so the months of both paths are put back in line order first.
        """
        trad = rest.select("_row", pl.col("line").str.extract_groups(_TRADITIONAL_HEAD).alias("_m")).unnest("_m")
        taken = trad.get_column("head").is_not_null()
        general = rest.filter(~taken)
        heads = self._heads(general)
        months = _month_numbers(trad.get_column("mon"))
        if len(general):
            months = months.scatter(np.flatnonzero(~taken.to_numpy()), _month_numbers(heads.get_column("mon")))
        years = self._years(months)
        parts = [fast_good]
        if taken.any():
            parts.append(self._traditional(trad.filter(taken), rest.filter(taken), years.filter(taken), rejects))
        if len(general):
            parts.append(self._general(heads, years.filter(~taken), rejects, result))
        parts = [part for part in parts if len(part)]
        if len(parts) <= 1:
            return parts[0] if parts else fast_good
        return pl.concat(parts).sort("_row")

    def _traditional(
        self, trad: pl.DataFrame, lines: pl.DataFrame, years: pl.Series, rejects: list[tuple[int, str]]
    ) -> pl.DataFrame:
        """Classic BSD lines: ``trad`` holds their head's groups, ``lines`` the same rows' text."""
        parsed = pl.concat([trad, lines.select("line")], how="horizontal").select(
            "_row",
            _traditional_stamp(years).alias(TIMESTAMP_FIELD),
            pl.when(pl.col("host") == "-").then(None).otherwise(pl.col("host")).alias("host.name"),
            pl.when(pl.col("prog") == "-").then(None).otherwise(pl.col("prog")).alias("process.name"),
            pl.col("pid").cast(pl.Int64, strict=False).alias("process.pid"),
            pl.col("line").str.strip_prefix(pl.col("head")).alias("message"),
        )
        stamped = parsed.get_column(TIMESTAMP_FIELD).is_not_null()
        if stamped.all():
            return parsed
        rejects.extend((int(r), "invalid syslog timestamp") for r in parsed.filter(~stamped).get_column("_row"))
        return parsed.filter(stamped)

    def _heads(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The general path's first step: stamp and tag candidates of every syslog shape, per row."""
        trad = pl.col("line").str.extract_groups(_TRADITIONAL)
        iso = pl.col("line").str.extract_groups(_ISO)
        rfc = pl.col("line").str.extract_groups(_RFC5424)
        return frame.select(
            "_row",
            (pl.col("line").str.strip_chars().str.len_bytes() == 0).alias("_blank"),
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

    def _general(
        self, heads: pl.DataFrame, years: pl.Series, rejects: list[tuple[int, str]], result: ParseResult
    ) -> pl.DataFrame:
        """Every syslog shape: the rows no fast path took, from their :meth:`_heads`, with the year
        of each traditional stamp in ``years``."""
        iso = pl.col("iso").str.replace(" ", "T").str.replace(r"[Zz]$", "+00:00")
        iso = pl.when(iso.str.contains(r"[+-][0-9]{2}:?[0-9]{2}$")).then(iso).otherwise(iso + "+00:00")
        stamp = pl.coalesce(
            _traditional_stamp(years),
            iso.str.to_datetime(_ISO_FORMAT, strict=False, time_unit="us").dt.convert_time_zone("UTC"),
        )
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
        blank_np = parsed.get_column("_blank").to_numpy()
        rows = parsed.get_column("_row").to_numpy()
        for at in np.flatnonzero(~blank_np & ~(is_syslog & stamped)):
            reason = "invalid syslog timestamp" if is_syslog[at] else "not a syslog line"
            rejects.append((int(rows[at]), reason))
        result.blank += int(blank_np.sum())
        good = parsed.filter(pl.Series(~blank_np & is_syslog & stamped))
        return good.select("_row", TIMESTAMP_FIELD, "host.name", "process.name", "process.pid", "message")

    def _years(self, months: pl.Series) -> pl.Series:
        """The year of each traditional stamp (``months`` in line order, null for other rows): the
        given one, plus one per Dec->Jan style wrap-around, carried across chunks."""
        previous = months.forward_fill().shift(1)
        if self._last_month is not None:
            previous = previous.fill_null(self._last_month)
        wrapped = ((previous - months) > 6).fill_null(False)
        years = wrapped.cast(pl.Int32).cum_sum() + self._year + self._wraps
        self._wraps += int(wrapped.sum())
        last = months.drop_nulls()
        if len(last):
            self._last_month = int(last[-1])
        return years

    def _emit(self, chunk: LineChunk, good: pl.DataFrame, result: ParseResult) -> None:
        """Auth events for the sshd lines the rules recognise, host events for every other good line.

        ``good`` is in line order and the auth rows are a subset of it, so each auth row finds its
        line by binary search rather than a hash join (the join was a fifth of the sshd cost).
        """
        sshd = good.filter(pl.col("process.name").is_in(SSHD_PROGRAMS))
        auth = classify(sshd) if len(sshd) else classify(sshd.clear())
        auth = self._connections.link(sshd, auth)
        lines = good.get_column("_row").to_numpy()
        rows = auth.get_column("_row").to_numpy().astype(np.int64)
        at = np.searchsorted(lines, rows)
        if len(auth):
            context = good.select(
                pl.col(TIMESTAMP_FIELD, "host.name", "process.name", "process.pid").gather(
                    pl.Series(at, dtype=pl.Int64)
                )
            )
            table = pl.concat([auth, context], how="horizontal").select(
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
            result.tables.append((Dataset.AUTH, frame_with_provenance(table, chunk, rows)))
        keep = np.ones(len(good), dtype=bool)
        keep[at] = False
        host = good.filter(pl.Series(keep)) if len(auth) else good
        if len(host):
            table = host.select(TIMESTAMP_FIELD, "host.name", "process.name", "process.pid", "message")
            result.tables.append(
                (Dataset.HOST, frame_with_provenance(table, chunk, host.get_column("_row").to_numpy().astype(np.int64)))
            )
