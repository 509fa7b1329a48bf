"""Syslog text (traditional BSD, RFC 3339 stamped, RFC 5424, ``journalctl`` short output).

sshd authentication messages become ``auth`` events (rules in :mod:`watchhouse.ingest.sshd`);
every other well-formed syslog line becomes a ``host`` event, because a cron, sudo or systemd
line is context an investigator wants next to the failed logins. Only lines that are not
syslog at all are quarantined. All matching is vectorised over the chunk: the commonest head of
all ("2026-03-02T00:00:00.016068+00:00 host prog[pid]: ") is read straight from the chunk's bytes
with numpy (:func:`_quick_heads`); the two common shapes (ISO-stamped and classic BSD lines with
"host prog[pid]: ") take a fast path of one Polars regex run per line, and only the other lines
go through the general one. Each shortcut takes only lines it reads exactly as the next path would.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from watchhouse._native import syslog as native_syslog
from watchhouse.core.events import TIMESTAMP_FIELD, Dataset
from watchhouse.ingest.base import ParseResult, ensure_utf8, frame_with_provenance, normalise_newlines
from watchhouse.ingest.civil_time import days_from_civil, valid_clock
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
# explicit offset. Only the head is captured: the message is the rest of the line (a line holds no
# newline, so the general path's "(?P<message>.*)$" always takes exactly that rest), and capturing a
# long message costs the regex engine more than everything else on the line.
_FAST_HEAD = (
    r"^(?P<sec>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.(?P<frac>[0-9]+))?"
    r"(?P<off>[+-][0-9]{2}:?[0-9]{2}) (?P<host>[^\s\[\]:]+) (?P<prog>[^\s\[\]:]+)\[(?P<pid>[0-9]+)\]: "
)
# Characters of the head outside its groups: "." (when there is a fraction), two spaces, "[" and "]: ".
_FAST_PUNCTUATION = 7
_NAIVE_SECOND_FORMAT = "%Y-%m-%dT%H:%M:%S"
# The classic BSD shape, "Mar  1 12:00:01 host prog[pid]: message", which is the general path's
# traditional stamp (without a PRI) followed by its first tag shape with a host, so it parses
# exactly as there. The whole head is one group as well: the message is the line without it.
_TRADITIONAL_HEAD = (
    r"^(?P<head>(?P<mon>" + "|".join(_MONTHS) + r") {1,2}(?P<day>[0-9]{1,2}) "
    r"(?P<clock>[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.[0-9]+)? (?P<host>[^\s\[\]:]+) (?P<prog>[^\s\[\]:]+)"
    r"\[(?P<pid>[0-9]+)\]: )"
)
_STR = pl.String


def _lines(chunk: LineChunk) -> pl.Series:
    """The chunk's lines as one string column, without their newlines."""
    return _split(chunk)[0]


def _split(chunk: LineChunk) -> tuple[pl.Series, bool]:
    """The chunk's lines (as :func:`_lines`), and whether they are its bytes as they lie.

    A chunk of valid UTF-8 without carriage returns (nearly every log) is handed to Arrow as it
    lies, cut at the line starts the chunk already knows; that spares splitting a copy of it, and
    lets :func:`_quick_heads` read line heads straight from the bytes. Anything else is
    normalised first (lone CR, invalid UTF-8) and split as text.
    """
    data = chunk.data
    if b"\r" not in data:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            offsets = np.append(chunk.starts, len(data)).astype(np.int64)
            array = pa.LargeStringArray.from_buffers(chunk.n_lines, pa.py_buffer(offsets), pa.py_buffer(data))
            lines = pl.Series("line", array, dtype=_STR)
            return lines.str.strip_suffix("\n"), True
    data = normalise_newlines(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = ensure_utf8(data).decode("utf-8")
    lines = pl.Series("line", [text], dtype=_STR).str.split("\n").explode()
    return (lines.slice(0, len(lines) - 1) if text.endswith("\n") else lines), False


# The byte reader (:func:`_quick_heads`) takes the commonest head of all, the ISO fast head with a
# six-digit fraction and an "HH:MM" offset, straight from the chunk's bytes: "0" marks a digit.
_QUICK_STAMP = b"0000-00-00T00:00:00.000000+00:00 "
_QUICK_SIGN = _QUICK_STAMP.index(b"+")
_QUICK_FRACTION = slice(_QUICK_STAMP.index(b"."), _QUICK_SIGN)  # with the ".": compared as a literal
_QUICK_DIGITS = np.array([i for i, c in enumerate(_QUICK_STAMP) if c == ord("0")])
_QUICK_LITERAL_COLUMNS = np.array([i for i, c in enumerate(_QUICK_STAMP) if c not in b"0+"])
_QUICK_LITERALS = np.frombuffer(bytes(_QUICK_STAMP[i] for i in _QUICK_LITERAL_COLUMNS), dtype=np.uint8)
# Bytes of a line the byte reader looks at; a longer head (host, program and pid) takes the regex path.
# (72 fits "host-name-17-chars sshd-session[1234567]: "; every byte more costs every line)
_QUICK_WIDTH = 72
# pids of more digits take the regex path, where an integer overflow is null
_QUICK_PID_DIGITS = 18


def _quick_heads(chunk: LineChunk, lines: pl.Series) -> tuple[pl.DataFrame, npt.NDArray[np.bool_]]:
    """The lines whose head a fixed-layout byte reader can take, parsed exactly as ``_FAST_HEAD``
    and :func:`_fast_stamps` parse them, and a mask of those lines.

    Why: a regex with captures costs the engine far more per line than a few vectorised byte
    comparisons, and nearly every line of a modern syslog file starts with a 33-byte stamp of one
    layout. The reader compares that stamp column by column, finds the host, program and pid by
    the first byte that may not continue each, and computes the instant by calendar arithmetic.
    It only takes a line when the answer cannot differ from the regex path's: every byte of the
    head printable ASCII, a valid date and clock from 1970 on with no leap second, and an offset
    the stamp parser accepts. Every other line is left to the regex path, so this changes speed,
    never results. ``lines`` must be the chunk's bytes as they lie (see :func:`_split`). The
    reading runs in the compiled kernel where it is built (one C loop per line, about a tenth of
    the numpy passes' cost), else in :func:`_quick_scan`, its reference.
    """
    starts = chunk.starts
    data = np.frombuffer(chunk.data, dtype=np.uint8)
    if len(data) < _QUICK_WIDTH:
        data = np.concatenate((data, np.zeros(_QUICK_WIDTH - len(data), dtype=np.uint8)))
    scan = _native_scan if native_syslog is not None else _quick_scan
    ok, micros, host_end, prog_end, pid_end, pids = scan(data, starts)
    take = np.flatnonzero(ok)
    whole = len(take) == len(starts)

    def taken(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return values if whole else values[take]

    width = len(_QUICK_STAMP)
    host_end, prog_end, pid_end = taken(host_end), taken(prog_end), taken(pid_end)
    parts = pl.DataFrame(
        [
            pl.Series("_row", take),
            lines if whole else lines.gather(take),
            pl.Series("_h", host_end),
            pl.Series("_p", prog_end - host_end - 1),
            pl.Series("_m", pid_end + 3),
        ]
    )
    line = pl.col("line")
    host = line.str.slice(width, pl.col("_h") - width)
    prog = line.str.slice(pl.col("_h") + 1, pl.col("_p"))
    # a "-" names no host or program; only looked for where one is (the byte lies in the line's window)
    head_starts = taken(starts)
    if (dashed := (host_end == width + 1) & (data[head_starts + width] == ord("-"))).any():
        host = pl.when(pl.Series(dashed)).then(None).otherwise(host)
    if (dashed := (prog_end - host_end == 2) & (data[head_starts + host_end + 1] == ord("-"))).any():
        prog = pl.when(pl.Series(dashed)).then(None).otherwise(prog)
    frame = parts.select(
        "_row",
        pl.Series(TIMESTAMP_FIELD, taken(micros)).cast(pl.Datetime("us", "UTC")),
        host.alias("host.name"),
        prog.alias("process.name"),
        pl.Series("process.pid", taken(pids)),
        line.str.slice(pl.col("_m")).alias("message"),
    )
    return frame, ok


# What a head scan gives per line: whether the byte reader takes it, its UTC microseconds, the
# positions (from the line start) of the space after the host, the "[" and the "]", and the pid.
_Scan = tuple[
    npt.NDArray[np.bool_],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
]


def _native_scan(data: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64]) -> _Scan:
    """:func:`_quick_scan` by the compiled kernel, which leaves the offsets to resolve here."""
    assert native_syslog is not None
    ok, local, codes, host_end, prog_end, pid_end, pids = native_syslog.quick_heads(data, starts)
    if not ok.any():
        return ok, local, host_end, prog_end, pid_end, pids
    # a log uses one or two offsets: each distinct one is resolved by the stamp parser, as below
    seen = codes[ok]
    distinct = seen[:1] if (seen == seen[0]).all() else np.unique(seen)
    shifts, accepted = _offset_shifts(distinct)
    at = np.searchsorted(distinct, codes)
    at[~ok] = 0
    micros = local - shifts[at]
    ok &= accepted[at] & (micros >= 0)
    return ok, micros, host_end, prog_end, pid_end, pids


def _offset_shifts(codes: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Microseconds east of UTC of each offset code (signed ``HHMM``), and whether the stamp parser
    accepts it (a shift of 0 where not)."""
    names = [f"{'-' if c < 0 else '+'}{abs(int(c)) // 100:02d}:{abs(int(c)) % 100:02d}" for c in codes]
    resolved = _offsets(names)
    shifts = np.array([resolved[name] or 0 for name in names], dtype=np.int64)
    return shifts, np.array([resolved[name] is not None for name in names], dtype=bool)


def _quick_scan(data: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64]) -> _Scan:
    """The byte reader of :func:`_quick_heads` in numpy: the reference of the compiled kernel.

    ``data`` is the chunk's bytes, at least ``_QUICK_WIDTH`` long; each check is one vectorised
    pass over every line's window.
    """
    # a window must lie inside the data: the few lines that start in the last bytes take the regex path
    last = len(data) - _QUICK_WIDTH
    inside = starts <= last
    # each window is one fixed-size item of an overlapping view: gathering copies whole items
    items = np.ndarray((last + 1,), dtype=np.dtype((np.void, _QUICK_WIDTH)), buffer=data, strides=(1,))
    window = items[np.minimum(starts, last)].view(np.uint8).reshape(len(starts), _QUICK_WIDTH)
    width = len(_QUICK_STAMP)
    ok = inside & (window[:, _QUICK_LITERAL_COLUMNS] == _QUICK_LITERALS).all(axis=1)
    ok &= ((window[:, _QUICK_DIGITS] - np.uint8(48)) < 10).all(axis=1)  # non-digits wrap above 9
    sign = window[:, _QUICK_SIGN]
    ok &= (sign == ord("+")) | (sign == ord("-"))
    # host " " program "[" pid "]: " after the stamp: a line end ("\n") stops every scan
    tail = window[:, width:]
    rows = np.arange(len(starts))
    # bytes that end a host or program name here: "[", "]", ":" and any byte that is not printable
    # ASCII (the regex's \s also knows Unicode spaces: lines with those take the regex path)
    stop = ((tail - np.uint8(0x21)) >= 0x7F - 0x21) | (tail == ord("[")) | (tail == ord("]")) | (tail == ord(":"))
    host_end = stop.argmax(axis=1)
    ok &= (host_end > 0) & (tail[rows, host_end] == ord(" "))
    stop[rows, host_end] = False
    prog_end = stop.argmax(axis=1)
    ok &= (prog_end > host_end + 1) & (tail[rows, prog_end] == ord("["))
    stop[rows, prog_end] = False
    pid_end = stop.argmax(axis=1)  # the "]"; what lies between must be digits
    ok &= (pid_end > prog_end + 1) & (pid_end + 2 < tail.shape[1]) & (tail[rows, pid_end] == ord("]"))
    after = np.minimum(pid_end + 2, tail.shape[1] - 1)
    ok &= (tail[rows, after - 1] == ord(":")) & (tail[rows, after] == ord(" "))
    # the pid's bytes must all be digits: read column by column up to the longest pid (a few)
    digits = pid_end - prog_end - 1
    ok &= digits <= _QUICK_PID_DIGITS
    pids = np.zeros(len(starts), dtype=np.int64)
    for at in range(1, int(digits[ok].max(initial=0)) + 1):
        digit = tail[rows, np.minimum(prog_end + at, tail.shape[1] - 1)] - np.uint8(48)
        inside_pid = digits >= at
        ok &= ~inside_pid | (digit < 10)
        pids = np.where(inside_pid, pids * 10 + digit, pids)
    micros, valid = _quick_instants(window)
    ok &= valid
    return ok, micros, host_end + width, prog_end + width, pid_end + width, pids


def _quick_instants(window: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """UTC microseconds of the ``_QUICK_STAMP`` stamps opening ``window``'s rows, and whether each
    is one the byte reader may take (see :func:`_quick_heads`; other rows give meaningless values).

    A log's lines come in time order and many share a second, so the calendar arithmetic runs once
    per run of lines with the same stamp apart from the fraction, which is added per line.
    """
    # the stamp without its fraction as four 64-bit words (bytes 0-15, 16-19, 26-31), compared
    # with the previous line's
    words = window[:, :32].copy().view(np.uint64)
    words[:, 2] &= np.frombuffer(b"\xff" * 4 + b"\x00" * 4, dtype=np.uint64)[0]
    words[:, 3] &= np.frombuffer(b"\x00" * 2 + b"\xff" * 6, dtype=np.uint64)[0]
    changed = np.ones(len(window), dtype=bool)
    changed[1:] = (words[1:] != words[:-1]).any(axis=1)
    first = np.flatnonzero(changed)
    run = np.cumsum(changed) - 1
    digits = window[first][:, _QUICK_DIGITS].astype(np.int64) - ord("0")

    def number(start: int, count: int) -> npt.NDArray[np.int64]:
        value = digits[:, start]
        for column in range(start + 1, start + count):
            value = value * 10 + digits[:, column]
        return value

    year, month, day = number(0, 4), number(4, 2), number(6, 2)
    hour, minute, second = number(8, 2), number(10, 2), number(12, 2)
    valid = (year >= 1970) & valid_clock(year, month, day, hour, minute, second)
    seconds = ((days_from_civil(year, month, day) * 24 + hour) * 60 + minute) * 60 + second
    # each distinct offset is resolved by the stamp parser itself, as in _fast_stamps
    sign = window[first, _QUICK_SIGN]
    codes = np.where(sign == ord("-"), -1, 1) * (number(20, 2) * 100 + number(22, 2))
    # (one offset for every run: resolved even where the first run's date is impossible, as later
    # runs with valid dates need it)
    distinct = codes[:1] if (codes == codes[0]).all() else np.unique(codes[valid])
    shifts, accepted = _offset_shifts(distinct)
    shifts, accepted = np.concatenate(([0], shifts)), np.concatenate(([False], accepted))
    at = np.searchsorted(distinct, codes) + 1
    at[~valid] = 0
    base = seconds * 1_000_000 - shifts[at]
    valid &= accepted[at]
    fraction = window[:, _QUICK_FRACTION.start + 1 : _QUICK_SIGN].astype(np.int32) - ord("0")
    micros = fraction[:, 0]
    for column in range(1, fraction.shape[1]):
        micros = micros * 10 + fraction[:, column]
    instants = base[run] + micros
    return instants, valid[run] & (instants >= 0)


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
        pl.Series([reference + o for o in offsets], dtype=_STR)
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
                pl.lit(years.cast(_STR)),
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
