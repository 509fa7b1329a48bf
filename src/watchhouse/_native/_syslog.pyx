# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Compiled twin of the syslog reader's byte-level head reader (optional; see :mod:`watchhouse._native`).

Why: :func:`watchhouse.ingest.syslog_heads._quick_heads` reads the commonest syslog head
("2026-03-02T00:00:00.016068+00:00 host prog[pid]: ") from a chunk's bytes with numpy; each of
its checks is one pass over a (lines x 72) byte matrix, a dozen passes and their temporaries in
all, about half a CPU second per million lines. One C loop per line reads the same bytes once
and stops at the first byte that rules a line out. The numpy code stays the reference:
``tests/ingest/test_native_syslog.py`` holds this twin to it, byte for byte, on random and
real lines. The stamp's UTC offset is left to the caller (it resolves each distinct offset with
the stamp parser itself), so this kernel returns the local instant and the offset's code.
"""

from libc.stdint cimport int64_t, uint8_t

from watchhouse._native._civil cimport days_from_civil, days_in_month

import numpy as np

#: sha256 of this file and the shared .pxd declarations when it was compiled (setup.py passes it):
#: the loader refuses a build that no longer matches its source (an editable checkout pulled new
#: code without rebuilding)
SOURCE_SHA256 = BUILT_FROM_SHA256

# The layout, as in syslog_heads._QUICK_STAMP: "0000-00-00T00:00:00.000000+00:00 ", 33 bytes.
# Also the bytes of a line looked at (syslog_heads._QUICK_WIDTH) and the longest pid taken
# (syslog_heads._QUICK_PID_DIGITS).
cdef enum:
    STAMP = 33
    SIGN = 26
    WIDTH = 72
    PID_DIGITS = 18


cdef inline bint _stop(uint8_t b) noexcept nogil:
    """A byte that ends a host or program name: not printable ASCII, or one of "[", "]", ":"."""
    return b < 0x21 or b >= 0x7F or b == 0x5B or b == 0x5D or b == 0x3A


cdef inline int _digit(uint8_t b) noexcept nogil:
    return <int> b - 48 if 48 <= b <= 57 else -1


cdef inline int64_t _number(const uint8_t* p, int count) noexcept nogil:
    """The value of ``count`` digits at ``p``, or -1 when one of them is not a digit."""
    cdef int64_t value = 0
    cdef int i, d
    for i in range(count):
        d = _digit(p[i])
        if d < 0:
            return -1
        value = value * 10 + d
    return value


cdef inline bint _valid_date(int64_t year, int64_t month, int64_t day) noexcept nogil:
    """As civil_time.valid_clock's date part, with the byte reader's year >= 1970."""
    if year < 1970 or month < 1 or month > 12 or day < 1:
        return False
    return day <= days_in_month(year, month)


cdef inline int64_t _scan(const uint8_t* w, int64_t* out) noexcept nogil:
    """Reads one line's ``WIDTH``-byte window ``w``. Returns 1 and fills ``out`` (local microseconds,
    offset code, host end, program end, pid end, pid) when the head is one the byte reader takes
    before its offset is resolved; 0 otherwise (``out`` then holds nothing meaningful)."""
    cdef int64_t year, month, day, hour, minute, second, fraction, off_h, off_m, pid
    cdef int host_end, prog_end, pid_end, i, d
    cdef const uint8_t* tail = w + STAMP
    # literals of the stamp, then its digit groups (a non-digit gives -1)
    if (w[4] != 0x2D or w[7] != 0x2D or w[10] != 0x54 or w[13] != 0x3A or w[16] != 0x3A or w[19] != 0x2E
            or w[29] != 0x3A or w[32] != 0x20):
        return 0
    if w[SIGN] != 0x2B and w[SIGN] != 0x2D:
        return 0
    year = _number(w, 4)
    month = _number(w + 5, 2)
    day = _number(w + 8, 2)
    hour = _number(w + 11, 2)
    minute = _number(w + 14, 2)
    second = _number(w + 17, 2)
    fraction = _number(w + 20, 6)
    off_h = _number(w + 27, 2)
    off_m = _number(w + 30, 2)
    if year < 0 or month < 0 or day < 0 or hour < 0 or minute < 0 or second < 0 or fraction < 0:
        return 0
    if off_h < 0 or off_m < 0:
        return 0
    if not _valid_date(year, month, day) or hour > 23 or minute > 59 or second > 59:
        return 0
    # host " " program "[" pid "]: " after the stamp, within the window
    host_end = 0
    while host_end < WIDTH - STAMP and not _stop(tail[host_end]):
        host_end += 1
    if host_end == 0 or host_end >= WIDTH - STAMP or tail[host_end] != 0x20:
        return 0
    prog_end = host_end + 1
    while prog_end < WIDTH - STAMP and not _stop(tail[prog_end]):
        prog_end += 1
    if prog_end == host_end + 1 or prog_end >= WIDTH - STAMP or tail[prog_end] != 0x5B:
        return 0
    pid_end = prog_end + 1
    while pid_end < WIDTH - STAMP and not _stop(tail[pid_end]):
        pid_end += 1
    if pid_end == prog_end + 1 or pid_end + 2 >= WIDTH - STAMP or tail[pid_end] != 0x5D:
        return 0
    if tail[pid_end + 1] != 0x3A or tail[pid_end + 2] != 0x20:
        return 0
    if pid_end - prog_end - 1 > PID_DIGITS:
        return 0
    pid = 0
    for i in range(prog_end + 1, pid_end):
        d = _digit(tail[i])
        if d < 0:
            return 0
        pid = pid * 10 + d
    out[0] = (((days_from_civil(year, month, day) * 24 + hour) * 60 + minute) * 60 + second) * 1000000 + fraction
    out[1] = (-1 if w[SIGN] == 0x2D else 1) * (off_h * 100 + off_m)
    out[2] = host_end + STAMP
    out[3] = prog_end + STAMP
    out[4] = pid_end + STAMP
    out[5] = pid
    return 1


def quick_heads(const uint8_t[::1] data, const int64_t[::1] starts):
    """The per-line reading of ``syslog_heads._quick_heads`` before offsets are resolved.

    ``data`` is the chunk's bytes (at least ``WIDTH`` long: the caller pads a shorter chunk as the
    reference does) and ``starts`` its line starts. Returns ``(ok, local, offset, host_end,
    prog_end, pid_end, pid)``: ``ok`` (bool) marks the lines whose head the byte reader takes if
    their offset is accepted; for those, ``local`` is the stamp's instant in microseconds as if it
    were UTC, ``offset`` the offset as signed ``HHMM``, the three ends are byte positions from the
    line start (the space after the host, the "[" and the "]") and ``pid`` the process id. A line
    whose window would run past the data is left to the regex path, as in the reference.
    """
    cdef Py_ssize_t n = starts.shape[0], row
    cdef int64_t last = data.shape[0] - WIDTH
    cdef int64_t start
    cdef int64_t out[6]
    ok_array = np.zeros(n, dtype=np.bool_)
    values = np.zeros((6, n), dtype=np.int64)
    cdef uint8_t[::1] ok = ok_array.view(np.uint8)
    cdef int64_t[:, ::1] v = values
    cdef const uint8_t* base = &data[0] if data.shape[0] else NULL
    with nogil:
        for row in range(n):
            start = starts[row]
            if start < 0 or start > last:
                continue
            if _scan(base + start, out):
                ok[row] = 1
                v[0, row] = out[0]
                v[1, row] = out[1]
                v[2, row] = out[2]
                v[3, row] = out[3]
                v[4, row] = out[4]
                v[5, row] = out[5]
    return ok_array, values[0], values[1], values[2], values[3], values[4], values[5]
