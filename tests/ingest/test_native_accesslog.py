"""The compiled access-log field checks (``watchhouse._native._accesslog``) against their numpy reference.

Why differential: the numpy methods of :class:`watchhouse.ingest.access_log_columnar.Shaped`
(``timestamps``, ``head``, ``request``, ``status_and_bytes``, ``tail``) are the specification of
which lines the columnar path takes and what it reads from them; the kernel re-implements them
one line at a time in C, so an off-by-one in a window bound, a byte class or the calendar shows
up here as a different mask or value. Inputs: server lines with bytes overwritten at random by
the bytes that matter (quotes, spaces, digits, separators, NUL, non-ASCII), the near misses of
``test_access_log_columnar``, and the real Apache corpus. That the chosen lines then read as the
general path reads them is ``test_access_log_columnar``'s property, which runs the kernel too.
Skipped where the kernel is not built (the numpy reference then runs).
"""

from __future__ import annotations

import re
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from watchhouse.ingest import access_log_columnar
from watchhouse.ingest.access_log import clean
from watchhouse.ingest.access_log_columnar import Fields, Shaped, line_bounds

kernel = pytest.importorskip("watchhouse._native._accesslog", reason="compiled kernels not built (numpy runs)")

_APACHE = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "logs" / "web_attacks" / "elastic_examples"
_LINE = '203.0.113.7 - alice [02/Mar/2026:10:00:00 +0100] "GET /p/1?q=a HTTP/1.1" 200 1897 "https://r.example/" "ua 1"'
_COMMON_LINE = '2001:db8::1 - - [29/Feb/2024:23:59:59 -0130] "OPTIONS * HTTP/1.0" 404 -'
# the bytes the checks look at: the format's separators, digits, letters of months and methods
_BYTES = st.sampled_from([*b' "[]/:+-.0129_AaJGHPTZz\\', 0x00, 0x7F, 0xC3, 0xFF])


def _both(data: bytes, combined: bool) -> tuple[tuple[np.ndarray, Fields], tuple[np.ndarray, Fields]] | None:
    """``Shaped.fields`` of one chunk with the kernel and with numpy: (ok, fields) each; None
    where no line has the format's quotes (the parser then reads none of them this way)."""
    cleaned = clean(data)
    starts, ends = line_bounds(np.frombuffer(cleaned, dtype=np.uint8))
    quotes = 6 if combined else 2
    results = []
    for twin in (kernel, None):
        with mock.patch.object(access_log_columnar, "native_accesslog", twin):
            shaped = Shaped(cleaned, starts, ends, quotes)
            if len(shaped.rows) == 0:
                return None
            found = shaped.fields(combined)
            results.append((shaped.ok.copy(), found))
    return results[0], results[1]


def _assert_same(data: bytes, combined: bool) -> int:
    """Kernel and numpy agree on which lines are taken and, for those, on every field; returns
    how many lines were taken."""
    both = _both(data, combined)
    if both is None:
        return 0
    (ok, fields), (ok_ref, ref) = both
    assert ok.tolist() == ok_ref.tolist()
    for name, mine, theirs in zip(Fields._fields, fields, ref, strict=True):
        if name == "size":  # the count of a "-" byte count is null in the table: any value stands
            mine, theirs = mine[~fields.no_size], theirs[~ref.no_size]
            assert mine[ok[~fields.no_size]].tolist() == theirs[ok_ref[~ref.no_size]].tolist(), name
        else:
            assert mine[ok].tolist() == theirs[ok].tolist(), name
    return int(ok.sum())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(st.tuples(st.integers(0, len(_LINE) - 1), _BYTES), max_size=4),
    cut=st.integers(0, 12),
    combined=st.booleans(),
)
@example(edits=[], cut=0, combined=True)
@example(edits=[(0, ord(" "))], cut=0, combined=True)  # a leading space: the ip is empty
def test_kernel_reads_mutated_lines_as_numpy_does(edits: list[tuple[int, int]], cut: int, combined: bool) -> None:
    line = bytearray((_LINE if combined else _COMMON_LINE).encode())
    for at, byte in edits:
        line[at % len(line)] = byte
    if cut:
        del line[-cut:]
    # the mutated line between two clean ones, and alone at the start and end of a chunk
    clean_line = (_LINE if combined else _COMMON_LINE).encode()
    _assert_same(bytes(line) + b"\n" + clean_line + b"\n" + bytes(line), combined)


def test_near_misses_of_every_field() -> None:
    """Hand-picked lines where one field is just outside what the columnar path takes."""
    stamp = "[02/Mar/2026:10:00:00 +0000]"
    base = '198.51.100.{i} {user} {stamp} "{request}" {status} {size} "-" "ua"'
    variants = {
        "user": ["- -", "- alice", "- " + "u" * 70, "x -", "-  -", "-"],
        "stamp": [
            stamp,
            "[29/Feb/2023:10:00:00 +0000]",
            "[29/Feb/2024:10:00:00 +0000]",
            "[31/Apr/2026:10:00:00 +0000]",
            "[02/mar/2026:10:00:00 +0000]",
            "[02/Mar/1899:10:00:00 +0000]",
            "[02/Mar/2026:23:59:60 +0000]",
            "[02/Mar/2026:10:00:00 -1259]",
            "[02/Mar/2026:10:00:00 +05:30]",
            "[2/Mar/2026:10:00:00 +0000]",
        ],
        "request": [
            "GET / HTTP/1.1",
            "GET / HTTP/3.0",
            "GET / HTTP/1.2",
            "PROPFIND /x HTTP/1.1",
            "M-SEARCH * HTTP/1.1",
            "get / http/1.1",
            "1GET / HTTP/1.1",
            "VERYLONGMETHODNAMEXYZ / HTTP/1.1",
            "GET /a b HTTP/1.1",
            "GET /" + "x" * 40 + " HTTP/1.1",
            "GET / HTTP/2",
            "GET / HTTP/1.1.",
            "GET / XHTTP/1.1",
            "GET /",
            "GET",
            "-",
            "",
            "G_T / H/1",
        ],
        "status": ["200", "99", "2000", "20a"],
        "size": ["0", "-", "1897", "12345678", "123456789", "1234567890123456", "12345678901234567", "12a", "+5"],
    }
    chosen = {"user": "- -", "stamp": stamp, "request": "GET / HTTP/1.1", "status": "200", "size": "1"}
    lines: list[str] = []
    for field, values in variants.items():
        for value in values:
            lines.append(base.format(i=len(lines), **{**chosen, field: value}))
    taken = _assert_same(("\n".join(lines) + "\n").encode(), True)
    assert 0 < taken < len(lines)


def test_real_apache_corpus() -> None:
    """The public Apache access log (10,000 lines of a real site) is read alike, in both formats."""
    path = _APACHE / "apache_logs"
    if not path.is_file():
        pytest.skip(f"corpus absent: {path} (../shared/corpora is not beside the repository)")
    data = path.read_bytes()
    taken = _assert_same(data, True)
    assert taken > 9_000
    # the same lines cut after the byte count: the common format
    cut = [re.match(rb'^(.*?" [0-9]{3} [0-9-]+) "', line) for line in data.splitlines()]
    common = b"\n".join(match.group(1) for match in cut if match) + b"\n"
    assert _assert_same(common, False) > 9_000


def test_formats_are_told_apart() -> None:
    assert _assert_same((_COMMON_LINE + "\n").encode(), False) == 1
    assert _assert_same((_LINE + "\n").encode(), True) == 1
    # a combined line is no common line (its byte count does not end the line), and back
    assert _assert_same((_LINE + "\n").encode(), False) == 0
    assert _assert_same((_COMMON_LINE + "\n").encode(), True) == 0
