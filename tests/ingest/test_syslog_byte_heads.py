"""The syslog reader's byte-level head reader against the regex path it stands in for.

:func:`watchhouse.ingest.syslog_heads._quick_heads` reads the commonest ISO head straight from the
chunk's bytes and leaves every line it is unsure of to the regex path. Whatever mix of lines a
chunk holds, the parse must be exactly the one the regex path alone gives: same events, same
columns and values, same quarantined lines with the same reasons.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import polars as pl
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from watchhouse.ingest import syslog, syslog_heads, syslog_lines
from watchhouse.ingest.base import ParseResult
from watchhouse.ingest.source import LineChunk

_two = st.integers(0, 99).map(lambda v: f"{v:02d}")
_stamp = st.builds(
    lambda y, mo, d, h, mi, s, frac, sign, oh, om: f"{y}-{mo}-{d}T{h}:{mi}:{s}{frac}{sign}{oh}{om}",
    st.sampled_from(["2026", "2024", "1970", "1969", "2100", "0001", "20x6"]),
    st.sampled_from(["01", "02", "03", "12", "13", "00"]),
    st.sampled_from(["01", "02", "28", "29", "30", "31", "00"]),
    st.sampled_from(["00", "09", "23", "24"]),
    st.sampled_from(["00", "30", "59", "60"]),
    st.sampled_from(["00", "01", "59", "60"]),
    st.sampled_from([".016068", ".999999", ".5", "", ".1234567", ".00000a"]),
    st.sampled_from(["+", "-", "Z", "~"]),
    st.sampled_from(["00", "01", "05", "23", "24", "99"]),
    st.sampled_from([":00", ":30", ":59", ":60", "00", "30"]),
)
_host = st.sampled_from(["web-1", "bastion-1", "-", "höst", "a[1]", "x:y", "h\tt", "h" * 30, "db\u00a0x", "1"])
_prog = st.sampled_from(["sshd", "sshd-session", "CRON", "-", "su do", "prog:x", "p" * 25])
_pid = st.sampled_from(["7", "12345", "0", "007", "+12", "-5", "12a", "", "9" * 18, "9" * 19, "9" * 25])
_message = st.sampled_from(
    [
        "Failed password for invalid user admin from 192.0.2.7 port 2222 ssh2",
        "Failed password for root from 198.51.100.4 port 22 ssh2",
        "Accepted publickey for deploy from 192.0.2.9 port 50000 ssh2: ED25519 SHA256:abc",
        "Connection from 192.0.2.7 port 2222 on 10.0.0.1 port 22",
        "Disconnecting: Too many authentication failures [preauth]",
        "Connection closed by invalid user x 192.0.2.7 port 1 [preauth]",
        "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
        "",
        " leading space",
        "héllo ]: [1]: wörld",
    ]
)
_separator = st.sampled_from([" ", " ", " ", "  ", ""])
_iso_line = st.builds(
    lambda stamp, s1, host, s2, prog, pid, tail, message: f"{stamp}{s1}{host}{s2}{prog}[{pid}]{tail}{message}",
    _stamp,
    _separator,
    _host,
    _separator,
    _prog,
    _pid,
    st.sampled_from([": ", ":", "]: ", " "]),
    _message,
)
_other_line = st.sampled_from(
    [
        "Mar  1 12:00:01 web-1 sshd[7]: Failed password for root from 192.0.2.1 port 22 ssh2",
        "<34>1 2026-03-02T00:00:00Z web-1 sshd 7 - - Connection closed by 192.0.2.7 port 1 [preauth]",
        "2026-03-02 00:00:00 web-1 sshd[7]: Invalid user bob from 192.0.2.8 port 1",
        "2026-03-02T00:00:00.016068+00:00 web-1 [sshd]: Invalid user bob from 192.0.2.8",
        "not syslog at all",
        "",
        "   ",
        "2026-03-02T00:00:00.016068+00:00",
        "2026-03-02T00:00:00.016068+00:00 web-1 sshd[7]:",
    ]
)
_chunk_lines = st.lists(st.one_of(_iso_line, _iso_line, _other_line), min_size=1, max_size=30)


def _reference_split(chunk: LineChunk) -> tuple[pl.Series, bool]:
    """The lines as :func:`syslog_lines._split` cuts them, but never offered to the byte reader."""
    return _ORIGINAL_SPLIT(chunk)[0], False


_ORIGINAL_SPLIT = syslog_lines._split


def _parse(chunks: list[LineChunk], *, quick: bool) -> list[ParseResult]:
    parser = syslog.SyslogParser(2026)
    if quick:
        return [parser.parse(chunk) for chunk in chunks]
    with mock.patch.object(syslog, "_split", _reference_split):  # (where the parser looks it up)
        return [parser.parse(chunk) for chunk in chunks]


def _assert_same(got: list[ParseResult], want: list[ParseResult]) -> None:
    for fast, slow in zip(got, want, strict=True):
        assert fast.rejected == slow.rejected
        assert fast.blank == slow.blank
        assert [d for d, _ in fast.tables] == [d for d, _ in slow.tables]
        for (_, a), (_, b) in zip(fast.tables, slow.tables, strict=True):
            assert a.schema == b.schema
            assert a.to_pylist() == b.to_pylist()


def _chunks(lines: list[str], cut: int, final_newline: bool) -> list[LineChunk]:
    """The lines as one or two chunks (cut after line ``cut``), as the reader hands them over."""
    texts = [line + "\n" for line in lines]
    if not final_newline:
        texts[-1] = texts[-1][:-1]
    cut = min(cut, len(texts))
    first, second = "".join(texts[:cut]).encode(), "".join(texts[cut:]).encode()
    chunks = [LineChunk(first, 1, 0)] if first else []
    if second:
        chunks.append(LineChunk(second, 1 + cut, len(first)))
    return chunks


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_chunk_lines, st.integers(0, 30), st.booleans())
@example(
    [
        "2026-03-02T00:00:00.016068+00:00 web-1 sshd[7]: Connection from 192.0.2.7 port 2222 on 10.0.0.1 port 22",
        "2026-03-02T00:00:00.516068+00:00 web-1 sshd[7]: Disconnecting: Too many authentication failures [preauth]",
        # a line the byte reader leaves, then one it takes with the same second: the second line's
        # instant must be its own, not that of the last line the reader took
        "2026-03-02T00:00:07.000000+00:00 höst sshd[7]: left to the regex path",
        "2026-03-02T00:00:07.250000+00:00 web-1 sshd[7]: Connection closed by 192.0.2.7 port 1 [preauth]",
        "2016-12-31T23:59:60.500000+00:00 - -[7]: leap second",
        "1969-12-31T23:59:59.000000+00:00 web-1 sshd[007]: before 1970",
        "2026-02-29T00:00:00.000000+00:00 web-1 sshd[7]: no such day",
        "2026-03-02T00:00:00.000000+24:00 web-1 sshd[7]: offset the parser rejects",
        "2026-03-02T00:00:00.000000-05:30 web-1 sshd[9999999999999999999]: pid past 64 bits",
    ],
    1,
    False,
)
def test_byte_heads_parse_as_the_regex_path(lines: list[str], cut: int, final_newline: bool) -> None:
    chunks = _chunks(lines, cut, final_newline)
    _assert_same(_parse(chunks, quick=True), _parse(chunks, quick=False))


def test_byte_reader_takes_the_common_lines_and_leaves_the_rest() -> None:
    """The equivalence above must not hold only because every line fell back to the regex path."""
    lines = [
        "2026-03-02T00:00:00.016068+00:00 web-1 sshd[7]: Failed password for root from 192.0.2.1 port 22 ssh2",
        "2026-03-02T00:00:00.016068+01:00 - CRON[12]: x",
        "2026-03-02T00:00:00.016068+00:00 höst sshd[7]: non-ASCII host",
        "2026-03-02T00:00:00.5+00:00 web-1 sshd[7]: short fraction",
        "2026-03-02T00:00:00.016068+00:00 web-1 sshd[+7]: signed pid",
        "2026-03-02T00:00:59.999999-23:59 bastion-1 sshd-session[4194304]: ",
    ]
    data = "".join(line + "\n" for line in lines).encode() + b"x" * 100  # no window runs off the end
    chunk = LineChunk(data, 1, 0)
    frame, taken = syslog_heads._quick_heads(chunk, syslog_lines._lines(chunk))
    assert taken.tolist() == [True, True, False, False, False, True, False]
    assert frame.get_column("host.name").to_list() == ["web-1", None, "bastion-1"]
    assert frame.get_column("process.name").to_list() == ["sshd", "CRON", "sshd-session"]
    assert frame.get_column("process.pid").to_list() == [7, 12, 4194304]
    assert frame.get_column("message").to_list()[1:] == ["x", ""]
    stamps = frame.get_column("@timestamp").dt.epoch("us").to_numpy()
    assert np.array_equal(np.diff(stamps), [-3_600_000_000, 3_600_000_000 + 59_983_931 + 86_340_000_000])


def test_one_offset_after_an_impossible_first_date() -> None:
    """Every line with one offset and the first line's date impossible: the offset is still resolved
    for the lines after it (the reader once looked it up only where the first date was valid, and
    failed on the chunk)."""
    lines = [
        "2026-02-30T00:00:00.000000+01:00 web-1 sshd[7]: no such day",
        "2026-03-02T00:00:00.000000+01:00 web-1 sshd[7]: Failed password for root from 192.0.2.1 port 22 ssh2",
    ]
    data = "".join(line + "\n" for line in lines).encode() + b"x" * 100
    chunk = LineChunk(data, 1, 0)
    frame, taken = syslog_heads._quick_heads(chunk, syslog_lines._lines(chunk))
    assert taken.tolist() == [False, True, False]
    assert frame.get_column("@timestamp").dt.epoch("s").to_list() == [1_772_406_000]  # 2026-03-01T23:00Z
    _assert_same(_parse(_chunks(lines, 2, True), quick=True), _parse(_chunks(lines, 2, True), quick=False))
