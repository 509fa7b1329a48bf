"""nginx/Apache access logs ("combined" and "common") at about a million lines a second.

Two readers share each chunk. Lines in the exact shape servers write (nearly all of a real log)
are read by a columnar path: numpy finds the quotes once per chunk, reads every other delimiter
and value through small fixed-width windows, and Arrow gathers the string columns, with no
per-line Python. Every other line goes to the general path: a CSV reader (Polars where the line's
quotes are plain, Arrow's C++ reader otherwise) with space as delimiter and double quote as quote
character, validated and mapped in Polars. A line is read the same whichever path takes it (a
tested property); only rejected lines touch Python.

Escapes: Apache writes ``\\"`` and ``\\\\`` inside quoted fields; those two are decoded. Every
other backslash sequence (Apache ``\\x16``, nginx ``\\x22``) is kept as logged text, because
decoding them would let binary junk or a forged quote through to detectors unnoticed.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from watchhouse.core.events import LINE_FIELD, OFFSET_FIELD, TIMESTAMP, TIMESTAMP_FIELD, Dataset
from watchhouse.ingest.base import (
    ParseResult,
    dash_to_null,
    ensure_utf8,
    frame_with_provenance,
    normalise_newlines,
    provenance,
)
from watchhouse.ingest.options import COMBINED, COMMON
from watchhouse.ingest.source import LineChunk

_COLUMNS = {
    COMBINED: ("ip", "ident", "user", "ts", "tz", "request", "status", "bytes", "referrer", "agent"),
    COMMON: ("ip", "ident", "user", "ts", "tz", "request", "status", "bytes"),
}
_ESCAPE = re.compile(rb"\\(.?)", re.DOTALL)
_STATUS = re.compile(r"[0-9]{3}")
_TS_FORMAT = "[%d/%b/%Y:%H:%M:%S"
_NEWLINE = ord("\n")
_QUOTE = ord('"')
_BACKSLASH = ord("\\")
#: up to this many backslashes in a chunk are looked at one by one, more at once with numpy
_FEW_BACKSLASHES = 256


def _keep_escape(match: re.Match[bytes]) -> bytes:
    """Arrow decodes every ``\\X``; double the backslash unless X is a quote or a backslash."""
    follower = match.group(1)
    if follower in (b'"', b"\\"):
        return match.group(0)
    return b"\\\\" + follower


def clean(data: bytes) -> bytes:
    """Newlines normalised and bytes made valid UTF-8: what both tokenisers start from."""
    return ensure_utf8(normalise_newlines(data))


def prepare(data: bytes) -> bytes:
    """Cleaned, with every backslash escape but the two decoded ones doubled for Arrow's reader."""
    data = clean(data)
    if b"\\" in data:
        data = _ESCAPE.sub(_keep_escape, data)
    return data


def _reasons(failed: pl.DataFrame) -> list[str]:
    """Why each failed row was rejected, naming the offending value (cut short: the raw line has it)."""
    reasons = []
    for row in failed.select(TIMESTAMP_FIELD, "ts", "tz", "status", "bytes").iter_rows():
        stamp, ts, tz, status, size = row
        if stamp is None:
            reasons.append(f"invalid timestamp {ts[:40] + ' ' + tz[:10]!r}")
        elif not _STATUS.fullmatch(status):
            reasons.append(f"invalid status code {status[:40]!r}")
        else:
            reasons.append(f"invalid byte count {size[:40]!r}")
    return reasons


def _decoded_escapes(data: bytes, raw: Bytes) -> Ints:
    """Where backslash-backslash or backslash-quote escapes are: enough to tell the lines that
    hold one (the numpy way also lists a second backslash that a quote follows).

    Backslashes are rare in access logs: up to a few hundred are found one by one with
    ``bytes.find`` (``memchr``), more at once with numpy.
    """
    found: list[int] = []
    at = data.find(b"\\")
    for _ in range(_FEW_BACKSLASHES):
        if at == -1:
            return np.array(found, dtype=np.int64)
        if data[at + 1 : at + 2] in (b"\\", b'"'):
            found.append(at)
            at = data.find(b"\\", at + 2)  # the escaped backslash is no escape of its own
        else:
            at = data.find(b"\\", at + 1)
    backslash = np.flatnonzero(raw == _BACKSLASH)
    follower = raw[np.minimum(backslash + 1, len(raw) - 1)]
    decoded: Ints = backslash[((follower == _BACKSLASH) | (follower == _QUOTE)) & (backslash + 1 < len(raw))]
    return decoded.astype(np.int64)


def _has_decoded_escape(data: bytes) -> bool:
    """Whether ``data`` holds a backslash-backslash or a backslash-quote: the escapes Arrow decodes.

    Same answer as ``b"\\\\" in data or b'\\"' in data``, but CPython searches two-byte needles
    in a large buffer at a fraction of the speed of ``memchr``; backslashes are rare in access
    logs, so looking only behind each one costs next to nothing.
    """
    at = data.find(b"\\")
    for _ in range(_FEW_BACKSLASHES):
        if at == -1:
            return False
        if data[at + 1 : at + 2] in (b"\\", b'"'):
            return True
        at = data.find(b"\\", at + 1)
    if at == -1:
        return False
    raw = np.frombuffer(data, dtype=np.uint8)[at:]  # many backslashes: the rest at once
    follower = raw[np.flatnonzero(raw[:-1] == _BACKSLASH) + 1]
    return bool(np.any((follower == _BACKSLASH) | (follower == _QUOTE)))


def _sum_per_line(flags: npt.NDArray[np.bool_], starts: npt.NDArray[np.int64]) -> npt.NDArray[np.uint16] | None:
    """How many bytes of each line (lines begin at ``starts``, the first at 0) are flagged; None
    where this shortcut cannot answer exactly.

    Why: one pass summing 16-bit counters is 2-3 times cheaper than listing every quote's
    position and looking up its line (about 0.1 CPU-s per million lines). A line with 65,536 or
    more flagged bytes would wrap its counter; the grand total then falls short of the true count,
    and the caller counts the slow, exact way.
    """
    if len(starts) == 0 or starts[0] != 0 or starts[-1] >= len(flags):
        return None
    per_line: npt.NDArray[np.uint16] = np.add.reduceat(flags.view(np.uint8), starts, dtype=np.uint16)
    if int(per_line.sum(dtype=np.int64)) != int(np.count_nonzero(flags)):
        return None
    return per_line


def _balanced(line: bytes) -> bool:
    """An even number of unescaped quotes: the line cannot swallow the next one."""
    return line.replace(b"\\\\", b"").replace(b'\\"', b"").count(b'"') % 2 == 0


# ---------------------------------------------------------------------------------------------
# The columnar path: lines in the exact shape servers write, read with a few numpy passes.
# ---------------------------------------------------------------------------------------------

#: zero bytes after the chunk for windows that reach past its end (the widest window)
_PAD = 72
#: " [dd/Mon/yyyy:HH:MM:SS +zzzz] " ends one byte before the request's opening quote
_STAMP_WIDTH = 30
_STAMP_FIXED = {0: " ", 1: "[", 4: "/", 8: "/", 13: ":", 16: ":", 19: ":", 22: " ", 28: "]", 29: " "}
_STAMP_DIGITS = (2, 3, 9, 10, 11, 12, 14, 15, 17, 18, 20, 21, 24, 25, 26, 27)
#: "ip ident user" is looked at through a window this wide, and a wider one where it is longer
_HEAD_WIDTHS = (24, 64)
#: method and version are looked for within this many bytes of the request's two ends
_END_WIDTH = 16
#: byte counts of up to this many digits (16 reach 10 PB) are read here, longer ones the general way
_MAX_BYTES_DIGITS = 16
_SPACE, _DASH, _SLASH, _PLUS, _MINUS, _DOT, _UNDERSCORE = (ord(c) for c in " -/+-._")
_MONTH_NAMES = (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec")
_MONTH_KEYS = np.array(sorted((m[0] << 16) | (m[1] << 8) | m[2] for m in _MONTH_NAMES), dtype=np.int64)
_MONTH_OF_KEY = np.array(
    [next(i + 1 for i, m in enumerate(_MONTH_NAMES) if (m[0] << 16) | (m[1] << 8) | m[2] == k) for k in _MONTH_KEYS],
    dtype=np.int64,
)
_DAYS_IN_MONTH = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
#: years read here; any other takes the general path (its parser's range is not ours to guess)
_YEARS = (1900, 2999)
_MICROS_PER_SECOND = 1_000_000
_ALL_BYTES = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
_U64_ONE = np.uint64(1)

Bytes = npt.NDArray[np.uint8]
Words = npt.NDArray[np.uint64]
Ints = npt.NDArray[np.int64]
Flags = npt.NDArray[np.bool_]


def _line_bounds(raw: Bytes) -> tuple[Ints, Ints]:
    """Start and end (before the newline) of every line, counted as :class:`LineChunk` counts them."""
    newlines = np.flatnonzero(raw == _NEWLINE).astype(np.int64)
    starts = np.concatenate((np.zeros(1, dtype=np.int64), newlines + 1))
    ends = np.append(newlines, len(raw))
    if len(raw) and raw[-1] == _NEWLINE:
        starts, ends = starts[:-1], ends[:-1]
    return starts, ends


# Window matrices (a row of bytes per line) are tested with whole-matrix byte comparisons, which
# numpy runs with SIMD, and then reduced eight columns at a time by viewing each row as 64-bit
# words: a per-row numpy reduction (argmax(axis=1), all(axis=1)) costs several times more.


def _is_digit(window: Bytes) -> Flags:
    return np.asarray((window - 48) < 10)  # uint8 wraps below "0"


def _is_alpha(window: Bytes) -> Flags:
    return np.asarray(((window | 32) - 97) < 26)


def _words(flags: Flags) -> Words:
    """A (rows x width) flag matrix as (rows x width/8) words, each flag a 0x01 byte."""
    return np.ascontiguousarray(flags).view(np.uint64)


def _before(column: Ints, width: int) -> Words:
    """Word masks selecting each row's columns left of ``column`` (clipped to 0..width)."""
    out = np.empty((len(column), width // 8), dtype=np.uint64)
    for word in range(width // 8):
        count = np.minimum(np.maximum(column - 8 * word, 0), 8).astype(np.uint64)
        out[:, word] = np.where(count >= 8, _ALL_BYTES, (_U64_ONE << (count * np.uint64(8))) - _U64_ONE)
    return out


def _none(words: Words) -> Flags:
    """Rows with no flag set."""
    acc = words[:, 0].copy()
    for word in range(1, words.shape[1]):
        acc |= words[:, word]
    return np.asarray(acc == 0)


def _first(words: Words) -> Ints:
    """Each row's first flagged column; the width where none is."""
    width = words.shape[1] * 8
    found = np.full(len(words), width, dtype=np.int64)
    for word in reversed(range(words.shape[1])):
        w = words[:, word]
        trailing = np.bitwise_count((w & (~w + _U64_ONE)) - _U64_ONE).astype(np.int64)
        found = np.where(w != 0, 8 * word + trailing // 8, found)
    return found


def _last(words: Words) -> Ints:
    """Each row's last flagged column; -1 where none is."""
    found = np.full(len(words), -1, dtype=np.int64)
    for word in range(words.shape[1]):
        w = words[:, word].copy()
        for shift in (1, 2, 4, 8, 16, 32):  # smear the top bit down: its position is the count - 1
            w |= w >> np.uint64(shift)
        found = np.where(w != 0, 8 * word + (np.bitwise_count(w).astype(np.int64) - 1) // 8, found)
    return found


def _number(window: Bytes, columns: Sequence[int]) -> Ints:
    """The decimal number in ``columns`` of each row (the caller has checked they hold digits)."""
    value = np.zeros(len(window), dtype=np.int64)
    for column in columns:
        value = value * 10 + window[:, column] - 48
    return value


def _days_from_civil(year: Ints, month: Ints, day: Ints) -> Ints:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's published algorithm)."""
    year = year - (month <= 2)
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * np.where(month > 2, month - 3, month + 9) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    result: Ints = era * 146_097 + day_of_era - 719_468
    return result


def _template(width: int, fixed: dict[int, str]) -> tuple[Bytes, Words]:
    """A row of the expected bytes, and word masks of where they are fixed."""
    row = np.zeros(width, dtype=np.uint8)
    mask = np.zeros(width, dtype=np.uint8)
    for column, char in fixed.items():
        row[column], mask[column] = ord(char), 1
    return row, mask.view(np.uint64)


_STAMP_ROW, _STAMP_FIXED_MASK = _template(32, _STAMP_FIXED)
_STAMP_DIGIT_MASK = _template(32, dict.fromkeys(_STAMP_DIGITS, "0"))[1]


_STAMP_BYTES = np.array([_ALL_BYTES, _ALL_BYTES, _ALL_BYTES, np.uint64(0x0000_FFFF_FFFF_FFFF)], dtype=np.uint64)
#: " - -" right before " [": no ident, no user
_DASHES = np.uint64(int.from_bytes(b" - -", "little"))


def _read_stamps(stamp: Bytes) -> tuple[Flags, Ints]:
    """Per row of " [dd/Mon/yyyy:HH:MM:SS +zzzz] ": whether it is canonical, and its UTC time in
    microseconds since the epoch."""
    fixed = _words(stamp == _STAMP_ROW) & _STAMP_FIXED_MASK
    digits = _words(_is_digit(stamp)) & _STAMP_DIGIT_MASK
    ok = _none(fixed ^ _STAMP_FIXED_MASK) & _none(digits ^ _STAMP_DIGIT_MASK)
    sign = stamp[:, 23]
    ok &= (sign == _PLUS) | (sign == _MINUS)
    key = (stamp[:, 5].astype(np.int64) << 16) | (stamp[:, 6].astype(np.int64) << 8) | stamp[:, 7]
    at = np.minimum(np.searchsorted(_MONTH_KEYS, key), len(_MONTH_KEYS) - 1)
    ok &= _MONTH_KEYS[at] == key
    month = _MONTH_OF_KEY[at]
    day, year = _number(stamp, (2, 3)), _number(stamp, (9, 10, 11, 12))
    hour, minute, second = _number(stamp, (14, 15)), _number(stamp, (17, 18)), _number(stamp, (20, 21))
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = _DAYS_IN_MONTH[month] - ((month == 2) & ~leap)
    ok &= (year >= _YEARS[0]) & (year <= _YEARS[1]) & (day >= 1) & (day <= month_days)
    ok &= (hour <= 23) & (minute <= 59) & (second <= 59)  # a leap second goes the general way
    offset = _number(stamp, (24, 25)) * 60 + _number(stamp, (26, 27))
    offset = np.where(sign == _MINUS, -offset, offset)
    seconds = ((_days_from_civil(year, month, day) * 24 + hour) * 60 + minute - offset) * 60 + second
    return ok, seconds * _MICROS_PER_SECOND


_METHODS = sorted(
    (b"GET", b"POST", b"HEAD", b"PUT", b"DELETE", b"PATCH", b"OPTIONS", b"CONNECT"),
    key=lambda m: int.from_bytes(m, "little"),
)
_METHOD_KEYS = np.array([int.from_bytes(m, "little") for m in _METHODS], dtype=np.uint64)
_METHOD_LENGTHS = np.array([len(m) for m in _METHODS], dtype=np.int64)
#: an 8-byte version right after the last space, as the last word of the request's back window
_VERSION_KEYS = np.array(
    sorted(int.from_bytes(v, "little") for v in (b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/3.0")), dtype=np.uint64
)
_STATUS_ROW, _STATUS_FIXED_MASK = _template(8, {0: '"', 1: " ", 5: " "})
_STATUS_DIGIT_MASK = _template(8, dict.fromkeys((2, 3, 4), "0"))[1]
_ASCII_ZEROS = np.uint64(0x3030_3030_3030_3030)


def _known(words: Words, keys: Words) -> Flags:
    """Whether each word is one of the sorted ``keys``."""
    at = np.minimum(np.searchsorted(keys, words), len(keys) - 1)
    return np.asarray(keys[at] == words)


def _eight_digits(word: Words, size: Ints) -> Ints:
    """The number written by the first ``size`` (1-8) bytes of each word, which are digits.

    SWAR: the digits are shifted to the word's top, "0"s fill in below, then pairs, quads and
    octets of digits are combined with three multiplications (values are garbage, not errors,
    where the bytes are not digits: the caller rejects those rows).
    """
    shift = (8 * (8 - np.minimum(np.maximum(size, 1), 8))).astype(np.uint64)
    value = (word << shift) | (_ASCII_ZEROS & ((_U64_ONE << shift) - _U64_ONE))
    value = value - _ASCII_ZEROS
    value = (value * np.uint64(10) + (value >> np.uint64(8))) & np.uint64(0x00FF_00FF_00FF_00FF)
    value = (value * np.uint64(100) + (value >> np.uint64(16))) & np.uint64(0x0000_FFFF_0000_FFFF)
    value = (value * np.uint64(10_000) + (value >> np.uint64(32))) & np.uint64(0xFFFF_FFFF)
    return value.astype(np.int64)


def _method_form(front: Bytes, first: Ints) -> Flags:
    """``[A-Za-z][A-Za-z0-9_-]*`` before column ``first`` of each row."""
    char = _is_alpha(front) | _is_digit(front) | (front == _UNDERSCORE) | (front == _DASH)
    return np.asarray(_is_alpha(front[:, 0]) & _none(_words(~char) & _before(first, _END_WIDTH)))


def _version_form(back: Bytes, length: Ints) -> tuple[Ints, Flags]:
    """The last space of each request's back window (-1 if none), and whether what follows it is
    ``[A-Za-z]+/[0-9][0-9.]*`` (``length`` is the request's, to ignore bytes before it)."""
    last = _last(_words(back == _SPACE) & ~_before(_END_WIDTH - length, _END_WIDTH))
    after_last = ~_before(last + 1, _END_WIDTH)
    slash = _first(_words(back == _SLASH) & after_last)
    digit_at = np.minimum(slash + 1, _END_WIDTH - 1)
    ok = (last >= 0) & (slash >= last + 2) & (slash + 1 < _END_WIDTH)
    ok &= _is_digit(back[np.arange(len(back)), digit_at])
    ok &= _none(_words(~_is_alpha(back)) & after_last & _before(slash, _END_WIDTH))
    tail = _is_digit(back) | (back == _DOT)
    ok &= _none(_words(~tail) & ~_before(digit_at + 1, _END_WIDTH))
    return last, np.asarray(ok)


class _Shaped:
    """The lines of one cleaned chunk that have the exact shape servers write, field by field.

    Why: a CSV reader plus string-expression validation of every row cost about 1.5 CPU-s per
    million lines. Here quotes are found in one pass over the chunk; every other delimiter sits at
    a fixed distance from a quote or within a few bytes of one, so it is read through small
    fixed-width windows (a few dozen bytes per line, tested as 64-bit words), and the string
    columns are gathered out of the chunk by Arrow. No Python runs per line.

    The shape is strict on purpose: the format's quotes and nothing else, single spaces between
    fields, a canonical timestamp, a three-digit status, a byte count of digits or "-", no
    backslash escape that the general path decodes. Such lines read here exactly as the general
    path reads them (a tested property); every other line goes there, so rejects keep their
    reasons. ``ok`` says which of the candidate ``rows`` (chunk line indices) passed.
    """

    def __init__(self, data: bytes, starts: Ints, ends: Ints, quotes: int) -> None:
        self.data = data
        raw = np.frombuffer(data, dtype=np.uint8)
        # Windows near the end of the chunk read into zero padding: a padded copy of the last
        # bytes serves them (a padded copy of the whole chunk cost 8 MiB of fresh pages a chunk).
        self._raw = raw
        self._tail_at = max(len(raw) - 2 * _PAD, 0)
        self._tail = np.zeros(len(raw) - self._tail_at + _PAD, dtype=np.uint8)
        self._tail[: len(raw) - self._tail_at] = raw[self._tail_at :]
        found = np.flatnonzero(raw == _QUOTE).astype(np.int64)
        first = np.searchsorted(found, starts)
        candidate = np.diff(np.append(first, len(found))) == quotes
        decoded = _decoded_escapes(data, raw)
        if len(decoded):  # lines with an escape the general path decodes are left to it
            candidate[np.searchsorted(starts, decoded, side="right") - 1] = False
        if data.startswith(_BOM):  # a byte-order mark, which CSV readers skip
            candidate[0] = False
        self.rows = np.flatnonzero(candidate).astype(np.int64)
        if len(self.rows) == len(starts):
            self.q = found.reshape(len(starts), quotes)
        else:
            self.q = found[first[self.rows][:, None] + np.arange(quotes)]
        self.start, self.end = starts[self.rows], ends[self.rows]
        self.ok = np.ones(len(self.rows), dtype=bool)

    def window(self, positions: Ints, width: int) -> Bytes:
        """``width`` (at most ``_PAD``) bytes from each position, zeros past the chunk's end, a
        negative position read as 0 (the shape checks then fail): row copies out of a
        sliding-window view, the cheapest gather."""
        at = np.maximum(positions, 0)
        inside = at <= len(self._raw) - width
        if inside.all():
            rows: Bytes = np.lib.stride_tricks.sliding_window_view(self._raw, width)[at]
            return rows
        rows = np.empty((len(at), width), dtype=np.uint8)
        if inside.any():
            rows[inside] = np.lib.stride_tricks.sliding_window_view(self._raw, width)[at[inside]]
        tail = np.minimum(at[~inside] - self._tail_at, len(self._tail) - width)
        rows[~inside] = np.lib.stride_tricks.sliding_window_view(self._tail, width)[tail]
        return rows

    def byte(self, positions: Ints) -> Bytes:
        """The byte at each position (non-negative), zero past the chunk's end."""
        raw = self._raw
        found: Bytes = np.where(positions < len(raw), raw[np.minimum(positions, len(raw) - 1)], 0).astype(np.uint8)
        return found

    def timestamps(self) -> Ints:
        """Microseconds since the epoch, UTC, of "[dd/Mon/yyyy:HH:MM:SS +zzzz]".

        A log's lines mostly share their second with the line before, so each run of equal
        timestamp bytes is checked and converted once (this is no cache: a run ends at the first
        line whose bytes differ, and equal bytes always convert alike).
        """
        q0 = self.q[:, 0]
        stamp = self.window(q0 - _STAMP_WIDTH, 32)
        words = stamp.view(np.uint64) & _STAMP_BYTES  # the two bytes after it belong to the request
        changed = np.zeros(len(words), dtype=bool)
        changed[0] = True
        for word in range(words.shape[1]):
            changed[1:] |= words[1:, word] != words[:-1, word]
        heads = np.flatnonzero(changed)
        ok, micros = _read_stamps(stamp[heads])
        run = np.cumsum(changed) - 1
        self.ok &= ok[run] & (q0 - _STAMP_WIDTH >= self.start + 5)  # room for "a b c" before it
        converted: Ints = micros[run]
        return converted

    def head(self) -> tuple[Ints, Ints, Ints]:
        """ "ip ident user": the ip's end and the user's start and end (all absolute).

        Most lines have neither ident nor user (" - - "): for those, only the ip is looked at.
        """
        start, length = self.start, self.q[:, 0] - _STAMP_WIDTH - self.start
        before_stamp = self.window(self.q[:, 0] - _STAMP_WIDTH - 8, 8).view(np.uint64)[:, 0] >> np.uint64(32)
        ip_length = length - 4
        ip = self.window(start, 16)
        plain = (before_stamp == _DASHES) & (ip_length >= 1) & (ip_length <= 16)
        plain &= _none(_words(ip == _SPACE) & _before(ip_length, 16))
        spaces = np.empty((len(length), 3), dtype=np.int64)
        spaces[:, 0], spaces[:, 1], spaces[:, 2] = ip_length, ip_length + 2, length
        narrow = length < _HEAD_WIDTHS[0]
        for width, rows in (
            (_HEAD_WIDTHS[0], np.flatnonzero(~plain & narrow)),
            (_HEAD_WIDTHS[1], np.flatnonzero(~plain & ~narrow)),
        ):
            if len(rows):
                spaces[rows] = self._spaces(start[rows], width)
        first, second, third = spaces[:, 0], spaces[:, 1], spaces[:, 2]
        # the third space is the one before "[" (the timestamp's window has checked it is there)
        self.ok &= (third == length) & (first >= 1) & (second >= first + 2) & (length >= second + 2)
        return start + first, start + second + 1, start + length

    def _spaces(self, starts: Ints, width: int) -> Ints:
        """The first three spaces' columns from each start (``width`` where missing)."""
        spaces = _words(self.window(starts, width) == _SPACE)
        found = np.empty((len(starts), 3), dtype=np.int64)
        for k in range(3):
            found[:, k] = _first(spaces)
            spaces = spaces & ~_before(found[:, k] + 1, width)
        return found

    def request(self) -> tuple[Ints, Ints, Flags]:
        """Where "METHOD URL VERSION" splits (first and last space) and whether method and version
        have their forms; the URL between must still be checked for spaces by the caller.

        The usual methods and versions are recognised as whole words; only the others are looked
        at character by character.
        """
        opening, closing = self.q[:, 0], self.q[:, 1]
        length = closing - opening - 1
        front = self.window(opening + 1, _END_WIDTH)
        first = _first(_words(front == _SPACE) & _before(length, _END_WIDTH))
        key = front.view(np.uint64)[:, 0] & _before(first, 8)[:, 0]
        # its length too: "GET" and NUL bytes up to the space are no "GET"
        at = np.minimum(np.searchsorted(_METHOD_KEYS, key), len(_METHOD_KEYS) - 1)
        method_ok = (_METHOD_KEYS[at] == key) & (first == _METHOD_LENGTHS[at])
        odd = np.flatnonzero(~method_ok & (first >= 1) & (first < _END_WIDTH))
        if len(odd):
            method_ok[odd] = _method_form(front[odd], first[odd])
        back = self.window(closing - _END_WIDTH, _END_WIDTH)
        usual = _known(back.view(np.uint64)[:, 1], _VERSION_KEYS) & (back[:, 7] == _SPACE) & (length > 8)
        last = np.full(len(length), 7, dtype=np.int64)
        version_ok = usual.copy()
        odd = np.flatnonzero(~usual)
        if len(odd):
            last[odd], version_ok[odd] = _version_form(back[odd], length[odd])
        # a first or last space further in than the windows reach: not decided here
        self.ok &= ((first < _END_WIDTH) & (last >= 0)) | (length <= _END_WIDTH)
        first_at, last_at = opening + 1 + first, closing - _END_WIDTH + last
        return first_at, last_at, method_ok & version_ok & (first_at < last_at)

    def status_and_bytes(self, combined: bool) -> tuple[Ints, Ints, Flags]:
        """Status code, byte count and whether the count was "-"."""
        closing = self.q[:, 1]
        status = self.window(closing, 8)  # '" 200 12'
        fixed = _words(status == _STATUS_ROW) & _STATUS_FIXED_MASK
        ok = _none(fixed ^ _STATUS_FIXED_MASK) & _none(
            (_words(_is_digit(status)) & _STATUS_DIGIT_MASK) ^ _STATUS_DIGIT_MASK
        )
        size = self.q[:, 2] - closing - 7 if combined else self.end - closing - 6
        ok &= (size >= 1) & (size <= _MAX_BYTES_DIGITS)
        if combined:  # a single space before the referrer's quote
            ok &= self.byte(self.q[:, 2] - 1) == _SPACE
        digits = self.window(closing + 6, 8)
        count = _eight_digits(digits.view(np.uint64)[:, 0], size)
        digits_ok = _none(_words(~_is_digit(digits)) & _before(size, 8))
        dash = (size == 1) & (digits[:, 0] == _DASH)
        longer = np.flatnonzero(ok & (size > 8))
        if len(longer):
            wide = self.window(closing[longer] + 6, 16)
            digits_ok[longer] = _none(_words(~_is_digit(wide)) & _before(size[longer], 16))
            count[longer] = _eight_digits(wide.view(np.uint64)[:, 0], np.full(len(longer), 8)) * 10 ** (
                size[longer] - 8
            ) + _eight_digits(wide.view(np.uint64)[:, 1], size[longer] - 8)
        self.ok &= ok & (digits_ok | dash)
        return _number(status, (2, 3, 4)), count, dash

    def tail(self, combined: bool) -> None:
        """Referrer and user agent: '" "' between them, and the last quote ends the line."""
        if combined:
            q = self.q
            self.ok &= (self.byte(q[:, 3] + 1) == _SPACE) & (q[:, 4] == q[:, 3] + 2) & (q[:, 5] == self.end - 1)


def _partition(data: bytes, bounds: npt.NDArray[np.int64]) -> pa.Array:
    """One Arrow string array over ``data``, zero-copy: value 2i+1 is byte range i of ``bounds``
    (rows of (start, end) pairs, in order and not overlapping), the values between are the gaps."""
    cuts = np.empty(bounds.size + 2, dtype=np.int64 if len(data) >= 2**31 - 1 else np.int32)
    cuts[0], cuts[-1] = 0, len(data)
    cuts[1:-1] = bounds.ravel()
    kind = pa.large_string() if cuts.dtype == np.int64 else pa.string()
    return pa.Array.from_buffers(kind, len(cuts) - 1, [None, pa.py_buffer(cuts), pa.py_buffer(data)])


def _strings(data: bytes, ranges: list[tuple[Ints, Ints]]) -> list[pa.Array]:
    """One Arrow string column per (starts, ends) pair, each value a line's byte range of ``data``.

    The ranges of a line lie in order, the lines too, so all of them cut ``data`` into one string
    array (zero-copy); one gather of the wanted values then copies just their bytes, and each
    column is a slice of it.
    """
    n = len(ranges[0][0])
    bounds = np.empty((n, 2 * len(ranges)), dtype=np.int64)
    for i, (begin, end) in enumerate(ranges):
        bounds[:, 2 * i], bounds[:, 2 * i + 1] = begin, end
    picks = 1 + 2 * (np.arange(n, dtype=np.int64)[None, :] * len(ranges) + np.arange(len(ranges))[:, None])
    taken = pc.take(_partition(data, bounds), pa.array(picks.ravel()), boundscheck=False)
    return [taken.slice(i * n, n) for i in range(len(ranges))]


def _request_ranges(opening: Ints, closing: Ints, first: Ints, last: Ints, split: Flags) -> list[tuple[Ints, Ints]]:
    """Method, URL and version where ``split``; else an empty method and version around the whole
    request as the URL (the caller makes those two null)."""
    return [
        (opening, np.where(split, first, opening)),
        (np.where(split, first + 1, opening), np.where(split, last, closing)),
        (np.where(split, last + 1, closing), closing),
    ]


def _with_nulls(values: pa.Array, null: Flags) -> pa.Array:
    """``values`` with a validity bitmap that hides the ``null`` rows (their bytes stay, unseen)."""
    if not null.any():
        return values
    valid = np.zeros(values.offset + len(values), dtype=bool)  # a slice's bits start at its offset
    valid[values.offset :] = ~null
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(
        values.type, len(values), [bitmap, *values.buffers()[1:]], null_count=int(null.sum()), offset=values.offset
    )


def _dash(shaped: _Shaped, begin: Ints, end: Ints) -> Flags:
    """Access logs write "-" for an absent value; the schema wants a null."""
    return np.asarray((end - begin == 1) & (shaped.byte(begin) == _DASH))


_BOM = b"\xef\xbb\xbf"
_UNTOKENISED = "could not be tokenised"
#: up to this many rows from the general path are slotted into the columnar table without a copy
_FEW_ROWS = 64


def _drop_line(result: ParseResult, line: int) -> None:
    """Forget what ``result`` says about line number ``line``: a helper line."""
    result.rejected = [r for r in result.rejected if r.line != line]
    result.tables = [
        (dataset, table.filter(pc.not_equal(table.column(LINE_FIELD), line))) for dataset, table in result.tables
    ]


def _in_line_order(tables: list[pa.Table]) -> pa.Table:
    """The first table (in line order) with the rows of the others put in their places, typed as it.

    A few rows are slotted in between zero-copy slices of the first table; many are sorted in
    with one gather of the whole.
    """
    first = tables[0]
    if len(tables) == 1:
        return first
    others = pa.concat_tables([t.select(first.column_names).cast(first.schema) for t in tables[1:]])
    lines = others.column(LINE_FIELD).to_numpy()
    order = np.argsort(lines, kind="stable")
    if len(order) > _FEW_ROWS:
        merged = pa.concat_tables([first, others])
        return merged.take(pa.array(np.argsort(merged.column(LINE_FIELD).to_numpy(), kind="stable")))
    others = others.take(pa.array(order))
    cuts = np.searchsorted(first.column(LINE_FIELD).to_numpy(), lines[order])
    pieces, done = [], 0
    for k, cut in enumerate(cuts.tolist()):
        pieces += [first.slice(done, cut - done), others.slice(k, 1)]
        done = cut
    return pa.concat_tables([*pieces, first.slice(done)])


class AccessLogParser:
    """Parses one access-log flavour; the flavour is fixed per source after sniffing."""

    def __init__(self, fmt: str) -> None:
        if fmt not in _COLUMNS:
            raise ValueError(f"not an access-log format: {fmt}")
        self.fmt = fmt
        self._names = list(_COLUMNS[fmt])
        self._read_options_types = {name: pa.string() for name in self._names}
        self._quotes_per_line = 6 if fmt == COMBINED else 2  # request (and referrer, user agent)
        self._output_names = [
            TIMESTAMP_FIELD,
            "source.ip",
            "user.name",
            "http.request.method",
            "url.original",
            "http.version",
            "http.response.status_code",
            "http.response.body.bytes",
            *(("http.request.referrer", "user_agent.original") if fmt == COMBINED else ()),
            LINE_FIELD,
            OFFSET_FIELD,
        ]

    def parse(self, chunk: LineChunk) -> ParseResult:
        """Lines in the servers' exact shape through the columnar reader, the others through the
        general one; the result is the general reader's, line for line (a tested property)."""
        result = ParseResult()
        if chunk.n_lines == 0:
            return result
        cleaned = clean(chunk.data)
        if cleaned is chunk.data:
            starts, ends = chunk.starts, chunk.ends
        else:  # CRs or invalid UTF-8 rewritten: the same lines, at other offsets
            starts, ends = _line_bounds(np.frombuffer(cleaned, dtype=np.uint8))
            if len(starts) != chunk.n_lines:
                return self._parse_general(chunk, cleaned)
        shaped = _Shaped(cleaned, starts, ends, self._quotes_per_line)
        if len(shaped.rows) == 0:
            return self._parse_general(chunk, cleaned)
        rows, table = self._read_shaped(chunk, shaped)
        if len(rows) == 0:
            return self._parse_general(chunk, cleaned)
        tables = [table]
        if len(rows) < chunk.n_lines:
            rest = np.ones(chunk.n_lines, dtype=bool)
            rest[rows] = False
            general = self._parse_lines(chunk, cleaned, (starts, ends), np.flatnonzero(rest).astype(np.int64), rows)
            if general is None:
                return self._parse_general(chunk, cleaned)
            result.blank += general.blank
            result.rejected += general.rejected
            tables += [t for _, t in general.tables if t.num_rows]
        result.tables.append((Dataset.HTTP, _in_line_order(tables)))
        return result

    def _read_shaped(self, chunk: LineChunk, shaped: _Shaped) -> tuple[npt.NDArray[np.int64], pa.Table]:
        """The chunk lines (indices) read by the columnar path, and their events."""
        combined = self.fmt == COMBINED
        stamps = shaped.timestamps()
        ip_end, user_start, user_end = shaped.head()
        first_at, last_at, split = shaped.request()
        status, size, no_size = shaped.status_and_bytes(combined)
        shaped.tail(combined)
        keep = shaped.ok
        rows, q, start = shaped.rows, shaped.q, shaped.start
        if not keep.all():
            if not keep.any():
                return rows[keep], self._empty()
            rows, q, start = rows[keep], q[keep], start[keep]
            stamps, status, size, no_size = stamps[keep], status[keep], size[keep], no_size[keep]
            ip_end, user_start, user_end = ip_end[keep], user_start[keep], user_end[keep]
            first_at, last_at, split = first_at[keep], last_at[keep], split[keep]
        data, n = shaped.data, len(rows)
        opening, closing = q[:, 0] + 1, q[:, 1]
        # each string column: its ranges, and which rows hold "-" (null in the schema)
        wanted = {"source.ip": ((start, ip_end), None), "user.name": ((user_start, user_end), None)}
        if combined:
            wanted["http.request.referrer"] = ((q[:, 2] + 1, q[:, 3]), None)
            wanted["user_agent.original"] = ((q[:, 4] + 1, q[:, 5]), None)
        dashes = {name: _dash(shaped, *ranges) if name != "source.ip" else None for name, (ranges, _) in wanted.items()}
        # a column of nothing but "-" (user names, mostly) needs no gather
        empty = {name for name, dash in dashes.items() if dash is not None and dash.all()}
        gathered = [name for name in wanted if name not in empty]
        strings = dict(zip(gathered, _strings(data, [wanted[name][0] for name in gathered]), strict=True))
        # "METHOD URL VERSION" where method and version have their forms and the URL holds no
        # space; the whole request as the URL otherwise
        request = _strings(data, _request_ranges(opening, closing, first_at, last_at, split))
        spaced = split & pl.Series(values=request[1]).str.contains(" ", literal=True).to_numpy()
        if spaced.any():
            split &= ~spaced
            request = _strings(data, _request_ranges(opening, closing, first_at, last_at, split))
        stamp = pa.Array.from_buffers(TIMESTAMP, n, [None, pa.py_buffer(np.ascontiguousarray(stamps))])
        columns: dict[str, pa.Array] = {
            TIMESTAMP_FIELD: stamp,
            "http.request.method": _with_nulls(request[0], ~split),
            "url.original": request[1],
            "http.version": _with_nulls(request[2], ~split),
            "http.response.status_code": pa.array(status.astype(np.int32)),
            "http.response.body.bytes": pa.array(size, mask=no_size if no_size.any() else None),
        }
        for name in wanted:
            dash = dashes[name]
            if name in empty:
                columns[name] = pa.nulls(n, pa.string())
            else:
                columns[name] = strings[name] if dash is None else _with_nulls(strings[name], dash)
        columns.update(provenance(chunk, rows))
        table = pa.table(columns)
        return rows, table.select(self._output_names)

    def _parse_lines(
        self, chunk: LineChunk, cleaned: bytes, bounds: tuple[Ints, Ints], lines: Ints, shaped: Ints
    ) -> ParseResult | None:
        """Chunk lines ``lines`` (not in the servers' shape) read by the exact path as it reads
        them within the whole chunk; None where their copy would start with a byte-order mark
        that the chunk had elsewhere (the CSV reader would drop it).

        The exact path (Arrow's reader) is the reference: the Polars reader agrees with it on
        plain lines only, and which lines are plain depends on the chunk. The lines' cleaned text
        is copied; the next line in server shape (of ``shaped``, ascending) follows the last of
        them, as in the chunk, and is then forgotten: a quote left open runs to the end of the
        data and reads differently there. When the CSV reader cannot tokenise the lines at all,
        each is rejected ("could not be tokenised"), which would make a line's fate depend on the
        others: such lines are read again one by one.
        """
        starts, ends = bounds
        after = int(np.searchsorted(shaped, lines[-1], side="right"))
        follower = int(shaped[after]) if after < len(shaped) else None
        rows = lines if follower is None else np.append(lines, follower)
        copied = b"\n".join([cleaned[int(starts[i]) : int(ends[i])] for i in rows])
        if int(rows[-1]) < chunk.n_lines - 1 or cleaned.endswith(b"\n"):
            copied += b"\n"
        if copied.startswith(_BOM) and rows[0] != 0:
            return None
        own = ParseResult()
        self._parse_exact(chunk, copied, rows, own)
        if follower is not None:
            _drop_line(own, chunk.first_line + follower)
        failed = [r for r in own.rejected if r.reason == _UNTOKENISED]
        if len(failed) > 1:
            own.rejected = [r for r in own.rejected if r.reason != _UNTOKENISED]
            for rejected in failed:
                line = np.array([rejected.line - chunk.first_line], dtype=np.int64)
                alone = self._parse_lines(chunk, cleaned, bounds, line, shaped)
                if alone is None:
                    own.rejected.append(rejected)
                    continue
                own.blank += alone.blank
                own.rejected += alone.rejected
                own.tables += alone.tables
        return own

    def _parse_general(self, chunk: LineChunk, cleaned: bytes) -> ParseResult:
        """The CSV-reader path: every line read, odd ones one way or another, every failure reported."""
        result = ParseResult()
        n = chunk.n_lines
        all_rows = np.arange(n, dtype=np.int64)
        plain = self._plain_lines(cleaned, chunk)
        if plain is not None and plain.all():
            fast = self._tokenise_fast(cleaned, n, quotes_checked=True)
            if fast is not None:
                self._validate(chunk, fast, all_rows, result)
                return result
        elif plain is not None and plain.any() and self._parse_mixed(chunk, cleaned, plain, result):
            return result
        self._parse_exact(chunk, cleaned, all_rows, result)
        return result

    def _parse_mixed(self, chunk: LineChunk, data: bytes, plain: npt.NDArray[np.bool_], result: ParseResult) -> bool:
        """Plain lines through the fast reader, only the odd ones through Arrow; False when unfit.

        Why: one truncated line (a user agent cut off before its closing quote) used to send its
        whole chunk of tens of thousands of lines through the exact path, which checks quotes per
        line in Python: a real log with a handful of such lines read several times slower. Which
        reader a line takes depends only on that line's own quotes, so the result is the one the
        exact path gives, line for line (the readers agree on plain lines, a tested property).
        """
        if data is not chunk.data:  # CRs or invalid UTF-8 were rewritten: line offsets moved
            return False
        starts, ends = chunk.starts, chunk.ends
        if not plain[-1] and not _balanced(data[int(starts[-1]) : int(ends[-1])]):
            return False  # an open quote at the very end reads differently: leave it to the exact path
        odd = np.flatnonzero(~plain).astype(np.int64)
        good = np.flatnonzero(plain).astype(np.int64)
        # the plain lines are the text between the odd ones: a few slices, one copy
        pieces: list[bytes] = []
        begin = 0
        for i in odd:
            pieces.append(data[begin : int(starts[i])])
            begin = int(ends[i]) + 1
        pieces.append(data[begin:])
        good_data = b"".join(pieces)
        if not good_data.endswith(b"\n"):
            good_data += b"\n"
        fast = self._tokenise_fast(good_data, len(good), quotes_checked=True)
        if fast is None:
            return False
        self._validate(chunk, fast, good, result)
        # An unbalanced line would make Arrow join it with the next odd line; the exact path then
        # rejects exactly the unbalanced lines and reads the rest, which is done here directly.
        odd_lines = [data[int(starts[i]) : int(ends[i])] for i in odd]
        balanced = np.array([_balanced(line) for line in odd_lines], dtype=bool)
        for i in odd[~balanced]:
            result.reject(chunk, int(i), "unbalanced quotes")
        if balanced.any():
            odd_data = b"\n".join(line for line, ok in zip(odd_lines, balanced, strict=True) if ok) + b"\n"
            self._parse_exact(chunk, odd_data, odd[balanced], result)
        tables = [table for _, table in result.tables if table.num_rows]
        if len(tables) > 1:  # one table in line order, as the exact path gives
            merged = pa.concat_tables(tables)
            order = np.argsort(merged.column(LINE_FIELD).to_numpy(), kind="stable")
            tables = [merged.take(pa.array(order))]
        result.tables = [(Dataset.HTTP, table) for table in tables[:1]]
        return True

    def _plain_lines(self, data: bytes, chunk: LineChunk) -> npt.NDArray[np.bool_] | None:
        """Per line: exactly the format's quotes once the two decoded escapes are set aside.

        None where the fast reader cannot be used at all (its placeholder bytes occur).
        """
        if b"\x01" in data or b"\x02" in data:
            return None
        if _has_decoded_escape(data):
            data = data.replace(b"\\\\", b"\x01").replace(b'\\"', b"\x02")
        raw = np.frombuffer(data, dtype=np.uint8)
        is_quote = raw == _QUOTE
        # nothing rewritten: the chunk's own line starts hold, and summing per line is cheapest
        per_line: npt.NDArray[np.integer[Any]] | None = (
            _sum_per_line(is_quote, chunk.starts) if data is chunk.data else None
        )
        if per_line is None:
            quotes = np.flatnonzero(is_quote)
            if data is chunk.data:
                line_of = np.searchsorted(chunk.starts, quotes, side="right") - 1
            else:
                line_of = np.searchsorted(np.flatnonzero(raw == _NEWLINE), quotes)
            per_line = np.bincount(line_of, minlength=chunk.n_lines)
        if len(per_line) != chunk.n_lines:
            return None
        return np.asarray(per_line == self._quotes_per_line)

    def _parse_exact(
        self, chunk: LineChunk, cleaned: bytes, all_rows: npt.NDArray[np.int64], result: ParseResult
    ) -> None:
        """Arrow's reader on ``cleaned``, whose lines are chunk lines ``all_rows``, every bad line reported."""
        n = len(all_rows)
        table, invalid = self._tokenise(_ESCAPE.sub(_keep_escape, cleaned) if b"\\" in cleaned else cleaned)
        if invalid is None or table.num_rows + len(invalid) != n:
            # A quote opened and never closed made Arrow join lines: drop the unbalanced lines,
            # then tokenise the rest again so numbering stays exact.
            # (a few lines of a chunk are sliced out, rather than splitting all of it)
            lines = chunk.lines() if n == chunk.n_lines else [chunk.line(int(i)) for i in all_rows]
            keep = np.array([_balanced(line) for line in lines], dtype=bool)
            for i in np.flatnonzero(~keep):
                result.reject(chunk, int(all_rows[i]), "unbalanced quotes")
            kept_rows = np.flatnonzero(keep).astype(np.int64)
            kept = b"\n".join(lines[i] for i in kept_rows) + b"\n" if len(kept_rows) else b""
            all_rows = all_rows[kept_rows]
            table, invalid = self._tokenise(prepare(kept)) if kept else (self._empty(), [])
            if invalid is None or table.num_rows + len(invalid) != len(all_rows):
                for i in all_rows:
                    result.reject(chunk, int(i), _UNTOKENISED)
                return
        bad = np.zeros(len(all_rows), dtype=bool)
        for number, expected, actual, text in invalid:
            bad[number - 1] = True
            row = int(all_rows[number - 1])
            if text.strip():
                result.reject(chunk, row, f"expected {expected} fields, got {actual}")
            else:
                result.blank += 1
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        self._validate(chunk, frame, all_rows[~bad], result)

    def _empty(self) -> pa.Table:
        return pa.table({name: pa.array([], pa.string()) for name in self._names})

    def _tokenise_fast(self, data: bytes, n_lines: int, *, quotes_checked: bool = False) -> pl.DataFrame | None:
        """Polars' CSV reader, four times faster than Arrow's, for chunks it reads exactly as Arrow would.

        Polars has no escape character, so Apache's two decoded escapes (backslash-quote and
        backslash-backslash) are swapped for control bytes that never occur in a log line
        (both are escaped by Apache and nginx) and swapped back afterwards. Any sign that the
        chunk is not plain (those bytes present, a parse error, a row count other than the line
        count, a missing field read as null) returns None: the Arrow path then reports each bad
        line exactly.
        """
        if not quotes_checked and (b"\x01" in data or b"\x02" in data):  # else the caller looked
            return None
        # on cleaned (not Arrow-prepared) text: other backslash sequences are already kept as logged
        escaped = _has_decoded_escape(data)
        if escaped:
            data = data.replace(b"\\\\", b"\x01").replace(b'\\"', b"\x02")
        # Every line must carry exactly its format's quotes. Checked per line, not per chunk: a
        # line missing a quote and another with a stray one would cancel out in a chunk total, and
        # whether they met in one chunk would then decide how they are read (batch size would
        # change the result). A stray quote sends the chunk to the Arrow reader.
        if not quotes_checked and not self._quotes_plain(data, n_lines):
            return None
        try:
            frame = pl.read_csv(
                io.BytesIO(data),
                has_header=False,
                separator=" ",
                quote_char='"',
                new_columns=self._names,
                schema=dict.fromkeys(self._names, pl.String),
                comment_prefix=None,
                raise_if_empty=False,
            )
        except (pl.exceptions.PolarsError, ValueError):
            return None
        if frame.height != n_lines or frame.width != len(self._names) or any(frame.null_count().row(0)):
            return None
        if escaped:
            frame = frame.with_columns(
                pl.col(self._names)
                .str.replace_all("\x01", "\\", literal=True)
                .str.replace_all("\x02", '"', literal=True)
            )
        return frame

    def _quotes_plain(self, data: bytes, n_lines: int) -> bool:
        """Every line carries exactly its format's quotes (escapes already swapped out)."""
        raw = np.frombuffer(data, dtype=np.uint8)
        quotes = np.flatnonzero(raw == _QUOTE)
        if len(quotes) != self._quotes_per_line * n_lines:
            return False
        if len(quotes):
            newlines = np.flatnonzero(raw == _NEWLINE)
            per_line = np.bincount(np.searchsorted(newlines, quotes), minlength=n_lines)
            if len(per_line) != n_lines or np.any(per_line != self._quotes_per_line):
                return False
        return True

    def _tokenise(self, data: bytes) -> tuple[pa.Table, list[tuple[int, int, int, str]] | None]:
        try:
            # 1 MiB blocks keep Arrow's working set in cache (twice as fast as one 8 MiB block);
            # a line longer than a block needs one block for the whole chunk.
            return self._tokenise_blocks(data, 1 << 20)
        except pa.ArrowInvalid:
            return self._tokenise_blocks(data, len(data) + 1)

    def _tokenise_blocks(self, data: bytes, block_size: int) -> tuple[pa.Table, list[tuple[int, int, int, str]] | None]:
        invalid: list[tuple[int, int, int, str]] = []
        unnumbered = False

        def handler(row: pacsv.InvalidRow) -> str:
            nonlocal unnumbered
            if row.number is None or "\n" in row.text:
                unnumbered = True
            else:
                invalid.append((row.number, row.expected_columns, row.actual_columns, row.text))
            return "skip"

        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=self._names, use_threads=False, block_size=block_size),
            parse_options=pacsv.ParseOptions(
                delimiter=" ",
                quote_char='"',
                escape_char="\\",
                ignore_empty_lines=False,
                invalid_row_handler=handler,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=self._read_options_types, strings_can_be_null=False, quoted_strings_can_be_null=False
            ),
        )
        return table, (None if unnumbered else invalid)

    def _validate(
        self, chunk: LineChunk, frame: pl.DataFrame, rows: npt.NDArray[np.int64], result: ParseResult
    ) -> None:
        tz = pl.col("tz")
        offset_minutes = (
            tz.str.slice(1, 2).cast(pl.Int32, strict=False) * 60 + tz.str.slice(3, 2).cast(pl.Int32, strict=False)
        ) * pl.when(tz.str.starts_with("-")).then(-1).otherwise(1)
        # Parsing "%z" costs four times more than the plain clock time, so the offset is applied
        # as arithmetic on the tiny "+0000]" token instead.
        local = pl.col("ts").str.to_datetime(_TS_FORMAT, strict=False, time_unit="us")
        # the request is split once into a struct, then unpacked (three splitn calls cost three splits)
        request = pl.col("_request")
        checked = (
            frame.lazy()
            .with_columns(
                # a year of five digits parses, but no datetime can hold it: alerts would crash
                pl.when(tz.str.contains(r"^[+-][0-9]{4}\]$") & local.dt.year().is_between(2, 9998))
                .then(local - pl.duration(minutes=offset_minutes))
                .otherwise(None)
                .dt.replace_time_zone("UTC")
                .alias(TIMESTAMP_FIELD),
                pl.col("request").str.splitn(" ", 3).alias("_request"),
            )
            .with_columns(
                request.struct.field("field_0").alias("_method"),
                request.struct.field("field_1").alias("_url"),
                request.struct.field("field_2").alias("_version"),
            )
            .with_columns(
                (
                    pl.col(TIMESTAMP_FIELD).is_not_null()
                    & pl.col("status").str.contains(r"^[0-9]{3}$")
                    & pl.col("bytes").str.contains(r"^(?:[0-9]{1,18}|-)$")
                ).alias("_ok"),
                (
                    pl.col("_method").str.contains(r"^[A-Za-z][A-Za-z0-9_-]*$")
                    & pl.col("_version").str.contains(r"^[A-Za-z]+/[0-9][0-9.]*$")
                )
                .fill_null(False)
                .alias("_split"),
            )
            .collect()
        )
        # A blank row (every field empty) has no timestamp, so it is never "_ok": whether a row is
        # blank is only asked of the few rows that failed.
        ok = checked.get_column("_ok")
        if not ok.all():
            failed = checked.filter(~ok).with_columns(
                pl.all_horizontal([pl.col(c) == "" for c in self._names]).alias("_blank")
            )
            for i, (blank, reason) in enumerate(
                zip(failed.get_column("_blank").to_list(), _reasons(failed), strict=True)
            ):
                if blank:
                    result.blank += 1
                else:
                    result.reject(chunk, int(rows[~ok.to_numpy()][i]), reason)
            rows = rows[ok.to_numpy()]
            checked = checked.filter(ok)
        split = pl.col("_split")
        out = checked.select(
            pl.col(TIMESTAMP_FIELD),
            pl.col("ip").alias("source.ip"),
            dash_to_null("user").alias("user.name"),
            pl.when(split).then(pl.col("_method")).otherwise(None).alias("http.request.method"),
            pl.when(split).then(pl.col("_url")).otherwise(pl.col("request")).alias("url.original"),
            pl.when(split).then(pl.col("_version")).otherwise(None).alias("http.version"),
            pl.col("status").cast(pl.Int32).alias("http.response.status_code"),
            pl.when(pl.col("bytes") == "-")
            .then(None)
            .otherwise(pl.col("bytes"))
            .cast(pl.Int64)
            .alias("http.response.body.bytes"),
            *(
                (
                    dash_to_null("referrer").alias("http.request.referrer"),
                    dash_to_null("agent").alias("user_agent.original"),
                )
                if self.fmt == COMBINED
                else ()
            ),
        )
        result.tables.append((Dataset.HTTP, frame_with_provenance(out, chunk, rows)))
