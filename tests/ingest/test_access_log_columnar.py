"""The columnar access-log reader reads every line exactly as the general (CSV-reader) path does.

``AccessLogParser.parse`` reads lines in the exact shape servers write with numpy over the whole
chunk, and hands every other line to the exact path (Arrow's CSV reader, the reference that the
faster Polars reader only matches on plain lines). The property: in a chunk with at least one
line in server shape, whatever the mix of other lines, the events, blanks and quarantine entries
(line, offset, reason, raw text) are those of the exact path run over the whole chunk.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchhouse.ingest.access_log import AccessLogParser, clean
from watchhouse.ingest.base import ParseResult
from watchhouse.ingest.options import COMBINED, COMMON
from watchhouse.ingest.source import LineChunk

_Summary = tuple[list[dict[str, Any]], int, list[tuple[int, int, str, bytes]]]

# Field values as servers write them, and the near misses the columnar path must refuse (or read
# exactly as the general path would): odd timestamps, methods, versions, sizes, escapes.
_IPS = ["203.0.113.7", "2001:db8::1", "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "::1", "-", "a b", ""]
_USERS = ["- -", "- alice", "- a-very-long-user-name-from-an-sso-provider@example.org", "x -", "-  -", "-"]
_DAYS = ["02", "29", "30", "31", "2", "00"]
_MONTHS = ["Mar", "Feb", "Dec", "mar", "MAR", "Xyz"]
_YEARS = ["2026", "2024", "2100", "1899", "0999"]
_CLOCKS = ["10:00:00", "23:59:59", "23:59:60", "24:00:00", "00:60:00", "1:00:00"]
_ZONES = ["+0000", "-0800", "+0530", "+05:30", "0000", "+00000", "-1259"]
_METHODS = [
    "GET",
    "POST",
    "OPTIONS",
    "PROPFIND",
    "M-SEARCH",
    "get",
    "1GET",
    "VERYLONGMETHODNAMEXYZ",
    "",
    "G_T",
    "GET\x00",
]
_URLS = ["/", "/a?q=1", "/p/" + "x" * 40, "/a b", "", "/%27", "/\\x22><script>", "/é", '/"', "/\\"]
_VERSIONS = [
    "HTTP/1.1",
    "HTTP/1.0",
    "HTTP/2",
    "HTTP/2.0",
    "http/1.1",
    "HTTP/1.1.",
    "HTTP/x",
    "HTTP",
    "H/1",
    "",
    "XHTTP/1.1",
]
_REQUEST_SHAPES = ["{m} {u} {v}", "{m} {u}", "{m}", "{m}  {u} {v}", "{m} {u} {v} extra", "-", "\\x16\\x03\\x01"]
_STATUS = ["200", "404", "99", "2000", "20a", "-"]
_SIZES = ["0", "1897", "-", "1234567890123456", "12345678901234567", "12a", "", "+5"]
_TEXT = ["-", "", "Mozilla/5.0 (X11; Linux x86_64)", "a\\\\b", 'x\\"y', "\\x22", "é", "\x01", "ua ua", "-x"]


@st.composite
def _access_line(draw: st.DrawFn, combined: bool) -> str:
    """One line, mostly well formed, with any part replaced now and then by a near miss."""
    stamp = f"[{draw(st.sampled_from(_DAYS))}/{draw(st.sampled_from(_MONTHS))}/{draw(st.sampled_from(_YEARS))}:"
    stamp += f"{draw(st.sampled_from(_CLOCKS))} {draw(st.sampled_from(_ZONES))}]"
    request = draw(st.sampled_from(_REQUEST_SHAPES)).format(
        m=draw(st.sampled_from(_METHODS)), u=draw(st.sampled_from(_URLS)), v=draw(st.sampled_from(_VERSIONS))
    )
    line = f'{draw(st.sampled_from(_IPS))} {draw(st.sampled_from(_USERS))} {stamp} "{request}"'
    line += f" {draw(st.sampled_from(_STATUS))} {draw(st.sampled_from(_SIZES))}"
    if combined:
        line += f' "{draw(st.sampled_from(_TEXT))}" "{draw(st.sampled_from(_TEXT))}"'
    return line


_PLAIN = (
    '198.51.100.{i} - - [02/Mar/2026:10:{m:02d}:{s:02d} +0100] "GET /p/{i} HTTP/1.1" 200 {i} "-" "Mozilla/5.0 ({i})"'
)
_ODD = [
    "",
    "   ",
    "198.51.100.11 - -",
    '198.51.100.7 - - [02/Mar/2026:10:00:00 +0000] "GET /t HTTP/1.1" 200 1 "-" "Mozilla/5.0 (cut',
    '198.51.100.9 - - [02/Mar/2026:10:00:00 +0000] "GET /x HTTP/1.1" 200 1 "-" "ua" "more"',
    '198.51.100.10 - "u" [02/Mar/2026:10:00:00 +0000] "GET /s HTTP/1.1" 200 1 "-" "ua"',
    "\x00\x01 junk \xfe",
    # six quotes, one of them inside a field: Polars and Arrow read such lines differently
    '198.51.100.12 - - [02/Mar/2026:10:00:00 +0000] "GET /m HTTP/1.1" 200 1 "-" -"ua m"',
    '198.51.100.13 - - [02/Mar/2026:10:00:00 +0000] "GET /q HTTP/1.1" 200 1 "-" 4"ua" x',
]


def _summary(result: ParseResult) -> _Summary:
    rows = [row for _, table in result.tables for row in table.to_pylist()]
    rejected = sorted((r.line, r.offset, r.reason, r.raw) for r in result.rejected)
    return rows, result.blank, rejected


def _both_ways(data: bytes, fmt: str) -> tuple[_Summary, _Summary]:
    """What ``parse`` gives, and what the exact path alone gives, for one chunk."""
    chunk = LineChunk(data, 41, 9000)
    columnar = _summary(AccessLogParser(fmt).parse(chunk))
    exact = ParseResult()
    AccessLogParser(fmt)._parse_exact(chunk, clean(data), np.arange(chunk.n_lines, dtype=np.int64), exact)
    return columnar, _summary(exact)


def _lines_to_bytes(lines: list[str], crlf: bool, final_newline: bool, bad_utf8: bool) -> bytes:
    ending = "\r\n" if crlf else "\n"
    data = (ending.join(lines) + (ending if final_newline else "")).encode("utf-8", "surrogateescape")
    return data.replace("é".encode(), b"\xc3") if bad_utf8 else data


@settings(max_examples=400, deadline=None)
@given(
    parts=st.lists(
        st.one_of(
            st.integers(0, 59).map(lambda i: _PLAIN.format(i=i, m=i % 60, s=(i * 7) % 60)),
            _access_line(combined=True),
            st.sampled_from(_ODD),
        ),
        min_size=1,
        max_size=30,
    ),
    shaped_at=st.integers(0, 30),
    crlf=st.booleans(),
    final_newline=st.booleans(),
    bad_utf8=st.booleans(),
)
def test_combined_lines_read_as_the_exact_path_reads_them(
    parts: list[str], shaped_at: int, crlf: bool, final_newline: bool, bad_utf8: bool
) -> None:
    parts.insert(min(shaped_at, len(parts)), _PLAIN.format(i=99, m=1, s=2))
    columnar, exact = _both_ways(_lines_to_bytes(parts, crlf, final_newline, bad_utf8), COMBINED)
    if any(reason == "could not be tokenised" for _, _, reason, _ in exact[2]):
        return  # the exact path gives up on every line at once there; see the test below
    assert columnar == exact


@settings(max_examples=200, deadline=None)
@given(
    parts=st.lists(st.one_of(_access_line(combined=False), st.sampled_from(_ODD)), min_size=1, max_size=20),
    shaped_at=st.integers(0, 20),
    final_newline=st.booleans(),
)
def test_common_lines_read_as_the_exact_path_reads_them(parts: list[str], shaped_at: int, final_newline: bool) -> None:
    parts.insert(min(shaped_at, len(parts)), '192.0.2.1 - - [02/Mar/2026:10:00:00 +0000] "GET / HTTP/1.0" 200 512')
    columnar, exact = _both_ways(_lines_to_bytes(parts, False, final_newline, False), COMMON)
    if any(reason == "could not be tokenised" for _, _, reason, _ in exact[2]):
        return
    assert columnar == exact


def test_a_line_the_csv_reader_cannot_tokenise_takes_no_other_line_with_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the CSV reader cannot tokenise a set of odd lines, the general path rejects them all
    ("could not be tokenised"). The columnar reader hands odd lines over as a set, so it reads
    the rejected ones again one by one: a line's fate must not depend on the other odd lines."""
    defeating = '198.51.100.20 - - [02/Mar/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 1 "-" "ua" DEFEAT'
    odd_but_fine = '198.51.100.21 - - [2/Mar/2026:10:00:00 +0000] "GET /b HTTP/1.1" 200 1 "-" "ua"'
    real = AccessLogParser._parse_general

    def defeated(self: AccessLogParser, chunk: LineChunk, cleaned: bytes) -> ParseResult:
        """The reader's give-up, simulated: any set of more than the line and its follower fails."""
        if b"DEFEAT" in chunk.data and chunk.n_lines > 2:
            result = ParseResult()
            for index in range(chunk.n_lines):
                result.reject(chunk, index, "could not be tokenised")
            return result
        return real(self, chunk, cleaned)

    monkeypatch.setattr(AccessLogParser, "_parse_general", defeated)
    lines = [_PLAIN.format(i=1, m=0, s=1), defeating, odd_but_fine, _PLAIN.format(i=2, m=0, s=2)]
    (rows, blank, rejected), _ = _both_ways(("\n".join(lines) + "\n").encode(), COMBINED)
    assert [r["log.file.line"] for r in rows] == [41, 43, 44] and blank == 0
    assert [(line, reason) for line, _, reason, _ in rejected] == [(42, "expected 10 fields, got 11")]
    assert rows[1]["@timestamp"] == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # "2/Mar" read by the general path


def test_fields_of_a_server_line() -> None:
    """Values, types and provenance of the columnar path on lines as nginx writes them."""
    lines = [
        '2001:db8::7 - alice [29/Feb/2024:23:59:59 -0130] "POST /login?next=%2F HTTP/2.0" 302 - "-" "curl/8.5.0"',
        '203.0.113.9 - - [01/Jan/2026:00:00:00 +0000] "GET /a b HTTP/1.1" 400 157 "https://x.example/" "-"',
        '203.0.113.9 - - [01/Jan/2026:00:00:00 +0000] "\\x16\\x03\\x01" 400 1234567890123456 "-" "-"',
    ]
    chunk = LineChunk(("\n".join(lines) + "\n").encode(), 7, 100)
    result = AccessLogParser(COMBINED).parse(chunk)
    assert result.rejected == [] and result.blank == 0
    [(_, table)] = result.tables
    first, spaced, probe = table.to_pylist()
    assert first["@timestamp"] == datetime(2024, 3, 1, 1, 29, 59, tzinfo=UTC)  # 23:59:59 at UTC-01:30
    assert (first["source.ip"], first["user.name"]) == ("2001:db8::7", "alice")
    assert (first["http.request.method"], first["url.original"], first["http.version"]) == (
        "POST",
        "/login?next=%2F",
        "HTTP/2.0",
    )
    assert (first["http.response.status_code"], first["http.response.body.bytes"]) == (302, None)
    assert (first["http.request.referrer"], first["user_agent.original"]) == (None, "curl/8.5.0")
    # a space inside the URL: no method/URL/version split, the request is the URL
    assert (spaced["http.request.method"], spaced["url.original"], spaced["http.version"]) == (
        None,
        "GET /a b HTTP/1.1",
        None,
    )
    assert probe["url.original"] == "\\x16\\x03\\x01" and probe["http.response.body.bytes"] == 1234567890123456
    assert [(r["log.file.line"], r["log.offset"]) for r in (first, spaced, probe)] == [
        (7, 100),
        (8, 100 + len(lines[0]) + 1),
        (9, 100 + len(lines[0]) + len(lines[1]) + 2),
    ]
    assert str(table.schema.field("source.ip").type) == "string"


def test_a_year_no_datetime_can_hold_is_quarantined() -> None:
    """The general path's clock parser takes a five-digit year; such a line used to become an event
    whose timestamp crashed whatever turned it into a Python datetime (alerts, exports)."""
    lines = [
        '198.51.100.30 - - [02/Mar/20206:10:00:02 +0000] "GET / HTTP/1.1" 200 2 "-" "ua"',
        _PLAIN.format(i=31, m=0, s=3),
    ]
    result = AccessLogParser(COMBINED).parse(LineChunk(("\n".join(lines) + "\n").encode(), 1, 0))
    assert [(r.line, r.reason) for r in result.rejected] == [(1, "invalid timestamp '[02/Mar/20206:10:00:02 +0000]'")]
    assert [row["log.file.line"] for _, table in result.tables for row in table.to_pylist()] == [2]
