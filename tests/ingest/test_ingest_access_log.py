from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.ingest.helpers import PSEUDO, quarantined, read_bytes

from watchhouse.core.events import Dataset

LINE = (
    b'203.0.113.9 - alice [10/Oct/2026:13:55:36 -0700] "GET /a?b=1 HTTP/1.1" 200 2326 '
    b'"http://ref.example/" "Mozilla/5.0 (X11)"\n'
)


def test_combined_fields(tmp_path: Path) -> None:
    out = read_bytes(tmp_path, LINE)
    assert out.reader.fmt == "combined"
    row = out.frame(Dataset.HTTP).row(0, named=True)
    assert row["@timestamp"] == datetime(2026, 10, 10, 20, 55, 36, tzinfo=UTC)
    assert row["source.ip"] == "203.0.113.9"
    assert row["user.name"] == PSEUDO.pseudonym("alice")
    assert (row["http.request.method"], row["url.original"], row["http.version"]) == ("GET", "/a?b=1", "HTTP/1.1")
    assert (row["http.response.status_code"], row["http.response.body.bytes"]) == (200, 2326)
    assert row["http.request.referrer"] == "http://ref.example/"
    assert row["user_agent.original"] == "Mozilla/5.0 (X11)"
    assert (row["log.file.line"], row["log.offset"]) == (1, 0)
    assert row["log.file.path"] == out.reader.stats.path and row["log.file.path"].startswith(str(tmp_path))


def test_nasty_lines(tmp_path: Path) -> None:
    data = b"".join(
        [
            LINE,  # 1
            b"\r\n",  # 2 blank (CRLF)
            b'::1 - - [10/Oct/2026:13:55:36 +0000] "\\x16\\x03\\x01" 400 - "-" "-"\r\n',  # 3 TLS junk, IPv6
            b'1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] "GET /q=\\"x\\" HTTP/1.1" 200 1 "-" "ua \\x22n\\x22"\n',  # 4
            b"garbage line\n",  # 5
            b'1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] "GET /\rx HTTP/1.1" 200 1 "-" "a\xff"\n',  # 6 lone CR, bad utf8
            b'1.2.3.4 - - [99/Foo/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "-"\n',  # 7 bad timestamp
            b'1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 2000 1 "-" "-"\n',  # 8 bad status
            b'1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] "GET /open HTTP/1.1 200 1 "-" "-"\n',  # 9 unbalanced quote
            b'1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] "-" 408 0 "-" "-"',  # 10 no newline at the end
        ]
    )
    out = read_bytes(tmp_path, data, fmt="combined")
    frame = out.frame(Dataset.HTTP)
    by_line = {r["log.file.line"]: r for r in frame.iter_rows(named=True)}
    assert sorted(by_line) == [1, 3, 4, 6, 10]
    assert by_line[3]["url.original"] == "\\x16\\x03\\x01" and by_line[3]["http.request.method"] is None
    assert by_line[3]["source.ip"] == "::1"
    assert by_line[4]["url.original"] == '/q="x"' and by_line[4]["user_agent.original"] == "ua \\x22n\\x22"
    assert by_line[6]["url.original"] == "/\ufffdx" and by_line[6]["user_agent.original"] == "a\ufffd"
    assert by_line[10]["url.original"] == "-" and by_line[10]["http.response.status_code"] == 408
    assert by_line[10]["log.offset"] == data.rindex(b"\n") + 1
    assert out.stats.blank == 1
    entries = quarantined(out)
    assert [(e["line"], str(e["reason"]).split(" '")[0]) for e in entries[:3]] == [
        (5, "expected 10 fields, got 2"),
        (7, "invalid timestamp"),
        (8, "invalid status code"),
    ]
    assert entries[3]["line"] == 9
    assert entries[0]["offset"] == data.index(b"garbage")
    assert entries[0]["raw"] == "garbage line"


def test_common_format(tmp_path: Path) -> None:
    data = b'10.0.0.1 - bob [01/Jan/2026:00:00:00 +0100] "POST /login HTTP/1.0" 302 -\n' * 3
    out = read_bytes(tmp_path, data)
    assert out.reader.fmt == "common"
    frame = out.frame(Dataset.HTTP)
    assert frame.height == 3 and frame["http.response.body.bytes"].null_count() == 3
    assert frame["@timestamp"][0] == datetime(2025, 12, 31, 23, 0, tzinfo=UTC)


def test_small_batches_keep_line_numbers(tmp_path: Path) -> None:
    lines = [LINE if i % 3 else b"bad\n" for i in range(200)]
    out = read_bytes(tmp_path, b"".join(lines), batch_bytes=300)
    frame = out.frame(Dataset.HTTP)
    assert frame["log.file.line"].to_list() == [i + 1 for i in range(200) if i % 3]
    assert frame["log.offset"].to_list() == [
        i * len(LINE) - (i // 3 + 1) * (len(LINE) - 4) for i in range(200) if i % 3
    ]
    assert out.stats.quarantined == len(range(0, 200, 3))


_TOKEN = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FFF, exclude_characters='"\\[]'), min_size=1)
_QUOTED = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF, exclude_categories=["Cs"]), max_size=40)
_STAMP = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1))


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    ip=_TOKEN,
    user=_TOKEN,
    stamp=_STAMP,
    method=st.from_regex(r"[A-Z]{3,7}", fullmatch=True),
    url=_TOKEN,
    status=st.integers(100, 599),
    size=st.one_of(st.none(), st.integers(0, 10**12)),
    referrer=_QUOTED,
    agent=_QUOTED,
    combined=st.booleans(),
)
def test_round_trip(
    tmp_path: Path,
    ip: str,
    user: str,
    stamp: datetime,
    method: str,
    url: str,
    status: int,
    size: int | None,
    referrer: str,
    agent: str,
    combined: bool,
) -> None:
    stamp = stamp.replace(microsecond=0)
    line = (
        f'{ip} - {user} [{stamp.strftime("%d/%b/%Y:%H:%M:%S")} +0000] "{method} {_quote(url)} HTTP/1.1" '
        f"{status} {'-' if size is None else size}"
    )
    if combined:
        line += f' "{_quote(referrer)}" "{_quote(agent)}"'
    out = read_bytes(tmp_path, line.encode() + b"\n", fmt="combined" if combined else "common")
    assert out.stats.quarantined == 0, quarantined(out)
    row = out.frame(Dataset.HTTP).row(0, named=True)
    assert row["source.ip"] == ip
    assert row["user.name"] == (None if user == "-" else PSEUDO.pseudonym(user))
    assert row["@timestamp"] == stamp.replace(tzinfo=UTC)
    assert (row["http.request.method"], row["url.original"]) == (method, url)
    assert (row["http.response.status_code"], row["http.response.body.bytes"]) == (status, size)
    if combined:
        assert row["http.request.referrer"] == (None if referrer == "-" else referrer)
        assert row["user_agent.original"] == (None if agent == "-" else agent)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    kinds=st.lists(st.sampled_from(["good", "bad", "blank", "junk"]), min_size=1, max_size=60),
    batch=st.integers(64, 4096),
)
def test_good_and_bad_mix(tmp_path: Path, kinds: list[str], batch: int) -> None:
    samples = {"good": LINE, "bad": b'1.1.1.1 - - [x] "GET / HTTP/1.1" 200 1 "-" "-"\n', "blank": b"\n"}
    samples["junk"] = b"\x00\x01 junk \xfe\n"
    out = read_bytes(tmp_path, b"".join(samples[k] for k in kinds), fmt="combined", batch_bytes=batch)
    frame = out.frame(Dataset.HTTP)
    lines = frame["log.file.line"].to_list() if frame.height else []
    assert lines == [i + 1 for i, k in enumerate(kinds) if k == "good"]
    assert [e["line"] for e in quarantined(out)] == [i + 1 for i, k in enumerate(kinds) if k in ("bad", "junk")]
    assert out.stats.blank == kinds.count("blank")


# quoted-field contents as Apache and nginx write them (escaped quotes and backslashes, \xNN), plus
# now and then what they never write (a bare quote, a control byte) to exercise the bail-outs
_COMMON_TOKENS = ["a", " ", '\\"', "\\\\", "\\x22", "-", "[", "]", "é", "/", "%27"]
_RARE_TOKENS = ['"', "\x01", "\\"]
_FIELD_TEXT = st.lists(st.sampled_from(_COMMON_TOKENS * 30 + _RARE_TOKENS), max_size=8).map("".join)


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.tuples(_FIELD_TEXT, _FIELD_TEXT, _FIELD_TEXT), min_size=1, max_size=6))
def test_fast_tokeniser_reads_exactly_what_arrow_reads(lines: list[tuple[str, str, str]]) -> None:
    """Polars' tokeniser is only used where it agrees with the Arrow reference, escapes included."""
    from watchhouse.ingest.access_log import AccessLogParser, clean, prepare
    from watchhouse.ingest.options import COMBINED

    text = "".join(
        f'203.0.113.{i} - - [02/Mar/2026:10:00:00 +0000] "{a}" 200 1 "{b}" "{c}"\n' for i, (a, b, c) in enumerate(lines)
    )
    parser = AccessLogParser(COMBINED)
    fast = parser._tokenise_fast(clean(text.encode()), len(lines))
    if fast is None:
        return  # the Arrow path takes the chunk; nothing to compare
    table, invalid = parser._tokenise(prepare(text.encode()))
    assert invalid == []
    assert fast.rows() == [tuple(r.values()) for r in table.to_pylist()]


def test_stray_quotes_are_read_alike_whatever_the_batch_size(tmp_path: Path) -> None:
    """A line missing a quote and another with a stray one must not cancel out inside a chunk."""
    good = '203.0.113.1 - - [02/Mar/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 1 "-" "ua"\n'
    missing = '203.0.113.2 - - [02/Mar/2026:10:00:01 +0000] "GET /b HTTP/1.1 200 1 "-" "ua"\n'
    stray = '203.0.113.3 - - [02/Mar/2026:10:00:02 +0000] "GET /c" HTTP/1.1" 200 1 "-" "ua"\n'
    data = (good * 3 + missing + stray + good * 3).encode()
    outcomes = [read_bytes(tmp_path, data, batch_bytes=size) for size in (64, 300, 1 << 20)]
    summaries = [
        (o.stats.total_events, o.stats.quarantined, sorted(str(q["line"]) for q in quarantined(o))) for o in outcomes
    ]
    assert summaries[0] == summaries[1] == summaries[2]
    assert summaries[0][0] == 6  # the six good lines, however the rest was resolved


# lines as servers write them, plus the odd ones a real log holds now and then
_PLAIN_LINE = '203.0.113.{i} - - [02/Mar/2026:10:00:{s:02d} +0000] "GET /p/{i}?q=a%27b HTTP/1.1" 200 {i} "-" "ua {i}"'
_ODD_LINES = {
    "truncated": '198.51.100.7 - - [02/Mar/2026:10:00:00 +0000] "GET /t HTTP/1.1" 200 1 "-" "Mozilla/5.0 (cut',
    "escaped": '198.51.100.8 - - [02/Mar/2026:10:00:00 +0000] "GET /e?x=\\"1\\" HTTP/1.1" 200 1 "-" "a\\\\b"',
    "extra field": '198.51.100.9 - - [02/Mar/2026:10:00:00 +0000] "GET /x HTTP/1.1" 200 1 "-" "ua" "more"',
    "stray quote": '198.51.100.10 - "u" [02/Mar/2026:10:00:00 +0000] "GET /s HTTP/1.1" 200 1 "-" "ua"',
    "blank": "",
    "short": "198.51.100.11 - -",
    "hex escape": '198.51.100.12 - - [02/Mar/2026:10:00:00 +0000] "GET /h HTTP/1.1" 200 1 "http://\\xe4\\xe5/" "ua"',
}


_Summary = tuple[list[dict[str, Any]], int, list[tuple[int, int, str]]]


def _parse_both_ways(data: bytes) -> tuple[_Summary, _Summary]:
    """What ``parse`` returns, and what the exact (Arrow, line-checking) path alone returns."""
    import numpy as np

    from watchhouse.ingest.access_log import AccessLogParser, clean
    from watchhouse.ingest.base import ParseResult
    from watchhouse.ingest.options import COMBINED
    from watchhouse.ingest.source import LineChunk

    def summary(result: ParseResult) -> _Summary:
        rows = [row for _, table in result.tables for row in table.to_pylist()]
        rejected = sorted((r.line, r.offset, r.reason) for r in result.rejected)
        return rows, result.blank, rejected

    parser = AccessLogParser(COMBINED)
    chunk = LineChunk(data, 101, 5000)
    exact = ParseResult()
    parser._parse_exact(chunk, clean(data), np.arange(chunk.n_lines, dtype=np.int64), exact)
    return summary(parser.parse(chunk)), summary(exact)


@settings(max_examples=120, deadline=None)
@given(
    kinds=st.lists(st.sampled_from(["plain"] * 6 + sorted(_ODD_LINES)), min_size=1, max_size=40),
    final_newline=st.booleans(),
)
def test_odd_lines_among_plain_ones_are_read_as_the_exact_path_reads_them(
    kinds: list[str], final_newline: bool
) -> None:
    """Plain lines take the fast reader even beside odd ones; the result is the exact path's, line for line.

    (A single truncated line used to send its whole chunk through the slow path.)
    """
    lines = [_PLAIN_LINE.format(i=i, s=i % 60) if k == "plain" else _ODD_LINES[k] for i, k in enumerate(kinds)]
    data = ("\n".join(lines) + ("\n" if final_newline else "")).encode()
    if not data.strip():
        return
    mixed, exact = _parse_both_ways(data)
    assert mixed == exact


def test_a_truncated_line_keeps_its_neighbours_on_the_fast_reader() -> None:
    lines = [_PLAIN_LINE.format(i=i, s=i) for i in range(50)]
    lines[20] = _ODD_LINES["truncated"]
    (rows, blank, rejected), exact = _parse_both_ways(("\n".join(lines) + "\n").encode())
    assert (rows, blank, rejected) == exact
    assert len(rows) == 49 and blank == 0
    assert [row["log.file.line"] for row in rows] == [101 + i for i in range(50) if i != 20]
    assert rejected == [(121, rejected[0][1], "unbalanced quotes")]


@settings(max_examples=300, deadline=None)
@given(
    text=st.lists(st.sampled_from(["a", "\\", '"', "x", "\n"]), max_size=40).map("".join),
    backslashes=st.integers(0, 600),
)
def test_escape_search_answers_like_a_substring_search(text: str, backslashes: int) -> None:
    """The backslash-by-backslash search agrees with ``in``, also past the one-by-one limit."""
    from watchhouse.ingest.access_log import _has_decoded_escape

    data = (("\\x" * backslashes) + text).encode()
    assert _has_decoded_escape(data) == (b"\\\\" in data or b'\\"' in data)


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(st.text(alphabet='a "\\x', max_size=30), min_size=1, max_size=40))
def test_quotes_summed_per_line_match_a_count_per_line(lines: list[str]) -> None:
    """The 16-bit per-line sum agrees with counting each line's quotes one by one."""
    import numpy as np

    from watchhouse.ingest.access_log import _sum_per_line

    data = "".join(f"{line}\n" for line in lines).encode()
    starts = np.cumsum([0] + [len(line) + 1 for line in lines[:-1]]).astype(np.int64)
    summed = _sum_per_line(np.frombuffer(data, dtype=np.uint8) == ord('"'), starts)
    assert summed is not None
    assert summed.tolist() == [line.count('"') for line in lines]


def test_a_line_too_quoted_for_the_sum_is_read_as_without_the_shortcut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """65,536 extra quotes wrap a 16-bit counter (back to 6, a plain line's count): the shortcut
    must notice, and the chunk must read exactly as it reads with the shortcut switched off."""
    import numpy as np

    from watchhouse.ingest import access_log

    flood = b'1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] "GET /' + b'"' * 65_536 + b' HTTP/1.1" 200 1 "-" "-"\n'
    flags = np.frombuffer(LINE + flood, dtype=np.uint8) == ord('"')
    assert access_log._sum_per_line(flags, np.array([0, len(LINE)], dtype=np.int64)) is None
    data = LINE + flood + LINE
    shortcut = read_bytes(tmp_path, data)
    monkeypatch.setattr(access_log, "_sum_per_line", lambda flags, starts: None)
    exact = read_bytes(tmp_path, data)
    assert shortcut.frame(Dataset.HTTP).drop("log.file.path").equals(exact.frame(Dataset.HTTP).drop("log.file.path"))
    assert [(q["line"], q["reason"]) for q in quarantined(shortcut)] == [
        (q["line"], q["reason"]) for q in quarantined(exact)
    ]
