"""The columnar path of the access-log reader: lines in the exact shape servers write.

Why a module of its own: it is a different way of reading (numpy windows at fixed distances from
the quotes of a whole chunk, no tokenizer), and :mod:`.access_log` stays the one place that knows
the format and sends every line it is unsure of down the exact general path. What this module
cannot read with certainty it hands back, never guesses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from watchhouse._native import accesslog as native_accesslog
from watchhouse.ingest.civil_time import days_from_civil, valid_clock

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
#: years read here; any other takes the general path (its parser's range is not ours to guess)
_YEARS = (1900, 2999)
_MICROS_PER_SECOND = 1_000_000
_ALL_BYTES = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
_U64_ONE = np.uint64(1)

Bytes = npt.NDArray[np.uint8]
Words = npt.NDArray[np.uint64]
Ints = npt.NDArray[np.int64]
Flags = npt.NDArray[np.bool_]

NEWLINE = ord("\n")
QUOTE = ord('"')
BACKSLASH = ord("\\")
#: up to this many backslashes in a chunk are looked at one by one, more at once with numpy
FEW_BACKSLASHES = 256
BOM = b"\xef\xbb\xbf"


def decoded_escapes(data: bytes, raw: Bytes) -> Ints:
    """Where backslash-backslash or backslash-quote escapes are: enough to tell the lines that
    hold one (the numpy way also lists a second backslash that a quote follows).

    Backslashes are rare in access logs: up to a few hundred are found one by one with
    ``bytes.find`` (``memchr``), more at once with numpy.
    """
    found: list[int] = []
    at = data.find(b"\\")
    for _ in range(FEW_BACKSLASHES):
        if at == -1:
            return np.array(found, dtype=np.int64)
        if data[at + 1 : at + 2] in (b"\\", b'"'):
            found.append(at)
            at = data.find(b"\\", at + 2)  # the escaped backslash is no escape of its own
        else:
            at = data.find(b"\\", at + 1)
    backslash = np.flatnonzero(raw == BACKSLASH)
    follower = raw[np.minimum(backslash + 1, len(raw) - 1)]
    decoded: Ints = backslash[((follower == BACKSLASH) | (follower == QUOTE)) & (backslash + 1 < len(raw))]
    return decoded.astype(np.int64)


def line_bounds(raw: Bytes) -> tuple[Ints, Ints]:
    """Start and end (before the newline) of every line, counted as :class:`LineChunk` counts them."""
    newlines = np.flatnonzero(raw == NEWLINE).astype(np.int64)
    starts = np.concatenate((np.zeros(1, dtype=np.int64), newlines + 1))
    ends = np.append(newlines, len(raw))
    if len(raw) and raw[-1] == NEWLINE:
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
    ok &= (year >= _YEARS[0]) & (year <= _YEARS[1]) & valid_clock(year, month, day, hour, minute, second)
    offset = _number(stamp, (24, 25)) * 60 + _number(stamp, (26, 27))
    offset = np.where(sign == _MINUS, -offset, offset)
    seconds = ((days_from_civil(year, month, day) * 24 + hour) * 60 + minute - offset) * 60 + second
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


class Fields(NamedTuple):
    """What :meth:`Shaped.fields` reads from each candidate line (absolute byte positions)."""

    stamps: Ints  # microseconds since the epoch, UTC
    ip_end: Ints
    user_start: Ints
    user_end: Ints
    first_at: Ints  # the space after the method
    last_at: Ints  # the space before the version
    split: Flags  # method and version have their forms: the request splits at those spaces
    status: Ints
    size: Ints  # the byte count (meaningless where ``no_size``)
    no_size: Flags  # the byte count was "-"


class Shaped:
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
        found = np.flatnonzero(raw == QUOTE).astype(np.int64)
        first = np.searchsorted(found, starts)
        candidate = np.diff(np.append(first, len(found))) == quotes
        decoded = decoded_escapes(data, raw)
        if len(decoded):  # lines with an escape the general path decodes are left to it
            candidate[np.searchsorted(starts, decoded, side="right") - 1] = False
        if data.startswith(BOM):  # a byte-order mark, which CSV readers skip
            candidate[0] = False
        self.rows = np.flatnonzero(candidate).astype(np.int64)
        if len(self.rows) == len(starts):
            self.q = found.reshape(len(starts), quotes)
        else:
            self.q = found[first[self.rows][:, None] + np.arange(quotes)]
        self.start, self.end = starts[self.rows], ends[self.rows]
        self.ok = np.ones(len(self.rows), dtype=bool)

    def fields(self, combined: bool) -> Fields:
        """Every field of every candidate line, narrowing :attr:`ok` to the lines in server shape.

        Where the compiled kernel is built (:mod:`watchhouse._native._accesslog`), one C loop per
        line reads them; otherwise the numpy methods below, which are its reference.
        """
        if native_accesslog is not None:
            ok = self.ok.view(np.uint8)
            found = native_accesslog.fields(self.data, self.start, self.end, self.q, ok, combined)
            return Fields(*found)
        stamps = self.timestamps()
        ip_end, user_start, user_end = self.head()
        first_at, last_at, split = self.request()
        status, size, no_size = self.status_and_bytes(combined)
        self.tail(combined)
        return Fields(stamps, ip_end, user_start, user_end, first_at, last_at, split, status, size, no_size)

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


def string_columns(data: bytes, ranges: list[tuple[Ints, Ints]]) -> list[pa.Array]:
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


def request_ranges(opening: Ints, closing: Ints, first: Ints, last: Ints, split: Flags) -> list[tuple[Ints, Ints]]:
    """Method, URL and version where ``split``; else an empty method and version around the whole
    request as the URL (the caller makes those two null)."""
    return [
        (opening, np.where(split, first, opening)),
        (np.where(split, first + 1, opening), np.where(split, last, closing)),
        (np.where(split, last + 1, closing), closing),
    ]


def with_nulls(values: pa.Array, null: Flags) -> pa.Array:
    """``values`` with a validity bitmap that hides the ``null`` rows (their bytes stay, unseen)."""
    if not null.any():
        return values
    valid = np.zeros(values.offset + len(values), dtype=bool)  # a slice's bits start at its offset
    valid[values.offset :] = ~null
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(
        values.type, len(values), [bitmap, *values.buffers()[1:]], null_count=int(null.sum()), offset=values.offset
    )


def dash_flags(shaped: Shaped, begin: Ints, end: Ints) -> Flags:
    """Access logs write "-" for an absent value; the schema wants a null."""
    return np.asarray((end - begin == 1) & (shaped.byte(begin) == _DASH))
