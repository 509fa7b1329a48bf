# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Compiled twin of the access-log reader's columnar field checks (optional; see :mod:`watchhouse._native`).

Why: :class:`watchhouse.ingest.access_log_columnar.Shaped` reads the fields of lines in the
servers' exact shape through numpy windows: one (lines x width) byte matrix per field, gathered
from all over a chunk of several MiB and tested column by column. Each of those passes walks the
whole chunk again, and the chunk is larger than the caches: the windows alone cost about a
microsecond a line, a third of reading an access log. One C loop per line reads the same bytes
once, while they are in the cache, and stops at the first byte that rules the line out.

The numpy code stays the reference: this is a line-by-line transcription of its checks, window
widths included (a space further in than a numpy window reaches is "not decided here" alike, so
both hand the same lines to the general path), and ``tests/ingest/test_native_accesslog.py``
holds it to the reference field by field on random and real lines. Values of a line that is not
taken are left at zero (the reference leaves garbage there; the caller drops those lines).
"""

from libc.stdint cimport int64_t, uint8_t

from watchhouse._native._civil cimport days_from_civil, days_in_month

import numpy as np

#: sha256 of this file and the shared .pxd declarations when it was compiled (setup.py passes it):
#: the loader refuses a build that no longer matches its source (an editable checkout pulled new
#: code without rebuilding)
SOURCE_SHA256 = BUILT_FROM_SHA256

# As in access_log_columnar: _STAMP_WIDTH, _HEAD_WIDTHS, _END_WIDTH, _MAX_BYTES_DIGITS, _YEARS.
cdef enum:
    STAMP_WIDTH = 30
    HEAD_NARROW = 24
    HEAD_WIDE = 64
    END_WIDTH = 16
    MAX_BYTES_DIGITS = 16
    YEAR_MIN = 1900
    YEAR_MAX = 2999


cdef const char* _MONTHS = b"JanFebMarAprMayJunJulAugSepOctNovDec"
# the methods recognised as whole words (access_log_columnar._METHODS), as one string and lengths
# (padded to seven bytes each; only a method's own length is compared)
cdef const char* _METHOD_TEXT = b"GET    POST   HEAD   PUT    DELETE PATCH  OPTIONSCONNECT"
cdef int[16] _STAMP_DIGITS
_STAMP_DIGITS[:] = [2, 3, 9, 10, 11, 12, 14, 15, 17, 18, 20, 21, 24, 25, 26, 27]
cdef int[8] _METHOD_LENGTHS
_METHOD_LENGTHS[:] = [3, 4, 4, 3, 6, 5, 7, 7]


cdef inline uint8_t _at(const uint8_t* raw, int64_t n, int64_t p) noexcept nogil:
    """The byte at ``p`` (non-negative), zero past the chunk's end (``Shaped.byte``)."""
    return raw[p] if p < n else 0


cdef inline uint8_t _win(const uint8_t* raw, int64_t n, int64_t pos, int64_t k) noexcept nogil:
    """Byte ``k`` of the window at ``pos``: a negative position reads as 0, zero past the chunk's
    end (``Shaped.window``)."""
    if pos < 0:
        pos = 0
    return _at(raw, n, pos + k)


cdef inline bint _digit(uint8_t b) noexcept nogil:
    return 48 <= b <= 57


cdef inline bint _alpha(uint8_t b) noexcept nogil:
    return 65 <= b <= 90 or 97 <= b <= 122


cdef inline int64_t _two(const uint8_t* s, int i) noexcept nogil:
    return (s[i] - 48) * 10 + (s[i + 1] - 48)


cdef bint _stamp(const uint8_t* s, int64_t* micros) noexcept nogil:
    """``_read_stamps`` of one " [dd/Mon/yyyy:HH:MM:SS +zzzz] " (30 bytes at ``s``)."""
    cdef int i, month = 0
    cdef int64_t day, year, hour, minute, second, offset
    if (s[0] != 32 or s[1] != 91 or s[4] != 47 or s[8] != 47 or s[13] != 58 or s[16] != 58 or s[19] != 58
            or s[22] != 32 or s[28] != 93 or s[29] != 32):
        return False
    for i in range(16):
        if not _digit(s[_STAMP_DIGITS[i]]):
            return False
    if s[23] != 43 and s[23] != 45:
        return False
    for i in range(12):
        if s[5] == _MONTHS[3 * i] and s[6] == _MONTHS[3 * i + 1] and s[7] == _MONTHS[3 * i + 2]:
            month = i + 1
            break
    if month == 0:
        return False
    day = _two(s, 2)
    year = _two(s, 9) * 100 + _two(s, 11)
    hour, minute, second = _two(s, 14), _two(s, 17), _two(s, 20)
    if year < YEAR_MIN or year > YEAR_MAX or day < 1 or hour > 23 or minute > 59 or second > 59:
        return False
    if day > days_in_month(year, month):
        return False
    offset = _two(s, 24) * 60 + _two(s, 26)
    if s[23] == 45:
        offset = -offset
    micros[0] = (((days_from_civil(year, month, day) * 24 + hour) * 60 + minute - offset) * 60 + second) * 1000000
    return True


cdef inline int64_t _next_space(const uint8_t* raw, int64_t n, int64_t pos, int64_t from_, int64_t width) noexcept nogil:
    """The first space at or after column ``from_`` of the ``width``-byte window at ``pos``; ``width`` if none."""
    cdef int64_t k
    for k in range(from_ if from_ > 0 else 0, width):
        if _win(raw, n, pos, k) == 32:
            return k
    return width


def fields(
    const uint8_t[::1] data,
    const int64_t[::1] start,
    const int64_t[::1] end,
    const int64_t[:, :] q,
    uint8_t[::1] ok,
    bint combined,
):
    """All of ``Shaped``'s per-line checks and values in one pass: ``timestamps``, ``head``,
    ``request``, ``status_and_bytes`` and ``tail``, in that order of meaning.

    ``start``/``end``/``q`` are the candidate lines' bounds and quote positions (``Shaped.start``,
    ``.end``, ``.q``); ``ok`` (``Shaped.ok``, as uint8) is narrowed in place. Returns ``(stamps,
    ip_end, user_start, user_end, first_at, last_at, split, status, size, no_size)`` as the numpy
    methods return them.
    """
    cdef Py_ssize_t rows = start.shape[0], i
    cdef int64_t n = data.shape[0]
    cdef const uint8_t* raw = &data[0] if n else NULL
    stamps_a = np.zeros(rows, dtype=np.int64)
    ints_a = np.zeros((7, rows), dtype=np.int64)
    flags_a = np.zeros((2, rows), dtype=np.bool_)
    cdef int64_t[::1] stamps = stamps_a
    cdef int64_t[:, ::1] v = ints_a
    cdef uint8_t[:, ::1] f = flags_a.view(np.uint8)
    cdef uint8_t[END_WIDTH] back
    cdef uint8_t[32] stamp
    cdef uint8_t[32] last_stamp
    cdef bint have_last = False, last_ok = False, same, method_ok, version_ok, plain, dash, digits_ok
    cdef int64_t last_micros = 0, micros = 0
    cdef int64_t q0, s, length, ip_length, first, second, third, width, k, opening, closing, rlength
    cdef int64_t slash, digit_at, last_space, size, m, count, first_at, last_at, status, ip_end, user_start, user_end
    cdef uint8_t b
    with nogil:
        for i in range(rows):
            if not ok[i]:
                continue
            s = start[i]
            q0 = q[i, 0]
            # -- timestamps: a run of equal stamp bytes converts alike; the previous line's answer
            for k in range(STAMP_WIDTH):
                stamp[k] = _win(raw, n, q0 - STAMP_WIDTH, k)
            same = have_last
            if same:
                for k in range(STAMP_WIDTH):
                    if stamp[k] != last_stamp[k]:
                        same = False
                        break
            if not same:
                last_ok = _stamp(stamp, &last_micros)
                for k in range(STAMP_WIDTH):
                    last_stamp[k] = stamp[k]
                have_last = True
            if not last_ok or q0 - STAMP_WIDTH < s + 5:
                ok[i] = 0
                continue
            micros = last_micros
            # -- head: "ip ident user"
            length = q0 - STAMP_WIDTH - s
            ip_length = length - 4
            plain = (
                _win(raw, n, q0 - STAMP_WIDTH - 8, 4) == 32 and _win(raw, n, q0 - STAMP_WIDTH - 8, 5) == 45
                and _win(raw, n, q0 - STAMP_WIDTH - 8, 6) == 32 and _win(raw, n, q0 - STAMP_WIDTH - 8, 7) == 45
                and 1 <= ip_length <= 16
            )
            if plain:
                for k in range(ip_length):
                    if _win(raw, n, s, k) == 32:
                        plain = False
                        break
            if plain:
                first, second, third = ip_length, ip_length + 2, length
            else:
                width = HEAD_NARROW if length < HEAD_NARROW else HEAD_WIDE
                first = _next_space(raw, n, s, 0, width)
                second = _next_space(raw, n, s, first + 1, width)
                third = _next_space(raw, n, s, second + 1, width)
            if not (third == length and first >= 1 and second >= first + 2 and length >= second + 2):
                ok[i] = 0
                continue
            ip_end, user_start, user_end = s + first, s + second + 1, s + length
            # -- request: "METHOD URL VERSION"
            opening, closing = q0, q[i, 1]
            rlength = closing - opening - 1
            first = END_WIDTH
            for k in range(rlength if rlength < END_WIDTH else END_WIDTH):
                if _win(raw, n, opening + 1, k) == 32:
                    first = k
                    break
            method_ok = False
            for m in range(8):
                if first == _METHOD_LENGTHS[m]:
                    method_ok = True
                    for k in range(first):
                        if _win(raw, n, opening + 1, k) != <uint8_t> _METHOD_TEXT[7 * m + k]:
                            method_ok = False
                            break
                    if method_ok:
                        break
            if not method_ok and 1 <= first < END_WIDTH:  # _method_form
                method_ok = _alpha(_win(raw, n, opening + 1, 0))
                if method_ok:
                    for k in range(first):
                        b = _win(raw, n, opening + 1, k)
                        if not (_alpha(b) or _digit(b) or b == 95 or b == 45):
                            method_ok = False
                            break
            for k in range(END_WIDTH):
                back[k] = _win(raw, n, closing - END_WIDTH, k)
            # the usual versions as whole words: " HTTP/1.1", " HTTP/1.0", " HTTP/2.0", " HTTP/3.0"
            version_ok = (
                rlength > 8 and back[7] == 32 and back[8] == 72 and back[9] == 84 and back[10] == 84
                and back[11] == 80 and back[12] == 47 and back[14] == 46
                and ((back[13] == 49 and (back[15] == 49 or back[15] == 48))
                     or ((back[13] == 50 or back[13] == 51) and back[15] == 48))
            )
            if version_ok:
                last_space = 7
            else:  # _version_form
                last_space = -1
                k = END_WIDTH - rlength
                if k < 0:
                    k = 0
                while k < END_WIDTH:
                    if back[k] == 32:
                        last_space = k
                    k += 1
                slash = END_WIDTH
                for k in range(last_space + 1 if last_space + 1 > 0 else 0, END_WIDTH):
                    if back[k] == 47:
                        slash = k
                        break
                digit_at = slash + 1 if slash + 1 < END_WIDTH - 1 else END_WIDTH - 1
                version_ok = last_space >= 0 and slash >= last_space + 2 and slash + 1 < END_WIDTH
                version_ok = version_ok and _digit(back[digit_at])
                if version_ok:
                    for k in range(last_space + 1, slash):
                        if not _alpha(back[k]):
                            version_ok = False
                            break
                if version_ok:
                    for k in range(digit_at + 1, END_WIDTH):
                        if not (_digit(back[k]) or back[k] == 46):
                            version_ok = False
                            break
            if not ((first < END_WIDTH and last_space >= 0) or rlength <= END_WIDTH):
                ok[i] = 0
                continue
            first_at = opening + 1 + first
            last_at = closing - END_WIDTH + last_space
            # -- status and byte count: '" 200 12'
            if not (
                _win(raw, n, closing, 0) == 34 and _win(raw, n, closing, 1) == 32 and _win(raw, n, closing, 5) == 32
                and _digit(_win(raw, n, closing, 2)) and _digit(_win(raw, n, closing, 3))
                and _digit(_win(raw, n, closing, 4))
            ):
                ok[i] = 0
                continue
            size = q[i, 2] - closing - 7 if combined else end[i] - closing - 6
            if size < 1 or size > MAX_BYTES_DIGITS:
                ok[i] = 0
                continue
            if combined and _at(raw, n, q[i, 2] - 1) != 32:
                ok[i] = 0
                continue
            dash = size == 1 and _win(raw, n, closing + 6, 0) == 45
            digits_ok = True
            for k in range(size):
                if not _digit(_win(raw, n, closing + 6, k)):
                    digits_ok = False
                    break
            if not (digits_ok or dash):
                ok[i] = 0
                continue
            count = 0
            if not dash:
                for k in range(size):
                    count = count * 10 + (_win(raw, n, closing + 6, k) - 48)
            status = (
                (_win(raw, n, closing, 2) - 48) * 100 + (_win(raw, n, closing, 3) - 48) * 10
                + (_win(raw, n, closing, 4) - 48)
            )
            # -- tail: '" "' between referrer and agent, the last quote ends the line
            if combined and not (
                _at(raw, n, q[i, 3] + 1) == 32 and q[i, 4] == q[i, 3] + 2 and q[i, 5] == end[i] - 1
            ):
                ok[i] = 0
                continue
            stamps[i] = micros
            v[0, i] = ip_end
            v[1, i] = user_start
            v[2, i] = user_end
            v[3, i] = first_at
            v[4, i] = last_at
            v[5, i] = status
            v[6, i] = count
            f[0, i] = method_ok and version_ok and first_at < last_at
            f[1, i] = dash
    return (
        stamps_a, ints_a[0], ints_a[1], ints_a[2], ints_a[3], ints_a[4], flags_a[0], ints_a[5], ints_a[6], flags_a[1]
    )
