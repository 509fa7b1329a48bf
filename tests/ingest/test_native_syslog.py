"""The compiled syslog head reader (``watchhouse._native._syslog``) against its numpy reference.

Why differential: :func:`watchhouse.ingest.syslog_heads._quick_scan` is the specification of which line
heads the byte reader takes and what it reads from them; the kernel re-implements it one line at
a time in C, so an off-by-one in a window bound, a byte class or the calendar shows up here as a
different mask or value. Inputs are lines of the common ISO layout with bytes overwritten at
random (non-ASCII, NUL, the separators), whole chunks parsed both ways (same tables, same
quarantined lines and reasons), and the real sshd corpora, both as they are and with their
traditional stamps rewritten into the ISO layout so their hosts, programs and pids reach the byte
reader. Skipped where the kernel is not built (the numpy reference then runs).
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from watchhouse.ingest import syslog, syslog_heads, syslog_stamps
from watchhouse.ingest.base import ParseResult
from watchhouse.ingest.options import ReaderOptions
from watchhouse.ingest.source import LineChunk, iter_chunks

kernel = pytest.importorskip("watchhouse._native._syslog", reason="compiled kernels not built (numpy runs)")

_HEAD = "2026-03-02T00:00:00.016068+00:00 web-1 sshd-session[4194304]: "
_LINE = _HEAD + "Failed password for invalid user admin from 192.0.2.7 port 2222 ssh2"
# bytes that matter to the reader: its literals and separators, digits, the stop bytes, non-ASCII
_BYTES = st.sampled_from([*b"0159-:T.+- []\t\x00\x7f\x80\xc3Zz-", 0xFF, 0x21, 0x20, 0x2F, 0x3A, 0x3B])


def _padded(data: bytes) -> np.ndarray:
    array = np.frombuffer(data, dtype=np.uint8)
    if len(array) < syslog_heads._QUICK_WIDTH:
        array = np.concatenate((array, np.zeros(syslog_heads._QUICK_WIDTH - len(array), dtype=np.uint8)))
    return array


def _assert_same_scan(data: bytes) -> int:
    """Both scans of ``data``'s lines agree on the mask and, where a line is taken, every value;
    returns how many lines were taken."""
    chunk = LineChunk(data, 1, 0)
    array = _padded(data)
    with mock.patch.object(syslog_heads, "native_syslog", kernel):  # (even where WATCHHOUSE_PURE_PYTHON is set)
        compiled = syslog_heads._native_scan(array, chunk.starts)
    reference = syslog_heads._quick_scan(array, chunk.starts)
    assert compiled[0].tolist() == reference[0].tolist()
    taken = reference[0]
    for got, want in zip(compiled[1:], reference[1:], strict=True):
        assert got[taken].tolist() == want[taken].tolist()
    return int(taken.sum())


def _parse(data: bytes, *, compiled: bool) -> ParseResult:
    with mock.patch.object(syslog_heads, "native_syslog", kernel if compiled else None):
        return syslog.SyslogParser(2026).parse(LineChunk(data, 1, 0))


def _assert_same_parse(data: bytes) -> None:
    got, want = _parse(data, compiled=True), _parse(data, compiled=False)
    assert got.rejected == want.rejected
    assert got.blank == want.blank
    assert [d for d, _ in got.tables] == [d for d, _ in want.tables]
    for (_, a), (_, b) in zip(got.tables, want.tables, strict=True):
        assert a.schema == b.schema
        assert a.equals(b)  # (not to_pylist: a year-0 stamp has no Python datetime)


@st.composite
def _mutated_lines(draw: st.DrawFn) -> bytes:
    """A line of the common layout with a few bytes of its head (or just past it) overwritten."""
    shapes = [_LINE, _LINE.replace("web-1", "a"), _LINE.replace("4194304", "7")]
    line = bytearray(draw(st.sampled_from(shapes)).encode())
    for _ in range(draw(st.integers(0, 3))):
        line[draw(st.integers(0, 80))] = draw(_BYTES)
    return bytes(line).replace(b"\n", b" ").replace(b"\r", b" ")


_stamps = st.builds(
    "{}-{}-{}T{}:{}:{}.{}{}{}:{}".format,
    st.sampled_from(["2026", "2024", "2000", "2100", "1970", "1969", "0000"]),
    st.sampled_from(["01", "02", "12", "13", "00"]),
    st.sampled_from(["01", "28", "29", "30", "31", "00"]),
    st.sampled_from(["00", "23", "24"]),
    st.sampled_from(["00", "59", "60"]),
    st.sampled_from(["00", "59", "60"]),
    st.sampled_from(["000000", "999999", "016068"]),
    st.sampled_from(["+", "-"]),
    st.sampled_from(["00", "01", "14", "23", "24", "99"]),
    st.sampled_from(["00", "30", "59", "60", "99"]),
)
_heads = st.builds(
    "{} {} {}[{}]: {}".format,
    _stamps,
    st.sampled_from(["web-1", "a", "-", "h" * 38, "h" * 20]),
    st.sampled_from(["sshd", "-", "p", "p" * 20]),
    st.sampled_from(["7", "0", "007", "9" * 18, "9" * 19, ""]),
    st.sampled_from(["Accepted password for root from 192.0.2.1 port 22 ssh2", "", "x"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_mutated_lines(), _heads.map(str.encode)), min_size=1, max_size=20), st.booleans())
@example([_HEAD.encode()], False)  # the window reaches past the data: left to the regex path
@example([b"1969-12-31T23:59:59.999999-00:01 web-1 sshd[7]: before 1970 in UTC"], True)
def test_kernel_reads_heads_as_the_reference(lines: list[bytes], final_newline: bool) -> None:
    data = b"\n".join(lines) + (b"\n" if final_newline else b"")
    _assert_same_scan(data)
    _assert_same_scan(data + b"x" * 100)  # every window inside the data


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_mutated_lines(), _heads.map(str.encode)), min_size=1, max_size=20))
def test_parse_with_kernel_is_the_reference_parse(lines: list[bytes]) -> None:
    """Tables and quarantine entries, malformed lines included, are the same either way."""
    data = b"\n".join(lines) + b"\n"
    if b"\r" in data:
        return
    _assert_same_parse(data)


_TRADITIONAL = re.compile(rb"^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +([0-9]{1,2}) ([0-9:]{8}) ", re.M)
_MONTHS = {m.encode(): i + 1 for i, m in enumerate(syslog_stamps._MONTHS)}


def _as_iso(data: bytes) -> bytes:
    """The traditional stamps of ``data`` rewritten into the byte reader's ISO layout."""
    return _TRADITIONAL.sub(
        lambda m: b"2026-%02d-%02dT%s.000123+02:00 " % (_MONTHS[m[1]], int(m[2]), m[3]),
        data,
    )


def _corpus_files(corpora: Path) -> list[Path]:
    root = corpora / "logs" / "ssh_bruteforce"
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix not in {".csv", ".assert", ".yaml", ".md"})


def test_real_sshd_corpora_read_the_same(corpora: Path) -> None:
    options = ReaderOptions()
    taken = 0
    for path in _corpus_files(corpora):
        for data in (path.read_bytes(), _as_iso(path.read_bytes())):
            for chunk in iter_chunks(io.BytesIO(data).read, options.batch_bytes, options.max_line_bytes):
                if isinstance(chunk, LineChunk) and b"\r" not in chunk.data:
                    taken += _assert_same_scan(chunk.data)
                    _assert_same_parse(chunk.data)
    assert taken > 5_000  # (6,608 today) the byte reader really read the corpora's heads, not only fell back
