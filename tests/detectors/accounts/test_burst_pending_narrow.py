"""Narrow storage of the burst tracker's pending failures must not change a single value.

Under a flood the pending buffer holds millions of rows, so stream positions, line numbers and
byte offsets are kept there as UInt32 (or as an empty Null column when a batch has none, as JSON
input has no offsets). These tests follow failures that wait in chunks of different narrow
types (lines only; offsets past 4 GiB only) until their key turns hot, and check that the burst
cites every one of them with its exact line and offset.
"""

from __future__ import annotations

import polars as pl

from watchhouse.detectors.accounts.burst_keys import IP_KIND
from watchhouse.detectors.accounts.burst_pending import PENDING_SCHEMA, _narrowed
from watchhouse.detectors.accounts.burst_tracker import INPUT_COLUMNS, BurstTracker

US = 1_000_000
T0 = 1_772_000_000 * US
BIG_OFFSET = 5_000_000_000  # a byte offset in a log larger than 4 GiB: does not fit 32 bits


def _failures(
    ip: str, start_s: int, n: int, *, lines: list[int] | None, offsets: list[int] | None, paths: list[str] | None = None
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "ts": [T0 + (start_s + 20 * i) * US for i in range(n)],
            "outcome": ["failure"] * n,
            "ip": [ip] * n,
            "user": [f"user{start_s}-{i}" for i in range(n)],  # all distinct: no account burst
            "service": ["sshd"] * n,
            "path": paths or ["/var/log/auth.log"] * n,
            "line": lines if lines is not None else [None] * n,
            "offset": offsets if offsets is not None else [None] * n,
        },
        schema=INPUT_COLUMNS,
    )


def test_narrowed_keeps_values_and_picks_the_smallest_type() -> None:
    rows = pl.DataFrame(
        {
            "ts": [T0, T0 + 1],
            "seq": [0, 4_294_967_295],
            "path": ["a", "a"],
            "line": [7, None],
            "offset": [None, None],
            "ip": ["192.0.2.1", "192.0.2.2"],
            "user": ["root", None],
            "service": ["sshd", "sshd"],
        },
        schema=PENDING_SCHEMA,
    )
    coded = rows.with_columns(path=pl.Series([0, 300], dtype=pl.UInt32), service=pl.Series([5, 5], dtype=pl.UInt32))
    narrow = _narrowed(coded)
    assert narrow.schema["seq"] == pl.UInt32 and narrow.schema["line"] == pl.UInt8
    assert narrow.schema["offset"] == pl.Null
    assert narrow.schema["path"] == pl.UInt16 and narrow.schema["service"] == pl.UInt8
    ints = ["seq", "line", "offset", "path", "service"]
    assert narrow.select(pl.col(ints).cast(pl.Int64)).equals(coded.select(pl.col(ints).cast(pl.Int64)))
    # values that do not fit (past 32 bits, or negative) stay 64-bit
    wide = _narrowed(coded.with_columns(seq=pl.Series([1 << 32, 0]), line=pl.Series([-1, 3])))
    assert wide.schema["seq"] == pl.Int64 and wide.schema["line"] == pl.Int64
    assert wide["seq"].to_list() == [1 << 32, 0] and wide["line"].to_list() == [-1, 3]


def test_failures_waiting_in_narrow_chunks_are_cited_exactly_once_their_key_turns_hot() -> None:
    tracker = BurstTracker(window=600 * US, lateness=60 * US, thresholds={IP_KIND: 20, "account": 10}, exact_limit=0)
    ip = "203.0.113.9"
    # six failures with line numbers only, then three with huge offsets only: not warm yet (10)
    first = _failures(ip, 0, 6, lines=list(range(101, 107)), offsets=None)
    second = _failures(ip, 120, 3, lines=None, offsets=[BIG_OFFSET + 100 * i for i in range(3)])
    assert len(tracker.update(first)) == 0 and len(tracker.update(second)) == 0
    assert tracker.pending.height == 9 and tracker.failures.height == 0
    schemas = [chunk.schema for chunk in tracker.pending.chunks]
    assert {(s["line"], s["offset"]) for s in schemas} == {(pl.UInt8(), pl.Null()), (pl.Null(), pl.Int64())}
    waiting = tracker.pending.rows.sort("seq")
    assert waiting.schema["line"] == pl.Int64 and waiting.schema["offset"] == pl.Int64
    assert waiting["line"].to_list() == [*range(101, 107), None, None, None]
    assert waiting["offset"].to_list() == [None] * 6 + [BIG_OFFSET, BIG_OFFSET + 100, BIG_OFFSET + 200]
    assert waiting["seq"].to_list() == list(range(9))
    # twelve more make the address hot: the nine waiting failures join exact state as they were
    third = _failures(ip, 200, 12, lines=list(range(501, 513)), offsets=None)
    tracker.update(third)
    assert tracker.pending.rows.filter("ip_wait").height == 0  # rows still wait for their accounts only
    assert tracker.failures.filter(pl.col("kind") == IP_KIND).height == 21
    closed = tracker.flush()
    assert len(closed) == 1 and closed.bursts["key"].to_list() == [ip]
    cited = closed.failures.filter(pl.col("kind") == IP_KIND).sort("seq")
    expected = pl.concat([first, second, third]).with_columns(seq=pl.int_range(0, 21, dtype=pl.Int64))
    assert cited.select("seq", "ts", "line", "offset", "user").equals(
        expected.select("seq", "ts", "line", "offset", "user")
    )


def test_name_codes_past_a_chunks_narrow_type_still_find_its_rows() -> None:
    """A chunk coded while a scan had read one file stores its codes in one byte; once three
    hundred files are known, mapping codes past 255 onto that chunk must still work."""
    tracker = BurstTracker(window=600 * US, lateness=60 * US, thresholds={IP_KIND: 20, "account": 10}, exact_limit=0)
    ip = "198.51.100.7"
    first = _failures(ip, 0, 6, lines=list(range(1, 7)), offsets=None)
    tracker.update(first)
    others = pl.concat(
        [
            _failures(f"192.0.2.{i % 250}", 30, 1, lines=[i], offsets=None, paths=[f"/var/log/host{i}/auth.log"])
            for i in range(300)
        ]
    )
    tracker.update(others)
    assert len(tracker.pending.codes) > 256
    assert tracker.pending.chunks[0].schema["path"] == pl.UInt8
    # the first file's rows expire by its own watermark and turn hot by its own count
    third = _failures(ip, 200, 14, lines=list(range(7, 21)), offsets=None)
    tracker.update(third)
    closed = tracker.flush()
    cited = closed.failures.filter((pl.col("kind") == IP_KIND) & (pl.col("key") == ip)).sort("seq")
    assert cited["line"].to_list() == list(range(1, 21))
    assert set(cited["path"].to_list()) == {"/var/log/auth.log"}
