"""The syslog byte head reader: the commonest syslog head read straight from a chunk's bytes.

Why its own module: it is a self-contained fixed-layout scanner (numpy reference, compiled twin in
:mod:`watchhouse._native`, resolution of offsets) that works on bytes and positions rather than on
text, and it is held byte for byte to its twin by its own differential tests. The parser in
:mod:`watchhouse.ingest.syslog` only asks it which lines it takes; the stamp rules it must agree
with live in :mod:`watchhouse.ingest.syslog_stamps`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from watchhouse._native import syslog as native_syslog
from watchhouse.core.events import TIMESTAMP_FIELD
from watchhouse.ingest.civil_time import days_from_civil, valid_clock
from watchhouse.ingest.source import LineChunk
from watchhouse.ingest.syslog_stamps import _offsets

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
    """The lines whose head a fixed-layout byte reader can take, parsed exactly as ``syslog._FAST_HEAD``
    and :func:`~watchhouse.ingest.syslog_stamps._fast_stamps` parse them, and a mask of those lines.

    Why: a regex with captures costs the engine far more per line than a few vectorised byte
    comparisons, and nearly every line of a modern syslog file starts with a 33-byte stamp of one
    layout. The reader compares that stamp column by column, finds the host, program and pid by
    the first byte that may not continue each, and computes the instant by calendar arithmetic.
    It only takes a line when the answer cannot differ from the regex path's: every byte of the
    head printable ASCII, a valid date and clock from 1970 on with no leap second, and an offset
    the stamp parser accepts. Every other line is left to the regex path, so this changes speed,
    never results. ``lines`` must be the chunk's bytes as they lie (see
    :func:`~watchhouse.ingest.syslog_lines._split`). The reading runs in the compiled kernel where it
    is built (one C loop per line, about a tenth of the numpy passes' cost), else in
    :func:`_quick_scan`, its reference.
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
    # each distinct offset is resolved by the stamp parser itself, as in syslog_stamps._fast_stamps
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
