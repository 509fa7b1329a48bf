"""The syslog reader's shortcuts against the plain way of doing the same thing.

Lines are cut from the chunk's bytes by its known line starts instead of splitting decoded text,
and ISO stamps are read as a naive second minus the offset plus the fraction instead of parsed
whole. Both must give exactly what the plain way gives, including for the stamps it rejects.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tests.ingest.helpers import quarantined, read_bytes

from watchhouse.core.events import Dataset
from watchhouse.ingest.base import ensure_utf8, normalise_newlines
from watchhouse.ingest.source import LineChunk
from watchhouse.ingest.syslog import _FAST_HEAD
from watchhouse.ingest.syslog_lines import _lines
from watchhouse.ingest.syslog_stamps import _ISO_FORMAT, _fast_stamps

_digits = st.integers(0, 99).map(lambda v: f"{v:02d}")
_stamps = st.builds(
    lambda y, mo, d, h, mi, s, frac, sign, oh, om, colon: (
        f"{y:04d}-{mo}-{d}T{h}:{mi}:{s}" + (f".{frac}" if frac is not None else "") + f"{sign}{oh}{colon}{om}"
    ),
    st.sampled_from([1, 1969, 1970, 2000, 2024, 2026, 2100, 9999]) | st.integers(1900, 2200),
    st.sampled_from(["00", "01", "02", "12", "13"]),
    st.sampled_from(["00", "01", "28", "29", "30", "31", "32"]),
    st.sampled_from(["00", "09", "23", "24"]),
    st.sampled_from(["00", "59", "60"]),
    st.sampled_from(["00", "01", "59", "60", "61"]),
    st.none() | st.sampled_from(["016068", "999999", "5"]) | st.text(alphabet="0123456789", min_size=1, max_size=12),
    st.sampled_from(["+", "-"]),
    _digits,
    _digits,
    st.sampled_from([":", ""]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_stamps, min_size=1, max_size=40))
@example(["2026-03-02T00:00:00.016068+00:00", "2026-03-02T00:00:01+00:00", "2016-12-31T23:59:60.5+00:00"])
def test_fast_stamps_equal_the_whole_stamp_parse(stamps: list[str]) -> None:
    lines = pl.DataFrame({"line": [f"{s} web-1 sshd[7]: x" for s in sorted(stamps)]})
    fast = lines.select(pl.col("line").str.extract_groups(_FAST_HEAD).alias("_m")).unnest("_m")
    assert fast.get_column("sec").is_not_null().all()
    iso = pl.Series([s for s in sorted(stamps)])
    whole = iso.str.to_datetime(_ISO_FORMAT, strict=False, time_unit="us").dt.convert_time_zone("UTC")
    got = _fast_stamps(fast)
    assert got.dtype == whole.dtype
    # compared as integers: year 1 minus an offset is year 0, which Python's datetime cannot hold
    assert got.dt.epoch("us").to_list() == whole.dt.epoch("us").to_list()


def _split_reference(data: bytes) -> list[str]:
    """How the reader split a chunk before: normalise line ends and UTF-8, decode, split."""
    text = ensure_utf8(normalise_newlines(data)).decode("utf-8")
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    return lines


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from([b"a", b"\n", b"\r", b"\r\n", b" ", b"\xc3\xa9", b"\xff", b"\xe2\x80", b"\x00"]), max_size=60
    )
)
def test_lines_equal_splitting_the_decoded_text(parts: list[bytes]) -> None:
    data = b"".join(parts)
    if not data:
        return
    assert _lines(LineChunk(data, 1, 0)).to_list() == _split_reference(data)


def test_fast_path_lines_keep_their_text_and_provenance(tmp_path: Path) -> None:
    data = (
        "2026-03-02T00:00:00.5+01:00 höst sshd[9]: Failed password for élodie from 192.0.2.7 port 2 ssh2\n"
        "2026-03-02T00:00:01+0100 web-1 sshd[9]: Connection closed by 192.0.2.7 port 2 [preauth]\n"
        "2026-03-02T00:00:02.1234567890-00:30 web-1 CRON[1]: (root) CMD (true)\n"
        "2026-02-30T00:00:03.000001+00:00 web-1 sshd[9]: Failed password for x from 192.0.2.8 port 2 ssh2\n"
        "2026-03-02T00:00:04+00:00 web-1 sshd[10]: \n"
    ).encode()
    out = read_bytes(tmp_path, data, fmt="syslog", year=2026)
    auth = {r["log.file.line"]: r for r in out.frame(Dataset.AUTH).iter_rows(named=True)}
    host = {r["log.file.line"]: r for r in out.frame(Dataset.HOST).iter_rows(named=True)}
    assert sorted(auth) == [1, 2] and sorted(host) == [3, 5]
    assert auth[1]["@timestamp"] == datetime(2026, 3, 1, 23, 0, 0, 500000, tzinfo=UTC)
    assert auth[1]["host.name"] == "höst" and auth[1]["source.ip"] == "192.0.2.7"
    assert auth[2]["@timestamp"] == datetime(2026, 3, 1, 23, 0, 1, tzinfo=UTC)
    assert auth[2]["log.offset"] == data.index(b"2026-03-02T00:00:01")
    # more than six fraction digits are cut to microseconds, not rounded
    assert host[3]["@timestamp"] == datetime(2026, 3, 2, 0, 30, 2, 123456, tzinfo=UTC)
    assert host[3]["message"] == "(root) CMD (true)" and host[5]["message"] == ""
    assert [(e["line"], e["reason"]) for e in quarantined(out)] == [(4, "invalid syslog timestamp")]
